"""The batch container every model and objective consumes.

A :class:`ClipBatch` bundles three aligned tensors (see ``docs/ARCHITECTURE.md``):

* ``frames`` -- ``(B, T, C, H, W)`` floating point, values in ``[0, 1]``;
* ``times``  -- ``(B, T)`` floating point *time units*, strictly increasing inside each clip;
* ``mask``   -- ``(B, T)`` bool, ``True`` = the frame is observed (may be used as model input).

Construction validates all of this and raises :class:`odevideo.errors.InputError` with a message
that names the problem and the fix.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from odevideo.errors import InputError

__all__ = ["ClipBatch", "collate_clips", "regular_times", "DEFAULT_FRAME_DT"]

#: Default time between two consecutive frames, in time units (matches the presets' ``data.frame_dt``).
DEFAULT_FRAME_DT = 0.1


def regular_times(
    batch_size: int,
    num_frames: int,
    frame_dt: float = DEFAULT_FRAME_DT,
    *,
    t0: float = 0.0,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Regular time grid ``t0 + arange(T) * frame_dt`` repeated for every clip.

    Args:
        batch_size: number of clips ``B`` (>= 1).
        num_frames: number of frames ``T`` per clip (>= 1).
        frame_dt: time between consecutive frames, in time units (> 0, finite).
        t0: time of the first frame.
        dtype: floating point dtype of the result.
        device: device of the result.

    Returns:
        ``(B, T)`` tensor of strictly increasing times.
    """
    batch_size = positive_int(batch_size, "batch_size")
    num_frames = positive_int(num_frames, "num_frames")
    frame_dt = float(frame_dt)
    if not np.isfinite(frame_dt) or frame_dt <= 0:
        raise InputError(f"frame_dt must be a finite number > 0, got {frame_dt!r}; pass e.g. frame_dt=0.1")
    if not dtype.is_floating_point:
        raise InputError(f"dtype must be a floating point dtype, got {dtype}; pass e.g. dtype=torch.float32")
    # Computed in float64 so that large T does not accumulate rounding error, then cast.
    t = float(t0) + torch.arange(num_frames, dtype=torch.float64) * frame_dt
    return t.to(dtype=dtype).unsqueeze(0).expand(batch_size, num_frames).contiguous().to(device)


