"""Build models, datasets and loss functions from an :class:`ExperimentConfig`."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from odevideo.data import BouncingBalls, ClipBatch, MovingMNIST, VideoFolderDataset, collate_clips, random_drop_mask
from odevideo.data.transforms import hflip, rotate, sample_flip_rotate
from odevideo.errors import ConfigError
from odevideo.models import (
    ConvGRUBaseline,
    EncoderODEDecoder,
    LatentODEVAE,
    ODE2VAE,
    ODEConvBaseline,
    ODEFCBaseline,
    VidODE,
    VidRNN,
)
from odevideo.nn.discriminators import ImageDiscriminator, SequenceDiscriminator
from odevideo.objectives import LossOutput, Task, elbo_loss, encoder_ode_decoder_loss, make_task
from odevideo.objectives.vid_ode import VidODELossWeights, vid_ode_losses
from odevideo.training.config import ExperimentConfig
from odevideo.training.distributed import rank_seed

_SPLIT_OFFSET = {"train": 0, "val": 1, "test": 2}
_NOISE_STREAM = 0x5EED  # tags the latent-noise random stream, apart from any other per-step stream
_AUGMENT_STREAM = 0xA06  # tags the augmentation random stream

#: Unconditional video GANs: a generator (the saved model) and discriminators, no context frames.
GAN_FAMILIES = ("tgan", "mocogan", "tganv2")
#: Variational families trained with the ELBO (:func:`odevideo.objectives.elbo_loss`); their latent noise has
#: the posterior's size: ``latent_dim``, or ``2 * latent_dim`` for ODE2VAE's position and velocity.
VAE_FAMILIES = ("latent_ode_vae", "ode2vae")
#: Families that follow the Vid-ODE conventions (L1 losses, optional discriminators, frame chains).
VID_ODE_FAMILIES = ("vid_ode", "ode_fc", "ode_conv", "convgru", "vid_rnn")


def build_model(cfg: ExperimentConfig) -> nn.Module:
    m, d = cfg.model, cfg.data
    common = dict(
        in_channels=d.channels, image_size=d.image_size, channels=tuple(m.channels), latent_dim=m.latent_dim,
        ode_hidden=m.ode_hidden, ode_layers=m.ode_layers, solver=m.solver, skip_connections=m.skip_connections,
        time_dependent=m.time_dependent,
    )
    if m.family == "latent_ode_vae":
        return LatentODEVAE(embed_dim=m.embed_dim, rnn_hidden=m.rnn_hidden, **common)
    if m.family == "ode2vae":
        return ODE2VAE(embed_dim=m.embed_dim, rnn_hidden=m.rnn_hidden, **common)
    if m.family == "encoder_ode_decoder":
        return EncoderODEDecoder(**common)
    if m.family in GAN_FAMILIES:
        return build_video_generator(cfg)
    conv = dict(in_channels=d.channels, hidden_channels=m.hidden_channels, n_downs=m.n_downs)
    if m.family == "vid_ode":
        return VidODE(
            **conv, ode_hidden=m.ode_hidden, ode_layers=m.ode_layers, encoder_solver=m.encoder_solver,
            decoder_solver=m.solver, decoder_start=m.decoder_start, first_prev=m.first_prev,
            warp_previous=m.warp_previous, use_flow_warping=m.use_flow_warping,
            use_mask_composition=m.use_mask_composition, run_backwards=m.run_backwards, flow_stride=m.flow_stride,
            mask_init=m.mask_init, ode_autocast=m.ode_autocast, ode_rate=m.ode_rate,
            anchor_observed=m.anchor_observed, flow_per_time=m.flow_per_time, warp_padding=m.warp_padding,
        )
    if m.family in ("ode_fc", "ode_conv"):
        stacked = dict(n_frames=context_length(cfg), frame_size=d.image_size, ode_hidden=m.ode_hidden,
                       ode_layers=m.ode_layers, solver=m.solver)
        if m.family == "ode_fc":
            return ODEFCBaseline(**conv, latent_dim=m.latent_dim, **stacked)
        return ODEConvBaseline(**conv, **stacked)
    if m.family == "convgru":
        return ConvGRUBaseline(**conv, time_input=m.time_input)
    if m.family == "vid_rnn":
        return VidRNN(**conv, step=m.rnn_step, flow_stride=m.flow_stride, mask_init=m.mask_init,
                      anchor_observed=m.anchor_observed, warp_previous=m.warp_previous,
                      flow_per_time=m.flow_per_time, warp_padding=m.warp_padding)
    raise ConfigError(
        f"unknown model.family {m.family!r}; use latent_ode_vae, ode2vae, encoder_ode_decoder, "
        f"{', '.join(VID_ODE_FAMILIES)}, {', '.join(GAN_FAMILIES)}"
    )


def context_length(cfg: ExperimentConfig) -> int:
    """How many frames a training task shows the model (the observed frames; strided for interpolation)."""
    return cfg.objective.num_observed


def task_of(cfg: ExperimentConfig, batch: ClipBatch) -> Task:
    """The training :class:`Task` of the configured formulation on ``batch``."""
    o = cfg.objective
    return make_task(batch, o.formulation, o.num_observed, stride=o.interp_stride)


def validation_task(cfg: ExperimentConfig, batch: ClipBatch) -> Task:
    """What validation scores (best checkpoint): the training task, except that interpolation is scored
    on every frame of the observed span (the in-between frames are what the model is for)."""
    task = task_of(cfg, batch)
    o = cfg.objective
    if o.formulation == "interpolation" and o.interp_stride > 1:
        span = slice(0, (o.num_observed - 1) * o.interp_stride + 1)
        task = Task(task.context_frames, task.context_times, task.context_mask, batch.times[:, span],
                    batch.frames[:, span], batch.mask[:, span])
    return task


def sequence_window(cfg: ExperimentConfig) -> int:
    """Frames per sequence-discriminator window: extrapolation windows span the last ``num_observed``
    observed frames plus one prediction (the authors' ``T_in + 1``); interpolation windows are the
    whole (strided) context clip."""
    a, o = cfg.adversarial, cfg.objective
    if o.formulation == "interpolation":
        return o.num_observed
    return a.seq_window or o.num_observed + 1


def _temporal_generator(cfg: ExperimentConfig) -> nn.Module:
    from odevideo.models.temporal_generators import (
        MOCOGAN_FCN_WIDTHS, PAPER_EQUAL_PARAMS_HIDDEN, PAPER_FRAME_DT, TGAN_FCN_WIDTHS, MoCoGANMotionGenerator,
        ODETemporalGenerator, SDETemporalGenerator, TGANTemporalGenerator,
    )
    from odevideo.solvers import SDESolverConfig

    g, fam, n = cfg.gan, cfg.model.family, cfg.data.num_frames
    if fam == "tganv2":
        return _map_temporal_generator(cfg)
    if g.temporal == "original":
        if fam == "tgan":
            if n != 16:
                raise ConfigError(f"TGAN's temporal generator makes exactly 16 frames; set data.num_frames=16 (got {n})")
            return TGANTemporalGenerator(g.latent_dim, g.latent_dim)
        return MoCoGANMotionGenerator(g.latent_dim, video_length=n)
    fcn = (TGAN_FCN_WIDTHS if fam == "tgan" else MOCOGAN_FCN_WIDTHS) if g.fcn else None
    kw = dict(fcn=fcn, time_dependent=g.time_dependent, frame_dt=_gan_frame_dt(cfg))
    if g.temporal == "sde":
        if g.f_type == "equal_params":
            raise ConfigError("gan.temporal=sde supports gan.f_type single or two_layer")
        # the paper's Euler-Maruyama step 0.025, scaled with the frame length
        dt = 0.025 * kw["frame_dt"] / PAPER_FRAME_DT
        return SDETemporalGenerator(g.latent_dim, f_type=g.f_type, solver=SDESolverConfig("euler", dt=dt), **kw)
    hidden = PAPER_EQUAL_PARAMS_HIDDEN[fam] if g.f_type == "equal_params" and g.latent_dim in (16, 100) else None
    return ODETemporalGenerator(g.latent_dim, order=g.order, f_type=g.f_type, construction=g.construction,
                                hidden_dim=hidden, **kw)


def _map_temporal_generator(cfg: ExperimentConfig) -> nn.Module:
    """TGANv2's temporal generators on ``(map_channels, map_size, map_size)`` feature maps."""
    from odevideo.models.map_temporal_generators import (
        ConvLSTMTemporalGenerator, MapODETemporalGenerator, MapSDETemporalGenerator,
    )

    g = cfg.gan
    if g.temporal == "original":
        return ConvLSTMTemporalGenerator(g.latent_dim, g.map_channels, g.map_size, n_layers=g.clstm_layers)
    if g.f_type == "equal_params":
        raise ConfigError("model.family=tganv2 has f_type single or two_layer (conv dynamics on the feature map)")
    kw = dict(f_type=g.f_type, time_dependent=g.time_dependent, frame_dt=_gan_frame_dt(cfg))
    if g.temporal == "sde":
        return MapSDETemporalGenerator(g.latent_dim, g.map_channels, g.map_size, **kw)
    return MapODETemporalGenerator(g.latent_dim, g.map_channels, g.map_size, order=g.order,
                                   construction=g.construction, **kw)


def _gan_frame_dt(cfg: ExperimentConfig) -> float:
    """``gan.frame_dt``, or the paper's 1/15 when unset (0 or a negative value is refused, not replaced)."""
    from odevideo.models.temporal_generators import PAPER_FRAME_DT

    dt = cfg.gan.frame_dt
    if dt is None:
        return PAPER_FRAME_DT
    if not dt > 0:
        raise ConfigError(f"gan.frame_dt={dt} must be > 0 (solver time per frame; null = the paper's 1/15)")
    return float(dt)


def _check_tganv2(cfg: ExperimentConfig) -> None:
    """Options of the TGAN / MoCoGAN steps that the multi-level TGANv2 step does not have."""
    g = cfg.gan
    unsupported = [name for name, on in (
        ("gan.alternating", g.alternating), ("gan.joint_disc_batch", g.joint_disc_batch),
        ("gan.image_disc", bool(g.image_disc)), ("gan.spectral_norm", g.spectral_norm),
        ("gan.svc_every", g.svc_every > 0), ("gan.disc_noise", g.disc_noise > 0),
        ("gan.image_disc_noise", bool(g.image_disc_noise)), ("gan.video_batch", g.video_batch is not None),
        ("gan.motion_norm", g.motion_norm != "none"), ("gan.frame_transform", g.frame_transform != "none"),
    ) if on]
    if unsupported:
        raise ConfigError(
            f"model.family=tganv2 trains with TGANv2's step (simultaneous updates, multi-level discriminator, "
            f"R1 via gan.r1_gamma); switch off {', '.join(unsupported)}"
        )


def build_video_generator(cfg: ExperimentConfig) -> nn.Module:
    """TGAN / MoCoGAN video generator with the configured temporal generator (``gan`` section)."""
    from odevideo.models import MoCoGANGenerator, TGANImageGenerator, TGANVideoGenerator

    g, d = cfg.gan, cfg.data
    if not (isinstance(g.frame_max_shift, (int, float)) and not isinstance(g.frame_max_shift, bool)
            and 0 < g.frame_max_shift < float("inf")):
        raise ConfigError(f"gan.frame_max_shift must be a positive finite number (half-frames), got "
                          f"{g.frame_max_shift!r}")
    if g.video_batch is not None and (isinstance(g.video_batch, bool) or not isinstance(g.video_batch, int)
                                      or g.video_batch < 1):
        raise ConfigError(f"gan.video_batch={g.video_batch!r} must be null (all clips) or an integer >= 1 (at most "
                          f"that many clips of each loss call for the video discriminator)")
    if g.gen_upsample != "deconv" and cfg.model.family != "mocogan":
        raise ConfigError(f"gan.gen_upsample={g.gen_upsample} is for MoCoGAN's image generator; keep 'deconv' for "
                          f"model.family={cfg.model.family}")
    if g.sprite_size is not None and (g.frame_transform == "none" or not 8 <= g.sprite_size <= d.image_size):
        raise ConfigError(f"gan.sprite_size={g.sprite_size} needs gan.frame_transform (translate / affine) and a size "
                          f"in [8, data.image_size={d.image_size}]; null = the frame size")
    temporal = _temporal_generator(cfg)
    if cfg.model.family == "tganv2":
        from odevideo.models.tganv2 import TGANv2Generator

        _check_tganv2(cfg)
        return TGANv2Generator(temporal, out_channels=d.channels, image_size=d.image_size, channels=g.gen_channels,
                               levels=g.levels, n_frames=d.num_frames)
    if cfg.model.family == "tgan":
        image = TGANImageGenerator(g.latent_dim, g.latent_dim, d.channels,
                                   g.sprite_size or d.image_size, conv_ch=g.gen_channels, init=g.tgan_image_init)
        return TGANVideoGenerator(temporal, image, n_frames=d.num_frames,
                                  frame_transform=g.frame_transform, max_shift=g.frame_max_shift,
                                  frame_size=d.image_size)
    return MoCoGANGenerator(temporal, g.content_dim, g.latent_dim, d.channels, d.image_size, ngf=g.gen_channels,
                            video_length=d.num_frames, motion_norm=g.motion_norm,
                            frame_transform=g.frame_transform, max_shift=g.frame_max_shift,
                            sprite_size=g.sprite_size, upsample=g.gen_upsample, image_init=g.mocogan_image_init)


def _has_image_disc(cfg: ExperimentConfig) -> bool:
    """Whether the GAN gets the per-frame image discriminator (``gan.image_disc``; None = MoCoGAN only)."""
    g = cfg.gan
    return g.image_disc if g.image_disc is not None else cfg.model.family == "mocogan"


def _check_discriminator_options(cfg: ExperimentConfig) -> None:
    """gan.real_label and gan.minibatch_std: refused where they would be ignored."""
    g = cfg.gan
    if not (isinstance(g.real_label, (int, float)) and not isinstance(g.real_label, bool)
            and 0.5 < g.real_label <= 1.0):
        raise ConfigError(f"gan.real_label must lie in (0.5, 1] (1 = no label smoothing; Salimans et al.: 0.9), got "
                          f"{g.real_label!r}")
    if g.real_label != 1.0 and g.loss != "nonsaturating":
        raise ConfigError(f"gan.real_label={g.real_label} smooths the targets of the nonsaturating (BCE) loss; "
                          f"gan.loss={g.loss} has none: set gan.real_label=1 or gan.loss=nonsaturating")
    if g.real_label != 1.0 and cfg.model.family == "tganv2":
        raise ConfigError("gan.real_label (one-sided label smoothing) is for tgan / mocogan; TGANv2's multi-level "
                          "step has no such option: set gan.real_label=1")
    if isinstance(g.minibatch_std, bool) or not isinstance(g.minibatch_std, int) or g.minibatch_std < 0 \
            or g.minibatch_std == 1:
        raise ConfigError(f"gan.minibatch_std must be 0 (off) or a group size >= 2 (ProGAN: 4), got {g.minibatch_std!r}")
    if g.minibatch_std and not _has_image_disc(cfg):
        raise ConfigError("gan.minibatch_std is a layer of the image discriminator: set gan.image_disc=true, or "
                          "gan.minibatch_std=0")
    if g.minibatch_std:
        frames = cfg.train.batch_size * g.image_frames  # the image discriminator's real frames per step (global)
        if frames % g.minibatch_std:
            raise ConfigError(f"gan.minibatch_std={g.minibatch_std} groups the image discriminator's frames, "
                              f"{frames} per step (train.batch_size x gan.image_frames): make it a divisor")


def _gan_critics(cfg: ExperimentConfig) -> nn.ModuleDict:
    from odevideo.models import MoCoGANImageDiscriminator, MoCoGANVideoDiscriminator, TGANVideoDiscriminator

    g, d = cfg.gan, cfg.data
    _check_discriminator_options(cfg)
    critics = nn.ModuleDict()
    if cfg.model.family == "tganv2":
        from odevideo.models.tganv2 import TGANv2MultiLevelDiscriminator

        _check_tganv2(cfg)
        critics["video"] = TGANv2MultiLevelDiscriminator(d.channels, g.video_disc_channels or g.disc_channels,
                                                         levels=g.levels)
        return critics
    image_disc = _has_image_disc(cfg)
    image_noise = g.disc_noise if g.image_disc_noise is None else g.image_disc_noise
    if image_disc:
        critics["image"] = MoCoGANImageDiscriminator(d.channels, g.image_disc_channels or g.disc_channels,
                                                     patch=g.image_disc_patch, image_size=d.image_size,
                                                     spectral_norm=g.spectral_norm, noise_sigma=image_noise,
                                                     minibatch_std=g.minibatch_std)
    if cfg.model.family == "tgan":
        critics["video"] = TGANVideoDiscriminator(d.channels, d.image_size, g.video_disc_channels or g.disc_channels,
                                                  spectral_norm=g.spectral_norm, noise_sigma=g.disc_noise)
    else:
        critics["video"] = MoCoGANVideoDiscriminator(d.channels, g.video_disc_channels or g.disc_channels,
                                                     image_size=d.image_size, spectral_norm=g.spectral_norm,
                                                     noise_sigma=g.disc_noise)
    return critics


def video_clips(cfg: ExperimentConfig, clips: int) -> int | None:
    """How many of a loss call's ``clips`` the video discriminator scores: ``gan.video_batch`` at most (None:
    all; also when the call has no more clips than that, e.g. a small per-process batch)."""
    n = cfg.gan.video_batch
    return None if n is None or n >= clips else n


def gan_losses(cfg: ExperimentConfig, generator: nn.Module, critics: nn.ModuleDict, real: torch.Tensor,
               rng: torch.Generator):
    """One video-GAN step's losses (:func:`odevideo.objectives.video_gans.video_gan_losses`): real clips
    ``(B, T, C, H, W)`` in [0, 1] against as many generated ones drawn with ``rng``."""
    from odevideo.objectives.video_gans import multilevel_gan_losses, video_gan_losses

    if cfg.model.family == "tganv2":
        return multilevel_gan_losses(generator, critics["video"], real, loss=cfg.gan.loss, generator_rng=rng,
                                     r1_gamma=cfg.gan.r1_gamma)
    return video_gan_losses(generator, dict(critics.items()), real, loss=cfg.gan.loss, z=real.shape[0],
                            generator_rng=rng, r1_gamma=cfg.gan.r1_gamma,
                            image_frames=cfg.gan.image_frames, joint_batch=cfg.gan.joint_disc_batch,
                            video_clips=video_clips(cfg, real.shape[0]), real_label=cfg.gan.real_label)


def build_critics(cfg: ExperimentConfig) -> nn.ModuleDict | None:
    """The discriminators of the configured adversarial objective (``None`` without any)."""
    if cfg.model.family in GAN_FAMILIES:
        return _gan_critics(cfg)
    a, d = cfg.adversarial, cfg.data
    critics = nn.ModuleDict()
    if a.image_disc:
        critics["image"] = ImageDiscriminator(d.channels, a.disc_channels, a.disc_downs)
    if a.seq_disc:
        critics["sequence"] = SequenceDiscriminator(d.channels, sequence_window(cfg), a.disc_channels, a.disc_downs)
    if len(critics) and cfg.model.family not in VID_ODE_FAMILIES:
        raise ConfigError(
            f"adversarial.image_disc / seq_disc apply to the Vid-ODE families ({', '.join(VID_ODE_FAMILIES)}), "
            f"not to model.family={cfg.model.family}; switch them off"
        )
    return critics if len(critics) else None


def build_dataset(cfg: ExperimentConfig, split: str) -> torch.utils.data.Dataset:
    """The ``train``/``val``/``test`` clips of the configured dataset (deterministic from ``data.seed``).

    With ``data.cache_dir`` the synthetic datasets' splits named in ``data.cache_splits`` come from the
    on-disk cache (:func:`odevideo.data.cached_clips`; generated there first if missing or stale): the
    same clips, bit for bit. Several processes: build under :func:`odevideo.training.distributed.main_first`
    so that rank 0 generates and the others load."""
    dataset = _build_generator(cfg, split)
    d = cfg.data
    if d.cache_dir is None:
        return dataset
    bad = [s for s in d.cache_splits if s not in _SPLIT_OFFSET]
    if bad:
        raise ConfigError(f"data.cache_splits={d.cache_splits} holds {bad}; use a list of train, val, test")
    if split not in d.cache_splits or not hasattr(dataset, "cache_description"):
        return dataset  # only the synthetic generators are cached; file datasets are read as they are
    import sys

    from odevideo.data import cached_clips

    return cached_clips(dataset, d.cache_dir, f"{d.dataset}-{split}", dataset.cache_description(),
                        frame_dt=d.frame_dt, log=lambda line: print(line, file=sys.stderr, flush=True))


def _build_generator(cfg: ExperimentConfig, split: str) -> torch.utils.data.Dataset:
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
    if d.dataset in _PAPER_VIDEO_DATASETS:
        return _paper_video_dataset(cfg, split)
    raise ConfigError(
        f"unknown data.dataset {d.dataset!r}; use bouncing_balls, moving_mnist, video_folder, "
        f"{', '.join(_PAPER_VIDEO_DATASETS)}"
    )


_PAPER_VIDEO_DATASETS = ("kth", "moving_gif", "penn_action", "ucf101")
#: every HOLDOUT_EVERY-th clip of the official train split is the validation split (and not trained on)
HOLDOUT_EVERY = 20


def _paper_video_dataset(cfg: ExperimentConfig, split: str):
    """KTH Action / Moving GIF / Penn Action with Vid-ODE's preprocessing, UCF101 (``data.fold``) with TGAN's
    (:mod:`odevideo.data`).

    These datasets only have train and test splits; validation (best checkpoint) uses every
    :data:`HOLDOUT_EVERY`-th clip of the train split, which training then skips. Augmentation is the
    trainer's (``data.augment_flip`` / ``data.augment_rotate_degrees``), so the loaders' own is off."""
    from odevideo.data import UCF101, KTHAction, MovingGif, PennAction

    d = cfg.data
    if not d.data_dir:
        raise ConfigError(f"data.dataset={d.dataset} needs data.data_dir=PATH (see `odevideo.data` for the layouts)")
    source = "test" if split == "test" else "train"
    window = "random" if split == "train" else "first"
    if d.dataset == "ucf101":
        if d.fold not in (1, 2, 3):
            raise ConfigError(f"data.fold={d.fold}: UCF101 has the official splits 1, 2 and 3")
        full = UCF101(d.data_dir, source, d.fold, d.num_frames, d.image_size, channels=d.channels, window=window,
                      frame_dt=d.frame_dt, seed=d.seed)
    else:
        cls = {"kth": KTHAction, "moving_gif": MovingGif, "penn_action": PennAction}[d.dataset]
        full = cls(d.data_dir, source, d.num_frames, d.image_size, channels=d.channels, window=window,
                   augment=False, frame_dt=d.frame_dt, seed=d.seed)
    if split == "test":
        return full
    keep = [i for i in range(len(full)) if (i % HOLDOUT_EVERY == 0) == (split == "val")]
    if not keep:
        raise ConfigError(f"{d.data_dir} holds too few {d.dataset} clips for a {split} split (every "
                          f"{HOLDOUT_EVERY}th train clip is held out for validation)")
    return torch.utils.data.Subset(full, keep)


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
    if cfg.data.augment_flip > 0 or cfg.data.augment_rotate_degrees > 0:
        first = 0 if rows is None else (rows.start or 0)
        batch = ClipBatch(augment_clips(cfg, batch.frames, step, first), batch.times, batch.mask)
    return batch


def micro_batch_rows(rank: int, micro: int, accum: int, micro_batch_size: int) -> slice:
    """Rows of the global batch in micro-batch ``micro`` of process ``rank`` (``accum`` micro-batches per
    process, ``micro_batch_size`` clips each): contiguous, rank-major."""
    first = (rank * accum + micro) * micro_batch_size
    return slice(first, first + micro_batch_size)


class StepBatches(torch.utils.data.Dataset):
    """Item ``s`` = ``(s, [ClipBatch, ...])``: the ``accum`` micro-batches that process ``rank`` trains on at
    step ``s`` (:func:`training_batch` of :func:`micro_batch_rows`), each ``(m, T, C, H, W)`` frames,
    ``(m, T)`` times and ``(m, T)`` mask on the CPU.

    A pure function of (config, step, rank): a DataLoader's worker processes produce exactly the batches
    the training process would build itself (:func:`step_batch_loader`)."""

    def __init__(self, cfg: ExperimentConfig, dataset, rank: int, accum: int, micro_batch_size: int):
        self.cfg, self.dataset = cfg, dataset
        self.rank, self.accum, self.micro_batch_size = rank, accum, micro_batch_size

    def __len__(self) -> int:
        return self.cfg.train.steps

    def __getitem__(self, step: int) -> tuple[int, list[ClipBatch]]:
        step = int(step)
        rows = [micro_batch_rows(self.rank, k, self.accum, self.micro_batch_size) for k in range(self.accum)]
        return step, [training_batch(self.cfg, self.dataset, step, r) for r in rows]


def _no_collate(item):
    return item


def step_batch_loader(cfg: ExperimentConfig, step_batches: StepBatches, first_step: int, pin_memory: bool):
    """Iterator over ``step_batches[first_step], step_batches[first_step + 1], ...`` up to ``train.steps``.

    ``train.num_workers = 0``: built in this process, one step at a time. Otherwise a ``DataLoader`` with
    that many worker processes, each keeping ``train.prefetch_factor`` steps ready, alive for the whole
    iteration (the run); ``pin_memory`` page-locks the batches for non-blocking copies to the GPU.
    """
    t = cfg.train
    steps = range(first_step, t.steps)
    if t.num_workers == 0:
        return (step_batches[s] for s in steps)
    loader = torch.utils.data.DataLoader(
        step_batches, batch_size=None, sampler=steps, collate_fn=_no_collate, num_workers=t.num_workers,
        prefetch_factor=t.prefetch_factor, pin_memory=pin_memory, persistent_workers=False,
    )
    return iter(loader)


def autocast_dtype(cfg: ExperimentConfig) -> torch.dtype | None:
    """The autocast dtype of ``train.bf16`` / ``train.fp16`` (None = float32); both at once is an error."""
    t = cfg.train
    if t.bf16 and t.fp16:
        raise ConfigError(
            "train.bf16 and train.fp16 are both true; choose one precision, e.g. --set train.bf16=false "
            "--set train.fp16=true for fp16 with a gradient scaler (most presets set bf16: true)"
        )
    return torch.bfloat16 if t.bf16 else torch.float16 if t.fp16 else None


def autocast_context(cfg: ExperimentConfig, device: torch.device | str):
    """``torch.autocast`` in the configured precision on ``device`` (disabled for float32)."""
    dtype = autocast_dtype(cfg)
    return torch.autocast(device_type=torch.device(device).type, dtype=dtype or torch.bfloat16,
                          enabled=dtype is not None)


def augment_clips(cfg: ExperimentConfig, frames: torch.Tensor, step: int, first_row: int = 0) -> torch.Tensor:
    """Vid-ODE's augmentation: per clip, a random horizontal flip and a rotation by U(-d, d) degrees, the
    same for all frames of the clip. Clip ``first_row + i`` of the global batch of ``step`` always gets the
    same draw, however the batch is sharded."""
    d = cfg.data
    out = []
    for i in range(frames.shape[0]):
        g = torch.Generator().manual_seed(rank_seed(cfg.train.seed, step, _AUGMENT_STREAM, first_row + i))
        flip, angle = sample_flip_rotate(g, flip_prob=d.augment_flip, max_degrees=d.augment_rotate_degrees)
        clip = hflip(frames[i]) if flip else frames[i]
        out.append(rotate(clip, angle) if angle != 0.0 else clip)
    return torch.stack(out)


def training_noise(cfg: ExperimentConfig, step: int) -> torch.Tensor | None:
    """Standard-normal draws ``(B, latent_dim)`` for the global batch of ``step`` (for ``Task.noise``), or
    None for deterministic models. Drawn for the whole global batch and sliced per process, so a sharded
    step samples exactly the latents of the unsharded one."""
    if cfg.model.family not in VAE_FAMILIES:
        return None
    g = torch.Generator().manual_seed(rank_seed(cfg.train.seed, step, _NOISE_STREAM))
    dim = cfg.model.latent_dim * (2 if cfg.model.family == "ode2vae" else 1)
    return torch.randn(cfg.train.batch_size, dim, generator=g)


def loss_normalizer(cfg: ExperimentConfig, mask: torch.Tensor) -> float:
    """How many units the loss of :func:`compute_loss` averages over, for a batch with observation ``mask``.

    latent_ode_vae / ode2vae: clips (the ELBO is a mean over clips). encoder_ode_decoder: observed target frames
    (:func:`odevideo.objectives.masked_frame_mean`). A micro-batch's loss weighted by its share of the
    global batch's units makes the summed gradient equal to the gradient of the global batch's loss.
    """
    if cfg.model.family in (*VAE_FAMILIES, *GAN_FAMILIES):
        return float(mask.shape[0])
    # frame means: the target frames of the task
    o = cfg.objective
    if o.formulation == "prediction":
        target = mask
    elif o.formulation == "extrapolation":
        target = mask[:, o.num_observed :]
    else:
        stride = o.interp_stride if o.formulation == "interpolation" else 1
        target = mask[:, : (o.num_observed - 1) * stride + 1 : stride]
    return float(target.sum())


def compute_loss(cfg: ExperimentConfig, model: nn.Module, task: Task, step: int) -> LossOutput:
    o = cfg.objective
    if isinstance(model, LatentODEVAE):
        kl_weight = o.kl_weight
        if o.kl_warmup_steps > 0:
            kl_weight = o.kl_weight * min(1.0, step / o.kl_warmup_steps)
        return elbo_loss(model, task, likelihood=o.likelihood, obs_sigma=o.obs_sigma, kl_weight=kl_weight)
    if isinstance(model, EncoderODEDecoder):
        return encoder_ode_decoder_loss(model, task, latent_weight=o.latent_weight)
    if cfg.model.family in VID_ODE_FAMILIES:
        out = conditional_video_losses(cfg, model, None, task)
        return LossOutput(loss=out.generator, metrics=out.metrics)
    raise ConfigError(f"no loss is defined for model type {type(model).__name__}")


def conditional_video_losses(cfg: ExperimentConfig, model: nn.Module, critics: nn.ModuleDict | None, task: Task):
    """Vid-ODE's objective (eq. 7) for the Vid-ODE families: L1 reconstruction, L1 image difference
    (models with a difference head) and, with ``critics``, the LSGAN terms, from one pass of each
    discriminator (:func:`odevideo.objectives.vid_ode.vid_ode_losses`). Baselines without Vid-ODE's
    intermediate outputs get the L1 reconstruction loss (plus the same adversarial terms)."""
    a = cfg.adversarial
    pred = model(task.context_frames, task.context_times, task.context_mask, task.query_times)
    if getattr(pred, "raw_frames", None) is None:
        # Baselines (sigmoid frames): wrap them so that the same loss code applies (no difference head).
        from odevideo.models.vid_ode import VidODEPrediction

        pred = VidODEPrediction(frames=pred.frames, logits=pred.logits, latents=pred.latents,
                                query_times=pred.query_times, nfe=pred.nfe, raw_frames=pred.frames)
    critics = dict(critics.items()) if critics is not None else {}
    mode = "interpolation" if cfg.objective.formulation == "interpolation" else "extrapolation"
    return vid_ode_losses(
        pred, task.targets, task.target_mask, context_frames=task.context_frames, context_mask=task.context_mask,
        context_times=task.context_times, image_disc=critics.get("image"), seq_disc=critics.get("sequence"),
        seq_mode=mode, weights=VidODELossWeights(diff=a.weight_diff, img=a.weight_img, seq=a.weight_seq),
    )
