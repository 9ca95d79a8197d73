"""The latent ODE temporal generator (orders 1-3) and the paper's TGAN-ODE and MoCoGAN-ODE configurations.

:class:`ODETemporalGenerator` maps ``z`` (through an optional FCN) to the state at frame 0 and integrates it to
any real time, before the first frame too; orders 2 and 3 in the paper's ``top_derivative`` construction or the
``general`` one. :func:`tgan_ode` and :func:`mocogan_ode` build it with the paper's widths, FCN and frame spacing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from odevideo.errors import InputError
from odevideo.methods.video_gan.temporal_common import (
    CONSTRUCTIONS,
    F_TYPES,
    INITIAL_STATES,
    MOCOGAN_FCN_WIDTHS,
    PAPER_EQUAL_PARAMS_HIDDEN,
    PAPER_FRAME_DT,
    TGAN_FCN_WIDTHS,
    _check_continuous_options,
    _fcn,
    _net,
    _positive_int,
    _resolve_hidden,
    _times_and_initial_state,
    _with_time,
    _xavier,
    count_parameters,
)
from odevideo.solvers import HigherOrderODEFunc, SolverConfig, odeint, odeint_batch

__all__ = ["ODETemporalGenerator", "tgan_ode", "mocogan_ode"]


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
            x = _with_time(x, t)
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
        self.frame_dt = _check_continuous_options(time_dependent, frame_dt, solver, SolverConfig, "a SolverConfig")
        self.order = order
        self.f_type = f_type
        self.construction = construction
        self.initial_states = initial_states
        self.time_dependent = time_dependent
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
        t, state = _times_and_initial_state(self, z, times)
        if t.dim() == 1:
            sol = odeint(self.func, state, t, t0=0.0, solver=self.solver).transpose(0, 1)
        else:
            sol = odeint_batch(self.func, state, t, t0=0.0, solver=self.solver)
        return sol.reshape(*sol.shape[:2], self.order, self.state_dim)

    def forward(self, z: Tensor, times: Tensor | Sequence[float]) -> Tensor:
        return self.trajectory(z, times)[:, :, 0]



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
