"""Does ``train.compile`` (``torch.compile`` of the conv encoders/decoders and ODE nets) speed up training?

Builds two trainers of the same preset in one process, eager and ``train.compile=true``, and times their
optimizer steps (``Trainer._train_step``: batch, forward, backward, optimizer; no validation or files).
The compiled trainer's first steps (compilation) are timed separately. Then ``--rounds`` rounds alternate
``--steps`` eager and ``--steps`` compiled steps, so that both see the same machine load; the speed-up is
the median over rounds of eager s/step / compiled s/step (> 1: compiling helps).

    python benchmarks/compile_speed.py                      # default preset, 1 thread
    python benchmarks/compile_speed.py --preset default --threads 2 --steps 10 --rounds 3

Writes ``benchmarks/results/compile_speed.json`` (atomically; ``--out`` to choose) and prints a summary.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path


def _steps(trainer, n: int) -> float:
    """Seconds per optimizer step over the next ``n`` steps of ``trainer``."""
    t0 = time.perf_counter()
    for _ in range(n):
        trainer._train_step()
        trainer.step += 1
    return (time.perf_counter() - t0) / n


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="default")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps of each trainer (compilation happens here)")
    ap.add_argument("--steps", type=int, default=10, help="timed steps per trainer per round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--set", dest="overrides", action="append", default=[], help="extra config overrides")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "compile_speed.json"))
    args = ap.parse_args(argv)

    import torch

    from odevideo._atomic import atomic_write_text
    from odevideo.training import ExperimentConfig, Trainer, load_config

    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory(prefix="odevideo_compile_bench_") as tmp:
        common = [f"output_dir={tmp}", "train.progress=false", "train.max_minutes=null", "train.device=cpu",
                  f"train.threads={args.threads}", *args.overrides]
        trainers = {}
        first_steps_s = {}
        for mode in ("eager", "compiled"):
            cfg = load_config(ExperimentConfig, args.preset, None,
                              [*common, f"name={mode}", f"train.compile={str(mode == 'compiled').lower()}"])
            trainers[mode] = Trainer(cfg)
            t0 = time.perf_counter()
            _steps(trainers[mode], args.warmup)
            first_steps_s[mode] = time.perf_counter() - t0
        rounds = []
        for _ in range(args.rounds):
            rounds.append({mode: _steps(trainers[mode], args.steps) for mode in ("eager", "compiled")})
    speedups = [r["eager"] / r["compiled"] for r in rounds]
    cfg = trainers["eager"].cfg
    result = {
        "benchmark": "compile_speed",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": "python benchmarks/compile_speed.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": {"host": platform.node(), "cpu_count": os.cpu_count(), "torch": torch.__version__,
                    "load_avg_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None},
        "preset": args.preset, "threads": args.threads, "batch_size": cfg.train.batch_size, "bf16": cfg.train.bf16,
        "image_size": cfg.data.image_size, "warmup_steps": args.warmup, "steps_per_round": args.steps,
        "warmup_seconds": first_steps_s, "rounds": rounds,
        "eager_s_per_step": statistics.median(r["eager"] for r in rounds),
        "compiled_s_per_step": statistics.median(r["compiled"] for r in rounds),
        "speedup_median": statistics.median(speedups), "speedups": speedups,
    }
    atomic_write_text(args.out, json.dumps(result, indent=1) + "\n")
    print(f"{args.preset}, {args.threads} thread(s), batch {cfg.train.batch_size}, bf16={cfg.train.bf16}: "
          f"eager {result['eager_s_per_step']:.3f} s/step, compiled {result['compiled_s_per_step']:.3f} s/step, "
          f"speed-up x{result['speedup_median']:.2f} (rounds: {', '.join(f'{s:.2f}' for s in speedups)}); "
          f"first {args.warmup} steps: eager {first_steps_s['eager']:.1f} s, "
          f"compiled {first_steps_s['compiled']:.1f} s")
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
