"""The video GANs as methods: TGAN, MoCoGAN and TGANv2 with any temporal generator (original, ODE of order 1-3,
SDE), their discriminators, the adversarial step (simultaneous or alternating) and the validation score."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import ClassVar

import torch
from torch import nn

from odevideo.errors import ConfigError
from odevideo.methods.base import Method, StepLosses
from odevideo.methods.video_gan.config import (
    GANLossConfig,
    GANValidationConfig,
    MoCoGANConfig,
    TGANConfig,
    TGANv2Config,
    TGANv2LossConfig,
)


def gan_frame_dt(model_cfg) -> float:
    """``model.frame_dt``, or the paper's 1/15 when unset (0 or a negative value is refused, not replaced)."""
    from odevideo.methods.video_gan.temporal_common import PAPER_FRAME_DT

    dt = model_cfg.frame_dt
    if dt is None:
        return PAPER_FRAME_DT
    if not dt > 0:
        raise ConfigError(f"model.frame_dt={dt} must be > 0 (solver time per frame; null = the paper's 1/15)")
    return float(dt)


def _vector_temporal_generator(g, original: Callable[[], nn.Module], fcn_widths: tuple[int, ...],
                               equal_params_hidden: int) -> nn.Module:
    """A GAN's temporal generator on code vectors: its ``original`` one, or an ODE / SDE with the GAN's FCN widths
    (and, for ``f_type=equal_params``, the hidden width that matches the original's parameter count)."""
    from odevideo.methods.video_gan.temporal_common import PAPER_FRAME_DT
    from odevideo.methods.video_gan.temporal_ode import ODETemporalGenerator
    from odevideo.methods.video_gan.temporal_sde import SDETemporalGenerator
    from odevideo.solvers import SDESolverConfig

    if g.temporal == "original":
        return original()
    kw = dict(fcn=fcn_widths if g.fcn else None, time_dependent=g.time_dependent, frame_dt=gan_frame_dt(g))
    if g.temporal == "sde":
        if g.f_type == "equal_params":
            raise ConfigError("model.temporal=sde supports model.f_type single or two_layer")
        dt = 0.025 * kw["frame_dt"] / PAPER_FRAME_DT  # the paper's Euler-Maruyama step, scaled with the frame length
        return SDETemporalGenerator(g.latent_dim, f_type=g.f_type, solver=SDESolverConfig("euler", dt=dt), **kw)
    hidden = equal_params_hidden if g.f_type == "equal_params" and g.latent_dim in (16, 100) else None
    return ODETemporalGenerator(g.latent_dim, order=g.order, f_type=g.f_type, construction=g.construction,
                                hidden_dim=hidden, **kw)


def _check_transform(g, image_size: int) -> None:
    if not (isinstance(g.frame_max_shift, (int, float)) and not isinstance(g.frame_max_shift, bool)
            and 0 < g.frame_max_shift < float("inf")):
        raise ConfigError(f"model.frame_max_shift must be a positive finite number (half-frames), got "
                          f"{g.frame_max_shift!r}")
    if g.sprite_size is not None and (g.frame_transform == "none" or not 8 <= g.sprite_size <= image_size):
        raise ConfigError(f"model.sprite_size={g.sprite_size} needs model.frame_transform (translate / affine) and a "
                          f"size in [8, data.image_size={image_size}]; null = the frame size")


