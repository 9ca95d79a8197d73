"""Vid-ODE's convolutional networks: the Conv-Encoder E and the Conv-Decoder G (paper section 3, figure 2).

E maps every observed frame to a feature map at ``1 / 2**n_downs`` of its size; G maps a pair of decoder states
``cat(h_k, h_{k-1})`` back to frame size as raw flow, image-difference and mask heads, which
:func:`~odevideo.methods.vid_ode.frame_chain.compose_frame_chain` turns into frames. Both use GroupNorm instead of
the authors' BatchNorm, so train and eval mode agree.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from odevideo.errors import InputError

__all__ = ["VidODEConvEncoder", "VidODEConvDecoder"]


def _norm(channels: int) -> nn.Module:
    # GroupNorm: no batch statistics, so train and eval mode agree (the authors' BatchNorm does not).
    return nn.GroupNorm(math.gcd(8, channels), channels)


class VidODEConvEncoder(nn.Module):
    """Conv-Encoder E: ``(N, C, H, W)`` -> ``(N, hidden_channels, H / 2**n_downs, W / 2**n_downs)``."""

    def __init__(self, in_channels: int, hidden_channels: int = 128, n_downs: int = 2):
        super().__init__()
        ch = hidden_channels // 2**n_downs
        layers: list[nn.Module] = [nn.Conv2d(in_channels, ch, 3, 1, 1), _norm(ch), nn.ReLU()]
        for _ in range(n_downs):
            layers += [nn.Conv2d(ch, ch * 2, 4, 2, 1), _norm(ch * 2), nn.ReLU()]
            ch *= 2
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class VidODEConvDecoder(nn.Module):
    """Conv-Decoder G: ``cat(h_k, h_{k-1})`` ``(N, 2 K, h, w)`` -> ``(N, 2 + C + 1, H, W)`` raw heads.

    ``n_ups`` times bilinear x2 upsampling + conv3x3 + norm + ReLU halving the width, then a conv3x3 to the
    flow (2), image (C) and mask (1) channels, without activation (applied by the model).

    ``mask_init`` in (0, 1) sets the mask logit's bias so that the composition mask starts at that value
    (None: the default init, M about 0.5). With M = 0.5 the quickest way down the L1 loss is to fade
    every frame towards the image difference, a plateau on which the flow is learnt slowly; a mask that
    starts near 1 lets warping carry the frame from the first steps.
    """

    #: (clip, query) pairs per pass of G on a CPU (see :meth:`_chunked`)
    CPU_CHUNK = 8

    def __init__(self, hidden_channels: int, out_channels: int, n_ups: int = 2, mask_init: float | None = None):
        super().__init__()
        ch = 2 * hidden_channels
        layers: list[nn.Module] = []
        for _ in range(n_ups):
            layers += [
                nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                nn.Conv2d(ch, ch // 2, 3, 1, 1), _norm(ch // 2), nn.ReLU(),
            ]
            ch //= 2
        layers += [nn.Conv2d(ch, 2 + out_channels + 1, 3, 1, 1)]
        self.net = nn.Sequential(*layers)
        self._first_conv = next(i for i, m in enumerate(layers) if isinstance(m, nn.Conv2d))
        # Recompute G's full-resolution activations in the backward pass instead of storing them
        # (train.activation_checkpointing): G runs on every (clip, query) pair at frame resolution.
        self.activation_checkpointing = False
        if mask_init is not None:
            if not 0.0 < float(mask_init) < 1.0:
                raise InputError(
                    f"mask_init={mask_init!r} must lie strictly between 0 and 1 (or be None for the default init)."
                )
            with torch.no_grad():
                layers[-1].bias[-1].fill_(math.log(mask_init / (1.0 - mask_init)))

    def forward(self, x: Tensor) -> Tensor:
        if self.net[self._first_conv].weight.is_contiguous(memory_format=torch.channels_last) and x.dim() == 4:
            # The model was put in channels_last (train.channels_last): G's input, a concatenation of decoder
            # states, is not, and the first bilinear upsampling (and its backward) would run its NCHW kernel,
            # 3.5-5.5x slower on a CPU than the NHWC one the later layers get.
            x = x.contiguous(memory_format=torch.channels_last)
        if self.activation_checkpointing and torch.is_grad_enabled():
            return checkpoint(self._chunked, x, use_reentrant=False)
        return self._chunked(x)

    def _chunked(self, x: Tensor) -> Tensor:
        # On a CPU, G's full-resolution activations for many (clip, query) pairs at once overflow the caches:
        # CPU_CHUNK pairs at a time ran G's forward and backward 5-22% faster (64 and 128 px, fp32 and bf16, NCHW
        # and channels_last).
        # Every layer works per sample (GroupNorm included), so only float rounding differs from one pass: the
        # weight gradients are summed chunk by chunk, and the convolutions may pick other kernels for a chunk.
        if x.device.type != "cpu" or x.shape[0] <= self.CPU_CHUNK:
            return self.net(x)
        return torch.cat([self.net(part) for part in x.split(self.CPU_CHUNK)])
