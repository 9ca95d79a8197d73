"""Convolutional recurrent building blocks of Vid-ODE (Park et al., AAAI 2021, section 3.1).

* :class:`ConvGRUCell`: a GRU whose gates are 3x3 convolutions, on feature maps ``(N, C, h, w)``.
* :class:`ConvODEFunc`: autonomous conv dynamics ``dh/dt = f(h)`` on feature maps.
* :class:`ODEConvGRUEncoder`: the ODE-ConvGRU (paper eq. 1): between observations the hidden map
  follows the conv ODE, at each observation a ConvGRU cell folds the frame embedding in.

Time handling of the encoder (per-sample irregular grids)
---------------------------------------------------------
Every clip has its own times ``(B, T)``. Going from one observation to the next, sample ``b`` must
integrate ``dh/dt = f(h)`` over its own gap ``g_b`` (negative when running backwards in time). Because
``f`` is autonomous, substituting ``t = t_start + g_b * s`` turns this into the *unit-time* ODE

    dh/ds = g_b * f(h),   s in [0, 1],

whose solution at ``s = 1`` is exactly ``h(t_start + g_b)`` for any solver that is exact, and for a fixed
step method it is the same step sequence scaled per sample. So the whole batch is integrated together over
``s in [0, 1]`` while each sample still sees its own elapsed time. Consequences: results do not depend on
which other clips share the batch (for fixed-step methods; adaptive ones choose steps from the error
of the whole batch), a zero gap is an exact no-op, and ``SolverConfig.step_size`` is a *fraction of
each gap* (e.g. ``step_size=0.25`` = four steps per gap), not a time in time units.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from odevideo.errors import InputError
from odevideo.solvers import NFECounter, SolverConfig, odeint

__all__ = ["ConvGRUCell", "ConvODEFunc", "ODEConvGRUEncoder", "AUTHORS_ENCODER_SOLVER"]

#: The authors' encoder solver: one explicit Euler step per gap between consecutive observations.
AUTHORS_ENCODER_SOLVER = SolverConfig(method="euler")


def _check_kernel(kernel: int) -> int:
    if isinstance(kernel, bool) or not isinstance(kernel, int) or kernel < 1 or kernel % 2 == 0:
        raise InputError(f"kernel={kernel!r} must be a positive odd integer (3 keeps the map size with padding 1).")
    return kernel


class ConvGRUCell(nn.Module):
    """Convolutional GRU cell (Ballas et al. 2015): ``forward(x (N, in_ch, h, w), h (N, hidden_ch, h, w))``.

    ``r, z = sigmoid(conv([x, h]))``, ``c = tanh(conv([x, r * h]))``, ``h' = (1 - z) * h + z * c``.
    Returns the new hidden map ``(N, hidden_ch, h, w)``.
    """

    def __init__(self, in_ch: int, hidden_ch: int, kernel: int = 3):
        super().__init__()
        kernel = _check_kernel(kernel)
        self.in_ch = in_ch
        self.hidden_ch = hidden_ch
        pad = kernel // 2
        self.gates = nn.Conv2d(in_ch + hidden_ch, 2 * hidden_ch, kernel, padding=pad)
        self.candidate = nn.Conv2d(in_ch + hidden_ch, hidden_ch, kernel, padding=pad)

    def forward(self, x: Tensor, h: Tensor) -> Tensor:
        if x.shape[1] != self.in_ch or h.shape[1] != self.hidden_ch:
            raise InputError(
                f"ConvGRUCell expects x with {self.in_ch} and h with {self.hidden_ch} channels, "
                f"got {x.shape[1]} and {h.shape[1]}; check the encoder's output channels."
            )
        reset, update = torch.sigmoid(self.gates(torch.cat([x, h], dim=1))).chunk(2, dim=1)
        cand = torch.tanh(self.candidate(torch.cat([x, reset * h], dim=1)))
        return (1 - update) * h + update * cand


class ConvODEFunc(nn.Module):
    """Autonomous conv dynamics ``dh/dt = f(h)`` on feature maps ``(N, channels, h, w)``.

    ``conv3x3(channels -> hidden)``, then ``layers`` times ``tanh, conv3x3(hidden -> hidden)``, then
    ``tanh, conv3x3(hidden -> channels)`` (the authors' ``create_convnet``; they use ``hidden = channels // 2``,
    ``layers = 2``). With ``zero_init`` the last conv starts at zero, so the initial flow is the identity
    map and training starts from "nothing moves" rather than from random, possibly stiff dynamics.
    ``forward(t, h)`` ignores ``t`` (torchdiffeq's signature).
    """

    def __init__(self, channels: int, hidden: int | None = None, layers: int = 2, *, zero_init: bool = True,
                 rate: float = 1.0):
        super().__init__()
        if not rate > 0:
            raise InputError(f"ConvODEFunc rate={rate!r} must be > 0 (dh/dt = rate * net(h)).")
        self.rate = float(rate)
        hidden = hidden or max(1, channels // 2)
        if layers < 0:
            raise InputError(f"ConvODEFunc layers={layers} must be >= 0 (the number of hidden-to-hidden convs).")
        mods: list[nn.Module] = [nn.Conv2d(channels, hidden, 3, padding=1)]
        for _ in range(layers):
            mods += [nn.Tanh(), nn.Conv2d(hidden, hidden, 3, padding=1)]
        last = nn.Conv2d(hidden, channels, 3, padding=1)
        if zero_init:
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)
        mods += [nn.Tanh(), last]
        self.net = nn.Sequential(*mods)

    def forward(self, t: Tensor, h: Tensor) -> Tensor:
        out = self.net(h)
        return out if self.rate == 1.0 else out * self.rate


class _GapScaledField(nn.Module):
    """``dh/ds = gap_b * f(h)``: the unit-time form of a per-sample gap (see the module docstring).

    A fresh one is made for every solve, so each keeps its own ``gap`` (the adjoint method calls it
    again during the backward pass, long after the next gap was integrated).
    """

    def __init__(self, field: nn.Module, gap: Tensor):
        super().__init__()
        self.field = field
        self.gap = gap  # (B, 1, 1, 1)

    def forward(self, s: Tensor, h: Tensor) -> Tensor:
        return self.gap * self.field(s, h)


class ODEConvGRUEncoder(nn.Module):
    """ODE-ConvGRU encoder (paper eq. 1) over per-frame embeddings, *backwards in time* by default.

    ``forward(x (B, T, in_ch, h, w), times (B, T), mask (B, T) bool) -> (B, hidden_ch, h, w)``.

    Starting from ``h = 0`` at the latest observed frame of each clip (earliest with
    ``run_backwards=False``), the encoder visits the frames in reverse time order. Between two
    *observed* frames the hidden map follows the conv ODE over the (per-sample) time gap, integrated
    backwards in time; at each observed frame the ConvGRU cell updates it with that frame's embedding.
    Unobserved steps are exact no-ops (no ODE step, no update), so a masked frame has no influence at
    all and the result equals running on the observed frames alone. The state returned summarises every
    observed frame; its most recent update is the earliest observed frame (the latest one when running
    forwards). The authors run backwards (``run_backwards=True``) and report it works slightly better.
    (Paper eq. 1 instead flows ``h = 0`` from the origin ``t_0 = 0`` to the first frame; starting at the
    first processed observation keeps the encoder independent of where the clock's origin is.)

    Solver: ``None`` = the authors' one explicit Euler step per gap (:data:`AUTHORS_ENCODER_SOLVER`); any
    :class:`~odevideo.solvers.SolverConfig` integrates each gap with that method in the unit-time form
    (module docstring). ``self.dynamics`` counts evaluations (an :class:`NFECounter`).
    """

    def __init__(
        self,
        in_ch: int,
        hidden_ch: int,
        *,
        ode_hidden: int | None = None,
        ode_layers: int = 2,
        kernel: int = 3,
        solver: SolverConfig | None = None,
        run_backwards: bool = True,
        ode_rate: float = 1.0,
    ):
        super().__init__()
        if solver is not None and not isinstance(solver, SolverConfig):
            raise InputError(f"solver must be a SolverConfig or None, got {type(solver).__name__}.")
        self.in_ch = in_ch
        self.hidden_ch = hidden_ch
        self.cell = ConvGRUCell(in_ch, hidden_ch, kernel)
        self.dynamics = NFECounter(ConvODEFunc(hidden_ch, ode_hidden, ode_layers, rate=ode_rate))
        self.solver = solver if solver is not None else AUTHORS_ENCODER_SOLVER
        self.run_backwards = bool(run_backwards)

    def flow(self, h: Tensor, gap: Tensor) -> Tensor:
        """``h`` ``(B, C, h, w)`` carried along ``dh/dt = f(h)`` for a signed time ``gap`` ``(B,)`` per sample."""
        if not bool((gap != 0).any()):
            return h
        field = _GapScaledField(self.dynamics, gap.to(h.dtype).view(-1, 1, 1, 1))
        unit = torch.tensor([0.0, 1.0], dtype=h.dtype, device=h.device)
        return odeint(field, h, unit, solver=self.solver)[-1]

    def forward(self, x: Tensor, times: Tensor, mask: Tensor | None = None) -> Tensor:
        if x.dim() != 5 or x.shape[2] != self.in_ch:
            raise InputError(
                f"ODEConvGRUEncoder expects embeddings (B, T, {self.in_ch}, h, w), got {tuple(x.shape)}."
            )
        b, t = x.shape[:2]
        if times.shape != (b, t):
            raise InputError(
                f"times must have shape (B, T)=({b}, {t}) to match the embeddings, got {tuple(times.shape)}."
            )
        if mask is None:
            mask = torch.ones(b, t, dtype=torch.bool, device=x.device)
        if mask.shape != (b, t) or mask.dtype != torch.bool:
            raise InputError(
                f"mask must be a bool tensor of shape (B, T)=({b}, {t}), got {mask.dtype} {tuple(mask.shape)}."
            )
        times = times.to(x.dtype)
        h = x.new_zeros(b, self.hidden_ch, *x.shape[-2:])
        order = range(t - 1, -1, -1) if self.run_backwards else range(t)
        seen = torch.zeros(b, dtype=torch.bool, device=x.device)  # has sample b had an observation yet?
        prev_time = torch.zeros(b, dtype=x.dtype, device=x.device)  # time of its last processed observation
        for i in order:
            m = mask[:, i]
            # Signed gap from the previously processed observation; 0 for unobserved frames and before the first.
            gap = torch.where(m & seen, times[:, i] - prev_time, torch.zeros_like(prev_time))
            h = self.flow(h, gap)
            h_new = self.cell(x[:, i], h)
            h = torch.where(m.view(-1, 1, 1, 1), h_new, h)
            prev_time = torch.where(m, times[:, i], prev_time)
            seen = seen | m
        return h
