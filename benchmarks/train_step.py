"""Training-step benchmark: s/step, steps/s, NFE per step and peak memory for each preset, fp32 vs bf16.

Each (preset, precision) pair runs in a fresh subprocess so that peak RSS belongs to that
configuration alone. Speed is reported as the bf16/fp32 ratio measured in the same run.

    python benchmarks/train_step.py                         # all presets
    python benchmarks/train_step.py --presets default --steps 10 --threads 2

Writes ``benchmarks/results/train_step.json`` (atomically) and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

PRESETS = ["default", "mmnist1_latent_ode", "mmnist1_encoder_ode_decoder", "mmnist2_latent_ode",
           "mmnist1_latent_ode_paper", "mmnist1_encoder_ode_decoder_paper"]


def _worker(preset: str, bf16: bool, steps: int, warmup: int, threads: int, overrides: list[str]) -> dict:
    import resource

    import torch

    from odevideo.data.build import build_dataset
    from odevideo.methods import get_method
    from odevideo.training import ExperimentConfig, load_config
    from odevideo.training.batches import training_batch

    torch.set_num_threads(threads)
    cfg = load_config(ExperimentConfig, preset, None, [*overrides, f"train.bf16={str(bf16).lower()}"])
    # Moving MNIST needs the MNIST files: use ODEVIDEO_MNIST_DIR (e.g. ../shared/data/mnist) when set.
    if os.environ.get("ODEVIDEO_MNIST_DIR"):
        cfg.data.data_dir = os.environ["ODEVIDEO_MNIST_DIR"]
    torch.manual_seed(0)
    method = get_method(cfg.method)
    model = method.build(cfg)
    if cfg.train.activation_checkpointing:
        from odevideo.training.optim import enable_activation_checkpointing

        enable_activation_checkpointing(model)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.train.lr)
    ds = build_dataset(cfg, "train")
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times, nfes, data_s = [], [], 0.0
    for step in range(warmup + steps):
        t0 = time.perf_counter()
        batch = training_batch(cfg, ds, step)
        t1 = time.perf_counter()
        noise = method.training_noise(cfg, step)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = method.losses(cfg, model, None, batch, noise, step, torch.Generator().manual_seed(step))
        opt.zero_grad()
        out.loss.backward()
        opt.step()
        t2 = time.perf_counter()
        if step >= warmup:
            times.append(t2 - t0)
            data_s += t1 - t0
            nfes.append(out.metrics["nfe"] + model.latent.dynamics.nfe_backward)
        model.latent.dynamics.reset()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    mean = sum(times) / len(times)
    return {
        "preset": preset, "precision": "bf16" if bf16 else "fp32", "batch_size": cfg.train.batch_size,
        "image_size": cfg.data.image_size, "frames": cfg.data.num_frames, "steps_timed": steps,
        "s_per_step": mean, "steps_per_s": 1.0 / mean, "data_s_per_step": data_s / steps,
        "nfe_per_step_fwd_plus_bwd": sum(nfes) / len(nfes), "peak_rss_mb": peak_kb / 1024,
        "rss_growth_mb": (peak_kb - rss0) / 1024,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--presets", nargs="+", default=PRESETS)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                    help="config override applied to every preset, e.g. train.activation_checkpointing=true")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "train_step.json"))
    ap.add_argument("--_worker", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._worker:
        print(json.dumps(_worker(args._worker[0], args._worker[1] == "bf16", args.steps, args.warmup, args.threads,
                                 args.overrides)))
        return
    rows = []
    for preset in args.presets:
        pair = {}
        for prec in ("fp32", "bf16"):
            cmd = [sys.executable, __file__, "--_worker", preset, prec, "--steps", str(args.steps),
                   "--warmup", str(args.warmup), "--threads", str(args.threads),
                   *[x for o in args.overrides for x in ("--set", o)]]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True)
            pair[prec] = json.loads(out.stdout.strip().splitlines()[-1])
            rows.append(pair[prec])
        pair["bf16"]["speedup_vs_fp32_same_run"] = pair["fp32"]["s_per_step"] / pair["bf16"]["s_per_step"]
        for r in (pair["fp32"], pair["bf16"]):
            print(f"{preset:30s} {r['precision']:5s} {r['s_per_step']:7.3f} s/step  {r['steps_per_s']:6.2f} steps/s  "
                  f"NFE {r['nfe_per_step_fwd_plus_bwd']:5.1f}  peak RSS {r['peak_rss_mb']:7.0f} MB"
                  + (f"  bf16 speed-up x{r['speedup_vs_fp32_same_run']:.2f}"
                     if "speedup_vs_fp32_same_run" in r else ""))
    import torch

    result = {
        "benchmark": "train_step", "machine": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(),
        "threads": args.threads, "overrides": args.overrides, "torch": torch.__version__,
        "date": time.strftime("%Y-%m-%d"), "rows": rows,
    }
    from odevideo._atomic import atomic_write_text

    out = Path(args.out)
    atomic_write_text(out, json.dumps(result, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
