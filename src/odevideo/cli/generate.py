"""``odevideo generate`` (video GAN runs): sample videos at any frame rate and time range, also before t = 0.

Times are in frames of the training clips (frame k of a training clip is at time k); the ODE/SDE temporal
generators accept any real times; the discrete originals whole frames only (MoCoGAN's GRU and TGANv2's ConvLSTM any
number of them, TGAN's 1-D deconvolutions frames 0..15), and say so when asked for others.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from odevideo.cli.options import check_output_file, number, whole_number

#: What ``--output`` writes: a still (.png), the array (.npy), a video, or a folder of PNGs (no suffix).
OUTPUT_SUFFIXES = (".png", ".npy", ".gif", ".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".y4m")


def add_parser(sub) -> None:
    s = sub.add_parser(
        "generate", help="sample videos from a video-GAN run at any frame rate / time range (GIF/MP4/NPY)"
    )
    s.add_argument("checkpoint", help="run directory or checkpoint")
    s.add_argument("--which", default="best", choices=["best", "last"])
    s.add_argument("--num", type=whole_number(1), default=8, help="how many videos")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--times", help="frame times 'start:stop:step' or a comma list, e.g. -8:15:0.5 (default 0..T-1)")
    s.add_argument("--fps-factor", type=whole_number(1), default=1,
                   help="frames per training frame over 0..T-1 (ignored with --times)")
    s.add_argument("--fps", type=number(0, inclusive=False), default=8.0, help="frame rate of the written file")
    s.add_argument("--scale", type=whole_number(1), default=1,
                   help="enlarge every frame this many times (nearest neighbour) in a .gif/.mp4/.png, for viewing "
                   "small frames; the .npy keeps the model's size")
    s.add_argument("--real", nargs="?", const="test", choices=["train", "val", "test"], metavar="SPLIT",
                   help="write the first --num clips of the run's own dataset (split SPLIT, default test) in the "
                   "same layout instead of generated ones: the reference to view the samples against")
    s.add_argument("--output", required=True, help=".gif/.mp4 (videos tiled in a grid), .png (a still: one video per "
                   "row, its frames left to right) or .npy ((N, T, C, H, W) in [0, 1])")
    s.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from odevideo._atomic import atomic_write
    from odevideo.data import make_grid, save_image, write_video
    from odevideo.errors import InputError
    from odevideo.evaluation.inference import MAX_QUERY_TIMES, parse_times
    from odevideo.methods import METHODS
    from odevideo.methods.video_gan.generation import sample_videos
    from odevideo.training import load_run

    check_output_file(args.output, "--output", OUTPUT_SUFFIXES, folder=True)
    if args.real is not None and (args.times or args.fps_factor != 1):
        raise InputError("--real writes the dataset's clips at their own frames; drop --times / --fps-factor")
    given_times = parse_times(args.times, name="--times") if args.times else None
    model, cfg = load_run(args.checkpoint, which=args.which)
    if METHODS[cfg.method].conditional:
        generative = ", ".join(name for name, m in METHODS.items() if not m.conditional)
        raise InputError(f"{args.checkpoint} is a {cfg.method} run; `generate` samples generative methods "
                         f"({generative}). Use `odevideo predict` for conditional models")
    if args.real is not None:
        videos, what = _real_clips(cfg, args.real, args.num)
    else:
        if given_times is not None:
            times = given_times.float()
        else:
            n = cfg.data.num_frames
            times = torch.arange((n - 1) * args.fps_factor + 1, dtype=torch.float32) / args.fps_factor
        if args.num * times.numel() > MAX_QUERY_TIMES:
            raise InputError(f"--num {args.num} videos x {times.numel()} times are {args.num * times.numel()} frames, "
                             f"more than the limit of {MAX_QUERY_TIMES} per call; ask for fewer videos or times")
        # the temporal generator decides which times it can make: the ODE/SDE ones any real times; MoCoGAN's GRU and
        # TGANv2's ConvLSTM whole frames 0, 1, 2, ... (also past the training length); TGAN's 1-D deconvs 0..15
        videos = sample_videos(model, args.num, times, seed=args.seed)
        what = f"at times {float(times[0]):g}..{float(times[-1]):g}"
    out = Path(args.output)
    if args.scale > 1 and out.suffix.lower() != ".npy":  # the .npy keeps the model's size
        videos = videos.repeat_interleave(args.scale, dim=-2).repeat_interleave(args.scale, dim=-1)
    if out.suffix.lower() == ".npy":
        atomic_write(out, lambda tmp: np.save(tmp, videos.numpy()), suffix=".tmp.npy")
    elif out.suffix.lower() == ".png":  # a filmstrip per video: row i = video i, column k = time k
        save_image(out, videos.reshape(-1, *videos.shape[2:]), nrow=videos.shape[1], padding=1)
    else:
        nrow = int(np.ceil(np.sqrt(args.num)))
        frames = torch.stack([make_grid(videos[:, k], nrow=nrow) for k in range(videos.shape[1])])
        write_video(out, frames, fps=args.fps)
    print(f"wrote {out}: {videos.shape[0]} videos x {videos.shape[1]} frames {what}")
    return 0


def _real_clips(cfg, split: str, num: int):
    """The first ``num`` clips ``(num, T, C, H, W)`` in [0, 1] of the run's ``split``, as the run's config builds it."""
    from odevideo.data.build import build_dataset
    from odevideo.errors import InputError
    from odevideo.training.batches import batch_from_indices

    dataset = build_dataset(cfg, split)
    if len(dataset) < num:
        raise InputError(f"--real {split}: the run's {split} split has {len(dataset)} clips, fewer than --num {num}")
    return batch_from_indices(dataset, range(num), cfg.data.frame_dt).frames.float(), f"(the {split} split's clips)"
