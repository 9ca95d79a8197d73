"""Configs of Vid-ODE and its baselines: each ``*Config`` holds exactly its model's constructor arguments, less the
ones the data fixes (``in_channels``; ODE-FC / ODE-Conv: ``n_frames``, ``frame_size``), and the eq. 7 loss with
its discriminators (:class:`VidODELossConfig`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from odevideo.solvers import SolverConfig


def _rk4() -> SolverConfig:
    return SolverConfig(method="rk4", step_size=0.1)


@dataclass
class _ConvEncoderConfig:
    hidden_channels: int = 128  # feature-map channels after the Conv-Encoder (the authors' 128)
    n_downs: int = 2  # stride-2 levels of the Conv-Encoder (4x smaller feature maps)


@dataclass
class _WarpingConfig:
    flow_stride: int = 1  # flow on a grid this many times coarser, upsampled bilinearly (1 = per pixel)
    mask_init: float | None = None  # composition mask M at initialisation (None = sigmoid(~0) = 0.5)
    anchor_observed: bool = False  # warp the latest observed frame when one precedes a query (not in the paper)
    warp_previous: Literal["output", "warped"] = "output"  # output: X_{k-1} (eq. 2); warped: the authors' code
    flow_per_time: bool = False  # the flow head is a velocity, scaled by the time gap (not in the paper)
    warp_padding: Literal["border", "zeros"] = "border"  # what a flow pointing outside the frame reads


@dataclass
class VidODEConfig(_ConvEncoderConfig, _WarpingConfig):
    """:class:`~odevideo.methods.vid_ode.VidODE` (Park et al. 2021)."""

    ode_hidden: int | None = 128
    ode_layers: int = 2
    encoder_solver: SolverConfig | None = None  # ODE-ConvGRU; None = one Euler step per gap (the authors')
    decoder_solver: SolverConfig = field(default_factory=_rk4)
    decoder_start: Literal["last_observed", "first_observed", "first_target"] = "last_observed"
    first_prev: Literal["state", "embedding"] = "state"
    use_flow_warping: bool = True  # ablation (D)/(E)
    use_mask_composition: bool = True  # ablation (E)
    run_backwards: bool = True  # ODE-ConvGRU over the inputs backwards in time (the authors')
    ode_autocast: bool = False  # ODE-net / ConvGRU convs in the autocast dtype too (states stay fp32)
    ode_rate: float = 1.0  # dh/dt = ode_rate * f(h) in both ODEs (1 / data.frame_dt: unit rate per frame)


@dataclass
class ODEConvConfig(_ConvEncoderConfig):
    """:class:`~odevideo.methods.vid_ode.ODEConvBaseline` (channel-stacked frames, conv latent ODE)."""

    ode_hidden: int | None = 128
    ode_layers: int = 2
    solver: SolverConfig = field(default_factory=_rk4)


@dataclass
class ODEFCConfig(ODEConvConfig):
    """:class:`~odevideo.methods.vid_ode.ODEFCBaseline` (channel-stacked frames, vector latent ODE)."""

    latent_dim: int = 32


@dataclass
class ConvGRUConfig(_ConvEncoderConfig):
    """:class:`~odevideo.methods.vid_ode.ConvGRUBaseline`: ConvGRU, ConvGRU-delta-t, ConvGRU-Decay."""

    time_input: Literal["none", "delta_t", "decay"] = "none"


@dataclass
class VidRNNConfig(_ConvEncoderConfig, _WarpingConfig):
    """:class:`~odevideo.methods.vid_ode.VidRNN` (Vid-ODE with ConvGRU steps in place of the ODEs)."""

    step: float = 0.1  # time units per decoder ConvGRU step (the frame interval)


@dataclass
class VidODELossConfig:
    """Vid-ODE's objective (eq. 7): L1, image difference and, with either discriminator, the LSGAN terms
    (eq. 3-4); both discriminators off = no adversarial terms."""

    image_disc: bool = False  # D_img on every predicted frame
    seq_disc: bool = False  # D_seq on windows of frames
    disc_channels: int = 64
    disc_downs: int = 3
    seq_window: int = 0  # frames per D_seq window; 0 = task.num_observed + 1 (extrapolation, the authors') or the clip
    weight_diff: float = 1.0  # lambda_diff (also used without discriminators)
    weight_img: float = 0.003  # lambda_img
    weight_seq: float = 0.003  # lambda_seq
