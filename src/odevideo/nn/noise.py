"""Gaussian instance noise for discriminator inputs (MoCoGAN's ``Noise`` layers).

MoCoGAN (Tulyakov et al., 2018) adds ``N(0, sigma^2)`` noise to the input of every convolution of both of its
discriminators (``--use_noise --noise_sigma 0.1`` in its training commands). Blurring real and fake
distributions this way keeps a discriminator from separating them perfectly early in training, so its
gradients stay informative for the generator.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from odevideo.errors import InputError

__all__ = ["GaussianInputNoise"]


class GaussianInputNoise(nn.Module):
    """``x + sigma * eps``, ``eps ~ N(0, I)`` of ``x``'s shape, in training mode only; identity in eval mode
    and when ``sigma == 0``. The noise comes from torch's global RNG (seeded per step by the trainer).

    Unlike MoCoGAN's layer (noisy in eval mode too) this one is off in eval mode: a discriminator is then a
    deterministic function, which is what scoring or inspecting it needs.
    """

    def __init__(self, sigma: float):
        super().__init__()
        if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or not math.isfinite(sigma) or sigma < 0:
            raise InputError(f"GaussianInputNoise: sigma must be a finite number >= 0 (MoCoGAN: 0.1), got {sigma!r}.")
        self.sigma = float(sigma)

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.sigma == 0:
            return x
        return x + self.sigma * torch.randn_like(x)

    def extra_repr(self) -> str:
        return f"sigma={self.sigma}"
