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

Scene cuts (``scene_cuts=True``, the default)
    Each file is also cut at its scene cuts (hard cuts between shots), and no window crosses one:
    every time-split part is split further into the stretches between cuts. Pieces shorter than a
    window follow ``short_scenes`` (by default the ``short_clips`` policy): left out (``"skip"``,
    listed in ``skipped`` and reported in one warning), padded (``"pad"``) or an error naming the
    file, the piece and the fixes (``"error"``). The cut frames are in ``scene_cut_frames``.

    The test (:func:`find_scene_cuts`), on each frame averaged over its channels and area-averaged
    to at most 32x32 pixels, values in [0, 1]: with ``d_k`` the mean absolute difference between
    frames ``k - 1`` and ``k``, frame ``k`` starts a new scene when

    * ``d_k > 0.08`` (:data:`CUT_MIN_DIFF`), and
    * ``d_k > 6 x`` the median of ``d`` over the 12 frames on either side (:data:`CUT_RATIO`,
      :data:`CUT_NEIGHBOURS`): a jump far above the file's motion *there*, so fast motion, camera
      shake and noise, whose differences are large at every frame, are not cuts, and
    * frame ``k + 1`` differs from ``k - 1`` and frame ``k`` from ``k - 2`` by more than 0.08 too:
      a one-frame flash (a frame unlike both neighbours that are alike) is not a cut.

    Measured on the four development clips (``../shared/data/video``, median ``d_k`` 0.003 to
    0.007): inside a shot the largest ``d_k`` is 0.062 (``tree.avi``, fast motion; 3.2 x its
    local median) and the largest ratio to the local median 10.3 (``box.mp4``, a camera jerk,
    ``d_k`` 0.037); the cuts of ``Megamind.avi`` (its black first frame, then hard cuts at frames
    98, 154 and 200) have ``d_k`` 0.13 to 0.16 and ratios 19 to 110: they pass the floor by a
    factor of 1.6 or more and the ratio by 3 or more, while every other frame stays under the
    floor and all but box's jerk under the ratio too. Gradual transitions (fades, dissolves) are
    not detected.

Lengths (and scene cuts) are measured at construction: each file is decoded once for it (with
``scene_cuts=False``, ``.npy`` files and frame folders are only counted). Frames in memory
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
import statistics
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch.nn import functional as F

from odevideo.data.clip_files import CLIP_EXTENSIONS, VideoClip
from odevideo.data.video_folder import VideoFolderDataset, leave_out_short
from odevideo.errors import DatasetError, InputError

__all__ = ["VideoWindowDataset", "time_split_range", "check_split", "find_scene_cuts", "SPLIT_PARTS"]

#: scene-cut test (module docstring): frames area-averaged to at most this many pixels a side
CUT_SIZE = 32
#: the smallest mean absolute frame difference (values in [0, 1]) of a cut
CUT_MIN_DIFF = 0.08
#: a cut's difference is more than this many times the median difference around it
CUT_RATIO = 6.0
#: the frames on either side whose differences give that median
CUT_NEIGHBOURS = 12

SPLIT_PARTS = ("train", "val", "test")
_WINDOW_STREAM = 2  # the generator stream of a training window (0 and 1 are VideoFolderDataset's)
_CROP_STREAM = 3  # the generator stream of a training window's native-resolution crop


def time_split_range(n: int, fractions: Sequence[float], part: str) -> tuple[int, int]:
    """The ``[lo, hi)`` frame range of ``part`` (train / val / test) in an ``n``-frame file split by ``fractions``."""
    fr = check_split(fractions)
    if part not in SPLIT_PARTS:
        raise InputError(f"part must be one of {', '.join(SPLIT_PARTS)}, got {part!r}")
    cuts = [0, round(n * fr[0]), round(n * (fr[0] + fr[1])), n]
    k = SPLIT_PARTS.index(part)
    return cuts[k], cuts[k + 1]


