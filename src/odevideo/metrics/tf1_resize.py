"""TF1's bilinear resize, the resize of the reference FVD (I3D) and of the TF Inception graph (FID)."""

from __future__ import annotations

import torch

from odevideo.errors import InputError

__all__ = ["resize_bilinear_tf1"]


def _tf1_axis(size_in: int, size_out: int, device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    scale = size_in / size_out
    src = torch.arange(size_out, device=device, dtype=torch.float64) * scale
    low = torch.floor(src).clamp(max=size_in - 1)
    frac = (src - low).to(torch.float32)
    low = low.to(torch.long)
    high = (low + 1).clamp(max=size_in - 1)
    return low, high, frac


def resize_bilinear_tf1(images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """TF1 ``tf.image.resize_bilinear(align_corners=False)`` (legacy, no half-pixel centres).

    ``images`` ``(N, C, H, W)``; output pixel ``(i, j)`` interpolates input position
    ``(i * H / h, j * W / w)``, the last row/column repeating at the border. This is the resize of the
    reference FVD and of the TF Inception graph used for FID (NVIDIA's TorchScript port emulates it
    with ``affine_grid`` + ``grid_sample``). No antialiasing (like TF1).
    """
    if images.dim() != 4:
        raise InputError(f"resize_bilinear_tf1: images must be (N, C, H, W), got {tuple(images.shape)}")
    out_h, out_w = int(size[0]), int(size[1])
    if out_h < 1 or out_w < 1:
        raise InputError(f"resize_bilinear_tf1: size must be positive, got {size}")
    n, c, h, w = images.shape
    if (h, w) == (out_h, out_w):
        return images
    x = images
    if h != out_h:
        low, high, frac = _tf1_axis(h, out_h, x.device)
        top, bottom = x[:, :, low, :], x[:, :, high, :]
        x = top + (bottom - top) * frac.to(x.dtype).view(1, 1, -1, 1)
    if w != out_w:
        low, high, frac = _tf1_axis(w, out_w, x.device)
        left, right = x[:, :, :, low], x[:, :, :, high]
        x = left + (right - left) * frac.to(x.dtype).view(1, 1, 1, -1)
    return x
