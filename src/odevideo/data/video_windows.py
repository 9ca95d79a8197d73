"""Windows over whole video files, optionally split in time: every part of every file is used.

:class:`VideoWindowDataset` reads the same sources as :class:`~odevideo.data.VideoFolderDataset`
(a folder of video files, GIFs, ``.npy`` arrays or frame folders, or one video file), with the same
decoding, centre crop, resize and augmentation, but its items are *windows* of ``span`` source frames
(``span = (num_frames - 1) * frame_stride + 1``) placed anywhere in a file:

Training (``num_items=N``)
    ``N`` items; item ``i`` is one window drawn uniformly among *all* window positions of all files
    (so a file is picked with a weight equal to its number of windows), from a generator seeded with
    ``(seed, i)`` only. An item is a pure function of its index and the seed -- no epoch, no hidden
    state -- so a resumed run sees the same windows, and over a run every part of every file is seen.

Evaluation (``num_items=None``)
    Every window of every file, non-overlapping by default: starts ``0, stride, 2*stride, ...`` with
    ``stride`` (in source frames) defaulting to ``span``; the frames after the last whole window are
    not scored. One long test video is many scored clips.

Split in time (``time_split=(train, val, test)``, ``part="train"|"val"|"test"``)
    Each file is cut into three consecutive frame ranges: of its ``n`` frames, train is
    ``[0, round(n * train))``, val ``[round(n * train), round(n * (train + val)))``, test the rest.
    The fractions are non-negative and sum to 1. Windows stay inside their part: no window crosses
    a split boundary.

Lengths are measured at construction (video files and GIFs are decoded once for it). Frames in memory
(``cache_bytes``, 1 GiB by default): the first window of a part decodes the whole part once, crops and
resizes it, and keeps it (float32, per process); every later window of that part is a slice. Parts that
do not fit the budget are decoded per window, from the file's first frame up to the window's end
(converting long videos once to ``.npy`` or frame folders then makes every window cheap). Both ways give
the same values.
"""

from __future__ import annotations

import bisect
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from odevideo.data.clip_files import CLIP_EXTENSIONS, VideoClip
from odevideo.data.video_folder import VideoFolderDataset, leave_out_short
from odevideo.errors import DatasetError, InputError

__all__ = ["VideoWindowDataset", "time_split_range", "check_split", "SPLIT_PARTS"]

SPLIT_PARTS = ("train", "val", "test")
_WINDOW_STREAM = 2  # the generator stream of a training window (0 and 1 are VideoFolderDataset's)


def time_split_range(n: int, fractions: Sequence[float], part: str) -> tuple[int, int]:
    """The ``[lo, hi)`` frame range of ``part`` (train / val / test) in an ``n``-frame file split by ``fractions``."""
    fr = check_split(fractions)
    if part not in SPLIT_PARTS:
        raise InputError(f"part must be one of {', '.join(SPLIT_PARTS)}, got {part!r}")
    cuts = [0, round(n * fr[0]), round(n * (fr[0] + fr[1])), n]
    k = SPLIT_PARTS.index(part)
    return cuts[k], cuts[k + 1]


def check_split(fractions: Sequence[float]) -> tuple[float, float, float]:
    """``fractions`` as three non-negative floats summing to 1 (an :class:`InputError` otherwise)."""
    try:
        fr = tuple(float(f) for f in fractions)
    except (TypeError, ValueError):
        fr = ()
    if len(fr) != 3 or any(not math.isfinite(f) or f < 0 for f in fr) or abs(sum(fr) - 1.0) > 1e-6:
        raise InputError(
            f"the time split must be three fractions >= 0 (train, val, test) that sum to 1, e.g. [0.8, 0.1, 0.1]; "
            f"got {list(fractions) if isinstance(fractions, Sequence) else fractions!r}"
        )
    return fr  # type: ignore[return-value]


