"""Exponential moving average of a model's weights (``train.ema_decay``), over torch's ``AveragedModel``.

GAN generators are sampled from such an average in ProGAN, StyleGAN and BigGAN: the raw weights chase a
moving discriminator and jitter from step to step; their average draws cleaner samples. It works for any
model here, so it is a training option, not a GAN one.

After update ``n`` (``n = 1`` copies the weights) the average moves towards the current weights with decay
``min(decay, (1 + n) / (10 + n))``: the warm-up of TensorFlow's ``ExponentialMovingAverage(num_updates=...)``,
so that a short run is not dominated by its first, untrained weights (with a fixed 0.999, the weights of
the first 500 of 2,500 steps would still hold 13% of the average). Buffers (BatchNorm statistics) are copied
from the trained model, not averaged.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.optim.swa_utils import AveragedModel

from odevideo.errors import ConfigError

__all__ = ["ema_decay_at", "build_ema"]


def ema_decay_at(decay: float, n: int) -> float:
    """The decay applied by update ``n`` (``n >= 1`` updates already averaged): ``min(decay, (1+n)/(10+n))``."""
    return min(decay, (1.0 + n) / (10.0 + n))


def build_ema(model: nn.Module, decay: float) -> AveragedModel:
    """An ``AveragedModel`` whose ``.module`` is the moving average of ``model``'s parameters.

    Call ``ema.update_parameters(model)`` after every optimizer step; the first call copies the weights.
    ``ema.n_averaged`` (a buffer) counts the updates, so ``ema.state_dict()`` restores the average exactly.
    """
    if not 0.0 < decay < 1.0:
        raise ConfigError(f"train.ema_decay={decay} must lie in (0, 1) (e.g. 0.999), or be 0 to switch the average off")

    def lerp_all(averaged: list[Tensor], current: list[Tensor], n: Tensor | int) -> None:
        torch._foreach_lerp_(averaged, current, 1.0 - ema_decay_at(decay, int(n)))

    ema = AveragedModel(model, multi_avg_fn=lerp_all, use_buffers=False)
    for p in ema.parameters():
        p.requires_grad_(False)
    return ema