def _small_gray(frame: torch.Tensor) -> torch.Tensor:
    """A ``(C, H, W)`` frame in [0, 1] -> its channel mean, area-averaged to at most CUT_SIZE pixels a side."""
    g = frame.float().mean(0, keepdim=True)[None]
    h, w = g.shape[-2:]
    if h > CUT_SIZE or w > CUT_SIZE:
        g = F.adaptive_avg_pool2d(g, (min(h, CUT_SIZE), min(w, CUT_SIZE)))
    return g[0, 0]


class _CutScanner:
    """Streams frames once and keeps the differences the scene-cut test needs (not the frames)."""

    def __init__(self) -> None:
        self.count = 0
        self.d1: list[float] = [math.nan]  # d1[k]: frame k vs k - 1
        self.d2: list[float] = [math.nan, math.nan]  # d2[k]: frame k vs k - 2
        self._last: list[torch.Tensor] = []

    def add(self, frame: torch.Tensor) -> None:
        g = _small_gray(frame)
        if self._last:
            if g.shape != self._last[-1].shape:  # a size change mid-file: read_video refuses it later
                g = F.interpolate(g[None, None], size=self._last[-1].shape, mode="area")[0, 0]
            self.d1.append(float((g - self._last[-1]).abs().mean()))
            if len(self._last) == 2:
                self.d2.append(float((g - self._last[0]).abs().mean()))
        self._last = [*self._last[-1:], g]
        self.count += 1

    def cuts(self) -> list[int]:
        return find_scene_cuts(self.d1[1:self.count], self.d2[2:self.count])


