"""Lipschitz constraints on video-GAN discriminators: TGAN's singular value clipping and spectral norm.

TGAN (Saito et al., 2017) keeps its WGAN critic Lipschitz by clipping, every ``every`` discriminator updates
(its UCF-101 config: 5), the singular values of every conv/linear weight (reshaped ``(out, -1)``) to ``<= 1``
(:func:`clip_singular_values_`) and each BatchNorm gamma to ``[0.01 std, std]`` (:func:`clamp_batchnorm_gamma_`),
on the schedule of :func:`singular_value_clipping_` and :func:`after_discriminator_step`. The modern option is
spectral norm (:func:`apply_spectral_norm`, or ``spectral_norm=True`` on the discriminators).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from odevideo.errors import InputError

__all__ = [
    "clip_singular_values_",
    "clamp_batchnorm_gamma_",
    "singular_value_clipping_",
    "apply_spectral_norm",
    "after_discriminator_step",
]


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


def after_discriminator_step(
    discriminators: nn.Module | Mapping[str, nn.Module],
    iteration: int,
    *,
    svc_every: int | None = None,
    max_value: float = 1.0,
) -> bool:
    """The Lipschitz constraint to apply after discriminator update number ``iteration`` (1-based).

    ``svc_every=None``: nothing (spectral norm / R1 / no constraint). Otherwise TGAN's singular value clipping
    on every given discriminator on its schedule, :func:`singular_value_clipping_` (singular values of every
    conv/linear weight clipped to ``max_value`` and BN gammas clamped, when ``iteration % svc_every == 0``).
    Returns whether anything was clipped.
    """
    if isinstance(discriminators, nn.Module):
        modules = [discriminators]
    elif isinstance(discriminators, Mapping) and all(isinstance(m, nn.Module) for m in discriminators.values()):
        modules = list(discriminators.values())
    else:
        raise InputError(
            "after_discriminator_step: discriminators must be an nn.Module or a mapping of them, got "
            f"{type(discriminators).__name__}."
        )
    if svc_every is None:
        return False
    clipped = False
    for m in modules:
        clipped = singular_value_clipping_(m, iteration, svc_every, max_value) or clipped
    return clipped
