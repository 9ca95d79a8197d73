"""PatchGAN discriminators for Vid-ODE's LSGAN terms (paper eq. 3-4).

* :class:`ImageDiscriminator`: one frame ``(N, C, H, W)`` -> a map of patch scores ``(N, 1, h, w)``.
* :class:`SequenceDiscriminator`: a window of ``window`` frames ``(N, window, C, H, W)``, stacked along
  channels (as the authors do), -> patch scores ``(N, 1, h, w)``.

Architecture (the authors' ``models/gan.py``, itself pix2pix's PatchGAN): a stride-2 4x4 conv + LeakyReLU(0.2),
then ``n_downs - 1`` stride-2 4x4 conv + InstanceNorm + LeakyReLU blocks doubling the width, one stride-1
block, and a final stride-1 4x4 conv to one score channel (the authors' last conv has 64 output channels,
which LSGAN just averages; one channel is the usual PatchGAN). InstanceNorm keeps no running statistics,
so train and eval mode compute the same thing. Scores are unbounded (LSGAN: real -> 1, fake -> 0).
"""

from __future__ import annotations

from torch import Tensor, nn

from odevideo.errors import InputError

__all__ = ["PatchDiscriminator", "ImageDiscriminator", "SequenceDiscriminator"]


class PatchDiscriminator(nn.Module):
    """PatchGAN on ``(N, in_channels, H, W)``; see the module docstring. ``H, W >= 2 ** n_downs``."""

    def __init__(self, in_channels: int, base_channels: int = 64, n_downs: int = 3, max_channels: int = 512):
        super().__init__()
        if n_downs < 1:
            raise InputError(f"n_downs={n_downs} must be >= 1 (the number of stride-2 convs).")
        self.in_channels = in_channels
        self.n_downs = n_downs
        ch = base_channels
        layers: list[nn.Module] = [nn.Conv2d(in_channels, ch, 4, 2, 1), nn.LeakyReLU(0.2)]
        for _ in range(n_downs - 1):
            nxt = min(ch * 2, max_channels)
            layers += [nn.Conv2d(ch, nxt, 4, 2, 1), nn.InstanceNorm2d(nxt), nn.LeakyReLU(0.2)]
            ch = nxt
        nxt = min(ch * 2, max_channels)
        layers += [nn.Conv2d(ch, nxt, 4, 1, 2), nn.InstanceNorm2d(nxt), nn.LeakyReLU(0.2)]
        layers += [nn.Conv2d(nxt, 1, 4, 1, 2)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise InputError(f"{type(self).__name__} expects (N, {self.in_channels}, H, W), got {tuple(x.shape)}.")
        if min(x.shape[-2:]) < 2**self.n_downs:
            raise InputError(
                f"{type(self).__name__}: frames of {tuple(x.shape[-2:])} are too small for n_downs={self.n_downs}; "
                f"use frames of at least {2 ** self.n_downs} pixels or fewer n_downs."
            )
        return self.net(x)


class ImageDiscriminator(PatchDiscriminator):
    """Per-frame discriminator D_img: ``(N, C, H, W)`` -> ``(N, 1, h, w)`` patch scores."""

    def __init__(self, channels: int, base_channels: int = 64, n_downs: int = 3):
        super().__init__(channels, base_channels, n_downs)


class SequenceDiscriminator(PatchDiscriminator):
    """Sequence discriminator D_seq on ``window`` frames stacked along channels.

    ``forward(x)`` takes ``(N, window, C, H, W)`` (or already stacked ``(N, window * C, H, W)``).
    """

    def __init__(self, channels: int, window: int, base_channels: int = 64, n_downs: int = 3):
        if window < 1:
            raise InputError(f"window={window} must be >= 1 frames.")
        super().__init__(channels * window, base_channels, n_downs)
        self.channels = channels
        self.window = window

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() == 5:
            if x.shape[1:3] != (self.window, self.channels):
                raise InputError(
                    f"SequenceDiscriminator expects windows (N, {self.window}, {self.channels}, H, W), "
                    f"got {tuple(x.shape)}."
                )
            x = x.flatten(1, 2)
        return super().forward(x)