def find_scene_cuts(d1: Sequence[float], d2: Sequence[float]) -> list[int]:
    """The frames that start a new scene (module docstring), from the differences of a file's frames:
    ``d1[k - 1]`` between frames ``k - 1`` and ``k`` (``n - 1`` values), ``d2[k - 2]`` between frames ``k - 2`` and
    ``k`` (``n - 2`` values). Returns frame indices in ``1 .. n - 1``."""
    n = len(d1) + 1
    cuts = []
    for k in range(1, n):
        dk = d1[k - 1]
        if not dk > CUT_MIN_DIFF:
            continue
        near = [d1[j - 1] for j in range(max(1, k - CUT_NEIGHBOURS), min(n, k + CUT_NEIGHBOURS + 1)) if j != k]
        if near and not dk > CUT_RATIO * statistics.median(near):
            continue
        if k + 1 < n and not d2[k - 1] > CUT_MIN_DIFF:  # frame k + 1 is like k - 1: a flash at k
            continue
        if k >= 2 and not d2[k - 2] > CUT_MIN_DIFF:  # frame k is like k - 2: back after a flash at k - 1
            continue
        cuts.append(k)
    return cuts


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
        native_crop: frames stay at their own resolution (no resize) and each item is a ``native_crop`` square
            of them: at a random place per item when training, centred when evaluating (``size`` must be None).
        scene_cuts: split every part further at the file's scene cuts (module docstring).
        short_scenes: what to do with a piece between scene cuts shorter than a window: ``"error"``, ``"skip"``
            or ``"pad"`` as ``short_clips``; ``None`` (default): as ``short_clips``.
        **kwargs: any other :class:`VideoFolderDataset` argument (``seed``, ``frame_stride``, ``crop``,
            ``channels``, ``augment``, ``short_clips``, ``recursive`` ...); ``window`` is not one.
            ``short_clips``: a part shorter than a window raises (``"error"``), is left out
            (``"skip"``) or gives one window with its last frame repeated (``"pad"``).

    Attributes:
        clips: the frame range of every file (its time-split part, or a piece of it between scene cuts) that
            gives windows.
        scene_cut_frames: every file's scene cuts (the source frames that start a new scene); empty lists with
            ``scene_cuts=False``.
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
        native_crop: int | None = None,
        scene_cuts: bool = True,
        short_scenes: str | None = None,
        **kwargs: Any,
    ) -> None:
        if "window" in kwargs:
            raise InputError(f"{type(self).__name__} places its own windows; drop window={kwargs['window']!r}")
        root = Path(root)
        if root.is_file() and "clips" not in kwargs:
            if root.suffix.lower() not in CLIP_EXTENSIONS:
                raise DatasetError(f"{root} is not a video file ({', '.join(CLIP_EXTENSIONS)})")
            kwargs["clips"] = [VideoClip(root)]
        for key, value in (("short_clips", short_clips), ("short_scenes", short_scenes)):
            if value not in ("error", "pad", "skip") and not (key == "short_scenes" and value is None):
                raise InputError(f"{key} must be one of error, pad, skip, got {value!r}")
        if native_crop is not None:
            if isinstance(native_crop, bool) or int(native_crop) != native_crop or native_crop < 8:
                raise InputError(f"native_crop must be a whole number of pixels >= 8, got {native_crop!r}")
            if size is not None or kwargs.get("crop") not in (None, "center"):
                raise InputError("native_crop replaces size and crop (frames stay at their own resolution); "
                                 "pass size=None")
            kwargs["crop"] = None
        super().__init__(root, num_frames, size, window="first", **kwargs)
        self.native_crop = None if native_crop is None else int(native_crop)
        self.short_clips = short_clips  # applied to the parts below, not to whole files
        self.cache_bytes = int(cache_bytes)
        self._frame_cache: dict[tuple[str, int, int], torch.Tensor] = {}
        self._uncached: set[tuple[str, int, int]] = set()  # parts found too large for the budget
        self._cached_bytes = 0
        self.scene_cuts = bool(scene_cuts)
        self.short_scenes = short_clips if short_scenes is None else short_scenes
        self.scene_cut_frames: dict[Path, list[int]] = {}
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
        pieces: list[tuple[VideoClip, bool]] = []  # (frame range, whether it is a piece between scene cuts)
        for clip in self.clips:
            n, cuts = self._scan(clip) if self.scene_cuts else (self.clip_length(clip), [])
            self.scene_cut_frames[clip.path] = [clip.start + k for k in cuts]
            lo, hi = (0, n) if self.time_split is None else time_split_range(n, self.time_split, self.part)
            inner = [k for k in cuts if lo < k < hi]
            bounds = [lo, *inner, hi]
            for a, b in zip(bounds[:-1], bounds[1:]):
                sub = VideoClip(clip.path, clip.label, clip.start + a, clip.start + b, clip.key)
                self._lengths[sub] = b - a
                pieces.append((sub, bool(inner)))
        parts = [c for c, scene in pieces if not scene]
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
        kept = {*parts, *self._short_scenes([c for c, scene in pieces if scene])}
        kept_pieces = [(c, scene) for c, scene in pieces if c in kept and self.clip_length(c) > 0]
        self.clips = [c for c, _ in kept_pieces]  # in file and time order
        self.windows = [self._count(self.clip_length(c), (self.short_scenes if scene else self.short_clips) == "pad")
                        for c, scene in kept_pieces]
        self._ends = [sum(self.windows[: k + 1]) for k in range(len(self.windows))]
        if not self.clips or self._ends[-1] == 0:
            found = sum(len(v) for v in self.scene_cut_frames.values())
            cut = (f" between the {found} scene cuts found (data.scene_cuts=false keeps windows across them)"
                   if found else "")
            raise DatasetError(f"{self._name()}: no {self.span}-frame window fits in the {what} under {self.root}{cut}")

    def _short_scenes(self, scenes: list[VideoClip]) -> list[VideoClip]:
        """``short_scenes`` applied to the pieces between scene cuts."""
        short = [(c, self.clip_length(c)) for c in scenes if self.clip_length(c) < self.span]
        if not short or self.short_scenes == "pad":
            return scenes
        if self.short_scenes == "error":
            c, n = short[0]
            raise DatasetError(
                f"{self._name()}: the scene {c.name} (frames between scene cuts) has {n} frames but a window of "
                f"num_frames={self.num_frames} with frame_stride={self.frame_stride} needs {self.span} ({len(short)} "
                f"such scenes); windows never cross a cut: lower data.num_frames, or set data.scene_cuts=false to "
                f"let windows cross cuts (in Python: short_scenes='skip' leaves short scenes out)"
            )
        warnings.warn(
            f"{self._name()}: left out {len(short)} of {len(scenes)} scenes (pieces between scene cuts) shorter than "
            f"the {self.span}-frame window, {sum(n for _, n in short)} frames in all; see dataset.skipped",
            stacklevel=4,
        )
        self.skipped = [*self.skipped, *short]
        return [c for c in scenes if self.clip_length(c) >= self.span]

    def _scan(self, clip: VideoClip) -> tuple[int, list[int]]:
        """Decode ``clip`` once: its length and its scene cuts (frame indices inside the clip)."""
        scanner = _CutScanner()
        with self._decoding(clip) as frames:
            for i, frame in enumerate(frames):
                if clip.stop is not None and i >= clip.stop:
                    break
                if i >= clip.start:
                    scanner.add(frame)
        self._lengths[clip] = scanner.count
        return scanner.count, scanner.cuts()

    def _count(self, n: int, pad: bool) -> int:
        if n < self.span:
            return 1 if pad else 0
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
            frames = cached[lo: lo + self.span: self.frame_stride]
            if self.native_crop is not None:
                frames = frames.float().div_(255.0) if frames.dtype == torch.uint8 else frames.clone()
                return self._finish_item(i, self._crop_native(i, frames, part), part)
            return self._finish_item(i, frames.clone(), part)
        window = VideoClip(part.path, part.label, start, stop, part.key)
        if self.native_crop is not None:
            self._lengths[window] = stop - start
            try:
                frames, _ = self._load_window(i, window)
            finally:
                self._lengths.pop(window, None)
            return self._finish_item(i, self._crop_native(i, frames, part), part)
        self._lengths[window] = stop - start
        try:
            return self._make_item(i, window)
        finally:
            self._lengths.pop(window, None)

    def _part_frames(self, part: VideoClip) -> torch.Tensor | None:
        """The cropped and resized frames of a whole part, decoded once and kept while within ``cache_bytes``."""
        key = (str(part.path), part.start, part.stop)
        frames = self._frame_cache.get(key)
        if frames is not None or key in self._uncached or (self.size is None and self.native_crop is None):
            return frames
        if self.native_crop is None:
            need = self.clip_length(part) * self.channels * self.size[0] * self.size[1] * 4
            if self._cached_bytes + need > self.cache_bytes:
                return None
            frames = self._spatial(self._read(part, part.stop), part).contiguous()
        else:  # native frames, kept as the 8-bit values they were decoded from when that round-trips exactly
            decoded = self._read(part, part.stop)
            frames = (decoded * 255.0).round_().to(torch.uint8).contiguous()
            if not torch.equal(frames.float().div_(255.0), decoded):  # e.g. float .npy data: keep it as it is
                frames = decoded.contiguous()
            if self._cached_bytes + frames.numel() * frames.element_size() > self.cache_bytes:
                self._uncached.add(key)
                return None
        self._frame_cache[key] = frames
        self._cached_bytes += frames.numel() * frames.element_size()
        return frames

    def _crop_native(self, i: int, frames: torch.Tensor, part: VideoClip) -> torch.Tensor:
        """A ``native_crop`` square of ``frames`` at their own resolution: at a random place drawn from ``i``
        (training) or centred (evaluation)."""
        c = self.native_crop
        h, w = frames.shape[-2:]
        if h < c or w < c:
            raise DatasetError(f"{self._name()}: {part.name} has {h}x{w} frames, smaller than the {c}x{c} crop "
                               f"(data.image_size with data.crop=random); lower data.image_size")
        if self.num_items is None:
            top, left = (h - c) // 2, (w - c) // 2
        else:
            g = self._generator(i, _CROP_STREAM)
            top = int(torch.randint(h - c + 1, (1,), generator=g))
            left = int(torch.randint(w - c + 1, (1,), generator=g))
        return frames[..., top: top + c, left: left + c].contiguous()

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
        cuts = sum(map(len, self.scene_cut_frames.values())) if self.scene_cuts else False  # the number found
        return (
            f"{self._name()}(root={str(self.root)!r}, clips={len(self.clips)}, windows={sum(self.windows)}, "
            f"items={len(self)}, num_frames={self.num_frames}, size={self.size}, frame_stride={self.frame_stride}, "
            f"time_split={self.time_split}, part={self.part!r}, scene_cuts={cuts}, seed={self.seed})"
        )
