"""Minibatch standard deviation for discriminators (ProGAN, Karras et al. 2018, section 3).

A generator that draws the same image for every code (mode collapse) is hard to catch for a discriminator that
scores one sample at a time: each of the copies may look real. This layer gives every sample one more feature
map, the spread of the features across a small group of samples, so a group of near-identical fakes stands out
against a group of real samples, and the generator is pushed towards variety.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from odevideo.errors import InputError

__all__ = ["MinibatchStdDev"]


class MinibatchStdDev(nn.Module):
    """``(N, C, *spatial)`` -> ``(N, C + 1, *spatial)``: appends the group's mean feature standard deviation.

    The batch is cut into CONSECUTIVE groups of ``group_size`` samples (rows ``0..g-1``, ``g..2g-1``, ...); for
    each group the standard deviation of every feature (channel and position) over the group's samples is
    averaged into one number, broadcast as a constant extra channel to the group's samples. Consecutive groups
    (ProGAN interleaves them) keep a batch ``[real; fake]`` scored in one call from mixing real and fake samples
    in a group, as long as the real part's size is a multiple of ``group_size``. No parameters.
    """

    def __init__(self, group_size: int = 4):
        super().__init__()
        if isinstance(group_size, bool) or not isinstance(group_size, int) or group_size < 2:
            raise InputError(f"MinibatchStdDev: group_size must be an integer >= 2 (ProGAN: 4), got {group_size!r}.")
        self.group_size = group_size

    def forward(self, x: Tensor) -> Tensor:
        n, g = x.shape[0], self.group_size
        if x.dim() < 2 or n % g:
            raise InputError(f"MinibatchStdDev: the batch ({n} samples, shape {tuple(x.shape)}) must be a multiple of "
                             f"the group size {g}; change the batch size or gan.minibatch_std.")
        groups = x.float().reshape(n // g, g, *x.shape[1:])
        spread = (groups.var(dim=1, unbiased=False) + 1e-8).sqrt().flatten(1).mean(1)  # (n / g,)
        feature = spread.repeat_interleave(g).to(x.dtype).reshape(n, 1, *([1] * (x.dim() - 2)))
        return torch.cat([x, feature.expand(n, 1, *x.shape[2:])], dim=1)

    def extra_repr(self) -> str:
        return f"group_size={self.group_size}"