@dataclass(eq=False)
class ClipBatch:
    """A batch of video clips with per-frame times and an observation mask.

    Attributes:
        frames: ``(B, T, C, H, W)`` float tensor with values in ``[0, 1]``.
        times: ``(B, T)`` float tensor, strictly increasing along ``T`` in every clip.
        mask: ``(B, T)`` bool tensor, ``True`` = the frame is observed.

    All three tensors must live on the same device. :meth:`validate` runs on construction.
    """

    frames: torch.Tensor
    times: torch.Tensor
    mask: torch.Tensor

    def __post_init__(self) -> None:
        self.validate()

    # ------------------------------------------------------------------ validation
    def validate(self) -> ClipBatch:
        """Check shapes, dtypes and values; raise :class:`InputError` naming the problem and the fix.

        Returns ``self`` so it can be chained.
        """
        frames, times, mask = self.frames, self.times, self.mask
        for name, value in (("frames", frames), ("times", times), ("mask", mask)):
            if not isinstance(value, torch.Tensor):
                raise InputError(
                    f"ClipBatch.{name} must be a torch.Tensor, got {type(value).__name__}; "
                    f"convert it with torch.as_tensor(...)"
                )
        if frames.ndim != 5:
            raise InputError(
                f"ClipBatch.frames must have 5 dims (B, T, C, H, W), got shape {tuple(frames.shape)}; "
                f"add the missing batch/time/channel dims (e.g. frames.unsqueeze(0) for a single clip "
                f"or frames.unsqueeze(2) for grayscale (B, T, H, W))"
            )
        if times.ndim != 2:
            raise InputError(
                f"ClipBatch.times must have 2 dims (B, T), got shape {tuple(times.shape)}; "
                f"use times.expand(B, T) for a (T,) grid shared by all clips"
            )
        if mask.ndim != 2:
            raise InputError(
                f"ClipBatch.mask must have 2 dims (B, T), got shape {tuple(mask.shape)}; "
                f"use mask.expand(B, T) for a (T,) mask shared by all clips"
            )
        b, t = frames.shape[:2]
        if tuple(times.shape) != (b, t):
            raise InputError(
                f"ClipBatch.times has shape {tuple(times.shape)} but frames has B={b}, T={t}; "
                f"times must be (B, T) = ({b}, {t}), one time per frame"
            )
        if tuple(mask.shape) != (b, t):
            raise InputError(
                f"ClipBatch.mask has shape {tuple(mask.shape)} but frames has B={b}, T={t}; "
                f"mask must be (B, T) = ({b}, {t}), one flag per frame"
            )
        if b < 1 or t < 1 or frames.numel() == 0:
            raise InputError(
                f"ClipBatch is empty (frames shape {tuple(frames.shape)}); every dimension must be >= 1"
            )
        devices = {frames.device, times.device, mask.device}
        if len(devices) != 1:
            raise InputError(
                f"ClipBatch tensors are on different devices (frames: {frames.device}, times: {times.device}, "
                f"mask: {mask.device}); move them together with ClipBatch(...).to(device)"
            )
        if not frames.dtype.is_floating_point:
            raise InputError(
                f"ClipBatch.frames must be floating point in [0, 1], got dtype {frames.dtype}; "
                f"for uint8 frames use frames.float() / 255"
            )
        if not times.dtype.is_floating_point:
            raise InputError(
                f"ClipBatch.times must be floating point (time units), got dtype {times.dtype}; use times.float()"
            )
        if mask.dtype != torch.bool:
            raise InputError(
                f"ClipBatch.mask must be a bool tensor (True = observed), got dtype {mask.dtype}; "
                f"use mask.bool() or mask > 0"
            )
        if not bool(torch.isfinite(times).all()):
            raise InputError(
                "ClipBatch.times contains NaN or infinite values; every frame needs a finite time "
                "(use odevideo.data.regular_times for a regular grid)"
            )
        if t > 1:
            steps = times[:, 1:] - times[:, :-1]
            bad = steps <= 0
            if bool(bad.any()):
                clip, step = (int(i) for i in bad.nonzero()[0])
                raise InputError(
                    f"ClipBatch.times must be strictly increasing within each clip, but clip {clip} has "
                    f"times[{step}]={float(times[clip, step]):g} >= "
                    f"times[{step + 1}]={float(times[clip, step + 1]):g}; "
                    f"sort the frames by time and drop duplicate time stamps"
                )
        if not bool(torch.isfinite(frames).all()):
            raise InputError(
                "ClipBatch.frames contains NaN or infinite values; check the data source or the model output "
                "(frames must be finite and in [0, 1])"
            )
        lo, hi = float(frames.min()), float(frames.max())
        if lo < 0.0 or hi > 1.0:
            raise InputError(
                f"ClipBatch.frames must lie in [0, 1], got values in [{lo:g}, {hi:g}]; "
                f"scale uint8 data by 1/255, map [-1, 1] data with (x + 1) / 2, or clamp with frames.clamp(0, 1)"
            )
        return self

    # ------------------------------------------------------------------ properties
    @property
    def batch_size(self) -> int:
        """Number of clips ``B``."""
        return int(self.frames.shape[0])

    @property
    def num_frames(self) -> int:
        """Number of time steps ``T``."""
        return int(self.frames.shape[1])

    @property
    def device(self) -> torch.device:
        """Device of the tensors."""
        return self.frames.device

    @property
    def frame_shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of one frame."""
        return tuple(int(s) for s in self.frames.shape[2:])  # type: ignore[return-value]

    # ------------------------------------------------------------------ transforms
    def to(self, device: torch.device | str, non_blocking: bool = False) -> ClipBatch:
        """Return a copy of the batch with all tensors on ``device`` (dtypes unchanged)."""
        # Moving does not change values, so the already validated batch skips re-validation
        # (which would force a device synchronisation on accelerators).
        out = object.__new__(ClipBatch)
        out.frames = self.frames.to(device, non_blocking=non_blocking)
        out.times = self.times.to(device, non_blocking=non_blocking)
        out.mask = self.mask.to(device, non_blocking=non_blocking)
        return out

    def pin_memory(self) -> ClipBatch:
        """Copy with page-locked tensors (called by ``DataLoader(pin_memory=True)``)."""
        out = object.__new__(ClipBatch)
        out.frames, out.times, out.mask = self.frames.pin_memory(), self.times.pin_memory(), self.mask.pin_memory()
        return out

    def select(self, index: int | slice | Sequence[int] | torch.Tensor) -> ClipBatch:
        """Keep a subset of the time steps (the same steps for every clip).

        Args:
            index: an int, a slice, a sequence of ints or a 1-D integer tensor indexing the ``T`` axis,
                or a ``(T,)`` bool tensor selecting steps. Selected steps must be in increasing order
                (times must stay strictly increasing); an int keeps a single step (``T == 1``).

        Returns:
            A new :class:`ClipBatch` with ``frames[:, index]``, ``times[:, index]``, ``mask[:, index]``.
        """
        t = self.num_frames
        if isinstance(index, (int, np.integer)) and not isinstance(index, bool):
            i = int(index)
            if not -t <= i < t:
                raise InputError(f"time index {i} is out of range for T={t}; use an index in [0, {t - 1}]")
            idx: Any = slice(i, i + 1) if i != -1 else slice(i, None)
        elif isinstance(index, slice):
            idx = index
        else:
            idx = torch.as_tensor(index, device=self.frames.device)
            if idx.ndim != 1:
                raise InputError(f"select() needs a 1-D index, got shape {tuple(idx.shape)}")
            if idx.dtype == torch.bool:
                if idx.numel() != t:
                    raise InputError(f"a bool time selector must have T={t} entries, got {idx.numel()}")
                idx = idx.nonzero().flatten()
            elif idx.dtype.is_floating_point or idx.dtype.is_complex:
                raise InputError(f"select() needs integer indices, got dtype {idx.dtype}")
            idx = idx.long()
            if idx.numel() and (int(idx.min()) < -t or int(idx.max()) >= t):
                raise InputError(
                    f"time indices must be in [0, {t - 1}] for T={t}, got range "
                    f"[{int(idx.min())}, {int(idx.max())}]"
                )
        frames = self.frames[:, idx]
        if frames.shape[1] == 0:
            raise InputError("select() produced zero time steps; select at least one frame")
        return ClipBatch(frames=frames, times=self.times[:, idx], mask=self.mask[:, idx])

    def index_clips(self, index: int | slice | Sequence[int] | torch.Tensor) -> ClipBatch:
        """Keep a subset of the clips (the ``B`` axis); an int keeps one clip (``B == 1``)."""
        if isinstance(index, (int, np.integer)) and not isinstance(index, bool):
            i = int(index)
            index = slice(i, i + 1) if i != -1 else slice(i, None)
        elif not isinstance(index, slice):
            index = torch.as_tensor(index, device=self.frames.device)
        return ClipBatch(frames=self.frames[index], times=self.times[index], mask=self.mask[index])

    def __len__(self) -> int:
        return self.batch_size


# ---------------------------------------------------------------------- collation
def collate_clips(
    items: Sequence[torch.Tensor | np.ndarray | Mapping[str, Any]],
    frame_dt: float = DEFAULT_FRAME_DT,
) -> ClipBatch:
    """Stack clips into a :class:`ClipBatch` (usable as a ``DataLoader`` ``collate_fn``).

    Args:
        items: a non-empty sequence of clips, all with the same shape. Each clip is either a
            ``(T, C, H, W)`` tensor/array (uint8 is scaled by 1/255, floats must be in ``[0, 1]``)
            or a mapping with key ``"frames"`` (same rules) and optional ``"times"`` (``(T,)``)
            and ``"mask"`` (``(T,)`` bool). Items without times get the regular grid
            ``arange(T) * frame_dt``; items without a mask are fully observed.
        frame_dt: time between frames for items that carry no times (time units, > 0).

    Returns:
        A validated :class:`ClipBatch`.
    """
    if isinstance(items, (torch.Tensor, np.ndarray)) or isinstance(items, Mapping):
        raise InputError(
            "collate_clips expects a list of clips, got a single tensor/mapping; wrap it in a list, "
            "or build ClipBatch(frames, times, mask) directly for an already batched tensor"
        )
    items = list(items)
    if not items:
        raise InputError("collate_clips got an empty list; a batch needs at least one clip")
    frames_list: list[torch.Tensor] = []
    times_list: list[torch.Tensor | None] = []
    mask_list: list[torch.Tensor | None] = []
    for k, item in enumerate(items):
        if isinstance(item, Mapping):
            if "frames" not in item:
                raise InputError(
                    f"clip {k} is a mapping without a 'frames' key (keys: {sorted(map(str, item))}); "
                    f"datasets must return a (T, C, H, W) tensor or {{'frames': ..., 'times': ..., 'mask': ...}}"
                )
            frames = _as_frames(item["frames"], k)
            times = item.get("times")
            mask = item.get("mask")
        else:
            frames, times, mask = _as_frames(item, k), None, None
        t = frames.shape[0]
        if times is not None:
            times = torch.as_tensor(times)
            if times.ndim != 1 or times.shape[0] != t:
                raise InputError(f"clip {k}: 'times' must have shape ({t},), got {tuple(times.shape)}")
            if not times.dtype.is_floating_point:
                times = times.float()
        if mask is not None:
            mask = torch.as_tensor(mask)
            if mask.ndim != 1 or mask.shape[0] != t:
                raise InputError(f"clip {k}: 'mask' must have shape ({t},), got {tuple(mask.shape)}")
            if mask.dtype != torch.bool:
                raise InputError(f"clip {k}: 'mask' must be bool (True = observed), got {mask.dtype}; use mask.bool()")
        frames_list.append(frames)
        times_list.append(times)
        mask_list.append(mask)
    shape0 = tuple(frames_list[0].shape)
    for k, f in enumerate(frames_list):
        if tuple(f.shape) != shape0:
            raise InputError(
                f"all clips in a batch must have the same (T, C, H, W) shape; clip 0 is {shape0} but "
                f"clip {k} is {tuple(f.shape)}; crop/resize the clips or use batch_size=1"
            )
    frames = torch.stack(frames_list)
    b, t = frames.shape[:2]
    default_times = regular_times(b, t, frame_dt, dtype=torch.float32)
    times = torch.stack(
        [default_times[i] if tt is None else tt.to(torch.float32) for i, tt in enumerate(times_list)]
    )
    mask = torch.stack([torch.ones(t, dtype=torch.bool) if m is None else m for m in mask_list])
    return ClipBatch(frames=frames, times=times.to(frames.device), mask=mask.to(frames.device))


def _as_frames(value: Any, k: int) -> torch.Tensor:
    frames = torch.from_numpy(np.ascontiguousarray(value)) if isinstance(value, np.ndarray) else value
    if not isinstance(frames, torch.Tensor):
        raise InputError(
            f"clip {k} has type {type(value).__name__}; "
            f"expected a (T, C, H, W) tensor, array or a mapping with 'frames'"
        )
    if frames.ndim != 4:
        raise InputError(
            f"clip {k} must have shape (T, C, H, W), got {tuple(frames.shape)}; "
            f"add a channel dim for grayscale clips with frames.unsqueeze(1)"
        )
    if frames.dtype == torch.uint8:
        frames = frames.float() / 255.0
    elif not frames.dtype.is_floating_point:
        raise InputError(f"clip {k} has dtype {frames.dtype}; frames must be uint8 or float in [0, 1]")
    return frames


def positive_int(value: Any, name: str) -> int:
    """``value`` as an int >= 1 (numpy integers accepted, bools refused); :class:`InputError` otherwise."""
    return _int_at_least(value, name, 1, "a positive integer")


def non_negative_int(value: Any, name: str) -> int:
    """``value`` as an int >= 0 (seeds, epochs); :class:`InputError` otherwise."""
    return _int_at_least(value, name, 0, "a non-negative integer")


def _int_at_least(value: Any, name: str, low: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < low:
        raise InputError(f"{name} must be {what}, got {value!r}")
    return int(value)


def positive_float(value: Any, name: str) -> float:
    """``value`` as a finite float > 0 (time steps); :class:`InputError` otherwise."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        out = math.nan
    if not math.isfinite(out) or out <= 0:
        raise InputError(f"{name} must be a finite number > 0, got {value!r}")
    return out


