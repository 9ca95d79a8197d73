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
from odevideo.solvers import (
    HigherOrderODEFunc,
    SDEFunction,
    SDESolverConfig,
    SolverConfig,
    odeint,
    odeint_batch,
    sdeint,
)

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
    if not isinstance(times, Tensor):
        try:
            times = torch.as_tensor(times, dtype=z.dtype)
        except (TypeError, ValueError, RuntimeError) as err:
            raise InputError(f"{owner}: times must be a tensor or a sequence of numbers: {err}") from None
    if not times.is_floating_point():
        times = times.to(z.dtype)
    times = times.to(z.device)
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


# ----------------------------------------------------------------------------------------------------------------
# the discrete originals


class TGANTemporalGenerator(nn.Module):
    """TGAN's temporal generator ``G_t`` (Saito et al., 2017): one ``z`` -> ``n_frames`` latent frame codes.

    ``Linear(z_dim, 512)`` (a 1x1 deconvolution of a length-1 sequence in the original) + BN + ReLU, then
    transposed 1-D convolutions (kernel 4, stride 2, padding 1) doubling the length 1 -> 2 -> 4 -> 8 -> 16,
    with channels 512 -> 256 -> 128 -> 128 -> ``out_dim``, BN + ReLU after each but the last, which ends in tanh.
    For ``z_dim = out_dim = 100``: 826,468 parameters.

    ``forward(z, times=None)``: ``times`` are integer frames in ``0..n_frames-1`` (``None`` = all of them);
    anything else raises :class:`InputError`. Like the original, train mode needs ``B >= 2`` (BatchNorm).
    """

    def __init__(self, z_dim: int = 100, out_dim: int = 100, channels: Sequence[int] = (512, 256, 128, 128)):
        super().__init__()
        self.z_dim = _positive_int("z_dim", z_dim)
        self.out_dim = _positive_int("out_dim", out_dim)
        channels = tuple(_positive_int("channels[i]", c) for c in channels)
        if not channels:
            raise InputError("channels must list at least one width, e.g. (512, 256, 128, 128).")
        self.n_frames = 2 ** len(channels)
        self.fc = nn.Linear(z_dim, channels[0])
        self.fc_bn = nn.BatchNorm1d(channels[0])
        layers: list[nn.Module] = []
        for a, b in zip(channels[:-1], channels[1:]):
            layers += [nn.ConvTranspose1d(a, b, 4, stride=2, padding=1), nn.BatchNorm1d(b), nn.ReLU()]
        layers += [nn.ConvTranspose1d(channels[-1], out_dim, 4, stride=2, padding=1), nn.Tanh()]
        self.deconv = nn.Sequential(*layers)
        _xavier(self)

    def forward(self, z: Tensor, times: Tensor | Sequence[float] | None = None) -> Tensor:
        z = _check_z(z, self.z_dim, type(self).__name__)
        h = torch.relu(self.fc_bn(self.fc(z)))
        codes = self.deconv(h.unsqueeze(-1)).transpose(1, 2)  # (B, n_frames, out_dim)
        if times is None:
            return codes
        return _gather(codes, _frame_indices(times, z.shape[0], z, type(self).__name__, self.n_frames))