class _VideoGAN(Method):
    family = "video_gan"
    legacy_section = "gan"
    conditional = False
    val_key = "val_score"
    sections = {"validation": GANValidationConfig}

    def check(self, cfg):
        if cfg.validation.metric == "digit_fd" and not cfg.validation.digit_classifier:
            raise ConfigError("validation.metric=digit_fd needs validation.digit_classifier=PATH (a digit classifier "
                              "checkpoint; one is trained and saved there if the path holds none), or use "
                              "validation.metric=pixel_fd")

    def losses(self, cfg, model, critics, batch, noise, step, rng):
        out = self.gan_losses(cfg, model, critics, batch.frames, rng)
        regenerate = None
        if self.alternating(cfg):
            real = batch.frames if cfg.loss.joint_disc_batch else None
            regenerate = lambda: self.generator_loss(cfg, critics, out.fake, real, rng)  # noqa: E731
        return StepLosses(out.generator, out.metrics, critic_loss=out.discriminator, regenerate=regenerate)

    @torch.no_grad()
    def validate(self, cfg, model, val_set, ctx):
        """Frechet distance between frames of ``validation.samples`` generated and as many validation clips
        (``validation.metric``: ``pixel_fd`` = of 8x8 average-pooled frames, cheap, for model selection only;
        ``frame_fid`` = Inception frame-level FID; ``digit_fd`` = on the features of a digit classifier, 1-digit
        Moving MNIST only). Generated clips use a fixed seed, so the scores of different steps compare the same
        codes. Every rank computes it (the same value)."""
        from odevideo.data import collate_clips
        from odevideo.methods.video_gan.generation import pixel_frame_features, sample_videos
        from odevideo.metrics.frame_fid import frame_fid

        v = cfg.validation
        n = min(v.samples, len(val_set))
        real = collate_clips([val_set[i] for i in range(n)], frame_dt=cfg.data.frame_dt).frames
        fake = sample_videos(model, n, None, seed=cfg.train.seed + 7919, batch_size=cfg.eval.batch_size,
                             device=ctx.device).cpu()
        if v.metric == "frame_fid":
            if "inception" not in ctx.cache:
                from odevideo.metrics.frame_fid import InceptionFeatureExtractor

                ctx.cache["inception"] = (InceptionFeatureExtractor.from_file(v.inception_weights)
                                          if v.inception_weights
                                          else InceptionFeatureExtractor.pretrained(download=cfg.data.download))
            extractor = ctx.cache["inception"]
        elif v.metric == "digit_fd":
            if "digits" not in ctx.cache:
                ctx.cache["digits"] = self._digit_classifier(cfg, ctx)
            extractor = ctx.cache["digits"].embed
        else:
            extractor = pixel_frame_features
        score = frame_fid(real, fake, extractor)
        k = cfg.eval.num_sample_clips
        return {"val_score": score, "val_metric": v.metric}, (real[:k], fake[:k])

    @staticmethod
    def _digit_classifier(cfg, ctx) -> nn.Module:
        """``validation.metric: digit_fd``: the classifier at ``validation.digit_classifier``, trained there first
        if the path holds none; the global RNG is left as it was, so the run's own random draws do not depend on
        whether the classifier had to be trained."""
        from odevideo.methods.video_gan.digit_scores import fit_digit_classifier

        with ctx.main_first(), torch.random.fork_rng(devices=[]):
            clf, _ = fit_digit_classifier(cfg, path=cfg.validation.digit_classifier,
                                          log=lambda m: print(m, file=sys.stderr) if ctx.rank == 0 else None)
        return clf.to(ctx.device).eval()


