"""Temporal generators whose codes are feature maps: TGANv2's ``G_t`` and its ODE/SDE replacements.

TGANv2 (Saito et al., "Train Sparsely, Generate Densely", IJCV 2020) draws its per-frame latents as small
feature maps ``(C, s, s)`` (512 x 4 x 4 in its Chainer code) from a convolutional LSTM. Gordon & Parde replace
that CLSTM by a neural ODE on the map with convolutional dynamics (their code: ``f = LeakyReLU(0.2)(conv3x3)``,
1024 channels on a 3 x 3 map, RK4 over ``t in [0, 1]`` for 16 frames); they could not run the SDE and the
higher-order variants with TGANv2. Here all three run:

    forward(z, times) -> (B, T, C, s, s)        z: (B, z_dim); times: (T,) or (B, T), in frames

* :class:`ConvLSTMTemporalGenerator`: the original. ``Linear(z)`` reshaped to ``(C, s, s)`` is the input of
  frame 0 and zeros the input of every later frame, through ``n_layers`` stacked :class:`ConvLSTMCell` s; a
  frame's code is the top cell's hidden map. Discrete: frames ``0, 1, 2, ...`` only.
* :class:`MapODETemporalGenerator`: orders 1-3 (the constructions of
  :class:`~odevideo.methods.video_gan.temporal_ode.ODETemporalGenerator`: ``top_derivative``, the paper's, or
  ``general``), ``x(0), x'(0), ...`` from one ``Linear(z_dim, C*s*s)`` each (the authors' ``fc`` /
  ``dsdt_encoders``). Any real times: fractional (a higher frame rate) and negative (before frame 0).
* :class:`MapSDETemporalGenerator`: ``dx = mu(x) dt + sigma(x) dW`` with diagonal Ito noise, drift and
  diffusion both convolutional ``f`` networks; the sampling scheme (seeds, backward part for ``t < 0``) of
  :class:`~odevideo.methods.video_gan.temporal_sde.SDETemporalGenerator`.

The ODE and SDE integrate the flattened map ``(B, C*s*s)``, so the solver layer and its higher-order
first-order form are reused unchanged; the dynamics reshape to ``(B, k*C, s, s)`` for the convolutions.
``time_dependent=True`` appends one constant channel holding ``t`` (the authors' "conv_cat" appended a channel
of ones instead, which is not a dependence on time).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from odevideo.errors import InputError
from odevideo.methods.video_gan.temporal_common import (
    CONSTRUCTIONS,
    PAPER_FRAME_DT,
    _check_z,
    _frame_indices,
    _gather,
    _positive_float,
    _positive_int,
)
from odevideo.methods.video_gan.temporal_ode import ODETemporalGenerator
from odevideo.methods.video_gan.temporal_sde import SDETemporalGenerator
from odevideo.nn.convlstm import ConvLSTMCell
from odevideo.solvers import HigherOrderODEFunc, SDEFunction, SDESolverConfig, SolverConfig

__all__ = ["ConvLSTMTemporalGenerator", "MapODETemporalGenerator", "MapSDETemporalGenerator", "MAP_F_TYPES"]

#: ``single``: ``LeakyReLU(0.2)(conv3x3(in -> C))`` (the authors' ``ODEFunc``); ``two_layer``: conv3x3 to
#: ``hidden_channels``, LeakyReLU, conv3x3 back to ``C``, LeakyReLU (theirs when ``dim_hidden != dim``).
MAP_F_TYPES = ("single", "two_layer")


def _map_shape(z_dim: Any, channels: Any, map_size: Any) -> tuple[int, int, tuple[int, int, int]]:
    z_dim = _positive_int("z_dim", z_dim)
    c = _positive_int("channels", channels)
    s = _positive_int("map_size", map_size)
    return z_dim, c * s * s, (c, s, s)


def _conv_net(f_type: str, in_ch: int, hidden: int | None, out_ch: int) -> nn.Sequential:
    if f_type not in MAP_F_TYPES:
        raise InputError(
            f"f_type={f_type!r} is not supported for feature-map dynamics; use one of: {', '.join(MAP_F_TYPES)}."
        )
    if f_type == "single":
        if hidden is not None:
            raise InputError("f_type='single' is one conv layer and has no hidden width; drop hidden_channels.")
        net = nn.Sequential(nn.Conv2d(in_ch, out_ch, 3, padding=1), nn.LeakyReLU(0.2))
    else:
        h = out_ch if hidden is None else _positive_int("hidden_channels", hidden)
        net = nn.Sequential(nn.Conv2d(in_ch, h, 3, padding=1), nn.LeakyReLU(0.2),
                            nn.Conv2d(h, out_ch, 3, padding=1), nn.LeakyReLU(0.2))
    for m in net.modules():
        if isinstance(m, nn.Conv2d):  # the authors' init: Xavier-uniform, gain sqrt(2)
            nn.init.xavier_uniform_(m.weight, gain=math.sqrt(2.0))
    return net


class _MapNet(nn.Module):
    """A conv net on flattened maps: ``(t, x (..., k*C*s*s)) -> (..., C*s*s)``; ``t`` enters as one more
    constant channel when ``time_dependent``."""

    def __init__(self, net: nn.Module, size: int, time_dependent: bool):
        super().__init__()
        self.net, self.size, self.time_dependent = net, size, time_dependent

    def forward(self, t: Tensor, x: Tensor) -> Tensor:
        lead = x.shape[:-1]
        m = x.reshape(-1, x.shape[-1] // (self.size * self.size), self.size, self.size)
        if self.time_dependent:
            m = torch.cat([m, t.to(m.dtype).expand(m.shape[0], 1, self.size, self.size)], dim=1)
        out = self.net(m)
        return out.reshape(*lead, -1)


class _MapDynamics(nn.Module):
    """``f(t, x, ..., x^(k-1))`` for :class:`HigherOrderODEFunc` on flattened maps (``top_derivative``: the top
    state only; ``general``: all states, stacked on the channels)."""

    def __init__(self, net: _MapNet, construction: str):
        super().__init__()
        self.net, self.construction = net, construction

    def forward(self, t: Tensor, *states: Tensor) -> Tensor:
        x = states[-1] if self.construction == "top_derivative" else torch.cat(states, dim=-1)
        return self.net(t, x)


def _check_flags(construction: str, time_dependent: Any) -> None:
    if construction not in CONSTRUCTIONS:
        raise InputError(f"construction={construction!r} is not supported; use one of: {', '.join(CONSTRUCTIONS)}.")
    if not isinstance(time_dependent, bool):
        raise InputError(f"time_dependent must be True or False, got {time_dependent!r}.")


class ConvLSTMTemporalGenerator(nn.Module):
    """TGANv2's temporal generator: ``z`` -> ``Linear`` -> ``(C, s, s)`` input at frame 0 (zeros after) ->
    ``n_layers`` stacked ConvLSTM cells; frame ``k``'s code is the top hidden map after ``k + 1`` steps.

    TGANv2's UCF-101 generator: ``z_dim=256, channels=512, map_size=4, n_layers=2``. Discrete: it only knows
    frames ``0, 1, 2, ...`` (any number of them); fractional or negative times raise
    :class:`~odevideo.errors.InputError` (use :class:`MapODETemporalGenerator` for those).
    """

    def __init__(self, z_dim: int = 256, channels: int = 512, map_size: int = 4, n_layers: int = 2):
        super().__init__()
        self.z_dim, d, self.map_shape = _map_shape(z_dim, channels, map_size)
        self.n_layers = _positive_int("n_layers", n_layers)
        self.fc = nn.Linear(self.z_dim, d)
        self.cells = nn.ModuleList(ConvLSTMCell(channels, channels) for _ in range(self.n_layers))

    def forward(self, z: Tensor, times: Tensor | Sequence[float]) -> Tensor:
        name = type(self).__name__
        z = _check_z(z, self.z_dim, name)
        index = _frame_indices(times, z.shape[0], z, name, None)
        x0 = self.fc(z).view(z.shape[0], *self.map_shape)
        states: list[tuple[Tensor, Tensor] | None] = [None] * self.n_layers
        codes = []
        for k in range(int(index.max()) + 1):
            h = x0 if k == 0 else torch.zeros_like(x0)
            for j, cell in enumerate(self.cells):
                states[j] = cell(h, states[j])
                h = states[j][0]
            codes.append(h)
        return _gather(torch.stack(codes, dim=1), index)


class MapODETemporalGenerator(ODETemporalGenerator):
    """Neural ODE on a feature map: Gordon & Parde's TGANv2-ODE, generalised to orders 2-3.

    Order 1: ``dx/dt = f(x)``, ``x(0) = Linear(z)`` as ``(C, s, s)``; orders 2-3 with the constructions of
    :class:`~odevideo.methods.video_gan.temporal_ode.ODETemporalGenerator` (``top_derivative``: ``f`` of the top
    derivative only; ``general``: ``f`` of all states stacked on the channels), each initial state from its own
    ``Linear(z_dim, C*s*s)``. ``f``: :data:`MAP_F_TYPES`. ``frame_dt`` defaults to the authors' 1/15 (16 frames
    over ``[0, 1]``) and the solver to one RK4 step per frame.

    ``forward(z, times)`` -> ``(B, T, C, s, s)`` at any real times (frames); :meth:`trajectory` ->
    ``(B, T, order, C*s*s)`` with the derivatives.
    """

    def __init__(
        self,
        z_dim: int = 256,
        channels: int = 1024,
        map_size: int = 3,
        *,
        order: int = 1,
        f_type: str = "single",
        hidden_channels: int | None = None,
        construction: str = "top_derivative",
        time_dependent: bool = False,
        frame_dt: float = PAPER_FRAME_DT,
        solver: SolverConfig | None = None,
    ):
        nn.Module.__init__(self)
        self.z_dim, d, self.map_shape = _map_shape(z_dim, channels, map_size)
        self.out_dim = self.state_dim = d
        if isinstance(order, bool) or order not in (1, 2, 3):
            raise InputError(f"order must be 1, 2 or 3 (the orders the paper studies), got {order!r}.")
        _check_flags(construction, time_dependent)
        if solver is not None and not isinstance(solver, SolverConfig):
            raise InputError(f"solver must be a SolverConfig, got {type(solver).__name__}.")
        self.order, self.f_type, self.construction = order, f_type, construction
        self.time_dependent = time_dependent
        self.initial_states = "linear"
        self.fcn = None
        self.frame_dt = _positive_float("frame_dt", frame_dt)
        self.solver = solver if solver is not None else SolverConfig("rk4", step_size=self.frame_dt)
        self.init_maps = nn.ModuleList(nn.Linear(self.z_dim, d) for _ in range(order))
        in_ch = (order * channels if construction == "general" else channels) + int(time_dependent)
        net = _MapNet(_conv_net(f_type, in_ch, hidden_channels, channels), map_size, time_dependent)
        self.hidden_dim = hidden_channels
        self.func = HigherOrderODEFunc(_MapDynamics(net, construction), order)

    def initial_state(self, z: Tensor) -> Tensor:
        return torch.cat([m(z) for m in self.init_maps], dim=-1)

    def forward(self, z: Tensor, times: Tensor | Sequence[float]) -> Tensor:
        codes = super().forward(z, times)
        return codes.view(*codes.shape[:2], *self.map_shape)


class _MapSDE(SDEFunction):
    """Diagonal Ito SDE on flattened maps, drift and diffusion :class:`_MapNet` s (which see ``t`` themselves)."""

    def __init__(self, drift: _MapNet, diffusion: _MapNet):
        super().__init__(noise_type="diagonal", sde_type="ito")
        self.drift, self.diffusion = drift, diffusion

    def f(self, t: Tensor, x: Tensor) -> Tensor:
        return self.drift(t, x)

    def g(self, t: Tensor, x: Tensor) -> Tensor:
        return self.diffusion(t, x)


class MapSDETemporalGenerator(SDETemporalGenerator):
    """Latent SDE on a feature map (TGANv2-SDE): ``dx = mu(x) dt + sigma(x) dW``, ``x(0) = Linear(z)``.

    Drift and diffusion are separate :data:`MAP_F_TYPES` conv networks (the ODE's ``f``). Sampling, seeds and
    times before frame 0 as :class:`~odevideo.methods.video_gan.temporal_sde.SDETemporalGenerator` (``seed=`` /
    ``bm=`` keywords); the solver defaults to Euler-Maruyama with ``dt = frame_dt / 4``.
    ``forward(z, times, *, seed=None, bm=None)`` -> ``(B, T, C, s, s)``.
    """

    def __init__(
        self,
        z_dim: int = 256,
        channels: int = 1024,
        map_size: int = 3,
        *,
        f_type: str = "single",
        hidden_channels: int | None = None,
        time_dependent: bool = False,
        frame_dt: float = PAPER_FRAME_DT,
        solver: SDESolverConfig | None = None,
    ):
        nn.Module.__init__(self)
        self.z_dim, d, self.map_shape = _map_shape(z_dim, channels, map_size)
        self.out_dim = d
        _check_flags("top_derivative", time_dependent)
        if solver is not None and not isinstance(solver, SDESolverConfig):
            raise InputError(f"solver must be an SDESolverConfig, got {type(solver).__name__}.")
        self.f_type, self.time_dependent = f_type, time_dependent
        self.frame_dt = _positive_float("frame_dt", frame_dt)
        self.solver = solver if solver is not None else SDESolverConfig("euler", dt=self.frame_dt / 4)
        if self.solver.noise_type != "diagonal" or self.solver.sde_type != "ito":
            raise InputError("MapSDETemporalGenerator has diagonal Ito noise; use SDESolverConfig(noise_type="
                             "'diagonal', sde_type='ito') with an Ito method (euler, milstein, srk).")
        self.fcn = None
        self.hidden_dim = hidden_channels
        self.init_map = nn.Linear(self.z_dim, d)
        in_ch = channels + int(time_dependent)
        nets = [_MapNet(_conv_net(f_type, in_ch, hidden_channels, channels), map_size, time_dependent)
                for _ in range(2)]
        self.sde = _MapSDE(*nets)

    def initial_state(self, z: Tensor) -> Tensor:
        return self.init_map(z)

    def forward(self, z: Tensor, times: Tensor | Sequence[float], *, seed: int | torch.Generator | None = None,
                bm: Any | None = None) -> Tensor:
        codes = super().forward(z, times, seed=seed, bm=bm)
        return codes.view(*codes.shape[:2], *self.map_shape)
