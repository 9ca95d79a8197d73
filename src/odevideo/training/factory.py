"""Build models, datasets and loss functions from an :class:`ExperimentConfig`."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from odevideo.data import BouncingBalls, ClipBatch, MovingMNIST, VideoFolderDataset, collate_clips, random_drop_mask
from odevideo.errors import ConfigError
from odevideo.models import EncoderODEDecoder, LatentODEVAE
from odevideo.objectives import LossOutput, Task, elbo_loss, encoder_ode_decoder_loss
from odevideo.training.config import ExperimentConfig
from odevideo.training.distributed import rank_seed

_SPLIT_OFFSET = {"train": 0, "val": 1, "test": 2}
_NOISE_STREAM = 0x5EED  # tags the latent-noise random stream, apart from any other per-step stream


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
    if d.dataset == "video_folder":
        # The user's own clips: <data_dir>/{train,val,test}/ each hold clips as video files, GIFs, .npy
        # arrays or folders of frames. Frames are centre-cropped to a square and resized to image_size.
        if not d.data_dir:
            raise ConfigError(
                "data.dataset=video_folder needs data.data_dir=PATH, a folder with train/, val/ and test/ "
                "sub-folders of clips (video files, GIFs, .npy or folders of frames)"
            )
        return VideoFolderDataset(
            Path(d.data_dir) / split, d.num_frames, d.image_size, window="random" if split == "train" else "first",
            seed=d.seed + _SPLIT_OFFSET[split], crop="center", channels=d.channels, frame_dt=d.frame_dt,
            recursive=True,
        )
    raise ConfigError(f"unknown data.dataset {d.dataset!r}; use 'bouncing_balls', 'moving_mnist' or 'video_folder'")


def batch_from_indices(dataset, indices, frame_dt: float) -> ClipBatch:
    return collate_clips([dataset[int(i)] for i in indices], frame_dt=frame_dt)


def training_plan(cfg: ExperimentConfig, num_clips: int, step: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(indices (B,), mask (B, T) bool)`` of the *global* training batch of ``step``, B = train.batch_size.

    A pure function of (train.seed, step): a resumed run sees exactly the batches an uninterrupted one
    would have seen, and every process of a multi-process run agrees on the global batch without talking.
    """
    g = torch.Generator().manual_seed(cfg.train.seed * 1_000_003 + step)
    idx = torch.randint(num_clips, (cfg.train.batch_size,), generator=g)
    t = cfg.data.num_frames
    if cfg.data.drop_prob > 0:
        mask = random_drop_mask(cfg.train.batch_size, t, cfg.data.drop_prob, generator=g, keep_first=True)
    else:
        mask = torch.ones(cfg.train.batch_size, t, dtype=torch.bool)
    return idx, mask


def training_batch(cfg: ExperimentConfig, dataset, step: int, rows: slice | None = None) -> ClipBatch:
    """The training batch of ``step`` (see :func:`training_plan`), or only its ``rows`` (a process's shard
    or micro-batch); only those clips are loaded."""
    idx, mask = training_plan(cfg, len(dataset), step)
    if rows is not None:
        idx, mask = idx[rows], mask[rows]
    batch = batch_from_indices(dataset, idx, cfg.data.frame_dt)
    if batch.num_frames != mask.shape[1]:
        raise ConfigError(
            f"the {cfg.data.dataset} clips have {batch.num_frames} frames but data.num_frames={mask.shape[1]}; "
            f"set data.num_frames={batch.num_frames}"
        )
    if cfg.data.drop_prob > 0:
        batch = ClipBatch(batch.frames, batch.times, mask)
    return batch


def training_noise(cfg: ExperimentConfig, step: int) -> torch.Tensor | None:
    """Standard-normal draws ``(B, latent_dim)`` for the global batch of ``step`` (for ``Task.noise``), or
    None for deterministic models. Drawn for the whole global batch and sliced per process, so a sharded
    step samples exactly the latents of the unsharded one."""
    if cfg.model.family != "latent_ode_vae":
        return None
    g = torch.Generator().manual_seed(rank_seed(cfg.train.seed, step, _NOISE_STREAM))
    return torch.randn(cfg.train.batch_size, cfg.model.latent_dim, generator=g)


def loss_normalizer(cfg: ExperimentConfig, mask: torch.Tensor) -> float:
    """How many units the loss of :func:`compute_loss` averages over, for a batch with observation ``mask``.

    latent_ode_vae: clips (the ELBO is a mean over clips). encoder_ode_decoder: observed target frames
    (:func:`odevideo.objectives.masked_frame_mean`). A micro-batch's loss weighted by its share of the
    global batch's units makes the summed gradient equal to the gradient of the global batch's loss.
    """
    if cfg.model.family == "encoder_ode_decoder":
        target = mask if cfg.objective.formulation == "prediction" else mask[:, : cfg.objective.num_observed]
        return float(target.sum())
    return float(mask.shape[0])


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
