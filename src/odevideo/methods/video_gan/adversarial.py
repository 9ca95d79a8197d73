"""Losses and Lipschitz constraints of the video GANs (TGAN, MoCoGAN and their ODE/SDE variants).

Pure functions on discriminator scores (higher = "more real") or on modules; no training loop here. They live in
three modules:

* :mod:`~odevideo.methods.video_gan.adversarial`, the losses. TGAN's baseline (Saito et al., 2017): the WGAN
  critic/generator losses :func:`wgan_discriminator_loss`, :func:`wgan_generator_loss`; the modern option:
  :func:`hinge_discriminator_loss` / :func:`hinge_generator_loss` and/or :func:`r1_penalty`; MoCoGAN (Tulyakov
  et al., 2018): the non-saturating (BCE-with-logits) losses on the image and video discriminators,
  :func:`mocogan_discriminator_loss` and :func:`mocogan_generator_loss`.
* :mod:`~odevideo.methods.video_gan.lipschitz`, the constraints. Singular value clipping,
  :func:`singular_value_clipping_` every ``every`` discriminator updates (TGAN's UCF-101 config: 5):
  :func:`clip_singular_values_` (every conv/linear weight, reshaped ``(out, -1)``, gets its singular values
  clipped to ``<= 1``) and :func:`clamp_batchnorm_gamma_` (BN gamma clamped to ``[0.01 std, std]``, ``std`` the
  running standard deviation); spectral norm, :func:`apply_spectral_norm` (or ``spectral_norm=True`` on the
  discriminators); and :func:`after_discriminator_step` (TGAN's clipping schedule).
* :mod:`~odevideo.methods.video_gan.steps`, one training step: :func:`video_gan_losses` (one generator pass, one
  pass of each discriminator on real and on the non-detached fake; back-propagate with
  :func:`~odevideo.methods.base.backward_adversarial`), :func:`video_gan_generator_loss` (the
  generator's loss against the updated discriminators, for alternating steps) and
  :func:`multilevel_gan_losses` (TGANv2).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from odevideo.errors import InputError

__all__ = [
    "wgan_discriminator_loss",
    "wgan_generator_loss",
    "hinge_discriminator_loss",
    "hinge_generator_loss",
    "nonsaturating_discriminator_loss",
    "nonsaturating_generator_loss",
    "mocogan_discriminator_loss",
    "mocogan_generator_loss",
    "r1_penalty",
    "GAN_LOSSES",
]


def _scores(x: object, name: str) -> Tensor:
    if not isinstance(x, Tensor) or not x.is_floating_point() or x.numel() == 0:
        raise InputError(f"{name} must be a non-empty floating tensor of discriminator scores, got {type(x).__name__}.")
    return x


# ----------------------------------------------------------------------------------------------------------------
# losses (all to be minimised; scores: higher = more real)


def wgan_discriminator_loss(real: Tensor, fake: Tensor) -> Tensor:
    """WGAN critic loss ``E[D(fake)] - E[D(real)]`` (TGAN's ``loss_dis``)."""
    return _scores(fake, "fake").mean() - _scores(real, "real").mean()


def wgan_generator_loss(fake: Tensor) -> Tensor:
    """WGAN generator loss ``-E[D(fake)]``."""
    return -_scores(fake, "fake").mean()


def hinge_discriminator_loss(real: Tensor, fake: Tensor) -> Tensor:
    """Hinge loss ``E[relu(1 - D(real))] + E[relu(1 + D(fake))]``."""
    return F.relu(1.0 - _scores(real, "real")).mean() + F.relu(1.0 + _scores(fake, "fake")).mean()


def hinge_generator_loss(fake: Tensor) -> Tensor:
    """Generator loss of the hinge GAN, ``-E[D(fake)]``."""
    return -_scores(fake, "fake").mean()


def nonsaturating_discriminator_loss(real: Tensor, fake: Tensor, real_label: float = 1.0) -> Tensor:
    """BCE with logits: ``E[softplus(-D(real))] + E[softplus(D(fake))]`` (real -> 1, fake -> 0).

    ``real_label < 1``: one-sided label smoothing (Salimans et al. 2016, "Improved techniques for training
    GANs"): real scores are pulled towards ``real_label`` instead of 1, i.e. the real term is the BCE
    ``real_label * softplus(-D) + (1 - real_label) * softplus(D)``, whose minimum sits at the finite logit
    ``log(real_label / (1 - real_label))`` (2.2 for 0.9); fakes keep the target 0.
    """
    real = _scores(real, "real")
    real_term = F.softplus(-real)
    if real_label != 1.0:
        real_term = real_label * real_term + (1.0 - real_label) * F.softplus(real)
    return real_term.mean() + F.softplus(_scores(fake, "fake")).mean()


def nonsaturating_generator_loss(fake: Tensor) -> Tensor:
    """Non-saturating generator loss ``E[softplus(-D(fake))]`` (BCE of fake logits against 1)."""
    return F.softplus(-_scores(fake, "fake")).mean()


def mocogan_discriminator_loss(image_real: Tensor, image_fake: Tensor, video_real: Tensor,
                               video_fake: Tensor) -> tuple[Tensor, Tensor]:
    """MoCoGAN's two discriminator losses ``(image_loss, video_loss)``, each a non-saturating BCE loss.

    Patch logits are averaged over patches (``BCEWithLogitsLoss`` of the original). Step each discriminator
    on its own loss (or on their sum: they share no parameters).
    """
    return (nonsaturating_discriminator_loss(image_real, image_fake),
            nonsaturating_discriminator_loss(video_real, video_fake))


def mocogan_generator_loss(image_fake: Tensor, video_fake: Tensor) -> Tensor:
    """MoCoGAN's generator loss: non-saturating loss on the image plus on the video discriminator."""
    return nonsaturating_generator_loss(image_fake) + nonsaturating_generator_loss(video_fake)


def r1_penalty(discriminator: Callable[[Tensor], Tensor], real: Tensor, gamma: float = 10.0) -> Tensor:
    """R1 (Mescheder et al., 2018): ``gamma / 2 * E[ ||grad_x D(x)||^2 ]`` on real inputs.

    Calls ``discriminator(real)`` itself (on a detached copy that requires grad) and keeps the graph, so the
    penalty can be added to the discriminator loss. Zero when ``D`` does not depend on its input.
    """
    if not isinstance(real, Tensor) or not real.is_floating_point() or real.dim() < 2:
        raise InputError(f"r1_penalty: real must be a floating (B, ...) tensor, got {type(real).__name__}.")
    if isinstance(gamma, bool) or not isinstance(gamma, (int, float)) or gamma < 0:
        raise InputError(f"r1_penalty: gamma must be a number >= 0, got {gamma!r}.")
    x = real.detach().requires_grad_(True)
    scores = discriminator(x)
    if isinstance(scores, tuple):  # categorical video discriminator: (logits, class logits)
        scores = scores[0]
    scores = _scores(scores, "discriminator(real)")
    if not scores.requires_grad:
        return scores.new_zeros(())
    return _r1_from_scores(scores, x, float(gamma))


def _r1_from_scores(scores: Tensor, x: Tensor, gamma: float) -> Tensor:
    """``gamma / 2 * E[ ||d sum(scores) / d x_i||^2 ]`` with the graph kept (``x`` requires grad)."""
    if not scores.requires_grad:
        return scores.new_zeros(())
    (grad,) = torch.autograd.grad(scores.sum(), x, create_graph=True, allow_unused=True)
    if grad is None:
        return scores.new_zeros(())
    return 0.5 * gamma * grad.pow(2).flatten(1).sum(1).mean()


#: the adversarial losses :func:`~odevideo.methods.video_gan.steps.video_gan_losses` knows: name -> (generator loss,
#: discriminator loss)
GAN_LOSSES: dict[str, tuple[Callable[[Tensor], Tensor], Callable[[Tensor, Tensor], Tensor]]] = {
    "wgan": (wgan_generator_loss, wgan_discriminator_loss),
    "hinge": (hinge_generator_loss, hinge_discriminator_loss),
    "nonsaturating": (nonsaturating_generator_loss, nonsaturating_discriminator_loss),
}
