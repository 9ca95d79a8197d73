"""Training-free starts of ``ode_flow_interp`` compared on real clips: how the DIS flow is estimated (the preset's
half resolution or the frames' own, ``dis_finest_scale``) and whether the flow falls back to the blend
(``start=dis_flow`` or ``dis_flow_or_blend``), with the preset's warp sampling.

Each start is an untrained :class:`~odevideo.methods.frame_interp.ODEFlowInterpolator` (its output is exactly its
classical interpolation). Clips, parts, sizes and windows as in ``frame_interp_dev_clips.py``; PSNR (dB) and SSIM
per window, means over windows. Used to choose a preset's start on the clips' training parts (``--part train``)
and checked on a clip no choice was made on.

    python experiments/frame_interp_starts.py --sizes 64 --sampling bicubic --part train \\
        --out docs/results/frame_interp/starts_64_train.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
from real_clip_parts import add_clip_arguments, at_sizes, clip_part, video_files

from odevideo._atomic import atomic_write_text
from odevideo.evaluation.interpolation import score_windows
from odevideo.interpolation import ClassicalInterpolator
from odevideo.methods.frame_interp import ODEFlowInterpolator

#: name -> (start, dis_finest_scale)
STARTS = {"dis": ("dis_flow", None), "dis_own_res": ("dis_flow", 0),
          "dis_or_blend": ("dis_flow_or_blend", None), "dis_own_res_or_blend": ("dis_flow_or_blend", 0)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_clip_arguments(p, part="train", sizes=["64"])
    p.add_argument("--sampling", choices=["bilinear", "bicubic"], default="bicubic")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    methods = {name: ODEFlowInterpolator(3, start=start, dis_finest_scale=scale, sampling=args.sampling).eval()
               for name, (start, scale) in STARTS.items()}
    methods["linear_blend"] = ClassicalInterpolator("linear_blend")
    result = {"protocol": __doc__.split("\n\n")[1].replace("\n", " "), "command": " ".join(sys.argv),
              "starts": {k: {"start": s, "dis_finest_scale": f} for k, (s, f) in STARTS.items()},
              "sampling": args.sampling, "split": args.split, "part": args.part, "clips": {}}
    for f in video_files(args.clips):
        _, (lo, hi), part = clip_part(f, args)
        cells = result["clips"].setdefault(f.name, {f"{args.part}_frames": [lo, hi], "cells": {}})["cells"]
        for size, clip in at_sizes(part, args.sizes):
            for gap in args.gaps:
                scores, seconds = score_windows(clip, gap, methods)
                means = {m: {k: sum(v) / len(v) for k, v in d.items()} for m, d in scores.items()}
                cells[f"{size}/gap{gap}"] = {"windows": len(scores["dis"]["psnr"]), "means": means,
                                             "seconds": seconds}
                row = " ".join(f"{m}={v['psnr']:.2f}" for m, v in means.items())
                print(f"{f.name} {size} gap {gap}: PSNR {row}", flush=True)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(Path(args.out), json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
