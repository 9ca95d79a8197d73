"""The latent models as methods: build from their configs, train with the ELBO or the latent-matching loss."""

from __future__ import annotations

import torch
from torch import nn

from odevideo.methods.base import ConditionalMethod, ModelSpec, StepLosses, init_kwargs, task_of
from odevideo.methods.latent_ode.config import (
    ELBOConfig,
    EncoderODEDecoderConfig,
    LatentMatchingConfig,
    LatentODEVAEConfig,
    ODE2VAEConfig,
)
from odevideo.methods.latent_ode.elbo import elbo_loss
from odevideo.methods.latent_ode.encoder_ode_decoder import EncoderODEDecoder
from odevideo.methods.latent_ode.latent_matching import encoder_ode_decoder_loss
from odevideo.methods.latent_ode.latent_ode_vae import LatentODEVAE
from odevideo.methods.latent_ode.ode2vae import ODE2VAE
from odevideo.seeding import rank_seed

_NOISE_STREAM = 0x5EED  # tags the latent-noise random stream, apart from any other per-step stream


def _build(cls, model_cfg, spec: ModelSpec) -> nn.Module:
    kw = init_kwargs(model_cfg)
    kw["channels"] = tuple(kw["channels"])
    return cls(in_channels=spec.channels, image_size=spec.image_size, **kw)


class LatentODEVAEMethod(ConditionalMethod):
    """Kanaa et al.'s latent-ODE VAE (eq. 2), trained with the ELBO."""

    name, family = "latent_ode_vae", "latent_ode"
    legacy_section = "objective"
    model_config, loss_config = LatentODEVAEConfig, ELBOConfig
    model_class = LatentODEVAE
    noise_factor = 1  # posterior size in units of latent_dim

    def build_model(self, model_cfg, spec):
        return _build(self.model_class, model_cfg, spec)

    def training_noise(self, cfg, step):
        """Standard-normal draws ``(B, latent_dim)`` for the whole global batch: a sharded step samples exactly
        the latents of the unsharded one."""
        g = torch.Generator().manual_seed(rank_seed(cfg.train.seed, step, _NOISE_STREAM))
        return torch.randn(cfg.train.batch_size, cfg.model.latent_dim * self.noise_factor, generator=g)

    def loss_units(self, cfg, mask):
        return float(mask.shape[0])  # the ELBO is a mean over clips

    def losses(self, cfg, model, critics, batch, noise, step, rng):
        task = task_of(cfg, batch)
        task.noise = noise
        lc = cfg.loss
        kl_weight = lc.kl_weight
        if lc.kl_warmup_steps > 0:
            kl_weight = lc.kl_weight * min(1.0, step / lc.kl_warmup_steps)
        out = elbo_loss(model, task, likelihood=lc.likelihood, obs_sigma=lc.obs_sigma, kl_weight=kl_weight)
        return StepLosses(out.loss, out.metrics)


class ODE2VAEMethod(LatentODEVAEMethod):
    """An ODE2VAE-style second-order latent ODE (position and velocity latents), trained with the same ELBO."""

    name = "ode2vae"
    model_config = ODE2VAEConfig
    model_class = ODE2VAE
    noise_factor = 2


class EncoderODEDecoderMethod(ConditionalMethod):
    """Kanaa et al.'s Encoder-ODE-Decoder (eq. 1), trained with pixel and latent-matching terms."""

    name, family = "encoder_ode_decoder", "latent_ode"
    legacy_section = "objective"
    model_config, loss_config = EncoderODEDecoderConfig, LatentMatchingConfig

    def build_model(self, model_cfg, spec):
        return _build(EncoderODEDecoder, model_cfg, spec)

    def losses(self, cfg, model, critics, batch, noise, step, rng):
        out = encoder_ode_decoder_loss(model, task_of(cfg, batch), latent_weight=cfg.loss.latent_weight)
        return StepLosses(out.loss, out.metrics)
