"""Optical-flow warping and the linear composition of Vid-ODE (paper eq. 2).

Conventions
-----------
* ``flow`` ``(N, 2, H, W)`` is in **pixels**, channel 0 = x (to the right), channel 1 = y (down).
* :func:`warp` is *backward* warping: ``out[:, :, y, x] = image[:, :, y + flow_y[y, x], x + flow_x[y, x]]``,
  sampled bilinearly. A constant flow of ``(+1, 0)`` therefore shows the pixel one to the right at every
  position, i.e. the content moves one pixel to the *left*.
* ``grid_sample`` is called with ``align_corners=True``: normalised coordinate -1 is the *centre* of the
  first pixel and +1 the centre of the last one, so pixel ``x`` maps to ``2 x / (W - 1) - 1`` and a flow of
  ``d`` pixels to ``2 d / (W - 1)``. With this choice a zero flow samples exactly at pixel centres and is the
  identity (up to float rounding). (The authors build an ``align_corners=True`` grid but call
  ``grid_sample`` with the default ``align_corners=False``, so their zero flow slightly rescales the image.)
* ``padding_mode="border"``: samples that fall outside the image take the nearest edge pixel.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional as F

from odevideo.errors import InputError

__all__ = ["warp", "compose", "flow_to_grid"]


def flow_to_grid(flow: Tensor) -> Tensor:
    """Pixel flow ``(N, 2, H, W)`` -> ``grid_sample`` grid ``(N, H, W, 2)`` (``align_corners=True``)."""
    n, _, h, w = flow.shape
    ys = torch.arange(h, dtype=flow.dtype, device=flow.device).view(1, h, 1)
    xs = torch.arange(w, dtype=flow.dtype, device=flow.device).view(1, 1, w)
    # max(., 1): a 1-pixel-wide axis has a single centre at normalised 0 ... any sample lands on it.
    gx = 2.0 * (xs + flow[:, 0]) / max(w - 1, 1) - 1.0
    gy = 2.0 * (ys + flow[:, 1]) / max(h - 1, 1) - 1.0
    return torch.stack([gx, gy], dim=-1)


def warp(image: Tensor, flow: Tensor) -> Tensor:
    """Backward-warps ``image`` ``(N, C, H, W)`` by the pixel ``flow`` ``(N, 2, H, W)`` (see module docstring).

    Bilinear, ``align_corners=True``, ``padding_mode="border"``; differentiable w.r.t. image and flow.
    """
    if image.dim() != 4 or flow.dim() != 4:
        raise InputError(f"warp expects image (N, C, H, W) and flow (N, 2, H, W), got {tuple(image.shape)} and {tuple(flow.shape)}.")
    if flow.shape[1] != 2 or flow.shape[0] != image.shape[0] or flow.shape[2:] != image.shape[2:]:
        raise InputError(
            f"flow must have shape (N, 2, H, W) = ({image.shape[0]}, 2, {image.shape[2]}, {image.shape[3]}) to match the "
            f"image, got {tuple(flow.shape)}."
        )
    grid = flow_to_grid(flow.to(image.dtype))
    return F.grid_sample(image, grid, mode="bilinear", padding_mode="border", align_corners=True)


def compose(warped: Tensor, difference: Tensor, mask: Tensor) -> Tensor:
    """The linear composition Psi of paper eq. 2: ``mask * warped + (1 - mask) * difference``.

    ``warped`` and ``difference`` ``(N, C, H, W)``; ``mask`` ``(N, 1, H, W)`` (broadcast over channels) in [0, 1].
    """
    return mask * warped + (1 - mask) * difference
