"""The building blocks of Inception-v1 I3D with TensorFlow's "SAME" padding, and its table of Mixed blocks.

TF "SAME" pads ``total // 2`` before and the rest after; max pools pad with ``-inf`` (padded positions
never win); BatchNorm has ``eps = 1e-3`` and no scale. Each ``Mixed`` block concatenates four
branches: 1x1x1; 1x1x1 -> 3x3x3; 1x1x1 -> 3x3x3; 3x3x3 max pool (stride 1) -> 1x1x1.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["MIXED", "Unit3D", "MaxPool3dSame", "InceptionBlock"]

_BN_EPS = 1e-3

#: Mixed block name -> (in_channels, [b0, b1a, b1b, b2a, b2b, b3b] output channels)
MIXED = {
    "Mixed_3b": (192, (64, 96, 128, 16, 32, 32)),
    "Mixed_3c": (256, (128, 128, 192, 32, 96, 64)),
    "Mixed_4b": (480, (192, 96, 208, 16, 48, 64)),
    "Mixed_4c": (512, (160, 112, 224, 24, 64, 64)),
    "Mixed_4d": (512, (128, 128, 256, 24, 64, 64)),
    "Mixed_4e": (512, (112, 144, 288, 32, 64, 64)),
    "Mixed_4f": (528, (256, 160, 320, 32, 128, 128)),
    "Mixed_5b": (832, (256, 160, 320, 32, 128, 128)),
    "Mixed_5c": (832, (384, 192, 384, 48, 128, 128)),
}


def _same_pads(sizes, kernel, stride) -> tuple[int, ...]:
    """F.pad argument for TF 'SAME' padding of a (T, H, W) input (last dim first)."""
    pads = []
    for size, k, s in zip(sizes, kernel, stride):
        out = math.ceil(size / s)
        total = max((out - 1) * s + k - size, 0)
        pads.append((total // 2, total - total // 2))
    (t0, t1), (h0, h1), (w0, w1) = pads
    return (w0, w1, h0, h1, t0, t1)


class Unit3D(nn.Module):
    """Conv3d (TF 'SAME' padding, no bias) -> BatchNorm (eps 1e-3) -> ReLU, or a biased conv alone."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel=(1, 1, 1),
        stride=(1, 1, 1),
        use_batch_norm: bool = True,
        use_bias: bool = False,
        activation: bool = True,
    ) -> None:
        super().__init__()
        self.kernel = tuple(kernel)
        self.stride = tuple(stride)
        self.activation = activation
        self.conv3d = nn.Conv3d(in_channels, out_channels, self.kernel, self.stride, padding=0, bias=use_bias)
        self.bn = nn.BatchNorm3d(out_channels, eps=_BN_EPS, momentum=0.01) if use_batch_norm else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = _same_pads(x.shape[2:], self.kernel, self.stride)
        if any(pads):
            x = F.pad(x, pads)
        x = self.conv3d(x)
        if self.bn is not None:
            x = self.bn(x)
        return F.relu(x) if self.activation else x


class MaxPool3dSame(nn.Module):
    """Max pool with TF 'SAME' padding (padded positions never win)."""

    def __init__(self, kernel, stride) -> None:
        super().__init__()
        self.kernel = tuple(kernel)
        self.stride = tuple(stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = _same_pads(x.shape[2:], self.kernel, self.stride)
        if any(pads):
            x = F.pad(x, pads, value=float("-inf"))
        return F.max_pool3d(x, self.kernel, self.stride)


class InceptionBlock(nn.Module):
    def __init__(self, in_channels: int, out: tuple[int, ...]) -> None:
        super().__init__()
        self.b0 = Unit3D(in_channels, out[0])
        self.b1a = Unit3D(in_channels, out[1])
        self.b1b = Unit3D(out[1], out[2], kernel=(3, 3, 3))
        self.b2a = Unit3D(in_channels, out[3])
        self.b2b = Unit3D(out[3], out[4], kernel=(3, 3, 3))
        self.b3a = MaxPool3dSame((3, 3, 3), (1, 1, 1))
        self.b3b = Unit3D(in_channels, out[5])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat(
            [self.b0(x), self.b1b(self.b1a(x)), self.b2b(self.b2a(x)), self.b3b(self.b3a(x))], dim=1
        )