class VideoWindowDataset(VideoFolderDataset):
    """Windows over whole files (see the module docstring).

    Args:
        root: a folder of clips (searched like :class:`VideoFolderDataset`) or one video file.
        num_frames, size: frames per item and output size, as for :class:`VideoFolderDataset`.
        num_items: training: the number of items (random windows); ``None``: every window (evaluation).
        stride: evaluation only: source frames between two window starts (default: the window's span).
        time_split: ``(train, val, test)`` fractions; each file is cut in time and only ``part`` is used.
        part: which part of the time split (``"train"``, ``"val"`` or ``"test"``).
        **kwargs: any other :class:`VideoFolderDataset` argument (``seed``, ``frame_stride``, ``crop``,
            ``channels``, ``augment``, ``short_clips``, ``recursive`` ...); ``window`` is not one.
            ``short_clips``: a part shorter than a window raises (``"error"``), is left out
            (``"skip"``) or gives one window with its last frame repeated (``"pad"``).

    Attributes:
        clips: the frame range of every file (its time-split part) that gives windows.
        windows: the number of windows of every entry of ``clips`` (positions when training,
            evaluation windows otherwise).
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        num_frames: int,
        size: int | Sequence[int] | None = None,
        *,
        num_items: int | None = None,
        stride: int | None = None,
        time_split: Sequence[float] | None = None,
        part: str = "train",
        short_clips: str = "error",
        cache_bytes: int = 1 << 30,
        **kwargs: Any,
    ) -> None:
        if "window" in kwargs:
            raise InputError(f"{type(self).__name__} places its own windows; drop window={kwargs['window']!r}")
        root = Path(root)
        if root.is_file() and "clips" not in kwargs:
            if root.suffix.lower() not in CLIP_EXTENSIONS:
                raise DatasetError(f"{root} is not a video file ({', '.join(CLIP_EXTENSIONS)})")
            kwargs["clips"] = [VideoClip(root)]
        if short_clips not in ("error", "pad", "skip"):
            raise InputError(f"short_clips must be one of error, pad, skip, got {short_clips!r}")
        super().__init__(root, num_frames, size, window="first", **kwargs)
        self.short_clips = short_clips  # applied to the parts below, not to whole files
        self.cache_bytes = int(cache_bytes)
        self._frame_cache: dict[tuple[str, int, int], torch.Tensor] = {}
        self._cached_bytes = 0
        if num_items is not None and (isinstance(num_items, bool) or int(num_items) != num_items or num_items < 1):
            raise InputError(f"num_items must be a positive int or None, got {num_items!r}")
        self.num_items = None if num_items is None else int(num_items)
        self.stride = self.span if stride is None else int(stride)
        if self.stride < 1:
            raise InputError(f"stride must be >= 1 source frame, got {stride!r}")
        self.time_split = None if time_split is None else check_split(time_split)
        self.part = part
        if part not in SPLIT_PARTS:
            raise InputError(f"part must be one of {', '.join(SPLIT_PARTS)}, got {part!r}")
        self._cut_parts()

    # ------------------------------------------------------------------ construction
    def _cut_parts(self) -> None:
        parts: list[VideoClip] = []
        for clip in self.clips:
            n = self.clip_length(clip)
            lo, hi = (0, n) if self.time_split is None else time_split_range(n, self.time_split, self.part)
            sub = VideoClip(clip.path, clip.label, clip.start + lo, clip.start + hi, clip.key)
            self._lengths[sub] = hi - lo
            parts.append(sub)
        what = "clips" if self.time_split is None else f"{self.part} parts"
        if self.short_clips == "skip":
            parts, self.skipped = leave_out_short(parts, self.clip_length, self.span, self._name(), what)
        else:
            for sub in parts:
                if self.short_clips == "error" and self.clip_length(sub) < self.span:
                    raise DatasetError(
                        f"{self._name()}: the {what[:-1]} {sub.name} has {self.clip_length(sub)} frames but a window "
                        f"of num_frames={self.num_frames} with frame_stride={self.frame_stride} needs {self.span}; "
                        f"lower data.num_frames, use a longer file or give that part more frames with data.split "
                        f"(in Python: short_clips='skip' / 'pad')"
                    )
        self.clips = [c for c in parts if self.clip_length(c) > 0]
        self.windows = [self._count(self.clip_length(c)) for c in self.clips]
        self._ends = [sum(self.windows[: k + 1]) for k in range(len(self.windows))]
        if not self.clips or self._ends[-1] == 0:
            raise DatasetError(f"{self._name()}: no {self.span}-frame window fits in the {what} under {self.root}")

    def _count(self, n: int) -> int:
        if n < self.span:
            return 1 if self.short_clips == "pad" else 0
        if self.num_items is not None:
            return n - self.span + 1
        return (n - self.span) // self.stride + 1

    # ------------------------------------------------------------------ windows
    def __len__(self) -> int:
        return self._ends[-1] if self.num_items is None else self.num_items

    def window_of(self, index: int) -> tuple[VideoClip, int]:
        """``(part, start)`` of item ``index``: the file's part it comes from and the window's first
        source frame (absolute in the file; the window covers ``start .. start + span - 1``)."""
        i = self._check_index(index)
        if self.num_items is not None:
            g = self._generator(i, _WINDOW_STREAM)
            i = int(torch.randint(self._ends[-1], (1,), generator=g))
        k = bisect.bisect_right(self._ends, i)
        offset = i - (self._ends[k - 1] if k else 0)
        step = 1 if self.num_items is not None else self.stride
        return self.clips[k], self.clips[k].start + offset * step

    def __getitem__(self, index: int) -> Any:
        i = self._check_index(index)
        part, start = self.window_of(i)
        stop = min(start + self.span, part.stop)
        cached = self._part_frames(part) if stop - start == self.span else None
        if cached is not None:
            lo = start - part.start
            return self._finish_item(i, cached[lo: lo + self.span: self.frame_stride].clone(), part)
        window = VideoClip(part.path, part.label, start, stop, part.key)
        self._lengths[window] = stop - start
        try:
            return self._make_item(i, window)
        finally:
            self._lengths.pop(window, None)

    def _part_frames(self, part: VideoClip) -> torch.Tensor | None:
        """The cropped and resized frames of a whole part, decoded once and kept while within ``cache_bytes``."""
        key = (str(part.path), part.start, part.stop)
        frames = self._frame_cache.get(key)
        if frames is not None or self.size is None:
            return frames
        need = self.clip_length(part) * self.channels * self.size[0] * self.size[1] * 4
        if self._cached_bytes + need > self.cache_bytes:
            return None
        frames = self._spatial(self._read(part, part.stop), part).contiguous()
        self._frame_cache[key] = frames
        self._cached_bytes += frames.numel() * frames.element_size()
        return frames

    def clip_info(self, index: int) -> dict[str, Any]:
        """``path``, ``label``, ``part_start``/``part_stop`` (the part's source frames), ``window_start`` and
        ``frame_indices`` (source frames of item ``index``; the part's last frame repeats when padded)."""
        part, start = self.window_of(index)
        last = part.stop - 1
        idx = [min(start + k * self.frame_stride, last) for k in range(self.num_frames)]
        return {"path": part.path, "label": part.label, "part_start": part.start, "part_stop": part.stop,
                "window_start": start, "frame_indices": idx}

    def set_epoch(self, epoch: int) -> None:
        """Has no effect on windows: an item depends on its index and the seed only (use more items)."""
        super().set_epoch(epoch)
        self.epoch = 0

    def __repr__(self) -> str:
        return (
            f"{self._name()}(root={str(self.root)!r}, clips={len(self.clips)}, windows={sum(self.windows)}, "
            f"items={len(self)}, num_frames={self.num_frames}, size={self.size}, frame_stride={self.frame_stride}, "
            f"time_split={self.time_split}, part={self.part!r}, seed={self.seed})"
        )