class _TGANOrMoCoGAN(_VideoGAN):
    loss_config = GANLossConfig
    #: whether the per-frame image discriminator is on when ``loss.image_disc`` is None (MoCoGAN's design)
    image_disc_by_default: ClassVar[bool] = False

    def has_image_disc(self, cfg) -> bool:
        """Whether the GAN gets the per-frame image discriminator (``loss.image_disc``; None = MoCoGAN only)."""
        return cfg.loss.image_disc if cfg.loss.image_disc is not None else self.image_disc_by_default

    def _check_loss(self, cfg) -> None:
        lc = cfg.loss
        if not (isinstance(lc.real_label, (int, float)) and not isinstance(lc.real_label, bool)
                and 0.5 < lc.real_label <= 1.0):
            raise ConfigError(f"loss.real_label must lie in (0.5, 1] (1 = no label smoothing; Salimans et al.: 0.9), "
                              f"got {lc.real_label!r}")
        if lc.real_label != 1.0 and lc.kind != "nonsaturating":
            raise ConfigError(f"loss.real_label={lc.real_label} smooths the targets of the nonsaturating (BCE) loss; "
                              f"loss.kind={lc.kind} has none: set loss.real_label=1 or loss.kind=nonsaturating")
        if isinstance(lc.minibatch_std, bool) or not isinstance(lc.minibatch_std, int) or lc.minibatch_std < 0 \
                or lc.minibatch_std == 1:
            raise ConfigError(f"loss.minibatch_std must be 0 (off) or a group size >= 2 (ProGAN: 4), got "
                              f"{lc.minibatch_std!r}")
        if lc.minibatch_std and not self.has_image_disc(cfg):
            raise ConfigError("loss.minibatch_std is a layer of the image discriminator: set loss.image_disc=true, or "
                              "loss.minibatch_std=0")
        if lc.minibatch_std:
            frames = cfg.train.batch_size * lc.image_frames  # the image discriminator's real frames per step
            if frames % lc.minibatch_std:
                raise ConfigError(f"loss.minibatch_std={lc.minibatch_std} groups the image discriminator's frames, "
                                  f"{frames} per step (train.batch_size x loss.image_frames): make it a divisor")
        if lc.video_batch is not None and (isinstance(lc.video_batch, bool) or not isinstance(lc.video_batch, int)
                                           or lc.video_batch < 1):
            raise ConfigError(f"loss.video_batch={lc.video_batch!r} must be null (all clips) or an integer >= 1 (at "
                              f"most that many clips of each loss call for the video discriminator)")

    def video_disc(self, cfg) -> nn.Module:
        raise NotImplementedError

    def build_critics(self, cfg):
        from odevideo.methods.video_gan.mocogan import MoCoGANImageDiscriminator

        lc, d = cfg.loss, cfg.data
        self._check_loss(cfg)
        critics = nn.ModuleDict()
        if self.has_image_disc(cfg):
            noise = lc.disc_noise if lc.image_disc_noise is None else lc.image_disc_noise
            critics["image"] = MoCoGANImageDiscriminator(d.channels, lc.image_disc_channels or lc.disc_channels,
                                                         patch=lc.image_disc_patch, image_size=d.image_size,
                                                         spectral_norm=lc.spectral_norm, noise_sigma=noise,
                                                         minibatch_std=lc.minibatch_std)
        critics["video"] = self.video_disc(cfg)
        return critics

    @staticmethod
    def video_clips(cfg, clips: int) -> int | None:
        """How many of a loss call's ``clips`` the video discriminator scores: ``loss.video_batch`` at most
        (None: all; also when the call has no more clips than that)."""
        n = cfg.loss.video_batch
        return None if n is None or n >= clips else n

    def gan_losses(self, cfg, model, critics, real, rng):
        from odevideo.methods.video_gan.steps import video_gan_losses

        lc = cfg.loss
        return video_gan_losses(model, dict(critics.items()), real, loss=lc.kind, z=real.shape[0],
                                generator_rng=rng, r1_gamma=lc.r1_gamma, image_frames=lc.image_frames,
                                joint_batch=lc.joint_disc_batch, video_clips=self.video_clips(cfg, real.shape[0]),
                                real_label=lc.real_label)

    def generator_loss(self, cfg, critics, fake, real, rng):
        from odevideo.methods.video_gan.steps import video_gan_generator_loss

        lc = cfg.loss
        return video_gan_generator_loss(dict(critics.items()), fake, loss=lc.kind, generator_rng=rng,
                                        image_frames=lc.image_frames, real=real,
                                        video_clips=self.video_clips(cfg, fake.shape[0]))

    def alternating(self, cfg):
        return cfg.loss.alternating

    def after_critic_step(self, cfg, critics, iteration):
        if cfg.loss.svc_every > 0:  # TGAN: singular value clipping after discriminator updates
            from odevideo.methods.video_gan.lipschitz import after_discriminator_step

            after_discriminator_step(critics, iteration, svc_every=cfg.loss.svc_every)


class TGANMethod(_TGANOrMoCoGAN):
    """TGAN (Saito et al. 2017) with its temporal generator, or Gordon & Parde's ODE / SDE in its place."""

    name, model_config = "tgan", TGANConfig

    def build_model(self, g, spec):
        from odevideo.methods.video_gan.temporal_common import PAPER_EQUAL_PARAMS_HIDDEN, TGAN_FCN_WIDTHS
        from odevideo.methods.video_gan.temporal_discrete import TGANTemporalGenerator
        from odevideo.methods.video_gan.tgan import TGANImageGenerator, TGANVideoGenerator

        def original() -> nn.Module:
            if spec.num_frames != 16:
                raise ConfigError(f"TGAN's temporal generator makes exactly 16 frames; set data.num_frames=16 "
                                  f"(got {spec.num_frames})")
            return TGANTemporalGenerator(g.latent_dim, g.latent_dim)

        _check_transform(g, spec.image_size)
        temporal = _vector_temporal_generator(g, original, TGAN_FCN_WIDTHS, PAPER_EQUAL_PARAMS_HIDDEN[self.name])
        image = TGANImageGenerator(g.latent_dim, g.latent_dim, spec.channels, g.sprite_size or spec.image_size,
                                   conv_ch=g.gen_channels, init=g.image_init)
        return TGANVideoGenerator(temporal, image, n_frames=spec.num_frames, frame_transform=g.frame_transform,
                                  max_shift=g.frame_max_shift, frame_size=spec.image_size)

    def video_disc(self, cfg):
        from odevideo.methods.video_gan.tgan import TGANVideoDiscriminator

        lc, d = cfg.loss, cfg.data
        return TGANVideoDiscriminator(d.channels, d.image_size, lc.video_disc_channels or lc.disc_channels,
                                      spectral_norm=lc.spectral_norm, noise_sigma=lc.disc_noise)


