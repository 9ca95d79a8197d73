"""Small-scale Vid-ODE comparison on 2 CPU cores: every model gets the same wall-clock budget.

    python experiments/vid_ode_small_scale.py --minutes 5 --jobs 2 --out runs/vid_ode_small

Trains each (dataset, task, model) preset with ``--max-minutes`` (one thread per job, ``--jobs`` at a time),
then evaluates the best-by-validation checkpoint on the test split (never used for selection) and writes
``<out>/summary.json`` and ``<out>/summary.md``. Moving MNIST needs the MNIST files: ``--mnist DIR``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

MODELS = {
    "extrap": ["vid_ode", "ode_conv", "ode_fc", "convgru", "vid_rnn", "latent_ode", "ode2vae"],
    "interp": ["vid_ode", "ode_conv", "ode_fc", "vid_rnn", "latent_ode", "ode2vae"],
}


def run(cmd: list[str], log: Path) -> int:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    with open(log, "a") as f:
        f.write("$ " + " ".join(cmd) + "\n")
        f.flush()
        return subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, env=env).returncode


def job(preset: str, args) -> dict:
    out = Path(args.out)
    log = out / f"{preset}.log"
    sets = ["--set", "train.threads=1", "--set", "train.progress=false"]
    if "mmnist" in preset:
        sets += ["--set", f"data.data_dir={args.mnist}"]
    t0 = time.time()
    if args.summarize_only:
        rc = 0 if (out / preset / "eval_test" / "eval.json").exists() else 1
        return _collect(preset, out, rc, t0)
    rc = run(["odevideo", "train", "--preset", preset, "--output-dir", str(out), "--max-minutes", str(args.minutes),
              *sets], log)
    if rc == 0:
        lp = ["--lpips-dir", args.lpips_dir] if args.lpips_dir else []
        rc = run(["odevideo", "evaluate", str(out / preset), "--num-clips", str(args.num_clips), *lp], log)
    return _collect(preset, out, rc, t0)


def _collect(preset: str, out: Path, rc: int, t0: float) -> dict:
    res = {"preset": preset, "rc": rc, "wall_min": (time.time() - t0) / 60}
    ev = out / preset / "eval_test" / "eval.json"
    if rc == 0 and ev.exists():
        res["eval"] = json.loads(ev.read_text())
        last = json.loads((out / preset / "checkpoints" / "last.json").read_text())
        res["steps"] = last["extra_state"]["step"]
    return res


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--minutes", type=float, default=5.0)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--datasets", nargs="+", default=["bb32", "mmnist64"])
    p.add_argument("--tasks", nargs="+", default=["extrap", "interp"])
    p.add_argument("--models", nargs="+", help="subset of model families")
    p.add_argument("--mnist", default="../shared/data/mnist")
    p.add_argument("--lpips-dir", default=None)
    p.add_argument("--num-clips", type=int, default=256)
    p.add_argument("--out", default="runs/vid_ode_small")
    p.add_argument("--summarize-only", action="store_true", help="only rebuild summary.{json,md} from finished runs")
    args = p.parse_args()
    Path(args.out).mkdir(parents=True, exist_ok=True)
    presets = [f"{m}_{d}_{t}" for d in args.datasets for t in args.tasks for m in MODELS[t]
               if not args.models or m in args.models]
    with ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(lambda pr: job(pr, args), presets))
    (Path(args.out) / "summary.json").write_text(json.dumps(results, indent=1))
    lines = ["| preset | steps | section | PSNR | SSIM | MSE/pixel | LPIPS |", "|---|---|---|---|---|---|---|"]
    for r in results:
        if "eval" not in r:
            lines.append(f"| {r['preset']} | failed (rc {r['rc']}) | | | | | |")
            continue
        sec = "interpolation" if r["preset"].endswith("interp") else "extrapolation"
        for method, v in r["eval"]["sections"][sec].items():
            if method != "model" and not r["preset"].startswith("vid_ode"):
                continue
            lines.append(f"| {r['preset']} | {r['steps']} | {sec} / {method} | {v['psnr']:.2f} | {v['ssim']:.4f} | "
                         f"{v['mse']:.5f} | {v.get('lpips', float('nan')):.4f} |")
    (Path(args.out) / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0 if all(r["rc"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
