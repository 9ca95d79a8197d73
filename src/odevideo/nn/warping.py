"""Optical-flow warping and the linear composition of Vid-ODE (paper eq. 2).

Conventions
-----------
* ``flow`` ``(N, 2, H, W)`` is in **pixels**, channel 0 = x (to the right), channel 1 = y (down).
* :func:`warp` is *backward* warping: ``out[:, :, y, x] = image[:, :, y + flow_y[y, x], x + flow_x[y, x]]``,
  sampled bilinearly (or bicubically). A constant flow of ``(+1, 0)`` therefore shows the pixel one to the right
  at every position, i.e. the content moves one pixel to the *left*.
* ``grid_sample`` is called with ``align_corners=True``: normalised coordinate -1 is the *centre* of the
  first pixel and +1 the centre of the last one, so pixel ``x`` maps to ``2 x / (W - 1) - 1`` and a flow of
  ``d`` pixels to ``2 d / (W - 1)``. With this choice a zero flow samples exactly at pixel centres and is the
  identity (up to float rounding). (The authors build an ``align_corners=True`` grid but call
  ``grid_sample`` with the default ``align_corners=False``, so their zero flow slightly rescales the image.)
* ``padding="border"`` (default): samples that fall outside the image take the nearest edge pixel.
  ``padding="zeros"``: they read 0, which suits objects on a black background (bouncing balls, Moving MNIST):
  border padding repeats an object that touches the edge into the frame, a tail that grows frame after frame.

Global transforms (:func:`affine_warp`, :class:`CodeToAffine`) use ``F.affine_grid`` / ``grid_sample`` with
``align_corners=False`` (the identity matrix then reproduces the image exactly) in normalised coordinates: a
shift of ``+1`` is half the frame. ``theta`` maps *output* to *input* positions, so a shift ``(+s, 0)`` shows
the content ``s`` half-frames to the right, i.e. the content moves left.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from odevideo.errors import InputError

__all__ = ["WARP_PADDINGS", "WARP_SAMPLINGS", "warp", "compose", "flow_to_grid", "affine_warp", "CodeToAffine"]


def flow_to_grid(flow: Tensor) -> Tensor:
    """Pixel flow ``(N, 2, H, W)`` -> ``grid_sample`` grid ``(N, H, W, 2)`` (``align_corners=True``)."""
    n, _, h, w = flow.shape
    ys = torch.arange(h, dtype=flow.dtype, device=flow.device).view(1, h, 1)
    xs = torch.arange(w, dtype=flow.dtype, device=flow.device).view(1, 1, w)
    # max(., 1): a 1-pixel-wide axis has a single centre at normalised 0 ... any sample lands on it.
    gx = 2.0 * (xs + flow[:, 0]) / max(w - 1, 1) - 1.0
    gy = 2.0 * (ys + flow[:, 1]) / max(h - 1, 1) - 1.0
    return torch.stack([gx, gy], dim=-1)


WARP_PADDINGS = ("border", "zeros")


WARP_SAMPLINGS = ("bilinear", "bicubic")


def warp(image: Tensor, flow: Tensor, padding: str = "border", sampling: str = "bilinear") -> Tensor:
    """Backward-warps ``image`` ``(N, C, H, W)`` by the pixel ``flow`` ``(N, 2, H, W)`` (see module docstring).

    ``sampling`` ``"bilinear"`` (default) or ``"bicubic"`` (keeps fine detail that bilinear sampling at
    sub-pixel positions smooths away; may overshoot [0, 1] at edges), ``align_corners=True``, ``padding``
    ``"border"`` or ``"zeros"`` for samples outside the image; differentiable w.r.t. image and flow.
    """
    if padding not in WARP_PADDINGS:
        raise InputError(f"warp padding must be one of {', '.join(WARP_PADDINGS)}, got {padding!r}.")
    if sampling not in WARP_SAMPLINGS:
        raise InputError(f"warp sampling must be one of {', '.join(WARP_SAMPLINGS)}, got {sampling!r}.")
    if image.dim() != 4 or flow.dim() != 4:
        raise InputError(
            f"warp expects image (N, C, H, W) and flow (N, 2, H, W), "
            f"got {tuple(image.shape)} and {tuple(flow.shape)}."
        )
    if flow.shape[1] != 2 or flow.shape[0] != image.shape[0] or flow.shape[2:] != image.shape[2:]:
        raise InputError(
            f"flow must have shape (N, 2, H, W) = ({image.shape[0]}, 2, {image.shape[2]}, {image.shape[3]}) "
            f"to match the image, got {tuple(flow.shape)}."
        )
    grid = flow_to_grid(flow.to(image.dtype))
    return F.grid_sample(image, grid, mode=sampling, padding_mode=padding, align_corners=True)


def compose(warped: Tensor, difference: Tensor, mask: Tensor) -> Tensor:
    """The linear composition Psi of paper eq. 2: ``mask * warped + (1 - mask) * difference``.

    ``warped`` and ``difference`` ``(N, C, H, W)``; ``mask`` ``(N, 1, H, W)`` (broadcast over channels) in [0, 1].
    """
    return mask * warped + (1 - mask) * difference


def affine_warp(image: Tensor, theta: Tensor) -> Tensor:
    """``image`` ``(N, C, H, W)`` resampled by 2x3 affine matrices ``theta`` ``(N, 2, 3)`` (module docstring:
    normalised coordinates, ``align_corners=False``, bilinear, border padding). Differentiable in both."""
    if image.dim() != 4 or theta.dim() != 3 or theta.shape[1:] != (2, 3) or theta.shape[0] != image.shape[0]:
        raise InputError(f"affine_warp expects image (N, C, H, W) and theta (N, 2, 3) with the same N, got "
                         f"{tuple(image.shape)} and {tuple(theta.shape)}.")
    grid = F.affine_grid(theta.to(image.dtype), list(image.shape), align_corners=False)
    return F.grid_sample(image, grid, mode="bilinear", padding_mode="border", align_corners=False)


class CodeToAffine(nn.Module):
    """Latent codes ``(N, D)`` -> 2x3 affine matrices ``(N, 2, 3)`` for :func:`affine_warp`.

    ``kind="translate"``: ``[[1, 0, s_x], [0, 1, s_y]]`` with ``s = max_shift * tanh(W code + b)`` (a shift of at
    most ``max_shift`` half-frames; 1 = the content can reach any position of the frame). ``kind="affine"``:
    additionally ``A = I + 0.5 tanh(W' code + b')`` for the 2x2 part (rotation, scale, shear within +-50%).
    The last layer starts at weights ``N(0, init_std^2)`` and zero bias: near-identity transforms at first.
    """

    KINDS = ("translate", "affine")

    def __init__(self, code_dim: int, kind: str = "translate", max_shift: float = 1.0, init_std: float = 0.02):
        super().__init__()
        if kind not in self.KINDS:
            raise InputError(f"CodeToAffine: kind must be one of {', '.join(self.KINDS)}, got {kind!r}.")
        if not (isinstance(code_dim, int) and code_dim >= 1):
            raise InputError(f"CodeToAffine: code_dim must be an integer >= 1, got {code_dim!r}.")
        if not (isinstance(max_shift, (int, float)) and math.isfinite(max_shift) and max_shift > 0):
            raise InputError(f"CodeToAffine: max_shift must be a positive finite number, got {max_shift!r}.")
        self.kind, self.code_dim, self.max_shift = kind, code_dim, float(max_shift)
        self.linear = nn.Linear(code_dim, 2 if kind == "translate" else 6)
        nn.init.normal_(self.linear.weight, std=init_std)
        nn.init.zeros_(self.linear.bias)

    def forward(self, codes: Tensor) -> Tensor:
        if codes.dim() != 2 or codes.shape[1] != self.code_dim:
            raise InputError(f"CodeToAffine: codes must have shape (N, {self.code_dim}), got {tuple(codes.shape)}.")
        y = self.linear(codes)
        shift = self.max_shift * torch.tanh(y[:, :2])
        eye = torch.eye(2, dtype=y.dtype, device=y.device).expand(codes.shape[0], 2, 2)
        linear = eye if self.kind == "translate" else eye + 0.5 * torch.tanh(y[:, 2:]).view(-1, 2, 2)
        return torch.cat([linear, shift[:, :, None]], dim=2)
