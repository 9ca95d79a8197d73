"""Moving MNIST (Srivastava et al., 2015), generated deterministically on the fly.

Recipe (per clip):

* ``num_digits`` MNIST digits (drawn uniformly, with replacement, from the split's digit pool) are
  placed on a black ``size x size`` canvas. Digits are ``digit_size`` pixels (28 = native MNIST for
  canvases of at least 56 px; smaller canvases scale the digits by ``size / 64``, e.g. 14 px at 32).
* Each digit's top-left corner moves in the normalised box ``[0, 1]^2`` (mapped to pixels by
  ``round(p * (size - digit_size))``), starting uniformly at random, with a random direction
  (angle uniform in ``[0, 2 pi)``) and a fixed speed of ``step_length`` box widths per frame.
  The default 0.1 is the standard choice (3.6 px per frame on the 64 px canvas), so a digit
  crosses the canvas in about 10 frames and bounces roughly once per axis in a 20-frame clip.
* Bounces are exact reflections at the walls: the motion along each axis is a triangle wave,
  so the velocity component flips and the digit always stays fully inside the canvas. (The
  original script instead clamped the position to the wall, which loses the overshoot.)
* Overlapping digits are combined with a pixel-wise maximum, so values stay in ``[0, 1]``.

Splits: ``"train"`` uses MNIST training images ``0 .. 54999``, ``"val"`` the held-out training
images ``55000 .. 59999`` and ``"test"`` the 10000 MNIST test images. Clip ``i`` is a pure function
of ``(split, seed, i)`` (its own ``numpy`` generator seeded from those three numbers, one stream
per split), so the dataset is indexable in any order and identical across runs and workers.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from odevideo.data.batch import DEFAULT_FRAME_DT, ClipDataset, non_negative_int, positive_float, positive_int
from odevideo.data.mnist import _load_mnist_arrays
from odevideo.data.video_io.formats import MAX_VIDEO_VALUES, read_npy_header
from odevideo.errors import DatasetError, InputError

__all__ = ["MovingMNIST", "load_moving_mnist_npy", "MNIST_VAL_SIZE"]

#: Number of MNIST training images held out as the ``"val"`` digit pool (the last ones).
MNIST_VAL_SIZE = 5000

_SPLIT_CODES = {"train": 0, "val": 1, "test": 2}
_DEFAULT_NUM_CLIPS = {"train": 10000, "val": 1000, "test": 1000}
_STREAM_TAG = 0x4D4D4E  # separates Moving MNIST streams from other seeded generators


class MovingMNIST(ClipDataset):
    """Deterministic Moving MNIST clips, generated on the fly (see the module docstring).

    Args:
        split: ``"train"``, ``"val"`` or ``"test"`` (selects the digit pool and the seed stream).
        num_digits: digits per clip (>= 1).
        num_frames: frames per clip ``T`` (>= 1).
        size: canvas side in pixels (>= digit size).
        num_clips: dataset length; default 10000 for train, 1000 for val/test.
        seed: non-negative integer base seed.
        data_dir: directory with local MNIST files (see :func:`odevideo.data.load_mnist`).
        download: allow downloading MNIST into the cache directory if not found.
        frame_dt: time between frames, used by :meth:`collate_fn` (time units).
        step_length: digit speed in box widths per frame (box width = ``size - digit_size`` px).
        digit_size: digit side in pixels; default 28 if ``size >= 56`` else ``round(28 * size / 64)``.
        cache_dir: MNIST cache directory (default :func:`odevideo.data.mnist.default_cache_dir`).
        digits: optional ``(N, h, w)`` uint8 (or float in ``[0, 1]``) glyphs used *instead of*
            MNIST (e.g. for tests); then ``data_dir``/``download`` are ignored.

    Items are float32 tensors ``(T, 1, size, size)`` in ``[0, 1]``.
    """

    def __init__(
        self,
        split: str = "train",
        num_digits: int = 1,
        num_frames: int = 20,
        size: int = 64,
        num_clips: int | None = None,
        seed: int = 0,
        data_dir: str | os.PathLike[str] | None = None,
        download: bool = True,
        frame_dt: float = DEFAULT_FRAME_DT,
        *,
        step_length: float = 0.1,
        digit_size: int | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        digits: np.ndarray | torch.Tensor | None = None,
    ) -> None:
        super().__init__()
        if split not in _SPLIT_CODES:
            raise InputError(f"unknown Moving MNIST split {split!r}; use 'train', 'val' or 'test'")
        self.split = split
        self.num_digits = positive_int(num_digits, "num_digits")
        self.num_frames = positive_int(num_frames, "num_frames")
        self.size = positive_int(size, "size")
        self.num_clips = _DEFAULT_NUM_CLIPS[split] if num_clips is None else positive_int(num_clips, "num_clips")
        self.seed = non_negative_int(seed, "seed")
        self.frame_dt = positive_float(frame_dt, "frame_dt")
        self.step_length = float(step_length)
        if not math.isfinite(self.step_length) or self.step_length < 0:
            raise InputError(f"step_length must be a finite number >= 0, got {step_length!r}")

        if digits is not None:
            pool = digits.detach().cpu().numpy() if isinstance(digits, torch.Tensor) else np.asarray(digits)
            if pool.ndim != 3 or pool.shape[0] < 1:
                raise InputError(f"digits must have shape (N, h, w) with N >= 1, got {pool.shape}")
            if pool.dtype != np.uint8:
                is_float = np.issubdtype(pool.dtype, np.floating)
                if not is_float or not np.isfinite(pool).all() or pool.min() < 0 or pool.max() > 1:
                    raise InputError("digits must be uint8 or float in [0, 1]")
                pool = np.rint(pool * 255).astype(np.uint8)
            self._pool = pool
            self._pool_offset = 0
            self.source = "custom digits"
        else:
            mnist_split = "test" if split == "test" else "train"
            images, _ = _load_mnist_arrays(mnist_split, data_dir, download, cache_dir)
            if split == "test":
                lo, hi = 0, images.shape[0]
            else:
                if images.shape[0] <= MNIST_VAL_SIZE:
                    raise DatasetError(
                        f"the MNIST training file has only {images.shape[0]} images; the 'train'/'val' Moving MNIST "
                        f"splits need more than {MNIST_VAL_SIZE} (the last {MNIST_VAL_SIZE} are the val pool); "
                        f"use the full MNIST training file"
                    )
                cut = images.shape[0] - MNIST_VAL_SIZE
                lo, hi = (0, cut) if split == "train" else (cut, images.shape[0])
            self._pool = images[lo:hi]
            self._pool_offset = lo
            self.source = f"MNIST {mnist_split} images {lo}..{hi - 1}"

        native = self._pool.shape[1:]
        if digit_size is None:
            digit_size = 28 if self.size >= 56 else max(1, int(round(28 * self.size / 64)))
        self.digit_size = positive_int(digit_size, "digit_size")
        if self.digit_size > self.size:
            raise InputError(
                f"digit_size={self.digit_size} does not fit on a {self.size} px canvas; use size >= {self.digit_size} "
                f"or a smaller digit_size"
            )
        self._resize = tuple(native) != (self.digit_size, self.digit_size)

    # ------------------------------------------------------------------ dataset protocol
    def __len__(self) -> int:
        return self.num_clips

    def __getitem__(self, index: int) -> torch.Tensor:
        i = self._check_index(index)
        idx, positions, _, _ = self._sample(i)
        frames = self._render(idx, positions)
        return torch.from_numpy(frames).unsqueeze(1)

    # ------------------------------------------------------------------ introspection
    def clip_info(self, index: int) -> dict[str, Any]:
        """How clip ``index`` is made, without rendering it.

        Returns a dict with ``"digit_indices"`` (``(D,)`` indices into the MNIST file of the
        split's source; into ``digits`` when custom glyphs were given), ``"positions"``
        (``(T, D, 2)`` int top-left pixel ``(row, col)`` of every digit), ``"box_positions"``
        (``(T, D, 2)`` the same before rounding, in box units ``[0, 1]``) and ``"velocity"``
        (``(D, 2)`` initial velocity in box widths per frame, ``(d_row, d_col)``).
        """
        i = self._check_index(index)
        idx, positions, box, velocity = self._sample(i)
        return {
            "digit_indices": idx + self._pool_offset,
            "positions": positions,
            "box_positions": box,
            "velocity": velocity,
        }

    def cache_description(self) -> dict[str, Any]:
        """Everything clip ``i`` depends on (for :func:`odevideo.data.clip_cache.cached_clips`), with a
        SHA-256 of the digit pool, so that other MNIST files (or custom glyphs) never match."""
        import hashlib

        return {
            "class": "MovingMNIST", "split": self.split, "num_digits": self.num_digits,
            "num_frames": self.num_frames, "size": self.size, "num_clips": self.num_clips, "seed": self.seed,
            "step_length": self.step_length, "digit_size": self.digit_size,
            "pool_sha256": hashlib.sha256(np.ascontiguousarray(self._pool).tobytes()).hexdigest(),
            "pool_shape": list(self._pool.shape), "pool_dtype": str(self._pool.dtype),
        }

    # ------------------------------------------------------------------ internals
    def _rng(self, i: int) -> np.random.Generator:
        return np.random.default_rng([_STREAM_TAG, self.seed, _SPLIT_CODES[self.split], i])

    def _sample(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        rng = self._rng(i)
        d = self.num_digits
        idx = rng.integers(0, self._pool.shape[0], size=d)
        start = rng.random((d, 2))
        theta = rng.random(d) * (2.0 * math.pi)
        velocity = self.step_length * np.stack([np.sin(theta), np.cos(theta)], axis=1)
        t = np.arange(self.num_frames, dtype=np.float64)[:, None, None]
        unfolded = start[None] + t * velocity[None]  # (T, D, 2), straight-line motion
        folded = np.mod(unfolded, 2.0)
        folded = np.where(folded > 1.0, 2.0 - folded, folded)  # reflect at 0 and 1 (triangle wave)
        positions = np.rint(folded * (self.size - self.digit_size)).astype(np.int64)
        return idx, positions, folded, velocity

    def _digit(self, k: int) -> np.ndarray:
        img = self._pool[k]
        if self._resize:
            ds = self.digit_size
            resample = Image.Resampling.BOX if ds < min(img.shape) else Image.Resampling.BILINEAR
            img = np.asarray(Image.fromarray(img).resize((ds, ds), resample=resample))
        return img.astype(np.float32) * (1.0 / 255.0)

    def _render(self, idx: np.ndarray, positions: np.ndarray) -> np.ndarray:
        ds = self.digit_size
        canvas = np.zeros((self.num_frames, self.size, self.size), dtype=np.float32)
        for j, k in enumerate(idx):
            digit = self._digit(int(k))
            for t in range(self.num_frames):
                r, c = positions[t, j]
                view = canvas[t, r : r + ds, c : c + ds]
                np.maximum(view, digit, out=view)
        return canvas

    def __repr__(self) -> str:
        return (
            f"MovingMNIST(split={self.split!r}, num_digits={self.num_digits}, num_frames={self.num_frames}, "
            f"size={self.size}, num_clips={self.num_clips}, seed={self.seed}, digit_size={self.digit_size}, "
            f"source={self.source!r})"
        )


def load_moving_mnist_npy(
    path: str | os.PathLike[str],
    *,
    layout: str = "TNHW",
    max_clips: int | None = None,
) -> torch.Tensor:
    """Load a pre-generated Moving MNIST array such as the standard ``mnist_test_seq.npy``.

    Args:
        path: ``.npy`` file holding a 4-D array, uint8 (scaled by 1/255) or float in ``[0, 1]``.
        layout: ``"TNHW"`` (the standard file: ``(20, 10000, 64, 64)``) or ``"NTHW"`` (clip-major).
        max_clips: keep only the first ``max_clips`` clips (the file is memory-mapped, so this
            avoids reading the rest; the full standard file is 3.3 GB as float32).

    Returns:
        float32 tensor ``(N, T, 1, H, W)`` in ``[0, 1]``.

    Raises:
        DatasetError: missing/unreadable file, or an array that does not have the expected layout.
    """
    path = Path(path)
    if layout not in ("TNHW", "NTHW"):
        raise InputError(f"layout must be 'TNHW' or 'NTHW', got {layout!r}")
    if max_clips is not None:
        max_clips = positive_int(max_clips, "max_clips")
    if not path.is_file():
        raise DatasetError(
            f"{path}: Moving MNIST file not found; download mnist_test_seq.npy and pass its path"
        )
    header = read_npy_header(path, DatasetError)  # checked before the data is mapped
    shape = header.shape
    if len(shape) == 4 and min(shape) > 0:
        clips = shape[1] if layout == "TNHW" else shape[0]
        kept = clips if max_clips is None else min(clips, max_clips)
        if kept * (shape[0] * shape[2] * shape[3] // clips) > MAX_VIDEO_VALUES:
            raise DatasetError(f"{path}: {kept} clips of shape {shape} hold more than {MAX_VIDEO_VALUES} values; "
                               f"pass max_clips= to load fewer")
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError, OverflowError, MemoryError) as e:
        raise DatasetError(f"{path}: not a readable .npy file ({e}); re-download it or re-save it with numpy.save") \
            from None
    if not isinstance(arr, np.ndarray) or arr.ndim != 4:
        shape = getattr(arr, "shape", None)
        raise DatasetError(
            f"{path}: expected a 4-D array (T, N, H, W) like mnist_test_seq.npy's (20, 10000, 64, 64), "
            f"got shape {shape}; "
            f"pass layout='NTHW' for clip-major (N, T, H, W) files"
        )
    if layout == "TNHW" and arr.shape[0] != 20 and arr.shape[1] == 20:
        raise DatasetError(
            f"{path}: shape {arr.shape} looks clip-major (N, T, H, W) with T=20, not the standard (T, N, H, W); "
            f"pass layout='NTHW'"
        )
    if arr.shape[2] != arr.shape[3]:
        raise DatasetError(
            f"{path}: frames must be square (H == W) in the ({layout[0]}, {layout[1]}, H, W) layout, "
            f"got shape {arr.shape}; "
            f"the array is probably in a different layout"
        )
    if min(arr.shape) < 1:
        raise DatasetError(f"{path}: the array is empty (shape {arr.shape})")
    if layout == "TNHW":
        arr = arr[:, :max_clips] if max_clips is not None else arr
        arr = np.swapaxes(arr, 0, 1)
    elif max_clips is not None:
        arr = arr[:max_clips]
    if arr.dtype == np.uint8:
        out = torch.from_numpy(np.array(arr, order="C")).float().div_(255.0)  # copy out of the memmap
    elif arr.dtype.kind == "f" and arr.dtype.itemsize in (2, 4, 8):
        with np.errstate(over="ignore", invalid="ignore"):
            out = torch.from_numpy(np.array(arr, dtype=np.float32, order="C"))
        if not bool(torch.isfinite(out).all()) or float(out.min()) < 0 or float(out.max()) > 1:
            raise DatasetError(f"{path}: float frames must be finite and in [0, 1]; rescale them before saving")
    else:
        raise DatasetError(f"{path}: unsupported dtype {arr.dtype}; expected uint8 or float in [0, 1]")
    return out.unsqueeze(2)

