"""Losses and Lipschitz constraints of the video GANs (TGAN, MoCoGAN and their ODE/SDE variants).

Pure functions on discriminator scores (higher = "more real") or on modules; no training loop here. This module
gathers the names of three others, where they are defined:

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
  :func:`~odevideo.methods.vid_ode.losses.backward_gan`, re-exported here), :func:`video_gan_generator_loss` (the
  generator's loss against the updated discriminators, for alternating steps) and
  :func:`multilevel_gan_losses` (TGANv2).
"""

from __future__ import annotations

from odevideo.methods.vid_ode.losses import backward_gan  # noqa: F401
from odevideo.methods.video_gan.adversarial import (  # noqa: F401
    GAN_LOSSES,
    hinge_discriminator_loss,
    hinge_generator_loss,
    mocogan_discriminator_loss,
    mocogan_generator_loss,
    nonsaturating_discriminator_loss,
    nonsaturating_generator_loss,
    r1_penalty,
    wgan_discriminator_loss,
    wgan_generator_loss,
)
from odevideo.methods.video_gan.lipschitz import (  # noqa: F401
    after_discriminator_step,
    apply_spectral_norm,
    clamp_batchnorm_gamma_,
    clip_singular_values_,
    singular_value_clipping_,
)
from odevideo.methods.video_gan.steps import (  # noqa: F401
    DISCRIMINATOR_ROLES,
    VideoGANLosses,
    _unwrap,
    multilevel_gan_losses,
    sample_frames,
    takes_noise_seed,
    temporal_generator,
    video_gan_generator_loss,
    video_gan_losses,
)

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
    "GAN_LOSSES",
    "DISCRIMINATOR_ROLES",
    "VideoGANLosses",
    "video_gan_losses",
    "video_gan_generator_loss",
    "multilevel_gan_losses",
    "sample_frames",
    "temporal_generator",
    "takes_noise_seed",
    "after_discriminator_step",
    "backward_gan",
]
