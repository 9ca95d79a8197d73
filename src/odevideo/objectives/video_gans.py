"""Losses and Lipschitz constraints of the video GANs (TGAN, MoCoGAN and their ODE/SDE variants; issue 4).

Pure functions on discriminator scores (higher = "more real") or on modules; no training loop here.

* TGAN's baseline (Saito et al., 2017): the WGAN critic/generator losses :func:`wgan_discriminator_loss`,
  :func:`wgan_generator_loss`, and singular value clipping, :func:`singular_value_clipping_` every ``every``
  discriminator updates (TGAN's UCF-101 config: 5): :func:`clip_singular_values_` (every conv/linear weight,
  reshaped ``(out, -1)``, gets its singular values clipped to ``<= 1``) and :func:`clamp_batchnorm_gamma_` (BN
  gamma clamped to ``[0.01 std, std]``, ``std`` the running standard deviation).
* The modern option: :func:`hinge_discriminator_loss` / :func:`hinge_generator_loss`, with spectral norm
  (:func:`apply_spectral_norm`, or ``spectral_norm=True`` on the discriminators) and/or :func:`r1_penalty`.
* MoCoGAN (Tulyakov et al., 2018): the non-saturating (BCE-with-logits) losses on the image and video
  discriminators, :func:`mocogan_discriminator_loss` and :func:`mocogan_generator_loss`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

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
    "clip_singular_values_",
    "clamp_batchnorm_gamma_",
    "singular_value_clipping_",
    "apply_spectral_norm",
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


def nonsaturating_discriminator_loss(real: Tensor, fake: Tensor) -> Tensor:
    """BCE with logits: ``E[softplus(-D(real))] + E[softplus(D(fake))]`` (real -> 1, fake -> 0)."""
    return F.softplus(-_scores(real, "real")).mean() + F.softplus(_scores(fake, "fake")).mean()


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
    (grad,) = torch.autograd.grad(scores.sum(), x, create_graph=True, allow_unused=True)
    if grad is None:
        return scores.new_zeros(())
    return 0.5 * float(gamma) * grad.pow(2).flatten(1).sum(1).mean()


# ----------------------------------------------------------------------------------------------------------------
# Lipschitz constraints


def _weighted_layers(module: nn.Module):
    for name, m in module.named_modules():
        if isinstance(m, (nn.Linear, nn.modules.conv._ConvNd)):
            if nn.utils.parametrize.is_parametrized(m, "weight"):
                continue  # spectral-normalised already
            yield name, m


@torch.no_grad()
def clip_singular_values_(module: nn.Module, max_value: float = 1.0) -> int:
    """In place: clip the singular values of every Linear / conv weight of ``module`` to ``<= max_value``.

    The weight is viewed as a matrix ``(shape[0], -1)`` (TGAN's ``W.reshape(out, -1)``), decomposed by SVD,
    its singular values clamped, and written back. Returns how many weights were touched. Layers under a
    spectral-norm parametrization are skipped.
    """
    if not isinstance(module, nn.Module):
        raise InputError(f"clip_singular_values_ needs an nn.Module, got {type(module).__name__}.")
    if isinstance(max_value, bool) or not isinstance(max_value, (int, float)) or max_value <= 0:
        raise InputError(f"max_value must be a number > 0, got {max_value!r}.")
    n = 0
    for _, m in _weighted_layers(module):
        w = m.weight
        mat = w.reshape(w.shape[0], -1).double()
        u, s, vh = torch.linalg.svd(mat, full_matrices=False)
        if bool((s > max_value).any()):
            clipped = (u * s.clamp(max=float(max_value))) @ vh
            w.copy_(clipped.reshape(w.shape).to(w.dtype))
        n += 1
    return n


@torch.no_grad()
def clamp_batchnorm_gamma_(module: nn.Module, low: float = 0.01, high: float = 1.0) -> int:
    """In place: clamp every BatchNorm gamma to ``[low * std, high * std]``, ``std = sqrt(running_var)``.

    TGAN's companion to singular value clipping (BN rescales by ``gamma / std``, so this bounds that factor
    by 1). BN layers without running statistics or without gamma are skipped. Returns the number clamped.
    """
    if not isinstance(module, nn.Module):
        raise InputError(f"clamp_batchnorm_gamma_ needs an nn.Module, got {type(module).__name__}.")
    if not (0 <= low <= high):
        raise InputError(f"need 0 <= low <= high, got low={low!r}, high={high!r}.")
    n = 0
    for m in module.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.weight is not None and m.running_var is not None:
            std = (m.running_var + m.eps).sqrt().to(m.weight.dtype)  # Chainer's avg_var plus BN's eps
            m.weight.copy_(torch.minimum(torch.maximum(m.weight, low * std), high * std))
            n += 1
    return n


def singular_value_clipping_(discriminator: nn.Module, iteration: int, every: int = 5,
                             max_value: float = 1.0) -> bool:
    """TGAN's schedule: after discriminator update number ``iteration`` (1-based), clip when
    ``iteration % every == 0`` (singular values and BN gammas). Returns whether it clipped."""
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise InputError(f"every must be a positive integer (TGAN uses 5), got {every!r}.")
    if isinstance(iteration, bool) or not isinstance(iteration, int) or iteration < 0:
        raise InputError(f"iteration must be an integer >= 0, got {iteration!r}.")
    if iteration % every:
        return False
    clip_singular_values_(discriminator, max_value)
    clamp_batchnorm_gamma_(discriminator)
    return True


def apply_spectral_norm(module: nn.Module) -> nn.Module:
    """Wrap every Linear / conv weight of ``module`` in ``torch.nn.utils.parametrizations.spectral_norm``
    (in place; returns ``module``). BN layers are left alone; prefer ``spectral_norm=True`` on the
    discriminators, which also drops their BN."""
    if not isinstance(module, nn.Module):
        raise InputError(f"apply_spectral_norm needs an nn.Module, got {type(module).__name__}.")
    for _, m in list(_weighted_layers(module)):
        nn.utils.parametrizations.spectral_norm(m)
    return module
