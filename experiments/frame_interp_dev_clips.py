"""In-between frames of real clips' held-out ends: a trained interpolator against repeat-previous, the linear blend
and DIS-flow interpolation, at a small size and at full resolution, for several gaps.

Protocol (per clip): decode every frame (RGB, [0, 1]); the test part is the last ``split[2]`` of the frames
(:func:`odevideo.data.time_split_range`, the part training never saw; ``--part train`` scores the first part
instead, to choose a design without looking at the test). Sizes: ``N`` = centre square crop resized
to ``N x N`` (the training pipeline's crop and resize), ``full`` = the frames as decoded. Gap ``g``: consecutive
non-overlapping windows of ``g + 1`` frames; frames 0 and ``g`` are observed, the ``g - 1`` between are predicted
at ``tau = k / g``. Scores per predicted frame: PSNR (dB, data range 1), SSIM (Gaussian 11x11, sigma 1.5) and
LPIPS (AlexNet v0.1); a window's score is the mean over its frames; ``paired`` gives, per baseline, the mean over
windows of (model - baseline) and its standard error (sample std / sqrt(windows)). A learned ``ode_flow_interp``
model's untrained start (its classical interpolation, the same model with its zero-initialised output layer) is
scored as ``start``, reported next to the baselines but not one of them.

    python experiments/frame_interp_dev_clips.py RUN_OR_MODEL --clips ../shared/data/video \\
        --lpips-dir ../shared/data/lpips --out docs/results/data/frame_interp_dev.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
from real_clip_parts import add_clip_arguments, at_sizes, clip_part, video_files

from odevideo._atomic import atomic_write_text
from odevideo.evaluation.interpolation import compare, score_windows
from odevideo.interpolation import ClassicalInterpolator, load_interpolator
from odevideo.methods.frame_interp import ODEFlowInterpolator
from odevideo.metrics.lpips import LPIPS

BASELINES = ("repeat_previous", "linear_blend", "dis_flow")


def _methods(model) -> dict:
    methods = {"model": model}
    methods.update({b: ClassicalInterpolator(b) for b in BASELINES})
    if isinstance(model, ODEFlowInterpolator):  # its untrained start, reported to show what training added
        methods["start"] = model.classical_start()
    return methods


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", help="run folder, model folder or pretrained name (anything load_interpolator takes); "
                   "{stem} is replaced by each clip's file name without its suffix (a model trained on each clip)")
    add_clip_arguments(p, part="test", sizes=["64", "full"])
    p.add_argument("--lpips-dir", default=None, help="folder with alexnet_features.pth and lpips_v0.1_alex_lin.pth")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    lp = None
    if args.lpips_dir:
        d = Path(args.lpips_dir)
        lp = LPIPS.from_files(d / "alexnet_features.pth", d / "lpips_v0.1_alex_lin.pth")
    result = {"protocol": __doc__.split("\n\n")[1].replace("\n", " "), "command": " ".join(sys.argv),
              "model": str(args.model), "split": args.split, "part": args.part, "clips": {}}
    for f in video_files(args.clips):
        model_path = args.model.replace("{stem}", f.stem)  # a model per clip: RUNS/{stem}/...
        methods = _methods(load_interpolator(model_path))
        n, (lo, hi), part = clip_part(f, args)
        result["clips"][f.name] = {"frames": n, f"{args.part}_frames": [lo, hi], "full_size": list(part.shape[-2:]),
                                   "model": model_path, "cells": {}}
        for size, clip in at_sizes(part, args.sizes):
            for gap in args.gaps:
                scores, seconds = score_windows(clip, gap, methods, lp)
                c = compare(scores, against=BASELINES)
                beats, means = c["beats"], c["means"]
                cell = {"size": size, "gap": gap, "windows": c["windows"], "means": means, "paired": c["paired"],
                        "model_beats_every_baseline_on_every_metric": beats, "seconds": seconds}
                result["clips"][f.name]["cells"][f"{size}/gap{gap}"] = cell
                row = " ".join(f"{m}={means[m]['psnr']:.2f}" for m in means)
                print(f"{f.name} {size} gap {gap}: {cell['windows']} windows PSNR {row} beats={beats}", flush=True)
    cells = [c for v in result["clips"].values() for c in v["cells"].values()]
    result["model_beats_every_baseline_everywhere"] = all(c["model_beats_every_baseline_on_every_metric"]
                                                          for c in cells)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(Path(args.out), json.dumps(result, indent=1))
    print("model beats every baseline on every metric in every cell:", result["model_beats_every_baseline_everywhere"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
