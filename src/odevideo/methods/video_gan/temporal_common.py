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

The generators are defined in :mod:`~odevideo.methods.video_gan.temporal_discrete`,
:mod:`~odevideo.methods.video_gan.temporal_ode` and :mod:`~odevideo.methods.video_gan.temporal_sde`, the
constants and helpers they share here.

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

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from odevideo.errors import InputError
from odevideo.solvers.ode import as_time_tensor

__all__ = [
    "count_parameters",
    "TGAN_FCN_WIDTHS",
    "MOCOGAN_FCN_WIDTHS",
    "PAPER_EQUAL_PARAMS_HIDDEN",
    "PAPER_FRAME_DT",
    "F_TYPES",
    "CONSTRUCTIONS",
    "INITIAL_STATES",
]

#: Hidden widths of the FCN the paper puts in front of the ODE/SDE for TGAN (4 LeakyReLUs + f's tanh = the 5
#: nonlinearities of TGAN's G_t) and for MoCoGAN (2 LeakyReLUs).
TGAN_FCN_WIDTHS: tuple[int, ...] = (512, 512, 512)
MOCOGAN_FCN_WIDTHS: tuple[int, ...] = (64,)
#: Hidden width of ``f`` in the paper's "equal parameters" runs (from the authors' code).
PAPER_EQUAL_PARAMS_HIDDEN: dict[str, int] = {"tgan": 978, "mocogan": 49}
#: The authors integrate a 16-frame clip over t in [0, 1], so one frame spans 1/15 time units.
PAPER_FRAME_DT: float = 1.0 / 15.0

F_TYPES = ("single", "two_layer", "equal_params")
CONSTRUCTIONS = ("top_derivative", "general")
INITIAL_STATES = ("linear", "zeros")


def count_parameters(module: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameter entries of ``module`` (all, or only those with ``requires_grad``).

    Buffers (e.g. BatchNorm running statistics) are not parameters and are not counted.
    """
    if not isinstance(module, nn.Module):
        raise InputError(f"count_parameters needs an nn.Module, got {type(module).__name__}.")
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


# ----------------------------------------------------------------------------------------------------------------
# input checks


def _check_z(z: Any, z_dim: int, owner: str) -> Tensor:
    if not isinstance(z, Tensor):
        raise InputError(f"{owner}: z must be a torch.Tensor of shape (B, {z_dim}), got {type(z).__name__}.")
    if not z.is_floating_point():
        raise InputError(f"{owner}: z must be a floating-point tensor, got dtype {z.dtype}; use z.float().")
    if z.dim() != 2 or z.shape[1] != z_dim or z.shape[0] == 0:
        raise InputError(f"{owner}: z must have shape (B, {z_dim}) with B >= 1, got {tuple(z.shape)}.")
    if not bool(torch.isfinite(z).all()):
        raise InputError(f"{owner}: z contains NaN or infinite values; sample it from a finite distribution.")
    return z


def _as_times(times: Any, batch: int, z: Tensor, owner: str) -> Tensor:
    """``(T,)`` or ``(B, T)`` finite times as a floating tensor on ``z``'s device."""
    times = as_time_tensor(times, z, f"{owner}: times")
    if times.dim() not in (1, 2) or times.shape[-1] == 0:
        raise InputError(
            f"{owner}: times must have shape (T,) (shared by the batch) or (B, T) (one row per sample) with "
            f"T >= 1, got {tuple(times.shape)}."
        )
    if times.dim() == 2 and times.shape[0] != batch:
        raise InputError(
            f"{owner}: times has shape {tuple(times.shape)} but z has batch size {batch}; pass (T,) times or "
            f"one row per sample, ({batch}, T)."
        )
    if not bool(torch.isfinite(times).all()):
        raise InputError(f"{owner}: times contains NaN or infinite values; all times must be finite numbers.")
    return times


def _frame_indices(times: Any, batch: int, z: Tensor, owner: str, n_frames: int | None) -> Tensor:
    """Integer frame indices (long) for a discrete generator, or an InputError saying why it cannot."""
    t = _as_times(times, batch, z, owner)
    grid = f"0..{n_frames - 1}" if n_frames is not None else "0, 1, 2, ..."
    why = (
        f"{owner} is a discrete temporal generator: it produces one latent code per frame on the integer grid "
        f"{grid} and has no state between frames or before frame 0. For fractional times (a higher frame rate) "
        f"or negative times (before the first frame) use ODETemporalGenerator or SDETemporalGenerator."
    )
    if not bool((t == torch.round(t)).all()):
        bad = t[t != torch.round(t)].flatten()[0].item()
        raise InputError(f"{owner}: time {bad} is not a whole frame. {why}")
    if bool((t < 0).any()):
        raise InputError(f"{owner}: time {t.min().item()} is before the first frame. {why}")
    if n_frames is not None and bool((t > n_frames - 1).any()):
        raise InputError(
            f"{owner}: time {t.max().item()} is past the last frame {n_frames - 1}; its transposed convolutions "
            f"produce exactly {n_frames} codes (frames 0..{n_frames - 1}). Ask for at most that many frames, or "
            f"use ODETemporalGenerator, which can be sampled at any time."
        )
    return t.long()


def _gather(per_time: Tensor, index: Tensor) -> Tensor:
    """``per_time`` ``(B, U, D)`` and ``index`` ``(T,)`` or ``(B, T)`` into ``U`` -> ``(B, T, D)``."""
    if index.dim() == 1:
        return per_time[:, index]
    rows = torch.arange(per_time.shape[0], device=per_time.device)[:, None]
    return per_time[rows, index]


def _xavier(module: nn.Module) -> None:
    """The authors' init of the ODE/SDE/FCN linear layers: Xavier-uniform weights, gain sqrt(2)."""
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.ConvTranspose1d)):
            nn.init.xavier_uniform_(m.weight, gain=math.sqrt(2.0))


