"""Temporal generators of video GANs: a noise vector ``z`` -> latent codes at requested times.

Gordon & Parde, "Latent Neural Differential Equations for Video Generation" replace the temporal generator
``G_t`` of TGAN (1-D transposed convolutions) and MoCoGAN (a GRU) by neural ODEs/SDEs. Every module here has

    forward(z, times) -> (B, T, out_dim)        z: (B, z_dim); times: (T,) or (B, T)

where ``times`` are in *frames* (frame ``k`` of the generated clip is at time ``k``; ``z`` sits at time 0).

* Discrete originals, which only know their own integer frame grid (anything else raises
  :class:`~odevideo.errors.InputError`): :class:`TGANTemporalGenerator` (frames ``0..15``) and
  :class:`MoCoGANMotionGenerator` (frames ``0, 1, 2, ...``; one GRU step per frame).
* Continuous ones, defined at any real time, including a higher frame rate (``[0, 0.5, 1, ...]``) and
  times before the first frame (``t < 0``, integrated backwards): :class:`ODETemporalGenerator`
  (orders 1-3) and :class:`SDETemporalGenerator`.
* :func:`tgan_ode`, :func:`mocogan_ode`, :func:`tgan_sde`, :func:`mocogan_sde`: the paper's configurations
  (widths, FCN, integration interval), and :func:`count_parameters`.

This module gathers them: the generators are defined in :mod:`~odevideo.methods.video_gan.temporal_discrete`,
:mod:`~odevideo.methods.video_gan.temporal_ode` and :mod:`~odevideo.methods.video_gan.temporal_sde`, the
constants and helpers they share in :mod:`~odevideo.methods.video_gan.temporal_common`.

Parameter counts (TGAN latent size 100; MoCoGAN motion size 16), all reproduced exactly:

==========================================  =========  =====================================================
generator                                   params     structure
==========================================  =========  =====================================================
TGAN ``G_t``                                826,468    Linear(100,512)+BN, deconv 512-256-128-128-100 (+BN)
MoCoGAN GRU                                 1,632      GRUCell(16, 16)
ODE, single layer, no FCN                   10,100     f = tanh(Linear(100, 100))
ODE, single layer + FCN (TGAN-ODE)          638,424    FCN 100-512-512-512-100 (628,324) + 10,100
ODE, two layers + FCN                       648,524    FCN + Linear(100,100), tanh, Linear(100,100)
ODE, "equal parameters" + FCN               825,002    FCN + Linear(100,978), tanh, Linear(978,100)
SDE + FCN                                   648,524    FCN + drift tanh(Linear) + diffusion tanh(Linear)
MoCoGAN-ODE, single layer + FCN             2,400      FCN 16-64-16 (2,128) + tanh(Linear(16, 16)) (272)
MoCoGAN-ODE, "equal parameters", no FCN     1,633      Linear(16,49), tanh, Linear(49,16)
==========================================  =========  =====================================================

The "equal parameters" widths are the authors' (978 and 49, hard-coded in their code). For MoCoGAN, 49 is the
width whose count is nearest to the GRU's 1,632. For TGAN the nearest width to 826,468 would be 985
(826,409); 978 falls 1,466 short, and the paper does not say why (pass ``param_target`` to get the
nearest width instead).
"""

from __future__ import annotations

from odevideo.methods.video_gan.temporal_common import (  # noqa: F401
    CONSTRUCTIONS,
    F_TYPES,
    INITIAL_STATES,
    MOCOGAN_FCN_WIDTHS,
    PAPER_EQUAL_PARAMS_HIDDEN,
    PAPER_FRAME_DT,
    TGAN_FCN_WIDTHS,
    _check_z,
    _frame_indices,
    _gather,
    _positive_float,
    _positive_int,
    count_parameters,
)
from odevideo.methods.video_gan.temporal_discrete import MoCoGANMotionGenerator, TGANTemporalGenerator  # noqa: F401
from odevideo.methods.video_gan.temporal_ode import ODETemporalGenerator, mocogan_ode, tgan_ode  # noqa: F401
from odevideo.methods.video_gan.temporal_sde import SDETemporalGenerator, mocogan_sde, tgan_sde  # noqa: F401

__all__ = [
    "count_parameters",
    "TGANTemporalGenerator",
    "MoCoGANMotionGenerator",
    "ODETemporalGenerator",
    "SDETemporalGenerator",
    "tgan_ode",
    "mocogan_ode",
    "tgan_sde",
    "mocogan_sde",
    "TGAN_FCN_WIDTHS",
    "MOCOGAN_FCN_WIDTHS",
    "PAPER_EQUAL_PARAMS_HIDDEN",
    "PAPER_FRAME_DT",
]
