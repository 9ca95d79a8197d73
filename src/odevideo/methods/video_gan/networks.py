"""Video GANs around the temporal generators of :mod:`odevideo.methods.video_gan.temporal`.

Gordon & Parde swap the temporal generator of TGAN and MoCoGAN for a neural ODE/SDE and keep the rest of
each GAN. This module gathers "the rest": image generators, discriminators and the wrappers that plug any
temporal generator in, defined in :mod:`~odevideo.methods.video_gan.tgan`,
:mod:`~odevideo.methods.video_gan.mocogan` and (shared helpers) :mod:`~odevideo.methods.video_gan.network_common`.

* TGAN (Saito et al., 2017; topologies of pfnet-research/tgan, the UCF-101 SVC config):
  :class:`TGANImageGenerator` (``G_i``), :class:`TGANVideoDiscriminator` and :class:`TGANVideoGenerator`
  (``G_t`` + ``G_i``).
* MoCoGAN (Tulyakov et al., 2018; topologies of sergeytulyakov/mocogan): :class:`MoCoGANGenerator`
  (content code repeated over frames + motion codes -> DCGAN image generator), :class:`MoCoGANImageDiscriminator`
  (per frame) and :class:`MoCoGANVideoDiscriminator` (3-D conv; categorical head off by default).

Generated videos are ``(B, T, C, H, W)`` in ``[-1, 1]`` (tanh outputs, as in both originals); map them to the
project's ``[0, 1]`` frame convention with :func:`to_unit_range` (and real clips to ``[-1, 1]`` with
:func:`to_signed_range`) before feeding a discriminator. Discriminators take ``(B, C, T, H, W)`` like the
originals (:func:`frames_to_discriminator` converts from ``(B, T, C, H, W)``).

Parameter counts (3 channels, 64x64, 16 frames; pinned in tests/models/test_video_gans.py):

=====================================================  ==========  ==============================================
network                                                params      note
=====================================================  ==========  ==============================================
``TGANImageGenerator()``                               3,622,691   the Chainer model also 3,622,691
``TGANVideoDiscriminator()`` (no BN beta, default)     11,032,385  Chainer: 11,032,449 (+64: an unused ``bn0``)
``TGANVideoDiscriminator(bn_beta=True)``               11,033,281  Chainer: 11,033,409 (+128, same ``bn0``)
``TGANVideoGenerator(TGANTemporalGenerator(), ...)``   4,449,159   826,468 + 3,622,691
``MoCoGANGenerator`` image part (``z = 50 + 16``)      3,298,176   ``ConvTranspose2d(66, 512, 4)`` ... ``(64, 3)``
``MoCoGANGenerator(MoCoGANMotionGenerator(16))``       3,299,808   + GRU 1,632
``MoCoGANImageDiscriminator()`` (patch, default)       663,296     MoCoGAN's ``PatchImageDiscriminator``
``MoCoGANImageDiscriminator(patch=False)``             2,765,568   MoCoGAN's ``ImageDiscriminator``
``MoCoGANVideoDiscriminator()``                        11,056,896  ``VideoDiscriminator``, 1 output
``MoCoGANVideoDiscriminator(n_categories=6)``          11,253,504  ``CategoricalVideoDiscriminator`` (6 classes)
=====================================================  ==========  ==============================================

The TGAN-ODE/SDE generators are ``G_i`` (3,622,691) plus the temporal generator's count (e.g. 638,424 for
``tgan_ode()``); MoCoGAN-ODE adds the ODE's (e.g. 1,633 for ``mocogan_ode()``) to 3,298,176.
"""

from __future__ import annotations

from odevideo.methods.video_gan.mocogan import (  # noqa: F401
    MoCoGANGenerator,
    MoCoGANImageDiscriminator,
    MoCoGANImageGenerator,
    MoCoGANVideoDiscriminator,
)
from odevideo.methods.video_gan.network_common import (  # noqa: F401
    FRAME_TRANSFORMS,
    _batch_or_z,
    _check_video,
    _positive_int,
    _sample_z,
    frames_to_discriminator,
    sample_in_eval_mode,
    to_signed_range,
    to_unit_range,
)
from odevideo.methods.video_gan.tgan import TGANImageGenerator, TGANVideoDiscriminator, TGANVideoGenerator  # noqa: F401

__all__ = [
    "TGANImageGenerator",
    "TGANVideoDiscriminator",
    "TGANVideoGenerator",
    "MoCoGANImageGenerator",
    "MoCoGANGenerator",
    "MoCoGANImageDiscriminator",
    "MoCoGANVideoDiscriminator",
    "to_unit_range",
    "to_signed_range",
    "frames_to_discriminator",
]
