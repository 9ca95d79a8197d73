"""How long it takes to build one training step's batch (on the CPU), in the training process and with workers.

For each preset: milliseconds to build the global batch of one step in this process (``train.num_workers=0``:
what a training step waits for before its forward), and the steps/s that ``--workers`` DataLoader worker
processes deliver (the ceiling of the data pipeline; compare with the model's steps/s on the GPU).

    python benchmarks/data_batch.py --presets default --steps 10 --workers 0 2
    python benchmarks/data_batch.py --presets default vid_ode_bb32_extrap --set data.image_size=128

Prints one line per preset and worker count; writes nothing.
"""

from __future__ import annotations

import argparse
import time


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--presets", nargs="+", default=["default"])
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--workers", type=int, nargs="+", default=[0])
    ap.add_argument("--set", dest="overrides", action="append", default=[])
    args = ap.parse_args(argv)
    import torch

    from odevideo.data.build import build_dataset
    from odevideo.training import ExperimentConfig, load_config
    from odevideo.training.batches import StepBatches, step_batch_loader

    torch.set_num_threads(1)
    rows = []
    for preset in args.presets:
        for workers in args.workers:
            cfg = load_config(ExperimentConfig, preset, None, [*args.overrides, f"train.num_workers={workers}"])
            shares = StepBatches(cfg, build_dataset(cfg, "train"), 0, 1, cfg.train.batch_size)
            cfg.train.steps = args.steps + 1
            batches = step_batch_loader(cfg, shares, 0, pin_memory=False)
            next(batches)  # workers started, first batch ready
            t0 = time.perf_counter()
            for _ in batches:
                pass
            s = (time.perf_counter() - t0) / args.steps
            rows.append({"preset": preset, "workers": workers, "batch": cfg.train.batch_size, "ms_per_step": 1000 * s})
            print(f"{preset:24s} batch {cfg.train.batch_size:3d} {cfg.data.image_size}px, {workers} workers: "
                  f"{1000 * s:7.1f} ms per step batch ({1 / s:6.1f} steps/s)", flush=True)
    return rows


if __name__ == "__main__":
    main()
