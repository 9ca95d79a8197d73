"""One video-GAN training step's losses: one generator pass, one pass of each discriminator on real and on fake.

* :func:`video_gan_losses`: TGAN / MoCoGAN (and their ODE/SDE variants); the generator and discriminator losses
  from the same passes on the non-detached fake clips (back-propagate them with
  :func:`~odevideo.methods.base.backward_adversarial`), optional R1 and one-sided label smoothing.
* :func:`video_gan_generator_loss`: the generator's loss against the updated discriminators, for alternating
  steps.
* :func:`multilevel_gan_losses`: TGANv2's step on its sparse multi-level generator and discriminator.
* Helpers the generation code shares: :func:`sample_frames` (the image discriminator's frames),
  :func:`temporal_generator` and :func:`takes_noise_seed` (whether an SDE draws its own noise from ``seed``).

The adversarial losses themselves are in :mod:`odevideo.methods.video_gan.adversarial`.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from odevideo.errors import InputError
from odevideo.methods.video_gan.adversarial import (
    GAN_LOSSES,
    _r1_from_scores,
    _scores,
    nonsaturating_discriminator_loss,
)
from odevideo.methods.video_gan.network_common import frames_to_discriminator, to_signed_range

__all__ = [
    "DISCRIMINATOR_ROLES",
    "VideoGANLosses",
    "video_gan_losses",
    "video_gan_generator_loss",
    "multilevel_gan_losses",
    "sample_frames",
    "temporal_generator",
    "takes_noise_seed",
]

#: the discriminator roles and what each scores: ``image``: single frames (N, C, H, W); ``video``: clips
#: (B, C, T, H, W)
DISCRIMINATOR_ROLES = ("image", "video")


@dataclass
class VideoGANLosses:
    """``generator`` and ``discriminator`` losses to minimise (both from the same passes; back-propagate them
    with :func:`~odevideo.methods.base.backward_adversarial`
    so each reaches only its own parameters), ``metrics`` as floats for logging, and
    the generated videos ``fake`` ``(B, T, C, H, W)`` in ``[-1, 1]`` (still attached to the generator's graph)."""

    generator: Tensor
    discriminator: Tensor
    metrics: dict = field(default_factory=dict)
    fake: Tensor | None = None


def _unwrap(module: nn.Module) -> nn.Module:
    """The module inside ``DistributedDataParallel`` / ``DataParallel`` wrappers."""
    while isinstance(getattr(module, "module", None), nn.Module):
        module = module.module
    return module


def temporal_generator(generator: nn.Module) -> nn.Module | None:
    """The temporal generator of a video GAN generator (``.temporal`` of TGAN, ``.motion`` of MoCoGAN), if any."""
    inner = _unwrap(generator)
    for name in ("temporal", "motion"):
        sub = getattr(inner, name, None)
        if isinstance(sub, nn.Module):
            return sub
    return None


def takes_noise_seed(generator: nn.Module) -> bool:
    """Whether the generator's temporal part draws its own noise from a ``seed`` keyword (the SDE generators:
    :class:`~odevideo.methods.video_gan.temporal_sde.SDETemporalGenerator`); such noise is then passed as ``seed``."""
    temporal = temporal_generator(generator)
    if temporal is None:
        return False
    try:
        return "seed" in inspect.signature(temporal.forward).parameters
    except (TypeError, ValueError):
        return False


def sample_frames(videos: Tensor, per_video: int = 1, generator: torch.Generator | None = None) -> Tensor:
    """``per_video`` frames drawn uniformly (with replacement) from each clip of ``videos`` ``(B, T, C, H, W)``,
    independently per clip: ``(B * per_video, C, H, W)``, clip by clip. The indices come from ``generator``
    (on its device), else from torch's global RNG."""
    if not isinstance(videos, Tensor) or videos.dim() != 5 or videos.shape[1] < 1:
        shape = tuple(videos.shape) if isinstance(videos, Tensor) else type(videos).__name__
        raise InputError(f"sample_frames: videos must be a (B, T, C, H, W) tensor with T >= 1, got {shape}.")
    if isinstance(per_video, bool) or not isinstance(per_video, int) or per_video < 1:
        raise InputError(f"sample_frames: per_video must be a positive integer, got {per_video!r}.")
    b, t = videos.shape[:2]
    where = generator.device if generator is not None else videos.device
    frames = torch.randint(0, t, (b, per_video), generator=generator, device=where).to(videos.device)
    rows = torch.arange(b, device=videos.device)[:, None].expand(b, per_video)
    return videos[rows, frames].reshape(b * per_video, *videos.shape[2:])


def _logits(out: object, name: str) -> Tensor:
    if isinstance(out, tuple):  # categorical video discriminator: (logits, class logits)
        out = out[0]
    return _scores(out, name)


def _check_real(real: object) -> Tensor:
    if not isinstance(real, Tensor) or not real.is_floating_point() or real.dim() != 5 or real.shape[0] == 0 \
            or real.shape[1] == 0:
        shape = tuple(real.shape) if isinstance(real, Tensor) else type(real).__name__
        raise InputError(
            f"video_gan_losses: real must be a floating (B, T, C, H, W) batch of clips with B, T >= 1, got {shape}."
        )
    lo, hi = (float(v) for v in torch.stack(torch.aminmax(real.detach())).tolist())
    if lo < -1e-3 or hi > 1 + 1e-3:
        raise InputError(
            f"video_gan_losses: real clips must be in [0, 1] (the project's frame convention; they are mapped to "
            f"[-1, 1] here), got values in [{lo:.3g}, {hi:.3g}]."
        )
    return real


def _discriminator_input(role: str, clips: Tensor, image_frames: int, rng: torch.Generator | None,
                         video_clips: int | None = None) -> Tensor:
    """What the ``role`` discriminator scores of ``clips`` ``(B, T, C, H, W)``: the first ``video_clips`` (None:
    all) clips as ``(B', C, T, H, W)`` (video), or ``image_frames`` frames per clip of all clips drawn with ``rng``
    (image, :func:`sample_frames`)."""
    if role == "video":
        return frames_to_discriminator(clips if video_clips is None else clips[:video_clips])
    return sample_frames(clips, image_frames, rng)


def _check_joint_groups(name: str, role: str, discriminator: nn.Module, n_real: int) -> None:
    """A minibatch-std discriminator (``gan.minibatch_std``) scoring ``[real; fake]`` in one call: its consecutive
    groups must not straddle the real/fake boundary, or the spread of a group would mix both."""
    group = getattr(_unwrap(discriminator), "minibatch_std", 0)
    if group and n_real % group:
        raise InputError(f"{name}: discriminators[{role!r}] groups {group} samples for its minibatch std, but the "
                         f"joint batch holds {n_real} real ones first, so a group would mix real and fake samples; "
                         f"make the per-process batch x image_frames a multiple of {group}.")


def _check_video_clips(name: str, video_clips: object, batch: int) -> None:
    if video_clips is None:
        return
    if isinstance(video_clips, bool) or not isinstance(video_clips, int) or not 1 <= video_clips <= batch:
        raise InputError(f"{name}: video_clips must be None (all clips) or an integer in [1, {batch}] (the clips per "
                         f"step), got {video_clips!r}; lower gan.video_batch or raise train.batch_size.")


def _check_discriminators_and_loss(name: str, discriminators: Mapping[str, nn.Module], loss: str) -> None:
    if not isinstance(discriminators, Mapping) or not discriminators:
        raise InputError(
            f"{name}: discriminators must be a non-empty mapping {{'video': D_v}} or "
            f"{{'image': D_i, 'video': D_v}}, got {type(discriminators).__name__}."
        )
    unknown = [k for k in discriminators if k not in DISCRIMINATOR_ROLES]
    if unknown:
        raise InputError(
            f"{name}: unknown discriminator role(s) {unknown}; use 'video' (clips (B, C, T, H, W)) and/or "
            f"'image' (frames (N, C, H, W))."
        )
    for role, d in discriminators.items():
        if not isinstance(d, nn.Module):
            raise InputError(f"{name}: discriminators[{role!r}] must be an nn.Module, got {type(d).__name__}.")
    if loss not in GAN_LOSSES:
        raise InputError(f"{name}: loss={loss!r} is not supported; use one of: {', '.join(GAN_LOSSES)}.")


def video_gan_losses(
    generator: nn.Module,
    discriminators: Mapping[str, nn.Module],
    real: Tensor,
    *,
    loss: str,
    z: int | Tensor | None = None,
    times: Tensor | Sequence[float] | None = None,
    generator_rng: torch.Generator | None = None,
    r1_gamma: float = 0.0,
    image_frames: int = 1,
    generator_kwargs: Mapping[str, Any] | None = None,
    joint_batch: bool = False,
    video_clips: int | None = None,
    real_label: float = 1.0,
) -> VideoGANLosses:
    """Generator and discriminator losses of one video-GAN step from ONE generator pass and ONE pass of each
    discriminator on the real and on the (non-detached) fake batch.

    Args:
        generator: a TGAN/MoCoGAN video generator (``forward(z_or_batch, times, *, generator=..., **kw)`` ->
            ``(B, T, C, H, W)`` in ``[-1, 1]``), possibly DDP-wrapped.
        discriminators: ``{"video": D_v}`` (TGAN) or ``{"image": D_i, "video": D_v}`` (MoCoGAN); ``D_v`` takes
            ``(B, C, T, H, W)`` clips, ``D_i`` ``(N, C, H, W)`` frames, both in ``[-1, 1]``; a tuple output
            (categorical video discriminator) is scored by its first element.
        real: ``(B, T, C, H, W)`` real clips in ``[0, 1]``; mapped to ``[-1, 1]`` here.
        loss: ``"wgan"`` (TGAN), ``"hinge"`` or ``"nonsaturating"`` (MoCoGAN's BCE) -- :data:`GAN_LOSSES`; the
            generator loss is the sum over the discriminators, and so is the discriminator loss (the
            discriminators share no parameters, so each gets the gradient of its own term).
        z: the generator's input: ``None`` = as many clips as ``real`` has, an int = that many, or a code tensor.
        times: the frame times to generate (default: the generator's ``0..T-1``); the fake clips must have the
            real clips' shape.
        generator_rng: the one ``torch.Generator`` of the step, drawn in this order: the generator's codes (its
            ``generator=`` argument; SDE temporal generators also get it as ``seed``), the real clips' frame
            indices, then the fake clips' frame indices (:func:`sample_frames`). ``None``: torch's global RNG.
        r1_gamma: ``> 0`` adds R1 (``gamma / 2 * E||grad_x D(x)||^2``, :func:`r1_penalty`) on each
            discriminator's real inputs (real clips for ``D_v``, real frames for ``D_i``) to the discriminator
            loss, computed from the same real pass (the real input is made to require grad).
        image_frames: frames the image discriminator sees per clip. MoCoGAN trains ``D_i`` on batches of single
            frames: real ones from its image loader (random frames of random videos), fake ones decoded from
            codes picked at random among a sampled video batch's. Here both are taken from the step's own clips:
            ``image_frames`` (default 1, MoCoGAN's equal image and video batch sizes) frames drawn uniformly and
            independently per clip, real and fake separately, so no second generator pass is needed.
        generator_kwargs: more keywords for the generator's forward (e.g. ``z_motion`` for MoCoGAN).
        joint_batch: score the real and the fake inputs of each discriminator in ONE call on their
            concatenation (``[real; fake]``), so its BatchNorm layers normalise both with the same statistics.
            Default False: two calls (DCGAN's separate real and fake batches), where a BatchNorm layer
            normalises the fakes by their own statistics and so cannot see a shift shared by all of them (e.g.
            grey instead of black backgrounds). No effect on discriminators without BatchNorm.
        video_clips: the video discriminator scores only the first ``video_clips`` real and fake clips (None: all);
            the image discriminator scores frames of all of them. MoCoGAN draws its image and video
            batches separately; with a larger batch and a small ``video_clips`` the image discriminator sees more
            distinct generated images per step for little more than the cost of generating them.
        real_label: ``loss="nonsaturating"`` only: the discriminators' target for real inputs; ``< 1`` is
            one-sided label smoothing (:func:`nonsaturating_discriminator_loss`; Salimans et al. use 0.9). The
            generator's loss is unchanged.

    Returns:
        :class:`VideoGANLosses`; back-propagate with :func:`~odevideo.methods.base.backward_adversarial` (from
        :mod:`odevideo.methods.vid_ode.losses`): the discriminator loss into the discriminators' parameters only,
        the generator loss into the generator's only, so the gradients equal those of the classic two-pass
        step (``D`` on ``fake.detach()``, then ``G`` against a frozen ``D``). Metrics: ``loss`` (generator),
        ``disc_loss``, and per discriminator ``<role>_real`` / ``<role>_fake`` (mean scores), ``<role>_g_loss``,
        ``<role>_d_loss`` and, with R1, ``<role>_r1``.
    """
    if not isinstance(generator, nn.Module):
        raise InputError(f"video_gan_losses: generator must be an nn.Module, got {type(generator).__name__}.")
    _check_discriminators_and_loss("video_gan_losses", discriminators, loss)
    if isinstance(r1_gamma, bool) or not isinstance(r1_gamma, (int, float)) or not r1_gamma >= 0 \
            or r1_gamma == float("inf"):
        raise InputError(f"video_gan_losses: r1_gamma must be a finite number >= 0, got {r1_gamma!r}.")
    if isinstance(image_frames, bool) or not isinstance(image_frames, int) or image_frames < 1:
        raise InputError(f"video_gan_losses: image_frames must be a positive integer, got {image_frames!r}.")
    if generator_rng is not None and not isinstance(generator_rng, torch.Generator):
        raise InputError(
            f"video_gan_losses: generator_rng must be a torch.Generator or None, got {type(generator_rng).__name__}."
        )
    if isinstance(real_label, bool) or not isinstance(real_label, (int, float)) or not 0.5 < real_label <= 1.0:
        raise InputError(f"video_gan_losses: real_label must lie in (0.5, 1] (1 = no smoothing, e.g. 0.9), got "
                         f"{real_label!r}.")
    if real_label != 1.0 and loss != "nonsaturating":
        raise InputError(f"video_gan_losses: real_label={real_label} (one-sided label smoothing) is a target of the "
                         f"nonsaturating (BCE) loss; loss={loss!r} has no targets: keep real_label=1.")
    real = _check_real(real)
    _check_video_clips("video_gan_losses", video_clips, real.shape[0])
    if z is None:
        z = real.shape[0]
    elif isinstance(z, bool) or not isinstance(z, (int, Tensor)) or (isinstance(z, int) and z < 1):
        raise InputError(f"video_gan_losses: z must be None, a batch size >= 1 or a code tensor, got {z!r}.")

    kwargs = dict(generator_kwargs or {})
    if generator_rng is not None and "seed" not in kwargs and takes_noise_seed(generator):
        kwargs["seed"] = generator_rng
    fake = generator(z, times, generator=generator_rng, **kwargs)
    if not isinstance(fake, Tensor) or fake.dim() != 5 or fake.shape[1:] != real.shape[1:]:
        got = tuple(fake.shape) if isinstance(fake, Tensor) else type(fake).__name__
        raise InputError(
            f"video_gan_losses: the generator made clips {got} but the real clips are {tuple(real.shape)}; generate "
            f"as many frames (times) of the same size and channels as the real clips."
        )
    real_s = to_signed_range(real.detach()).to(fake.dtype)
    gen_loss_fn, disc_loss_fn = GAN_LOSSES[loss]
    if real_label != 1.0:
        disc_loss_fn = functools.partial(nonsaturating_discriminator_loss, real_label=float(real_label))
    g_terms, d_terms = [], []
    logs: dict[str, Tensor] = {}
    for role in DISCRIMINATOR_ROLES:
        if role not in discriminators:
            continue
        d = discriminators[role]
        real_in = _discriminator_input(role, real_s, image_frames, generator_rng, video_clips)
        fake_in = _discriminator_input(role, fake, image_frames, generator_rng, video_clips)
        if r1_gamma > 0:
            real_in = real_in.detach().requires_grad_(True)
        n_real, n_fake = real_in.shape[0], fake_in.shape[0]
        if joint_batch:
            _check_joint_groups("video_gan_losses", role, d, n_real)
            scores = _logits(d(torch.cat([real_in, fake_in])), f"discriminators[{role!r}](real and fake)")
            real_scores, fake_scores = scores[:n_real], scores[n_real:n_real + n_fake]
        else:
            real_scores = _logits(d(real_in), f"discriminators[{role!r}](real)")
            fake_scores = _logits(d(fake_in), f"discriminators[{role!r}](fake)")
        g_term = gen_loss_fn(fake_scores)
        d_term = disc_loss_fn(real_scores, fake_scores)
        if r1_gamma > 0:
            r1 = _r1_from_scores(real_scores, real_in, float(r1_gamma))
            d_term = d_term + r1
            logs[f"{role}_r1"] = r1.detach()
        g_terms.append(g_term)
        d_terms.append(d_term)
        logs[f"{role}_real"] = real_scores.detach().float().mean()
        logs[f"{role}_fake"] = fake_scores.detach().float().mean()
        logs[f"{role}_g_loss"] = g_term.detach()
        logs[f"{role}_d_loss"] = d_term.detach()
    gen = torch.stack(g_terms).sum()
    disc = torch.stack(d_terms).sum()
    logs = {"loss": gen.detach(), "disc_loss": disc.detach(), **logs}
    values = torch.stack([v.float().reshape(()) for v in logs.values()]).tolist()  # one device sync
    return VideoGANLosses(generator=gen, discriminator=disc, metrics=dict(zip(logs, values)), fake=fake)


def multilevel_gan_losses(
    generator: nn.Module,
    discriminator: nn.Module,
    real: Tensor,
    *,
    loss: str = "nonsaturating",
    generator_rng: torch.Generator | None = None,
    r1_gamma: float = 0.0,
    generator_kwargs: Mapping[str, Any] | None = None,
) -> VideoGANLosses:
    """One TGANv2 step (``DiracUpdater``): one sparse multi-level generator pass, one pass of the multi-level
    discriminator on the real and on the (non-detached) fake levels, simultaneous updates.

    Args:
        generator: a :class:`~odevideo.methods.video_gan.tganv2.TGANv2Generator` (possibly DDP-wrapped); called with
            ``levels=True``.
        discriminator: a :class:`~odevideo.methods.video_gan.tganv2.TGANv2MultiLevelDiscriminator` (a list of level
            videos ``(B_l, C, T_l, H_l, W_l)`` -> scores concatenated over levels).
        real: ``(B, T, C, H, W)`` real clips in ``[0, 1]``; mapped to ``[-1, 1]`` and laid out as the levels by
            the generator's ``real_levels`` (own random frame offsets).
        loss: a :data:`GAN_LOSSES` name (TGANv2: ``"nonsaturating"``), applied to all levels' scores at once
            (so each level weighs by its clip count, as TGANv2).
        generator_rng: draws, in order, the codes, the fake levels' frame offsets (and an SDE's noise, as
            ``seed``), then the real levels' offsets. ``None``: torch's global RNG.
        r1_gamma: ``> 0`` adds ``gamma / 2 * E_clips ||grad D||^2`` per level, summed over levels, on the real
            inputs (TGANv2's zero-centred penalty ``lam * sum`` equals ``gamma_l = 2 * lam * B_l``).
        generator_kwargs: more keywords for the generator.

    Returns :class:`VideoGANLosses` (``fake`` = the finest level's clips); metrics ``loss``, ``disc_loss``,
    ``video_real`` / ``video_fake`` (mean scores), ``level<l>_real`` / ``level<l>_fake`` and with R1 ``video_r1``.
    """
    from odevideo.methods.video_gan.tganv2 import TGANv2Generator

    inner = _unwrap(generator)
    if not isinstance(inner, TGANv2Generator):
        raise InputError(f"multilevel_gan_losses: generator must be a TGANv2Generator, got {type(inner).__name__}.")
    if not isinstance(discriminator, nn.Module):
        raise InputError(
            f"multilevel_gan_losses: discriminator must be an nn.Module, got {type(discriminator).__name__}."
        )
    if loss not in GAN_LOSSES:
        raise InputError(f"multilevel_gan_losses: loss={loss!r} is not supported; use one of: {', '.join(GAN_LOSSES)}.")
    if isinstance(r1_gamma, bool) or not isinstance(r1_gamma, (int, float)) or not 0 <= r1_gamma < float("inf"):
        raise InputError(f"multilevel_gan_losses: r1_gamma must be a finite number >= 0, got {r1_gamma!r}.")
    real = _check_real(real)
    kwargs = dict(generator_kwargs or {})
    if generator_rng is not None and "seed" not in kwargs and takes_noise_seed(generator):
        kwargs["seed"] = generator_rng
    fake = generator(real.shape[0], None, generator=generator_rng, levels=True, **kwargs)
    if fake.videos[-1].shape[2:] != real.shape[2:]:
        raise InputError(
            f"multilevel_gan_losses: the generator makes {tuple(fake.videos[-1].shape[2:])} frames but the "
            f"real clips have {tuple(real.shape[2:])}; build it for the data's channels and size."
        )
    real_lv = inner.real_levels(to_signed_range(real.detach()).to(fake.videos[-1].dtype), generator_rng)
    real_in = [frames_to_discriminator(x) for x in real_lv.videos]
    if r1_gamma > 0:
        real_in = [x.detach().requires_grad_(True) for x in real_in]
    fake_in = [frames_to_discriminator(x) for x in fake.videos]
    real_scores = _scores(discriminator(real_in), "discriminator(real levels)")
    fake_scores = _scores(discriminator(fake_in), "discriminator(fake levels)")
    gen_loss_fn, disc_loss_fn = GAN_LOSSES[loss]
    gen = gen_loss_fn(fake_scores)
    disc = disc_loss_fn(real_scores, fake_scores)
    logs: dict[str, Tensor] = {}
    if r1_gamma > 0 and real_scores.requires_grad:
        grads = torch.autograd.grad(real_scores.sum(), real_in, create_graph=True, allow_unused=True)
        r1 = sum((0.5 * float(r1_gamma) * g.pow(2).flatten(1).sum(1).mean() for g in grads if g is not None),
                 real_scores.new_zeros(()))
        disc = disc + r1
        logs["video_r1"] = r1.detach()
    logs = {"loss": gen.detach(), "disc_loss": disc.detach(),
            "video_real": real_scores.detach().float().mean(), "video_fake": fake_scores.detach().float().mean(),
            **logs}
    start = [0, 0]
    for level, (r, f) in enumerate(zip(real_lv.videos, fake.videos)):
        logs[f"level{level}_real"] = real_scores[start[0]: start[0] + r.shape[0]].detach().float().mean()
        logs[f"level{level}_fake"] = fake_scores[start[1]: start[1] + f.shape[0]].detach().float().mean()
        start = [start[0] + r.shape[0], start[1] + f.shape[0]]
    values = torch.stack([v.float().reshape(()) for v in logs.values()]).tolist()  # one device sync
    return VideoGANLosses(generator=gen, discriminator=disc, metrics=dict(zip(logs, values)), fake=fake.videos[-1])


def video_gan_generator_loss(
    discriminators: Mapping[str, nn.Module],
    fake: Tensor,
    *,
    loss: str,
    generator_rng: torch.Generator | None = None,
    image_frames: int = 1,
    real: Tensor | None = None,
    video_clips: int | None = None,
) -> Tensor:
    """The generator loss of ``fake`` clips ``(B, T, C, H, W)`` in ``[-1, 1]`` (still attached to the generator's
    graph) from a fresh pass of each discriminator: the second half of an *alternating* step, where the
    generator is scored by the discriminators after their update (as in TGAN, MoCoGAN and DCGAN), not by the
    ones that scored the same batch before it (the simultaneous step of :func:`video_gan_losses`).

    The sum over the discriminators of the loss's generator term (:data:`GAN_LOSSES`); the image discriminator
    scores ``image_frames`` frames per clip drawn with ``generator_rng`` (:func:`sample_frames`).

    ``real``: ``(B', T, C, H, W)`` real clips in ``[0, 1]`` for the ``joint_batch`` discriminator passes of
    :func:`video_gan_losses`: each discriminator then scores ``[real; fake]`` in one call (the same BatchNorm
    statistics as its own step) and only the fake scores enter the loss. ``None``: the fakes alone.
    ``video_clips``: the video discriminator scores only the first ``video_clips`` clips, as in
    :func:`video_gan_losses`.
    """
    _check_discriminators_and_loss("video_gan_generator_loss", discriminators, loss)
    if not isinstance(fake, Tensor) or not fake.is_floating_point() or fake.dim() != 5:
        raise InputError(f"video_gan_generator_loss: fake must be a floating (B, T, C, H, W) tensor, got "
                         f"{tuple(fake.shape) if isinstance(fake, Tensor) else type(fake).__name__}.")
    if real is not None:
        real = _check_real(real)
        real_s = to_signed_range(real.detach()).to(fake.dtype)
    _check_video_clips("video_gan_generator_loss", video_clips, fake.shape[0])
    gen_loss_fn = GAN_LOSSES[loss][0]
    terms = []
    for role in DISCRIMINATOR_ROLES:
        if role not in discriminators:
            continue
        x = _discriminator_input(role, fake, image_frames, generator_rng, video_clips)
        n, n_fake = 0, x.shape[0]
        if real is not None:
            r = _discriminator_input(role, real_s, image_frames, generator_rng, video_clips)
            n, x = r.shape[0], torch.cat([r, x])
            _check_joint_groups("video_gan_generator_loss", role, discriminators[role], n)
        scores = _logits(discriminators[role](x), f"discriminators[{role!r}](fake)")
        terms.append(gen_loss_fn(scores[n:n + n_fake]))
    return torch.stack(terms).sum()

