"""ODE integration over torchdiffeq with a forgiving time interface.

torchdiffeq wants strictly monotone times that start at the initial time. Here the query times may come
in any order, repeat, and lie on both sides of the initial time ``t0``: they are sorted and de-duplicated,
the part after ``t0`` is solved forwards and the part before it backwards (both starting from ``y0``), and
the answers are put back in the caller's order. Neither function is differentiable w.r.t. the times.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence

import torch
import torchdiffeq
from torch import Tensor, nn

from odevideo.errors import InputError, TrainingDivergedError
from odevideo.solvers.config import SolverConfig

ODEFunc = Callable[[Tensor, Tensor], Tensor]
TimeLike = Tensor | Sequence[float]


def odeint(
    func: ODEFunc,
    y0: Tensor,
    t: TimeLike,
    *,
    t0: float | Tensor | None = None,
    solver: SolverConfig | None = None,
) -> Tensor:
    """Solves ``dy/dt = func(t, y)`` with ``y(t0) = y0`` at the query times ``t``.

    Args:
        func: ``func(t, y) -> dy/dt``; ``t`` is a 0-dim tensor (time units), the result has ``y``'s shape.
        y0: the state at ``t0``, any shape ``S``, floating point.
        t: query times ``(T,)`` in time units, in any order; repeats allowed; times before ``t0``
            are reached by integrating backwards from ``t0``.
        t0: the time of ``y0``; defaults to ``t[0]`` (the caller's first time, not the smallest).
        solver: method and tolerances; defaults to ``SolverConfig()`` (rk4, steps at the query times).

    Returns:
        ``(T, *S)``: the state at each query time, in the order of ``t``; times equal to ``t0`` give ``y0``.
        Differentiable w.r.t. ``y0`` and the parameters of ``func`` (directly, or by the adjoint method).

    Raises:
        InputError: non-finite or ill-shaped ``y0``/``t``/``t0``; a plain function with ``solver.adjoint``.
        TrainingDivergedError: an adaptive method gave up (step underflow, non-finite state, max_num_steps).
    """
    cfg = _check_solver(solver)
    y0 = _check_state(y0)
    times = _check_times(t, y0, "t", ndim=1)
    start = times[0] if t0 is None else _check_t0(t0, times)
    uniq, inverse = torch.unique(times, sorted=True, return_inverse=True)
    return _solve_sorted(func, y0, uniq, start, cfg)[inverse]


def odeint_batch(
    func: ODEFunc,
    y0: Tensor,
    t: Tensor,
    *,
    t0: float | Tensor,
    solver: SolverConfig | None = None,
) -> Tensor:
    """Solves one ODE per sample, each from its own start time ``t0[b]`` to its own query times ``t[b]``.

    All samples are integrated together in a single solve over the union of the *elapsed* times
    ``s = t - t0[:, None]``, and each sample's answers are gathered from it. So ``func`` receives the elapsed
    time ``s`` (time since that sample's start), not the absolute time: exact for autonomous dynamics,
    and time-dependent dynamics see time relative to the start.

    With fixed-step methods and ``step_size=None`` the step grid is that union, so irregular per-sample
    grids mean many small steps; set ``step_size`` or use an adaptive method for those.

    Args:
        func: ``func(s, y) -> dy/ds`` on the whole batch ``y`` ``(B, ...)``; ``s`` 0-dim, time units.
        y0: ``(B, ...)`` states at the start times.
        t: ``(B, T)`` query times in time units (any order within a row, may precede ``t0``).
        t0: the start time of each sample: a float or a ``(B,)`` tensor (or 0-dim), time units.
        solver: as in :func:`odeint`.

    Returns:
        ``(B, T, ...)``: ``out[b, i]`` is sample ``b``'s state at ``t[b, i]``; differentiable as :func:`odeint`.
    """
    cfg = _check_solver(solver)
    y0 = _check_state(y0)
    if y0.dim() < 1:
        raise InputError("odeint_batch: y0 must be (B, ...) with a batch dimension first; got a 0-dim tensor.")
    batch = y0.shape[0]
    times = _check_times(t, y0, "t", ndim=2)
    if times.shape[0] != batch:
        raise InputError(
            f"odeint_batch: t has shape {tuple(times.shape)} but y0 has batch size {batch}; "
            f"pass t as (B, T) = ({batch}, T), one row of query times per sample."
        )
    starts = _check_batch_t0(t0, times, batch)
    elapsed = times - starts[:, None]
    uniq, inverse = torch.unique(elapsed.reshape(-1), sorted=True, return_inverse=True)
    zero = torch.zeros((), dtype=times.dtype, device=times.device)
    sol = _solve_sorted(func, y0, uniq, zero, cfg)  # (U, B, ...)
    rows = torch.arange(batch, device=sol.device)[:, None]
    return sol[inverse.view(times.shape), rows]  # (B, T, ...) by advanced indexing: one gather, differentiable


# ----------------------------------------------------------------------------------------------------------------
# internals


def _solve_sorted(func: ODEFunc, y0: Tensor, uniq: Tensor, start: Tensor, cfg: SolverConfig) -> Tensor:
    """``uniq`` ``(U,)`` strictly increasing -> ``(U, *y0.shape)``, solving away from ``start`` both ways."""
    n_before = int((uniq < start).sum())
    n_at = int((uniq == start).sum())
    parts = []
    if n_before:
        # Descending from start: torchdiffeq integrates backwards when the times decrease.
        back = torch.cat([start.reshape(1), uniq[:n_before].flip(0)])
        parts.append(_torchdiffeq(func, y0, back, cfg)[1:].flip(0))
    if n_at:
        parts.append(y0.unsqueeze(0))
    if n_before + n_at < uniq.numel():
        fwd = torch.cat([start.reshape(1), uniq[n_before + n_at :]])
        parts.append(_torchdiffeq(func, y0, fwd, cfg)[1:])
    return parts[0] if len(parts) == 1 else torch.cat(parts)


# torchdiffeq's adaptive solvers report these failures with bare ``assert``s.
_SOLVER_FAILURES = ("max_num_steps exceeded", "underflow in dt", "non-finite values in state")


def _torchdiffeq(func: ODEFunc, y0: Tensor, t: Tensor, cfg: SolverConfig) -> Tensor:
    try:
        return _call_torchdiffeq(func, y0, t, cfg)
    except AssertionError as err:
        if not str(err).startswith(_SOLVER_FAILURES):
            raise
        reason = str(err).split(":")[0]
        raise TrainingDivergedError(
            f"the ODE solver ({cfg.method}) gave up: {reason}. The dynamics became stiff or non-finite "
            f"(a diverging model?): lower the learning rate, loosen rtol/atol, raise max_num_steps, "
            f"or use a fixed-step method."
        ) from err


def _call_torchdiffeq(func: ODEFunc, y0: Tensor, t: Tensor, cfg: SolverConfig) -> Tensor:
    kwargs = cfg.odeint_kwargs()
    if not cfg.adjoint:
        return torchdiffeq.odeint(func, y0, t, **kwargs)
    if isinstance(func, nn.Module):
        return torchdiffeq.odeint_adjoint(func, y0, t, **kwargs)
    owner = getattr(func, "__self__", None) if inspect.ismethod(func) else None
    if isinstance(owner, nn.Module):
        # A bound method of a module (e.g. ``model.dynamics``): its module's parameters are the ones to train.
        return torchdiffeq.odeint_adjoint(func, y0, t, adjoint_params=tuple(owner.parameters()), **kwargs)
    # A plain function may close over parameters the adjoint pass cannot see: they would silently get no gradient.
    raise InputError(
        f"solver.adjoint=True needs func to be an nn.Module (or a method of one) so the adjoint pass knows "
        f"which parameters to differentiate; got {type(func).__name__}. Wrap it in an nn.Module, or set adjoint=False."
    )


def _check_solver(solver: SolverConfig | None) -> SolverConfig:
    if solver is None:
        return SolverConfig()
    if not isinstance(solver, SolverConfig):
        raise InputError(
            f"solver must be a SolverConfig, got {type(solver).__name__}; build one with SolverConfig(...) "
            f"or SolverConfig.from_dict(...)."
        )
    return solver


def _check_state(y0: Tensor) -> Tensor:
    if not isinstance(y0, Tensor):
        raise InputError(f"y0 must be a torch.Tensor, got {type(y0).__name__}; convert it with torch.as_tensor.")
    if not y0.is_floating_point():
        raise InputError(f"y0 must be a floating-point tensor, got dtype {y0.dtype}; convert it with y0.float().")
    if not bool(torch.isfinite(y0).all()):
        raise InputError("y0 contains NaN or infinite values; check the encoder output / initial state.")
    return y0


def as_time_tensor(t: TimeLike, like: Tensor, name: str) -> Tensor:
    """``t`` as a floating tensor on ``like``'s device (its own float dtype kept, else ``like``'s); an
    :class:`InputError` naming ``name`` when it is neither a tensor nor a sequence of numbers."""
    if not isinstance(t, Tensor):
        try:
            t = torch.as_tensor(t, dtype=like.dtype)
        except (TypeError, ValueError, RuntimeError) as err:
            raise InputError(f"{name} must be a tensor or a sequence of numbers: {err}") from None
    if not t.is_floating_point():
        t = t.to(like.dtype)
    return t.to(like.device)


def _check_times(t: TimeLike, y0: Tensor, name: str, *, ndim: int) -> Tensor:
    """Times as a floating tensor on y0's device (their own float dtype kept, else y0's)."""
    t = as_time_tensor(t, y0, name)
    shape = "(T,)" if ndim == 1 else "(B, T)"
    if t.dim() != ndim or t.shape[-1] == 0:
        raise InputError(
            f"{name} must have shape {shape} with T >= 1, got {tuple(t.shape)}; "
            + ("flatten it or pass one time series." if ndim == 1 else "pass one row of query times per sample.")
        )
    if not bool(torch.isfinite(t).all()):
        raise InputError(f"{name} contains NaN or infinite times; all query times must be finite numbers.")
    return t


def _check_t0(t0: float | Tensor, times: Tensor) -> Tensor:
    if isinstance(t0, Tensor):
        if t0.numel() != 1:
            raise InputError(f"t0 must be a single time (float or 0-dim tensor), got shape {tuple(t0.shape)}.")
        start = t0.detach().reshape(()).to(dtype=times.dtype, device=times.device)
    elif isinstance(t0, (int, float)) and not isinstance(t0, bool):
        start = torch.tensor(float(t0), dtype=times.dtype, device=times.device)
    else:
        raise InputError(f"t0 must be a float or a 0-dim tensor, got {type(t0).__name__}.")
    if not bool(torch.isfinite(start)):
        raise InputError(f"t0={float(start)} is not finite; give the (finite) time of y0.")
    return start


def _check_batch_t0(t0: float | Tensor, times: Tensor, batch: int) -> Tensor:
    if isinstance(t0, Tensor):
        if t0.dim() == 0 or t0.shape == (1,):
            starts = t0.reshape(()).expand(batch)
        elif t0.shape == (batch,):
            starts = t0
        else:
            raise InputError(
                f"odeint_batch: t0 has shape {tuple(t0.shape)}; pass a float or a (B,) = ({batch},) tensor "
                f"with one start time per sample."
            )
        starts = starts.detach().to(dtype=times.dtype, device=times.device)
    elif isinstance(t0, (int, float)) and not isinstance(t0, bool):
        if not math.isfinite(t0):
            raise InputError(f"odeint_batch: t0={t0} is not finite; give the (finite) start time of each sample.")
        starts = torch.full((batch,), float(t0), dtype=times.dtype, device=times.device)
    else:
        raise InputError(f"odeint_batch: t0 must be a float or a (B,) tensor, got {type(t0).__name__}.")
    if not bool(torch.isfinite(starts).all()):
        raise InputError("odeint_batch: t0 contains NaN or infinite start times; give finite times.")
    return starts
