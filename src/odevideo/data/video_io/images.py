"""Images: tiling a batch into one grid image, saving an image (atomically, like the clip writers)."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from odevideo.data.video_io.writers import as_numpy, atomic_file, guard, to_uint8
from odevideo.errors import InputError

__all__ = ["make_grid", "save_image"]


def make_grid(
    frames: torch.Tensor | np.ndarray,
    nrow: int = 8,
    padding: int = 2,
    pad_value: float = 0.0,
) -> torch.Tensor:
    """Tile images ``(N, C, H, W)`` (or ``(N, H, W)``) into one image ``(C, H', W')``.

    Args:
        frames: the images, float (any range is kept as is) or uint8 (scaled to ``[0, 1]``).
        nrow: images per row (the last row may be partial).
        padding: pixels between images and around the border.
        pad_value: value of the padding pixels.

    Returns:
        ``(C, rows * (H + padding) + padding, cols * (W + padding) + padding)`` float tensor with
        ``cols = min(nrow, N)`` and ``rows = ceil(N / nrow)``.
    """
    x = torch.from_numpy(np.asarray(frames)) if isinstance(frames, np.ndarray) else frames
    if not isinstance(x, torch.Tensor):
        raise InputError(f"make_grid needs a tensor or array, got {type(frames).__name__}")
    if x.ndim == 3:
        x = x.unsqueeze(1)
    if x.ndim != 4 or x.shape[0] < 1:
        raise InputError(f"make_grid needs images (N, C, H, W) with N >= 1, got shape {tuple(x.shape)}")
    if isinstance(nrow, bool) or not isinstance(nrow, int) or nrow < 1:
        raise InputError(f"nrow must be a positive integer, got {nrow!r}")
    if isinstance(padding, bool) or not isinstance(padding, int) or padding < 0:
        raise InputError(f"padding must be a non-negative integer, got {padding!r}")
    x = x.detach()
    x = x.float() / 255.0 if x.dtype == torch.uint8 else x.float()
    n, c, h, w = x.shape
    cols = min(nrow, n)
    rows = math.ceil(n / nrow)
    grid = torch.full(
        (c, rows * (h + padding) + padding, cols * (w + padding) + padding), float(pad_value), device=x.device
    )
    for k in range(n):
        r, q = divmod(k, nrow)
        top, left = padding + r * (h + padding), padding + q * (w + padding)
        grid[:, top : top + h, left : left + w] = x[k]
    return grid


def save_image(
    path: str | os.PathLike[str],
    image: torch.Tensor | np.ndarray,
    *,
    nrow: int = 8,
    padding: int = 2,
) -> Path:
    """Save an image atomically (PNG unless the extension says otherwise, e.g. ``.jpg``).

    Args:
        path: destination file; parent directories are created.
        image: ``(H, W)``, ``(C, H, W)`` with C = 1 or 3, or a batch ``(N, C, H, W)`` which is tiled with
            :func:`make_grid` (``nrow``, ``padding``). Float in ``[0, 1]`` or uint8.
        nrow: images per row for a batch.
        padding: grid padding for a batch.

    Returns:
        The written path.
    """
    path = Path(path)
    if isinstance(image, (torch.Tensor, np.ndarray)) and image.ndim == 4:
        image = make_grid(image, nrow=nrow, padding=padding)
    arr = as_numpy(image, "image")
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[0] not in (1, 3) or min(arr.shape) < 1:
        raise InputError(f"image must be (H, W), (C, H, W) with C in {{1, 3}} or (N, C, H, W), got shape {arr.shape}")
    u8 = to_uint8(arr, "image")
    img = Image.fromarray(u8[0], mode="L") if u8.shape[0] == 1 else Image.fromarray(u8.transpose(1, 2, 0), mode="RGB")
    ext = path.suffix.lower()
    fmt = Image.registered_extensions().get(ext, "PNG") if ext else "PNG"
    guard(path, lambda: atomic_file(path, lambda tmp: img.save(tmp, format=fmt)))
    return path