def check_clip_index(index, num_clips: int, dataset_name: str) -> int:
    """``index`` (int, numpy integer or 0-dim tensor; negative counts from the end) as an int in
    ``[0, num_clips)``. Raises ``TypeError`` / ``IndexError`` like a Python sequence."""
    if isinstance(index, torch.Tensor):
        index = int(index)
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
        raise TypeError(f"{dataset_name} indices must be integers, got {type(index).__name__}")
    i = int(index)
    if i < 0:
        i += num_clips
    if not 0 <= i < num_clips:
        raise IndexError(f"clip index {index} out of range for a dataset of {num_clips} clips")
    return i


class ClipDataset(torch.utils.data.Dataset):
    """What the clip datasets share: a :meth:`collate_fn` with the dataset's ``frame_dt`` and the index check.

    A subclass sets ``frame_dt`` and defines ``__len__``; index errors name the subclass.
    """

    frame_dt: float

    def collate_fn(self, items: list[Any]) -> ClipBatch:
        """``DataLoader`` ``collate_fn`` building a :class:`ClipBatch` with this dataset's ``frame_dt``.

        (Other keys of dict items, such as labels, are not part of a ClipBatch.)
        """
        return collate_clips(items, frame_dt=self.frame_dt)

    def _check_index(self, index) -> int:
        return check_clip_index(index, len(self), type(self).__name__)
