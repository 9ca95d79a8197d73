"""What the real-clip experiments share: their clip arguments, and each clip's part at each size.

A part is the ``split`` fraction ``part`` of a clip's frames in time order (:func:`odevideo.data.time_split_range`),
at most ``max_frames`` of them; size ``N`` is the centre square crop resized to ``N x N`` (the training pipeline's
crop and resize), ``full`` the frames as decoded.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

import torch

from odevideo.data import read_video
from odevideo.data.clip_files import VIDEO_EXTENSIONS
from odevideo.data.transforms import center_crop_square, resize
from odevideo.data.video_windows import time_split_range


def add_clip_arguments(p: argparse.ArgumentParser, part: str, sizes: list[str]) -> None:
    p.add_argument("--clips", default="../shared/data/video", help="a folder of video files or one file")
    p.add_argument("--split", type=float, nargs=3, default=[0.7, 0.1, 0.2], help="train/val/test fractions")
    p.add_argument("--part", choices=["train", "val", "test"], default=part,
                   help="which part of each clip to score (train: to choose a design without looking at the test)")
    p.add_argument("--max-frames", type=int, default=None, help="score at most this many frames of the part")
    p.add_argument("--sizes", nargs="+", default=sizes)
    p.add_argument("--gaps", type=int, nargs="+", default=[2, 4])
    p.add_argument("--out", default=None, help="JSON to write")
    p.add_argument("--threads", type=int, default=None)


def video_files(clips: str) -> list[Path]:
    root = Path(clips)
    return [root] if root.is_file() else sorted(f for f in root.iterdir() if f.suffix.lower() in VIDEO_EXTENSIONS)


def clip_part(f: Path, args: argparse.Namespace) -> tuple[int, tuple[int, int], torch.Tensor]:
    """``(frames in the file, (first, end) of the part, the part (T, 3, H, W) in [0, 1])``."""
    frames, _ = read_video(f, channels=3)
    lo, hi = time_split_range(frames.shape[0], args.split, args.part)
    if args.max_frames:
        hi = min(hi, lo + args.max_frames)
    return int(frames.shape[0]), (lo, hi), frames[lo:hi]


def at_sizes(part: torch.Tensor, sizes: list[str]) -> Iterator[tuple[str, torch.Tensor]]:
    for size in sizes:
        yield size, part if size == "full" else resize(center_crop_square(part), int(size))
