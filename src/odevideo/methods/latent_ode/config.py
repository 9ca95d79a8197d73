"""Configs of the latent models: each ``*Config`` holds exactly its model's constructor arguments, less the ones
the data fixes (``in_channels``, ``image_size``: :class:`~odevideo.methods.base.ModelSpec`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from odevideo.solvers import SolverConfig


def _rk4() -> SolverConfig:
    return SolverConfig(method="rk4", step_size=0.1)


@dataclass
class EncoderODEDecoderConfig:
    """:class:`~odevideo.methods.latent_ode.EncoderODEDecoder` (Kanaa et al. eq. 1)."""

    channels: list[int] = field(default_factory=lambda: [16, 32, 64])  # conv encoder widths; the decoder mirrors them
    latent_dim: int = 32
    ode_hidden: int = 128
    ode_layers: int = 2
    solver: SolverConfig = field(default_factory=_rk4)  # the latent ODE's solver (time units of the clip)
    skip_connections: bool = True
    time_dependent: bool = False


@dataclass
class LatentODEVAEConfig(EncoderODEDecoderConfig):
    """:class:`~odevideo.methods.latent_ode.LatentODEVAE` (Kanaa et al. eq. 2)."""

    embed_dim: int = 128  # per-frame embedding fed to the backward GRU
    rnn_hidden: int = 128


@dataclass
class ODE2VAEConfig(LatentODEVAEConfig):
    """:class:`~odevideo.methods.latent_ode.ODE2VAE` (second-order latent ODE; position and velocity latents)."""


@dataclass
class ELBOConfig:
    """The evidence lower bound of the VAEs (:func:`~odevideo.methods.latent_ode.elbo_loss`)."""

    likelihood: Literal["bernoulli", "gaussian"] = "bernoulli"
    obs_sigma: float = 1.0  # gaussian likelihood
    kl_weight: float = 1.0
    kl_warmup_steps: int = 0  # linear KL annealing from 0 to kl_weight


@dataclass
class LatentMatchingConfig:
    """The Encoder-ODE-Decoder's loss (:func:`~odevideo.methods.latent_ode.encoder_ode_decoder_loss`)."""

    latent_weight: float = 1.0  # weight of the latent matching term next to the pixel term