class MoCoGANMethod(_TGANOrMoCoGAN):
    """MoCoGAN (Tulyakov et al. 2018) with its GRU motion generator, or an ODE / SDE in its place."""

    name, model_config = "mocogan", MoCoGANConfig
    image_disc_by_default = True

    def build_model(self, g, spec):
        from odevideo.methods.video_gan.mocogan import MoCoGANGenerator
        from odevideo.methods.video_gan.temporal_common import MOCOGAN_FCN_WIDTHS, PAPER_EQUAL_PARAMS_HIDDEN
        from odevideo.methods.video_gan.temporal_discrete import MoCoGANMotionGenerator

        _check_transform(g, spec.image_size)
        def original() -> nn.Module:
            return MoCoGANMotionGenerator(g.latent_dim, video_length=spec.num_frames)

        temporal = _vector_temporal_generator(g, original, MOCOGAN_FCN_WIDTHS, PAPER_EQUAL_PARAMS_HIDDEN[self.name])
        return MoCoGANGenerator(temporal, g.content_dim, g.latent_dim, spec.channels, spec.image_size,
                                ngf=g.gen_channels, video_length=spec.num_frames, motion_norm=g.motion_norm,
                                frame_transform=g.frame_transform, max_shift=g.frame_max_shift,
                                sprite_size=g.sprite_size, upsample=g.gen_upsample, image_init=g.image_init)

    def video_disc(self, cfg):
        from odevideo.methods.video_gan.mocogan import MoCoGANVideoDiscriminator

        lc, d = cfg.loss, cfg.data
        return MoCoGANVideoDiscriminator(d.channels, lc.video_disc_channels or lc.disc_channels,
                                         image_size=d.image_size, spectral_norm=lc.spectral_norm,
                                         noise_sigma=lc.disc_noise)


class TGANv2Method(_VideoGAN):
    """TGANv2 (Saito et al. 2020): multi-level rendering, trained sparsely, with a feature-map temporal generator
    (its ConvLSTM, a conv ODE of order 1-3 or a conv SDE)."""

    name, model_config, loss_config = "tganv2", TGANv2Config, TGANv2LossConfig
    legacy_renames = {"loss.video_disc_channels": "loss.disc_channels"}

    def build_model(self, g, spec):
        from odevideo.methods.video_gan.map_temporal import (
            ConvLSTMTemporalGenerator,
            MapODETemporalGenerator,
            MapSDETemporalGenerator,
        )
        from odevideo.methods.video_gan.tganv2 import TGANv2Generator

        if g.temporal == "original":
            temporal = ConvLSTMTemporalGenerator(g.latent_dim, g.map_channels, g.map_size, n_layers=g.clstm_layers)
        else:
            if g.f_type == "equal_params":
                raise ConfigError("method tganv2 has model.f_type single or two_layer (conv dynamics on the feature "
                                  "map)")
            kw = dict(f_type=g.f_type, time_dependent=g.time_dependent, frame_dt=gan_frame_dt(g))
            if g.temporal == "sde":
                temporal = MapSDETemporalGenerator(g.latent_dim, g.map_channels, g.map_size, **kw)
            else:
                temporal = MapODETemporalGenerator(g.latent_dim, g.map_channels, g.map_size, order=g.order,
                                                   construction=g.construction, **kw)
        return TGANv2Generator(temporal, out_channels=spec.channels, image_size=spec.image_size,
                               channels=g.gen_channels, levels=g.levels, n_frames=spec.num_frames)

    def build_critics(self, cfg):
        from odevideo.methods.video_gan.tganv2 import TGANv2MultiLevelDiscriminator

        return nn.ModuleDict({"video": TGANv2MultiLevelDiscriminator(cfg.data.channels, cfg.loss.disc_channels,
                                                                     levels=cfg.model.levels)})

    def gan_losses(self, cfg, model, critics, real, rng):
        from odevideo.methods.video_gan.steps import multilevel_gan_losses

        return multilevel_gan_losses(model, critics["video"], real, loss=cfg.loss.kind, generator_rng=rng,
                                     r1_gamma=cfg.loss.r1_gamma)
