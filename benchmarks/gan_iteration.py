"""Time per training iteration of the video-GAN presets, measured round-robin in one process so that every
preset sees the same machine load; reports each preset's ratio to a reference preset of the same run.

    python benchmarks/gan_iteration.py --mnist ../shared/data/mnist
    python benchmarks/gan_iteration.py --presets tgan_ode_mmnist32 tgan_mmnist32 --reference tgan_mmnist32

An iteration is the trainer's whole step (generator and discriminator losses from one pass, both backward
passes, both optimizer steps, singular value clipping where configured). Writes
``benchmarks/results/gan_iteration.json`` (atomically) and prints a table.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

import torch

from odevideo._atomic import atomic_write_text
from odevideo.training import ExperimentConfig, Trainer, load_config

PAIRS = {"tgan_ode_mmnist32": "tgan_mmnist32", "tgan_sde_mmnist32": "tgan_mmnist32",
         "mocogan_ode_mmnist32": "mocogan_mmnist32",
         "tganv2_ode_mmnist32": "tganv2_mmnist32", "tganv2_ode2_mmnist32": "tganv2_mmnist32",
         "tganv2_sde_mmnist32": "tganv2_mmnist32"}


def main() -> dict:
    ap = argparse.ArgumentParser()
    ap.add_argument("--presets", nargs="+", default=["tgan_mmnist32", "tgan_ode_mmnist32", "tgan_sde_mmnist32",
                                                      "mocogan_mmnist32", "mocogan_ode_mmnist32"])
    ap.add_argument("--rounds", type=int, default=8, help="timed iterations per preset (round-robin)")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--mnist", default=None, help="MNIST files for the Moving MNIST presets")
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "gan_iteration.json"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    tmp = tempfile.mkdtemp(prefix="gan_iter_")
    trainers = {}
    for p in args.presets:
        over = [*args.overrides, f"output_dir={tmp}", "train.progress=false"]
        if args.mnist:
            over.append(f"data.data_dir={args.mnist}")
        trainers[p] = Trainer(load_config(ExperimentConfig, p, None, over))
    times: dict[str, list[float]] = {p: [] for p in args.presets}
    for r in range(args.warmup + args.rounds):
        for p, t in trainers.items():
            t0 = time.perf_counter()
            t._train_step()
            t.step += 1
            if r >= args.warmup:
                times[p].append(time.perf_counter() - t0)
    rows = []
    for p in args.presets:
        med = statistics.median(times[p])
        ref = PAIRS.get(p)
        rows.append({"preset": p, "s_per_iteration": med, "all": times[p],
                     "reference": ref,
                     "ratio_to_reference": (med / statistics.median(times[ref])) if ref in times else None,
                     "generator_params": sum(x.numel() for x in trainers[p].model.parameters()),
                     "bf16": trainers[p].cfg.train.bf16})
    result = {"benchmark": "gan_iteration", "threads": args.threads, "rounds": args.rounds, "warmup": args.warmup,
              "torch": torch.__version__, "machine": platform.processor() or platform.machine(),
              "date": time.strftime("%Y-%m-%d %H:%M:%S"), "rows": rows}
    atomic_write_text(Path(args.out), json.dumps(result, indent=2))
    print("| preset | s / iteration (median) | vs original | generator params |\n|---|---|---|---|")
    for r in rows:
        ratio = f"{r['ratio_to_reference']:.2f}x" if r["ratio_to_reference"] else "-"
        print(f"| {r['preset']} | {r['s_per_iteration']:.3f} | {ratio} | {r['generator_params']:,} |")
    return result


if __name__ == "__main__":
    main()
