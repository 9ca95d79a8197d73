"""Small-scale video-GAN comparison on 2 CPU cores: ODE temporal generators vs the originals.

    python experiments/video_gan_small_scale.py --minutes 15 --jobs 1 --repeats 2 --samples 32 --real-clips 64

(``--jobs 1``: one training at a time, so every preset gets the same share of the machine; the README's runs.)

Trains the TGAN / TGAN-ODE / MoCoGAN / MoCoGAN-ODE tiny presets on 1-digit Moving MNIST 32x32 with the same
wall-clock budget (one thread per job), then scores each best-by-validation generator with frame-level
Inception FID against the test split (mean +- std over --repeats sets of --samples clips) and writes a
sample GIF per model, ``summary.json`` and ``summary.md`` (with the mean time per training iteration).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

PRESETS = ["tgan_ode_mmnist32", "tgan_mmnist32", "mocogan_ode_mmnist32", "mocogan_mmnist32"]


def run(cmd: list[str], log: Path) -> int:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    with open(log, "a") as f:
        f.write("$ " + " ".join(cmd) + "\n")
        f.flush()
        return subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, env=env).returncode


def train(preset: str, args) -> int:
    out = Path(args.out)
    minutes = args.extra_minutes if preset in args.extra_train else args.minutes
    return run(["odevideo", "train", "--preset", preset, "--output-dir", str(out), "--max-minutes", str(minutes),
                "--set", f"data.data_dir={args.mnist}", "--set", "train.threads=1", "--set", "train.progress=false"],
               out / f"{preset}.log")


def score(preset: str, args) -> dict:
    out = Path(args.out)
    run_dir = out / preset
    log = out / f"{preset}.log"
    rc = run(["odevideo", "evaluate", str(run_dir), "--metric", "frame_fid", "--repeats", str(args.repeats),
              "--samples", str(args.samples), "--num-clips", str(args.real_clips)], log)
    run(["odevideo", "generate", str(run_dir), "--num", "16", "--output", str(out / f"{preset}.gif")], log)
    res: dict = {"preset": preset, "rc": rc}
    if rc == 0:
        res["fid"] = json.loads((run_dir / "eval_test" / "eval_generator.json").read_text())
        recs = [json.loads(ln) for ln in (run_dir / "metrics.jsonl").read_text().splitlines()]
        train_recs = [r for r in recs if r["kind"] == "train"]
        res["steps"] = train_recs[-1]["step"]
        rates = [r["steps_per_s"] for r in train_recs]
        res["s_per_iteration"] = len(rates) / sum(rates)  # harmonic mean of the logged windows
    return res


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--minutes", type=float, default=8.0)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--presets", nargs="+", default=PRESETS)
    p.add_argument("--extra-train", nargs="*", default=[], help="more presets to train in the same queue (not scored)")
    p.add_argument("--extra-minutes", type=float, default=4.0)
    p.add_argument("--mnist", default="../shared/data/mnist")
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--samples", type=int, default=64)
    p.add_argument("--real-clips", type=int, default=128)
    p.add_argument("--score-only", action="store_true")
    p.add_argument("--out", default="runs/video_gan_small")
    args = p.parse_args()
    Path(args.out).mkdir(parents=True, exist_ok=True)
    if not args.score_only:
        with ThreadPoolExecutor(args.jobs) as pool:
            list(pool.map(lambda pr: train(pr, args), [*args.extra_train, *args.presets]))
    results = [score(pr, args) for pr in args.presets]
    (Path(args.out) / "summary.json").write_text(json.dumps(results, indent=1))
    lines = ["| preset | iterations | s / iteration | frame FID (mean +- std) |", "|---|---|---|---|"]
    for r in results:
        if r["rc"]:
            lines.append(f"| {r['preset']} | failed | | |")
            continue
        f = r["fid"]
        lines.append(
            f"| {r['preset']} | {r['steps']} | {r['s_per_iteration']:.3f} | {f['mean']:.1f} +- {f['std']:.1f} |"
        )
    (Path(args.out) / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
