"""``odevideo experiment``: the Vid-ODE paper's experiments on trained runs (figures 1, 3, 6 and 8).

Each takes run directories (or checkpoints), the held-out split of the first run's dataset, and writes
``<out>/<name>.json`` + ``.png``. Models are compared on the same clips (and, for the sweep, the same
seeded masks).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from odevideo.cli.options import check_output_folder, whole_number

EXPERIMENTS = ("sampling-rate", "unseen-times", "frame-rate", "composition")


def add_parser(sub) -> None:
    s = sub.add_parser("experiment", help="Vid-ODE experiments on trained runs: sampling-rate (fig. 6), unseen-times "
                       "(fig. 8), frame-rate (fig. 1), composition (fig. 3)")
    s.add_argument("name", choices=EXPERIMENTS)
    s.add_argument("runs", nargs="+", help="run directories or checkpoints; the first one's data config is used")
    s.add_argument("--labels", help="comma-separated model names (default: the run directory names)")
    s.add_argument("--which", default="best", choices=["best", "last"])
    s.add_argument("--split", default="test", choices=["val", "test"])
    s.add_argument("--num-clips", type=whole_number(1), default=64)
    s.add_argument("--clip", type=whole_number(0), default=0, help="frame-rate / composition: which clip of the split")
    s.add_argument("--task", choices=["extrapolation", "interpolation"],
                   help="sampling-rate: default from the first run's task.formulation")
    s.add_argument("--rates", default="1.0,0.8,0.6,0.4,0.2", help="sampling-rate: fractions of observed inputs")
    s.add_argument("--stride", type=whole_number(1), default=2, help="unseen-times: observe every stride-th frame")
    s.add_argument("--factor", type=whole_number(1), default=4, help="frame-rate: multiple of the input frame rate")
    s.add_argument("--future", type=whole_number(0), default=0, help="frame-rate: extra frames after the inputs")
    s.add_argument("--seed", type=int, default=0, help="sampling-rate: seed of the input masks")
    s.add_argument("--lpips-dir", help="directory with LPIPS weights (adds LPIPS; see `odevideo evaluate --help`)")
    s.add_argument("--out", required=True, help="output directory")
    s.set_defaults(func=run)


def _clips(cfg, split: str, n: int):
    from odevideo.data.build import build_dataset
    from odevideo.training.batches import batch_from_indices

    ds = build_dataset(cfg, split)
    return batch_from_indices(ds, range(min(n, len(ds))), cfg.data.frame_dt)


def _rates(text: str) -> list[float]:
    """``--rates`` as numbers in (0, 1]."""
    from odevideo.errors import InputError

    try:
        rates = [float(r) for r in text.split(",") if r.strip()]
    except ValueError:
        rates = []
    if not rates or not all(math.isfinite(r) and 0 < r <= 1 for r in rates):
        raise InputError(f"--rates {text!r}: give fractions of observed inputs in (0, 1], e.g. 1.0,0.8,0.6")
    return rates


def run(args: argparse.Namespace) -> int:
    from odevideo.errors import InputError
    from odevideo.evaluation.conditional import load_lpips
    from odevideo.methods.vid_ode import protocols as ex
    from odevideo.training import load_run

    labels = args.labels.split(",") if args.labels else [Path(r).resolve().name for r in args.runs]
    if len(labels) != len(args.runs):
        raise InputError(f"--labels names {len(labels)} models but {len(args.runs)} runs were given")
    rates = _rates(args.rates)
    check_output_folder(args.out, "--out")
    loaded = [load_run(r, which=args.which) for r in args.runs]
    models = dict(zip(labels, (m for m, _ in loaded)))
    cfg = loaded[0][1]
    lp = None
    if args.lpips_dir:
        cfg.eval.lpips_dir = args.lpips_dir
        lp = load_lpips(cfg)
    n_obs = cfg.task.num_observed
    if args.name in ("frame-rate", "composition"):
        batch = _clips(cfg, args.split, args.clip + 1)
        frames, times = batch.frames[args.clip : args.clip + 1], batch.times[args.clip : args.clip + 1]
        model = next(iter(models.values()))
        if args.name == "frame-rate":
            result = ex.arbitrary_frame_rate(model, frames, times, num_observed=n_obs, factor=args.factor,
                                             future=args.future)
        else:
            # the model's own task: predict the frames after the inputs, or reconstruct the strided inputs
            if cfg.task.formulation == "interpolation":
                idx = list(range(0, (n_obs - 1) * cfg.task.interp_stride + 1, cfg.task.interp_stride))
                ctx, q = frames[:, idx], times[:, : idx[-1] + 1]
                result = ex.composition_components(model, ctx, times[:, idx], q, targets=frames[:, : idx[-1] + 1])
            else:
                result = ex.composition_components(model, frames[:, :n_obs], times[:, :n_obs], times[:, n_obs:],
                                                   targets=frames[:, n_obs:])
    else:
        batch = _clips(cfg, args.split, args.num_clips)
        if args.name == "sampling-rate":
            task = args.task or ("interpolation" if cfg.task.formulation == "interpolation" else "extrapolation")
            result = ex.sampling_rate_sweep(models, batch.frames, batch.times, num_observed=n_obs, rates=rates,
                                            task=task, seed=args.seed, lpips=lp)
        else:
            result = ex.unseen_timestep_interpolation(models, batch.frames, batch.times, stride=args.stride, lpips=lp)
    paths = ex.write_experiment_result(result, args.out, args.name.replace("-", "_"))
    print(f"wrote {', '.join(str(p) for p in paths.values())}")
    return 0
