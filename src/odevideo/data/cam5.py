"""CAM5 hurricane videos (Kim et al. 2019) as used by Vid-ODE: 3 physical channels, irregular inputs.

The data are frames of simulated global atmospheric states every 3 hours (about 0.25 degree
resolution) during annotated hurricanes of 1996-2015, cut into non-overlapping 60 x 160 degree
basins: 319 videos, 280 for training and 39 for testing. Vid-ODE keeps three variables: zonal wind
U850, meridional wind V850 and sea-level pressure PSL (:data:`CAM5_CHANNELS`, in the order of the
first three channels of the authors' files -- the paper lists them in this order; the files carry
no names, so check against your copy).

**Values are physical quantities, not intensities**: winds in m/s (negative values included),
pressure in Pa (around 1e5). The library's ``[0, 1]`` frame convention does *not* hold for these
items, and -- like the authors' loader, which uses ``ToTensor(scale=False)`` -- nothing is rescaled by
default. Consequences: a :class:`~odevideo.data.ClipBatch` (which checks ``[0, 1]``) cannot hold raw
items, and image metrics/LPIPS are meaningless on them. Use :meth:`CAM5Hurricane.channel_stats`
(per-channel mean/std/min/max over a split) and ``normalize="minmax"`` (maps the *training*
range to ``[0, 1]``, clamped) or ``normalize="standard"`` (zero mean, unit variance), passing the
training split's stats to the test split (``stats=train_set.channel_stats()``);
:meth:`CAM5Hurricane.denormalize` maps predictions back to physical units.

Download: there is no public source of the raw basins; the Vid-ODE authors share their
preprocessed files through the README of https://github.com/psh01087/Vid-ODE ("Hurricane"). Layout:
``root/train/*.npy`` and ``root/test/*.npy`` (``root`` may also be the parent of a ``Hurricane``
folder), one float array ``(T, H, W, C)`` per video with ``C >= 3`` (``layout="TCHW"`` for
channel-first arrays).

Items (the paper's irregular extrapolation, figure 7: 5 inputs at irregular times within the first
20 frames -- up to 57 hours -- then 5 regular targets every 3 hours): a window of
``input_span + num_target`` frames (random start for training, the first frames for testing),
returned as a dict:

* ``frames`` ``(W, 3, H', W')`` float32 (raw or normalised); ``H' = H + 2 * pad[0]``,
  ``W' = W + 2 * pad[1]``: the authors pad one row of zeros above and below (``pad=(1, 0)``), e.g. to
  reach a size divisible by 4; the pad value is ``pad_value`` in output units;
* ``times`` ``(W,)`` = ``arange(W) * frame_dt``; ``hours`` ``(W,)`` = ``arange(W) * 3``;
* ``mask`` ``(W,)`` bool, ``True`` at the ``num_input`` observed inputs: frame 0 plus
  ``num_input - 1`` distinct random frames from ``1 .. input_span - 1`` (``irregular=True``), or the
  last ``num_input`` frames before the targets (``irregular=False``);
* ``target_mask`` ``(W,)`` bool, ``True`` at the last ``num_target`` frames.

(The authors' code samples the targets at random positions of the second half of a 20-frame
window; the regular targets here follow the paper's description and figure.) All randomness of
item ``i`` comes from a generator seeded with ``(seed, epoch, i)``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from odevideo.data.batch import DEFAULT_FRAME_DT, check_clip_index, non_negative_int, positive_float, positive_int
from odevideo.data.paper_dataset import check_split, locate_root
from odevideo.data.transforms import irregular_indices, make_generator, window_start
from odevideo.data.video_folder import leave_out_short
from odevideo.data.video_io import natural_key
from odevideo.errors import DatasetError, InputError

__all__ = ["CAM5Hurricane", "CAM5_CHANNELS", "CAM5_HOURS_PER_FRAME"]

#: Physical variables of the three channels (zonal wind, meridional wind at 850 hPa; sea-level pressure).
CAM5_CHANNELS = ("U850", "V850", "PSL")
#: Time between consecutive frames of the data, in hours.
CAM5_HOURS_PER_FRAME = 3.0

_STREAM_TAG = 0x43414D35
_HELP = (
    "download the Vid-ODE authors' preprocessed hurricane files (link in the README of "
    "https://github.com/psh01087/Vid-ODE) and arrange them as root/train/*.npy and root/test/*.npy"
)


class CAM5Hurricane(torch.utils.data.Dataset):
    """CAM5 hurricane windows with irregularly sampled inputs (see the module docstring).

    Args:
        root: folder with ``train/`` and ``test/`` of ``.npy`` files (or the parent of ``Hurricane/``).
        split: ``"train"`` or ``"test"``.
        num_input: observed input frames (5).
        input_span: frames the inputs are drawn from (20 = 57 hours at most between first and last input).
        num_target: regular target frames after the input span (5).
        irregular: random input times (``True``) or the last ``num_input`` frames of the span.
        window: ``None`` = ``"random"`` for train, ``"first"`` for test (or ``"center"``).
        seed: base seed of the per-item generators.
        channels: indices of the channels to keep (default the first three: U850, V850, PSL).
        layout: ``"THWC"`` (the authors' files) or ``"TCHW"``.
        pad: ``(rows, cols)`` added on each side (the authors: ``(1, 0)``); ``(0, 0)`` for none.
        pad_value: value of the padding, in output units (after normalisation).
        normalize: ``None`` (raw physical values, the default), ``"standard"`` or ``"minmax"``.
        stats: per-channel statistics for ``normalize`` (a :meth:`channel_stats` dict; default: this
            split's own -- pass the training stats to the test split).
        return_dict: items are dicts (default) or just the ``frames`` tensor.
        short_clips: ``"skip"`` (default, as the authors: files shorter than the window are left out
            and listed in :attr:`skipped`) or ``"error"``.
        frame_dt: time units between consecutive frames (for ``times``).
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        split: str = "train",
        *,
        num_input: int = 5,
        input_span: int = 20,
        num_target: int = 5,
        irregular: bool = True,
        window: str | None = None,
        seed: int = 0,
        channels: Sequence[int] = (0, 1, 2),
        layout: str = "THWC",
        pad: Sequence[int] = (1, 0),
        pad_value: float = 0.0,
        normalize: str | None = None,
        stats: Mapping[str, Any] | None = None,
        return_dict: bool = True,
        short_clips: str = "skip",
        frame_dt: float = DEFAULT_FRAME_DT,
    ) -> None:
        super().__init__()
        self.split = check_split(split, "CAM5")
        self.num_input = positive_int(num_input, "num_input")
        self.input_span = positive_int(input_span, "input_span")
        self.num_target = positive_int(num_target, "num_target")
        if self.num_input > self.input_span:
            raise InputError(f"num_input={num_input} inputs do not fit in input_span={input_span} frames")
        self.irregular = bool(irregular)
        window = window if window is not None else ("random" if split == "train" else "first")
        if window not in ("random", "first", "center"):
            raise InputError(f"window must be 'random', 'first' or 'center', got {window!r}")
        self.window = window
        self.seed, self.epoch = non_negative_int(seed, "seed"), 0
        self.channels = tuple(int(c) for c in channels)
        if not self.channels or any(c < 0 for c in self.channels):
            raise InputError(f"channels must be non-negative channel indices, got {channels!r}")
        if layout not in ("THWC", "TCHW"):
            raise InputError(f"layout must be 'THWC' or 'TCHW', got {layout!r}")
        self.layout = layout
        if len(pad) != 2 or any(int(p) < 0 for p in pad):
            raise InputError(f"pad must be (rows, cols) >= 0, got {pad!r}")
        self.pad = (int(pad[0]), int(pad[1]))
        self.pad_value = float(pad_value)
        if normalize not in (None, "standard", "minmax"):
            raise InputError(f"normalize must be None, 'standard' or 'minmax', got {normalize!r}")
        self.normalize = normalize
        self.return_dict = bool(return_dict)
        if short_clips not in ("skip", "error"):
            raise InputError(f"short_clips must be 'skip' or 'error', got {short_clips!r}")
        self.frame_dt = positive_float(frame_dt, "frame_dt")

        self.root = locate_root(root, "CAM5 hurricane", _HELP, "Hurricane", lambda r: (r / split).is_dir())
        split_dir = self.root / split
        if not split_dir.is_dir():
            raise DatasetError(f"{split_dir}: the {split!r} folder is missing; {_HELP}")
        files = sorted(
            (
                p
                for p in split_dir.iterdir()
                if p.is_file() and p.suffix.lower() == ".npy" and not p.name.startswith(".")
            ),
            key=lambda p: natural_key(p.name),
        )
        if not files:
            raise DatasetError(f"{split_dir}: no .npy files in the {split!r} folder; {_HELP}")
        self._shapes: dict[Path, tuple[int, ...]] = {}
        if short_clips == "error":
            for f in files:
                n = self._shape(f)[0]
                if n < self.window_length:
                    raise DatasetError(
                        f"{f}: {n} frames, fewer than the {self.window_length}-frame window "
                        f"(input_span={self.input_span} + num_target={self.num_target}); use short_clips='skip' "
                        f"or a shorter window"
                    )
        kept, self.skipped = leave_out_short(
            files, lambda f: self._shape(f)[0], self.window_length, "CAM5Hurricane", f"{split} videos", stacklevel=2
        )
        if not kept:
            raise DatasetError(f"{split_dir}: every video is shorter than the {self.window_length}-frame window")
        self.files = kept
        self._stats: dict[str, torch.Tensor] | None = None
        self._norm_stats: dict[str, torch.Tensor] | None = None
        if normalize is not None:
            self._norm_stats = _check_stats(stats, len(self.channels)) if stats is not None else self.channel_stats()

    # ------------------------------------------------------------------ properties
    @property
    def window_length(self) -> int:
        """Frames per item: ``input_span + num_target``."""
        return self.input_span + self.num_target

    @property
    def channel_names(self) -> tuple[str, ...]:
        return tuple(CAM5_CHANNELS[c] if c < len(CAM5_CHANNELS) else f"channel{c}" for c in self.channels)

    def set_epoch(self, epoch: int) -> None:
        """Select the random stream of pass ``epoch`` (new windows and input times per epoch)."""
        self.epoch = non_negative_int(epoch, "epoch")

    # ------------------------------------------------------------------ statistics
    def channel_stats(self) -> dict[str, torch.Tensor]:
        """Per-channel ``mean``, ``std``, ``min``, ``max`` (float64 ``(C,)`` tensors) and ``count`` over
        every frame of this split's files (raw values, before padding); computed once and cached."""
        if self._stats is None:
            c = len(self.channels)
            total = np.zeros(c)
            total_sq = np.zeros(c)
            lo = np.full(c, np.inf)
            hi = np.full(c, -np.inf)
            count = 0
            for f in self.files:
                arr = self._raw(f)  # (T, C, H, W) float64
                flat = arr.transpose(1, 0, 2, 3).reshape(c, -1)
                total += flat.sum(axis=1)
                total_sq += np.square(flat).sum(axis=1)
                lo = np.minimum(lo, flat.min(axis=1))
                hi = np.maximum(hi, flat.max(axis=1))
                count += flat.shape[1]
            mean = total / count
            var = np.maximum(total_sq / count - mean**2, 0.0)
            self._stats = {
                "mean": torch.from_numpy(mean),
                "std": torch.from_numpy(np.sqrt(var)),
                "min": torch.from_numpy(lo),
                "max": torch.from_numpy(hi),
                "count": torch.tensor(count),
            }
        return dict(self._stats)

    def denormalize(self, frames: torch.Tensor) -> torch.Tensor:
        """Map normalised ``(..., C, H, W)`` values back to physical units (identity when ``normalize=None``)."""
        if self._norm_stats is None:
            return frames
        a, b = self._affine(frames.dtype, frames.device)
        return (frames - b) / a

    # ------------------------------------------------------------------ dataset protocol
    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> Any:
        i = self._check_index(index)
        f = self.files[i]
        g = make_generator(_STREAM_TAG, self.seed, self.epoch, i)
        n = self._shape(f)[0]
        w = self.window_length
        start = window_start(n, w, self.window, g)
        raw = self._raw(f, start, start + w)
        if not np.isfinite(raw).all():
            raise DatasetError(f"{f}: non-finite values (NaN/inf) in frames {start}..{start + w - 1}; clean the file")
        frames = torch.from_numpy(raw.astype(np.float32))
        if self._norm_stats is not None:
            a, b = self._affine(frames.dtype, frames.device)
            frames = frames * a + b
            if self.normalize == "minmax":
                frames = frames.clamp_(0.0, 1.0)
        if self.pad != (0, 0):
            ph, pw = self.pad
            frames = F.pad(frames, (pw, pw, ph, ph), value=self.pad_value)
        frames = frames.contiguous()
        if not self.return_dict:
            return frames
        if self.irregular:
            inputs = irregular_indices(self.input_span, self.num_input, g, keep_first=True)
        else:
            inputs = torch.arange(self.input_span - self.num_input, self.input_span)
        mask = torch.zeros(w, dtype=torch.bool)
        mask[inputs] = True
        target_mask = torch.zeros(w, dtype=torch.bool)
        target_mask[self.input_span :] = True
        steps = torch.arange(w, dtype=torch.float64)
        return {
            "frames": frames,
            "times": (steps * self.frame_dt).float(),
            "hours": (steps * CAM5_HOURS_PER_FRAME).float(),
            "mask": mask,
            "target_mask": target_mask,
            "window_start": start,
        }

    # ------------------------------------------------------------------ internals
    def _check_index(self, index) -> int:
        return check_clip_index(index, len(self.files), "CAM5Hurricane")

    def _load(self, f: Path) -> np.ndarray:
        try:
            arr = np.load(f, mmap_mode="r", allow_pickle=False)
        except (ValueError, OSError, EOFError) as e:
            raise DatasetError(f"{f}: not a readable .npy file ({e}); re-download it or delete it") from e
        if not isinstance(arr, np.ndarray) or arr.ndim != 4:
            raise DatasetError(
                f"{f}: expected a 4-D {self.layout} array (T, H, W, C) per hurricane video, got shape "
                f"{getattr(arr, 'shape', None)}; pass layout='TCHW' for channel-first files"
            )
        if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
            raise DatasetError(f"{f}: unsupported dtype {arr.dtype}; expected floating point physical values")
        c = arr.shape[3] if self.layout == "THWC" else arr.shape[1]
        if max(self.channels) >= c:
            raise DatasetError(
                f"{f}: has {c} channels in layout {self.layout} (shape {arr.shape}) but channels {self.channels} were "
                f"requested; check layout= and channels="
            )
        return arr

    def _shape(self, f: Path) -> tuple[int, ...]:
        if f not in self._shapes:
            self._shapes[f] = tuple(self._load(f).shape)
        return self._shapes[f]

    def _raw(self, f: Path, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Frames ``start:stop`` as float64 ``(T, C, H, W)`` with the selected channels."""
        arr = self._load(f)[start:stop]
        try:
            if self.layout == "THWC":
                out = np.asarray(arr[..., list(self.channels)], dtype=np.float64).transpose(0, 3, 1, 2)
            else:
                out = np.asarray(arr[:, list(self.channels)], dtype=np.float64)
        except (ValueError, OSError) as e:
            raise DatasetError(f"{f}: cannot read the array data ({e}); the file is truncated -- re-download it") from e
        return np.ascontiguousarray(out)

    def _affine(self, dtype: torch.dtype, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """``x_out = a * x + b`` per channel, shaped ``(C, 1, 1)``."""
        s = self._norm_stats
        assert s is not None
        if self.normalize == "standard":
            a = 1.0 / s["std"].clamp(min=1e-12)
            b = -s["mean"] * a
        else:
            a = 1.0 / (s["max"] - s["min"]).clamp(min=1e-12)
            b = -s["min"] * a
        return a.to(dtype=dtype, device=device)[:, None, None], b.to(dtype=dtype, device=device)[:, None, None]

    def __repr__(self) -> str:
        return (
            f"CAM5Hurricane(root={str(self.root)!r}, split={self.split!r}, videos={len(self.files)}, "
            f"num_input={self.num_input}, input_span={self.input_span}, num_target={self.num_target}, "
            f"irregular={self.irregular}, normalize={self.normalize!r}, pad={self.pad})"
        )


def _check_stats(stats: Mapping[str, Any], c: int) -> dict[str, torch.Tensor]:
    out = {}
    for key in ("mean", "std", "min", "max"):
        if key not in stats:
            raise InputError(f"stats needs the keys mean, std, min, max (from channel_stats()); {key!r} is missing")
        v = torch.as_tensor(stats[key], dtype=torch.float64).reshape(-1)
        if v.numel() != c:
            raise InputError(f"stats[{key!r}] has {v.numel()} values but the dataset has {c} channels")
        if not bool(torch.isfinite(v).all()):
            raise InputError(f"stats[{key!r}] contains non-finite values")
        out[key] = v
    return out