def _fcn(dim: int, widths: Sequence[int] | None) -> nn.Module | None:
    """``dim -> widths[0] -> ... -> widths[-1] -> dim``, every Linear followed by LeakyReLU(0.2)."""
    if widths is None:
        return None
    widths = tuple(widths)
    if not widths or any(isinstance(w, bool) or not isinstance(w, int) or w < 1 for w in widths):
        raise InputError(
            f"fcn must be None (no FCN) or a non-empty sequence of positive hidden widths, e.g. {TGAN_FCN_WIDTHS}; "
            f"got {widths!r}."
        )
    sizes = (dim, *widths, dim)
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), nn.LeakyReLU(0.2)]
    net = nn.Sequential(*layers)
    _xavier(net)
    return net


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"{name} must be a positive integer, got {value!r}.")
    return value


def _positive_float(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise InputError(f"{name} must be a finite number > 0, got {value!r}.")
    return float(value)


def _check_continuous_options(time_dependent: Any, frame_dt: Any, solver: Any, solver_type: type,
                              solver_kind: str) -> float:
    """The options the ODE and SDE generators share: ``time_dependent`` a bool, ``solver`` None or a
    ``solver_type`` (``solver_kind``: how the message names it); returns ``frame_dt`` as a finite float > 0."""
    if not isinstance(time_dependent, bool):
        raise InputError(f"time_dependent must be True or False, got {time_dependent!r}.")
    if solver is not None and not isinstance(solver, solver_type):
        raise InputError(f"solver must be {solver_kind}, got {type(solver).__name__}.")
    return _positive_float("frame_dt", frame_dt)


def _times_and_initial_state(generator: nn.Module, z: Any, times: Any) -> tuple[Tensor, Tensor]:
    """For a continuous generator (``z_dim``, ``frame_dt``, ``initial_state``): the checked ``times`` in solver
    units (``times * frame_dt``) and the state at frame 0 of the checked ``z``."""
    name = type(generator).__name__
    z = _check_z(z, generator.z_dim, name)
    t = _as_times(times, z.shape[0], z, name) * generator.frame_dt
    return t, generator.initial_state(z)


def _with_time(x: Tensor, t: Tensor) -> Tensor:
    """``x`` ``(..., D)`` with the scalar time ``t`` appended as one more feature: ``(..., D + 1)``."""
    return torch.cat([x, t.to(x.dtype).expand(*x.shape[:-1], 1)], dim=-1)


def _two_layer(in_dim: int, hidden: int, out_dim: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(in_dim, hidden), nn.Tanh(), nn.Linear(hidden, out_dim))


def _net(f_type: str, in_dim: int, hidden: int | None, out_dim: int) -> nn.Sequential:
    """``single``: tanh(Linear(in, out)); ``two_layer``/``equal_params``: Linear(in, h), tanh, Linear(h, out)."""
    net = nn.Sequential(nn.Linear(in_dim, out_dim), nn.Tanh()) if f_type == "single" else _two_layer(
        in_dim, hidden, out_dim  # type: ignore[arg-type]
    )
    _xavier(net)
    return net


def _two_layer_count(in_dim: int, hidden: int, out_dim: int) -> int:
    return in_dim * hidden + hidden + hidden * out_dim + out_dim


def _nearest_hidden(target: int, other: int, in_dim: int, out_dim: int, copies: int = 1) -> int:
    """The width ``h >= 1`` whose total ``other + copies * two_layer(in, h, out)`` is nearest ``target``."""
    per = copies * (in_dim + 1 + out_dim)
    fixed = other + copies * out_dim
    guess = max(1, math.floor((target - fixed) / per))
    return min((guess, guess + 1), key=lambda h: (abs(fixed + per * h - target), h))


def _resolve_hidden(
    f_type: str, hidden_dim: int | None, param_target: int | None, *, default: int, in_dim: int, out_dim: int,
    copies: int, other: int,
) -> int | None:
    if f_type == "single":
        if hidden_dim is not None or param_target is not None:
            raise InputError(
                "f_type='single' is one layer and has no hidden width; drop hidden_dim/param_target or use "
                "f_type='two_layer' / 'equal_params'."
            )
        return None
    if f_type == "two_layer":
        if param_target is not None:
            raise InputError("param_target only applies to f_type='equal_params'; drop it or change f_type.")
        return default if hidden_dim is None else _positive_int("hidden_dim", hidden_dim)
    if (hidden_dim is None) == (param_target is None):
        raise InputError(
            "f_type='equal_params' needs exactly one of param_target (the parameter count to match, e.g. "
            "count_parameters(TGANTemporalGenerator()) = 826468; the nearest width is chosen) or hidden_dim "
            f"(the paper's widths: {PAPER_EQUAL_PARAMS_HIDDEN})."
        )
    if hidden_dim is not None:
        return _positive_int("hidden_dim", hidden_dim)
    return _nearest_hidden(_positive_int("param_target", param_target), other, in_dim, out_dim, copies)
