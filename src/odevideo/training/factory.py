"""Build models, datasets and loss functions from an :class:`ExperimentConfig`."""

from __future__ import annotations

import torch
from torch import nn

from odevideo.data import BouncingBalls, ClipBatch, MovingMNIST, collate_clips, random_drop_mask
from odevideo.errors import ConfigError
from odevideo.models import EncoderODEDecoder, LatentODEVAE
from odevideo.objectives import LossOutput, Task, elbo_loss, encoder_ode_decoder_loss
from odevideo.training.config import ExperimentConfig

_SPLIT_OFFSET = {"train": 0, "val": 1, "test": 2}


def build_model(cfg: ExperimentConfig) -> nn.Module:
    m, d = cfg.model, cfg.data
    common = dict(
        in_channels=d.channels, image_size=d.image_size, channels=tuple(m.channels), latent_dim=m.latent_dim,
        ode_hidden=m.ode_hidden, ode_layers=m.ode_layers, solver=m.solver, skip_connections=m.skip_connections,
        time_dependent=m.time_dependent,
    )
    if m.family == "latent_ode_vae":
        return LatentODEVAE(embed_dim=m.embed_dim, rnn_hidden=m.rnn_hidden, **common)
    if m.family == "encoder_ode_decoder":
        return EncoderODEDecoder(**common)
    raise ConfigError(f"unknown model.family {m.family!r}; use 'latent_ode_vae' or 'encoder_ode_decoder'")


def build_dataset(cfg: ExperimentConfig, split: str) -> torch.utils.data.Dataset:
    """The ``train``/``val``/``test`` clips of the configured dataset (deterministic from ``data.seed``)."""
    d = cfg.data
    n = {"train": d.train_clips, "val": d.val_clips, "test": d.test_clips}[split]
    if d.dataset == "moving_mnist":
        if d.channels != 1:
            raise ConfigError("moving_mnist clips have 1 channel; set data.channels=1")
        return MovingMNIST(
            split=split, num_digits=d.num_digits, num_frames=d.num_frames, size=d.image_size, num_clips=n,
            seed=d.seed, data_dir=d.data_dir, download=d.download, frame_dt=d.frame_dt,
        )
    if d.dataset == "bouncing_balls":
        if d.channels != 1:
            raise ConfigError("bouncing_balls clips have 1 channel; set data.channels=1")
        # Bouncing balls has no digit pools: splits are disjoint seed streams.
        return BouncingBalls(
            num_clips=n, num_frames=d.num_frames, size=d.image_size, num_balls=d.num_balls,
            seed=d.seed * 3 + _SPLIT_OFFSET[split] + 1_000_003 * _SPLIT_OFFSET[split], frame_dt=d.frame_dt,
        )
    raise ConfigError(f"unknown data.dataset {d.dataset!r}; use 'bouncing_balls' or 'moving_mnist'")


def batch_from_indices(dataset, indices, frame_dt: float) -> ClipBatch:
    return collate_clips([dataset[int(i)] for i in indices], frame_dt=frame_dt)


def training_batch(cfg: ExperimentConfig, dataset, step: int) -> ClipBatch:
    """The training batch of ``step``: a pure function of (train.seed, step), so a resumed run sees
    exactly the batches an uninterrupted one would have seen."""
    g = torch.Generator().manual_seed(cfg.train.seed * 1_000_003 + step)
    idx = torch.randint(len(dataset), (cfg.train.batch_size,), generator=g)
    batch = batch_from_indices(dataset, idx, cfg.data.frame_dt)
    if cfg.data.drop_prob > 0:
        mask = random_drop_mask(batch.batch_size, batch.num_frames, cfg.data.drop_prob, generator=g, keep_first=True)
        batch = ClipBatch(batch.frames, batch.times, mask)
    return batch


def compute_loss(cfg: ExperimentConfig, model: nn.Module, task: Task, step: int) -> LossOutput:
    o = cfg.objective
    if isinstance(model, LatentODEVAE):
        kl_weight = o.kl_weight
        if o.kl_warmup_steps > 0:
            kl_weight = o.kl_weight * min(1.0, step / o.kl_warmup_steps)
        return elbo_loss(model, task, likelihood=o.likelihood, obs_sigma=o.obs_sigma, kl_weight=kl_weight)
    if isinstance(model, EncoderODEDecoder):
        return encoder_ode_decoder_loss(model, task, latent_weight=o.latent_weight)
    raise ConfigError(f"no loss is defined for model type {type(model).__name__}")
