"""Convolutional frame encoders and decoders shared by the latent-ODE model families.

Both work on single frames; a video is folded into the batch dimension by the caller. Spatial sizes
halve at every encoder level and double at every decoder level, so ``image_size`` must be divisible
by ``2 ** len(channels)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from odevideo.errors import InputError


def _norm(channels: int) -> nn.Module:
    # GroupNorm, not BatchNorm: statistics do not depend on the batch, so train and eval agree
    # and nothing has to be switched between them (a known pitfall of BatchNorm video models).
    return nn.GroupNorm(min(8, channels), channels)


def _check_size(image_size: int, levels: int) -> None:
    if image_size % (2**levels) != 0:
        raise InputError(
            f"image_size={image_size} is not divisible by 2**{levels} (one halving per channel level); "
            f"use an image size that is a multiple of {2 ** levels} or fewer channel levels"
        )


class ConvFrameEncoder(nn.Module):
    """Per-frame encoder: ``(N, C, H, W)`` in [0, 1] -> embedding ``(N, out_dim)``.

    Level 1 folds 2x2 pixel blocks into channels (space-to-depth) and applies a 3x3 conv, so no conv
    ever runs at full resolution (on a CPU the full-resolution layers cost more than all others
    together); every further level is a stride-2 4x4 conv. Each level: conv + GroupNorm + SiLU.
    The flattened last feature map goes through a linear layer. ``forward(..., return_features=True)``
    also returns the feature map after every level (finest first), used as skip connections by
    :class:`ConvFrameDecoder`.
    """

    def __init__(self, in_channels: int, image_size: int, channels: Sequence[int], out_dim: int):
        super().__init__()
        _check_size(image_size, len(channels))
        self.in_channels = in_channels
        self.image_size = image_size
        blocks = [
            nn.Sequential(
                nn.PixelUnshuffle(2),
                nn.Conv2d(4 * in_channels, channels[0], 3, padding=1),
                _norm(channels[0]),
                nn.SiLU(),
            )
        ]
        for prev, ch in zip(channels[:-1], channels[1:]):
            blocks.append(nn.Sequential(nn.Conv2d(prev, ch, 4, stride=2, padding=1), _norm(ch), nn.SiLU()))
        self.blocks = nn.ModuleList(blocks)
        final = image_size // 2 ** len(channels)
        self.head = nn.Linear(channels[-1] * final * final, out_dim)
        self.feature_channels = list(channels)

    def forward(self, x: Tensor, return_features: bool = False):
        size = self.image_size
        if x.dim() != 4 or x.shape[1] != self.in_channels or x.shape[-1] != size or x.shape[-2] != size:
            raise InputError(
                f"frame encoder expects frames of shape (N, {self.in_channels}, {self.image_size}, {self.image_size}), "
                f"got {tuple(x.shape)}; resize the clip or set data.image_size / data.channels to match the model"
            )
        h = x
        feats = []
        for block in self.blocks:
            h = block(h)
            feats.append(h)
        out = self.head(h.flatten(1))
        return (out, feats) if return_features else out


class ConvFrameDecoder(nn.Module):
    """Per-frame decoder: latent ``(N, in_dim)`` -> logits ``(N, C, H, W)`` (apply sigmoid for frames).

    Mirror of :class:`ConvFrameEncoder`: a linear layer to the coarsest feature map, then per level a
    3x3 conv to 4x the next level's channels and a depth-to-space (pixel shuffle) upsampling; the last
    level's depth-to-space produces the output directly. The decoder runs once per frame *and query
    time*, so it is kept free of full-resolution convolutions: it dominates the cost of a step.
    With ``skip_channels`` the decoder concatenates a skip feature map at every level (e.g. the encoder
    features of the last observed frame, which carry appearance so the latent can concentrate on motion).
    """

    def __init__(
        self,
        in_dim: int,
        out_channels: int,
        image_size: int,
        channels: Sequence[int],
        skip_channels: Sequence[int] | None = None,
    ):
        super().__init__()
        _check_size(image_size, len(channels))
        rev = list(channels)[::-1]
        self.start = image_size // 2 ** len(channels)
        self.start_channels = rev[0]
        self.fc = nn.Linear(in_dim, rev[0] * self.start * self.start)
        skips = list(skip_channels)[::-1] if skip_channels is not None else [0] * len(rev)
        if len(skips) != len(rev):
            raise InputError("skip_channels must have one entry per decoder level")
        self.use_skips = skip_channels is not None
        blocks = []
        for i, ch in enumerate(rev):
            if i + 1 < len(rev):
                nxt = rev[i + 1]
                blocks.append(
                    nn.Sequential(
                        nn.Conv2d(ch + skips[i], 4 * nxt, 3, padding=1), nn.PixelShuffle(2), _norm(nxt), nn.SiLU()
                    )
                )
            else:
                blocks.append(
                    nn.Sequential(nn.Conv2d(ch + skips[i], 4 * out_channels, 3, padding=1), nn.PixelShuffle(2))
                )
        self.blocks = nn.ModuleList(blocks)

    def forward(self, z: Tensor, skips: Sequence[Tensor] | None = None) -> Tensor:
        h = self.fc(z).view(z.shape[0], self.start_channels, self.start, self.start)
        if self.use_skips and skips is None:
            raise InputError("this decoder was built with skip connections; pass the skip feature maps")
        skip_list = list(skips)[::-1] if skips is not None else None
        for i, block in enumerate(self.blocks):
            if skip_list is not None:
                h = torch.cat([h, skip_list[i]], dim=1)
            h = block(h)
        return h