class MoCoGANMotionGenerator(nn.Module):
    """MoCoGAN's motion generator (Tulyakov et al., 2018): a GRU cell driven by fresh noise every frame.

    ``z`` is the GRU's initial state ``h_0`` (MoCoGAN draws it from N(0, I)); frame ``k`` gets
    ``h_{k+1} = GRUCell(eps_{k+1}, h_k)`` with ``eps ~ N(0, I)`` of size ``noise_dim`` (``h_0`` itself is not a
    frame, as in MoCoGAN). ``GRUCell(16, 16)``: 3 * (16*16 + 16*16 + 16 + 16) = 1,632 parameters.

    ``forward(z, times=None, *, noise=None, generator=None)``: ``times`` are integer frames ``>= 0``
    (``None`` = ``0..video_length-1``); the GRU runs up to the largest one. ``noise`` ``(B, S, noise_dim)``
    gives the per-step inputs (``S`` >= steps run); otherwise they are drawn with ``generator``.
    """

    def __init__(self, motion_dim: int = 16, noise_dim: int | None = None, video_length: int = 16):
        super().__init__()
        self.z_dim = self.out_dim = _positive_int("motion_dim", motion_dim)
        self.noise_dim = motion_dim if noise_dim is None else _positive_int("noise_dim", noise_dim)
        self.video_length = _positive_int("video_length", video_length)
        self.recurrent = nn.GRUCell(self.noise_dim, motion_dim)

    def forward(
        self,
        z: Tensor,
        times: Tensor | Sequence[float] | None = None,
        *,
        noise: Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        name = type(self).__name__
        z = _check_z(z, self.z_dim, name)
        if times is None:
            times = torch.arange(self.video_length)
        index = _frame_indices(times, z.shape[0], z, name, None)
        steps = int(index.max()) + 1
        if noise is None:
            where = generator.device if generator is not None else z.device
            noise = torch.randn(z.shape[0], steps, self.noise_dim, generator=generator, device=where, dtype=z.dtype)
            noise = noise.to(z.device)
        elif not isinstance(noise, Tensor) or noise.dim() != 3 or noise.shape[0] != z.shape[0] \
                or noise.shape[1] < steps or noise.shape[2] != self.noise_dim:
            shape = tuple(noise.shape) if isinstance(noise, Tensor) else type(noise).__name__
            raise InputError(
                f"{name}: noise must be a tensor (B, S, noise_dim) = ({z.shape[0]}, >= {steps}, {self.noise_dim}) "
                f"holding one GRU input per frame up to the last requested one; got {shape}."
            )
        h = z
        codes = []
        for k in range(steps):
            h = self.recurrent(noise[:, k], h)
            codes.append(h)
        return _gather(torch.stack(codes, dim=1), index)


# ----------------------------------------------------------------------------------------------------------------
# ODE generators


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


class _Dynamics(nn.Module):
    """``f(t, x, x', ..., x^(k-1)) -> x^(k)`` for :class:`HigherOrderODEFunc`.

    ``top_derivative`` (the paper's construction): ``f`` sees only the top state ``x^(k-1)``;
    ``general``: ``f`` sees ``cat(x, ..., x^(k-1))``. ``time_dependent`` appends ``t`` to the input.
    """

    def __init__(self, net: nn.Module, construction: str, time_dependent: bool):
        super().__init__()
        self.net = net
        self.construction = construction
        self.time_dependent = time_dependent

    def forward(self, t: Tensor, *states: Tensor) -> Tensor:
        x = states[-1] if self.construction == "top_derivative" else torch.cat(states, dim=-1)
        if self.time_dependent:
            x = torch.cat([x, t.to(x.dtype).expand(*x.shape[:-1], 1)], dim=-1)
        return self.net(x)


class ODETemporalGenerator(nn.Module):
    """Latent ODE temporal generator: ``z`` (through an optional FCN) is the state at frame 0, integrated to any time.

    Order 1: ``dx/dt = f(x)``; orders 2-3 (``x^(k) = ...``), in one of two constructions:

    * ``construction="top_derivative"`` (the paper's): only the top derivative has learned dynamics,
      ``d/dt x^(k-1) = f(x^(k-1))``; the lower states just integrate it (``d/dt x^(i) = x^(i+1)``), so ``x`` is
      the (k-1)-fold integral of ``x^(k-1)``. ``f`` maps ``D -> D``.
    * ``construction="general"``: ``x^(k) = f(t, x, x', ..., x^(k-1))``, ``f`` maps ``k*D -> D``.

    Both run as :class:`~odevideo.solvers.HigherOrderODEFunc` on the state ``cat(x, ..., x^(k-1))``; the
    output is ``x``. (For order 1 the constructions coincide.)

    Args:
        latent_dim: ``D``, the size of ``z`` and of each output code.
        order: 1, 2 or 3.
        f_type: ``"single"``: ``f = tanh(Linear(in, D))`` (D*D + D parameters for order 1);
            ``"two_layer"``: ``Linear(in, h), tanh, Linear(h, D)`` with ``h = hidden_dim`` (default ``D``);
            ``"equal_params"``: the same with ``h`` chosen to match another generator's size: pass
            ``param_target`` (the nearest width is taken, counting everything in this module) or the width
            itself as ``hidden_dim`` (the paper: 978 for TGAN, 49 for MoCoGAN).
        fcn: ``None`` (no FCN) or the hidden widths of the FCN applied to ``z`` first:
            ``D -> w1 -> ... -> D``, each Linear followed by LeakyReLU(0.2) (:data:`TGAN_FCN_WIDTHS`,
            :data:`MOCOGAN_FCN_WIDTHS`).
        construction: see above.
        initial_states: orders >= 2 only. ``"linear"`` (the paper's): ``order`` separate ``Linear(D, D)``
            maps of the (FCN'd) ``z`` give ``x(0), x'(0), ...``; ``"zeros"``: ``x(0)`` = the (FCN'd) ``z``,
            the derivatives start at zero, no extra parameters.
        time_dependent: feed ``t`` (solver time units) to ``f`` as one more input (adds ``D`` or ``h``
            weights); the paper's ``f`` ignores ``t``.
        frame_dt: solver time units per frame: frame ``k`` is integrated to ``k * frame_dt``
            (the authors' code used 1/15, :data:`PAPER_FRAME_DT`).
        solver: default ``SolverConfig("rk4", step_size=frame_dt)``: one RK4 step per frame, as the authors,
            on a grid that does not move when more times are asked for, so a higher frame rate samples the
            same trajectory (in-between times by cubic Hermite interpolation).

    ``forward(z, times)``: ``z`` ``(B, D)``, ``times`` ``(T,)`` or ``(B, T)`` in frames, any real values, any
    order -> ``(B, T, D)``. :meth:`trajectory` also returns the derivatives.
    """

    def __init__(
        self,
        latent_dim: int = 100,
        *,
        order: int = 1,
        f_type: str = "single",
        hidden_dim: int | None = None,
        param_target: int | None = None,
        fcn: Sequence[int] | None = None,
        construction: str = "top_derivative",
        initial_states: str = "linear",
        time_dependent: bool = False,
        frame_dt: float = 1.0,
        solver: SolverConfig | None = None,
    ):
        super().__init__()
        d = self.z_dim = self.out_dim = self.state_dim = _positive_int("latent_dim", latent_dim)
        if isinstance(order, bool) or order not in (1, 2, 3):
            raise InputError(f"order must be 1, 2 or 3 (the orders the paper studies), got {order!r}.")
        for name, value, valid in (
            ("f_type", f_type, F_TYPES),
            ("construction", construction, CONSTRUCTIONS),
            ("initial_states", initial_states, INITIAL_STATES),
        ):
            if value not in valid:
                raise InputError(f"{name}={value!r} is not supported; use one of: {', '.join(valid)}.")
        if not isinstance(time_dependent, bool):
            raise InputError(f"time_dependent must be True or False, got {time_dependent!r}.")
        if solver is not None and not isinstance(solver, SolverConfig):
            raise InputError(f"solver must be a SolverConfig, got {type(solver).__name__}.")
        self.order = order
        self.f_type = f_type
        self.construction = construction
        self.initial_states = initial_states
        self.time_dependent = time_dependent
        self.frame_dt = _positive_float("frame_dt", frame_dt)
        self.solver = solver if solver is not None else SolverConfig("rk4", step_size=self.frame_dt)

        self.fcn = _fcn(d, fcn)
        self.init_maps = None
        if order > 1 and initial_states == "linear":
            self.init_maps = nn.ModuleList(nn.Linear(d, d) for _ in range(order))
            _xavier(self.init_maps)

        in_dim = (order * d if construction == "general" else d) + (1 if time_dependent else 0)
        self.hidden_dim = _resolve_hidden(
            f_type, hidden_dim, param_target, default=d, in_dim=in_dim, out_dim=d, copies=1,
            other=count_parameters(self.fcn or nn.Identity()) + count_parameters(self.init_maps or nn.Identity()),
        )
        self.func = HigherOrderODEFunc(_Dynamics(_net(f_type, in_dim, self.hidden_dim, d), construction,
                                                 time_dependent), order)

    def initial_state(self, z: Tensor) -> Tensor:
        """``(B, D)`` -> the ODE state at frame 0, ``cat(x(0), x'(0), ...)`` ``(B, order * D)``."""
        x = z if self.fcn is None else self.fcn(z)
        if self.order == 1:
            return x
        if self.init_maps is not None:
            return torch.cat([m(x) for m in self.init_maps], dim=-1)
        return torch.cat([x, x.new_zeros(x.shape[0], (self.order - 1) * x.shape[1])], dim=-1)

    def trajectory(self, z: Tensor, times: Tensor | Sequence[float]) -> Tensor:
        """``(B, T, order, D)``: ``x`` and its derivatives (per solver time unit) at ``times`` (frames)."""
        z = _check_z(z, self.z_dim, type(self).__name__)
        t = _as_times(times, z.shape[0], z, type(self).__name__) * self.frame_dt
        state = self.initial_state(z)
        if t.dim() == 1:
            sol = odeint(self.func, state, t, t0=0.0, solver=self.solver).transpose(0, 1)
        else:
            sol = odeint_batch(self.func, state, t, t0=0.0, solver=self.solver)
        return sol.reshape(*sol.shape[:2], self.order, self.state_dim)

    def forward(self, z: Tensor, times: Tensor | Sequence[float]) -> Tensor:
        return self.trajectory(z, times)[:, :, 0]


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


# ----------------------------------------------------------------------------------------------------------------
# SDE generator


class _LatentSDE(SDEFunction):
    """Diagonal Ito SDE ``dx = mu(t, x) dt + sigma(t, x) dW`` (``t`` only used when ``time_dependent``)."""

    def __init__(self, drift: nn.Module, diffusion: nn.Module, time_dependent: bool):
        super().__init__(noise_type="diagonal", sde_type="ito")
        self.drift = drift
        self.diffusion = diffusion
        self.time_dependent = time_dependent

    def _input(self, t: Tensor, x: Tensor) -> Tensor:
        if not self.time_dependent:
            return x
        return torch.cat([x, t.to(x.dtype).expand(*x.shape[:-1], 1)], dim=-1)

    def f(self, t: Tensor, x: Tensor) -> Tensor:
        return self.drift(self._input(t, x))

    def g(self, t: Tensor, x: Tensor) -> Tensor:
        return self.diffusion(self._input(t, x))


class _BackwardSDE(SDEFunction):
    """The SDE run backwards in time: ``s = -t``, ``dx = -mu(-s, x) ds + sigma(-s, x) dW'_s``."""

    def __init__(self, sde: _LatentSDE):
        super().__init__(noise_type="diagonal", sde_type="ito")
        self.sde = sde

    def f(self, s: Tensor, x: Tensor) -> Tensor:
        return -self.sde.f(-s, x)

    def g(self, s: Tensor, x: Tensor) -> Tensor:
        return self.sde.g(-s, x)


class SDETemporalGenerator(nn.Module):
    """Latent SDE temporal generator: ``dx = mu(x) dt + sigma(x) dW`` (diagonal Ito noise), ``x(0)`` from ``z``.

    Drift and diffusion are ``f_type`` networks of the latent (``"single"``: ``tanh(Linear(D, D))`` each, the
    paper's TGAN-SDE; ``"two_layer"``: ``Linear(D, h), tanh, Linear(h, D)``), after the optional FCN on ``z``.
    With the TGAN FCN and ``D = 100``: 628,324 + 2 * 10,100 = 648,524 parameters. Paths are sampled by
    :func:`odevideo.solvers.sdeint`, which builds an explicit ``torchsde.BrownianInterval`` from the seed.

    Times before frame 0 (``t < 0``) integrate the SDE backwards from ``x(0)``: the reversed-time equation
    ``dx = -mu(x) ds + sigma(x) dW'_s`` in ``s = -t``, driven by a Brownian motion ``W'`` independent of the
    forward one (the pathwise backward integration; not the distributional time reversal, which would need
    the score of the forward marginals).

    ``forward(z, times, *, seed=None, bm=None)``: ``seed`` (int or ``torch.Generator``) makes the noise
    repeatable; ``None`` draws it from torch's global RNG. ``bm``: a torchsde Brownian motion of size
    ``(B, D)`` covering ``[0, max time * frame_dt]`` for the forward part (then no negative times).
    For a given seed, the Brownian path and the solver grid (``k * dt`` from frame 0) are fixed by the *span* of
    the requested times (0 to the latest time; 0 to the earliest for the backward part), and times between grid
    points are interpolated linearly by torchsde. So a denser grid over the same span samples the same path at
    the shared times (checked with torchsde 0.2.6); a different span draws another path from the same law.

    Args: ``latent_dim``, ``fcn``, ``f_type`` (``"single"`` or ``"two_layer"``), ``hidden_dim``,
    ``time_dependent``, ``frame_dt`` as in :class:`ODETemporalGenerator`; ``solver`` defaults to
    Euler-Maruyama with ``dt = frame_dt / 4``.
    """

    def __init__(
        self,
        latent_dim: int = 100,
        *,
        f_type: str = "single",
        hidden_dim: int | None = None,
        fcn: Sequence[int] | None = None,
        time_dependent: bool = False,
        frame_dt: float = 1.0,
        solver: SDESolverConfig | None = None,
    ):
        super().__init__()
        d = self.z_dim = self.out_dim = _positive_int("latent_dim", latent_dim)
        if f_type not in ("single", "two_layer"):
            raise InputError(f"SDETemporalGenerator: f_type={f_type!r} is not supported; use 'single' or 'two_layer'.")
        if not isinstance(time_dependent, bool):
            raise InputError(f"time_dependent must be True or False, got {time_dependent!r}.")
        if solver is not None and not isinstance(solver, SDESolverConfig):
            raise InputError(f"solver must be an SDESolverConfig, got {type(solver).__name__}.")
        self.f_type = f_type
        self.time_dependent = time_dependent
        self.frame_dt = _positive_float("frame_dt", frame_dt)
        self.solver = solver if solver is not None else SDESolverConfig("euler", dt=self.frame_dt / 4)
        if self.solver.noise_type != "diagonal" or self.solver.sde_type != "ito":
            raise InputError(
                "SDETemporalGenerator has diagonal Ito noise; use SDESolverConfig(noise_type='diagonal', "
                "sde_type='ito') with an Ito method (euler, milstein, srk)."
            )
        self.fcn = _fcn(d, fcn)
        self.hidden_dim = _resolve_hidden(f_type, hidden_dim, None, default=d, in_dim=d, out_dim=d, copies=2,
                                          other=0)
        in_dim = d + (1 if time_dependent else 0)
        self.sde = _LatentSDE(_net(f_type, in_dim, self.hidden_dim, d), _net(f_type, in_dim, self.hidden_dim, d),
                              time_dependent)

    def initial_state(self, z: Tensor) -> Tensor:
        """``(B, z_dim)`` -> the SDE state at frame 0 ``(B, D)``: the (FCN'd) ``z``."""
        return z if self.fcn is None else self.fcn(z)

    def forward(
        self,
        z: Tensor,
        times: Tensor | Sequence[float],
        *,
        seed: int | torch.Generator | None = None,
        bm: Any | None = None,
    ) -> Tensor:
        name = type(self).__name__
        z = _check_z(z, self.z_dim, name)
        t = _as_times(times, z.shape[0], z, name) * self.frame_dt
        x0 = self.initial_state(z)
        uniq, inverse = torch.unique(t.reshape(-1), sorted=True, return_inverse=True)
        before, after = uniq[uniq < 0], uniq[uniq >= 0]
        if bm is not None and (seed is not None or before.numel()):
            raise InputError(
                f"{name}: bm drives the forward part only; pass either bm (and times >= 0) or seed, not both."
            )
        # Two independent entropies, drawn up front so the forward path does not depend on whether
        # negative times were asked for.
        if isinstance(seed, int) and not isinstance(seed, bool):
            seed = torch.Generator().manual_seed(seed)
        elif seed is not None and not isinstance(seed, torch.Generator):
            raise InputError(f"{name}: seed must be an int, a torch.Generator or None, got {type(seed).__name__}.")
        fwd_seed, bwd_seed = (None, None) if bm is not None else (
            int(torch.randint(0, 2**62, (), generator=seed, device=seed.device if seed is not None else "cpu"))
            for _ in range(2)
        )
        parts = []
        if before.numel():
            s = (-before).flip(0)  # increasing, > 0
            ys = sdeint(_BackwardSDE(self.sde), x0, s, t0=0.0, solver=self.solver, seed=bwd_seed)
            parts.append(ys.flip(0))
        if after.numel():
            parts.append(sdeint(self.sde, x0, after, t0=0.0, solver=self.solver, bm=bm, seed=fwd_seed))
        per_time = torch.cat(parts).transpose(0, 1)  # (B, U, D)
        return _gather(per_time, inverse.view(t.shape))


# ----------------------------------------------------------------------------------------------------------------
# the paper's configurations


def tgan_ode(
    f_type: str = "single",
    order: int = 1,
    construction: str = "top_derivative",
    *,
    fcn: bool = True,
    **kwargs: Any,
) -> ODETemporalGenerator:
    """TGAN-ODE as in the paper: latent 100, FCN 100-512-512-512-100 (``fcn=True``), frames over t in [0, 1].

    Parameters (``fcn=True``): single 638,424; two_layer 648,524; equal_params (width 978) 825,002;
    order 2/3 with the top_derivative construction and single f: 658,624 / 668,724. Without FCN subtract
    628,324 (single: 10,100). ``kwargs`` go to :class:`ODETemporalGenerator` (e.g. ``solver``,
    ``time_dependent``, ``hidden_dim``/``param_target`` to override the width).
    """
    if f_type == "equal_params" and "hidden_dim" not in kwargs and "param_target" not in kwargs:
        kwargs["hidden_dim"] = PAPER_EQUAL_PARAMS_HIDDEN["tgan"]
    kwargs.setdefault("frame_dt", PAPER_FRAME_DT)
    return ODETemporalGenerator(100, order=order, f_type=f_type, construction=construction,
                                fcn=TGAN_FCN_WIDTHS if fcn else None, **kwargs)


def mocogan_ode(
    f_type: str = "equal_params",
    order: int = 1,
    construction: str = "top_derivative",
    *,
    fcn: bool | None = None,
    **kwargs: Any,
) -> ODETemporalGenerator:
    """MoCoGAN-ODE: the ODE in place of MoCoGAN's GRU on the 16-d motion code, over t in [0, 1] for 16 frames.

    ``fcn=None`` follows the paper: the 16-64-16 FCN for "single"/"two_layer", none for "equal_params" (width
    49). Parameters: equal_params 1,633 (the paper's MoCoGAN-ODE of Table 3, orders 2/3: 2,177 / 2,449);
    single + FCN 2,400; two_layer + FCN 2,672.
    """
    if fcn is None:
        fcn = f_type != "equal_params"
    if f_type == "equal_params" and "hidden_dim" not in kwargs and "param_target" not in kwargs:
        kwargs["hidden_dim"] = PAPER_EQUAL_PARAMS_HIDDEN["mocogan"]
    kwargs.setdefault("frame_dt", PAPER_FRAME_DT)
    return ODETemporalGenerator(16, order=order, f_type=f_type, construction=construction,
                                fcn=MOCOGAN_FCN_WIDTHS if fcn else None, **kwargs)


def tgan_sde(*, fcn: bool = True, **kwargs: Any) -> SDETemporalGenerator:
    """TGAN-SDE as in the paper: FCN + single-layer drift and diffusion (648,524 parameters), Euler dt 0.025."""
    kwargs.setdefault("frame_dt", PAPER_FRAME_DT)
    kwargs.setdefault("solver", SDESolverConfig("euler", dt=0.025))
    return SDETemporalGenerator(100, f_type="single", fcn=TGAN_FCN_WIDTHS if fcn else None, **kwargs)


def mocogan_sde(*, hidden_dim: int = PAPER_EQUAL_PARAMS_HIDDEN["mocogan"], **kwargs: Any) -> SDETemporalGenerator:
    """MoCoGAN-SDE per the authors' SDE module: two-layer drift and diffusion of width 49, no FCN (3,266)."""
    kwargs.setdefault("frame_dt", PAPER_FRAME_DT)
    kwargs.setdefault("solver", SDESolverConfig("euler", dt=0.025))
    return SDETemporalGenerator(16, f_type="two_layer", hidden_dim=hidden_dim, **kwargs)


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
