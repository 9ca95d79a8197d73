"""SDE integration over torchsde.

An SDE is any object with (the torchsde protocol):

* ``f(t, y) -> (B, D)``: the drift; ``t`` a 0-dim tensor in time units, ``y`` ``(B, D)``;
* ``g(t, y)``: the diffusion, ``(B, D)`` for ``diagonal`` noise, ``(B, D, M)`` for ``general``/``additive``
  noise with ``M`` Brownian channels, ``(B, D, 1)`` for ``scalar`` noise;
* ``noise_type`` and ``sde_type`` attributes (strings, see :class:`SDESolverConfig`); when absent they are
  taken from the solver config.

:class:`SDEFunction` is an ``nn.Module`` base class for it. ``dY = f dt + g dW``, read in the Ito or
Stratonovich sense according to ``sde_type``.
"""

from __future__ import annotations

from typing import Any

import torch
import torchsde
from torch import Tensor, nn

from odevideo.errors import InputError
from odevideo.solvers.config import NOISE_TYPES, SDE_TYPES, SDESolverConfig
from odevideo.solvers.ode import TimeLike, _check_state, _check_t0, _check_times

# Extra Brownian information some methods need: stochastic Runge-Kutta uses space-time Levy area, the
# log-ODE method a full Levy area approximation; the rest use increments only (and are faster for it).
_LEVY_AREA = {"srk": "space-time", "log_ode": "foster"}
# What each of those methods accepts on a Brownian motion passed in by the caller.
_LEVY_AREA_OK = {"srk": ("space-time", "davie", "foster"), "log_ode": ("davie", "foster")}


class SDEFunction(nn.Module):
    """Base class for SDEs: subclass and implement :meth:`f` (drift) and :meth:`g` (diffusion).

    Args:
        noise_type: ``diagonal`` (default), ``additive``, ``scalar`` or ``general``.
        sde_type: ``ito`` (default) or ``stratonovich``.
    """

    def __init__(self, noise_type: str = "diagonal", sde_type: str = "ito"):
        super().__init__()
        if noise_type not in NOISE_TYPES:
            raise InputError(f"noise_type={noise_type!r} is not supported; use one of: {', '.join(NOISE_TYPES)}.")
        if sde_type not in SDE_TYPES:
            raise InputError(f"sde_type={sde_type!r} is not supported; use one of: {', '.join(SDE_TYPES)}.")
        self.noise_type = noise_type
        self.sde_type = sde_type

    def f(self, t: Tensor, y: Tensor) -> Tensor:
        """Drift ``(B, D)`` at time ``t`` (0-dim) and state ``y`` ``(B, D)``."""
        raise NotImplementedError

    def g(self, t: Tensor, y: Tensor) -> Tensor:
        """Diffusion: ``(B, D)`` for diagonal noise, else ``(B, D, M)``."""
        raise NotImplementedError


class _TypedSDE(nn.Module):
    """Gives an SDE without ``noise_type``/``sde_type`` attributes the ones from the config."""

    def __init__(self, sde: Any, noise_type: str, sde_type: str):
        super().__init__()
        self.sde = sde  # registered as a submodule when it is one, so the adjoint sees its parameters
        self.noise_type = noise_type
        self.sde_type = sde_type

    def f(self, t: Tensor, y: Tensor) -> Tensor:
        return self.sde.f(t, y)

    def g(self, t: Tensor, y: Tensor) -> Tensor:
        return self.sde.g(t, y)


def sdeint(
    sde: Any,
    y0: Tensor,
    t: TimeLike,
    *,
    t0: float | Tensor | None = None,
    solver: SDESolverConfig | None = None,
    bm: Any | None = None,
    seed: int | torch.Generator | None = None,
) -> Tensor:
    """Samples paths of ``dY = f(t, Y) dt + g(t, Y) dW`` with ``Y(t0) = y0`` at the times ``t``.

    Args:
        sde: see the module docstring (``f``, ``g``, ``noise_type``, ``sde_type``); an ``nn.Module`` when
            ``solver.adjoint`` is set.
        y0: ``(B, D)``: ``B`` independent paths of a ``D``-dimensional state at ``t0``.
        t: ``(T,)`` strictly increasing output times in time units, all ``>= t0``.
        t0: the time of ``y0``; defaults to ``t[0]``.
        solver: method, fixed step ``dt`` and adjoint flag; defaults to ``SDESolverConfig()`` (Euler-Maruyama,
            dt = 0.01 time units).
        bm: a torchsde Brownian motion (e.g. ``torchsde.BrownianInterval``) of size ``(B, M)`` covering
            ``[t0, t[-1]]``; by default a fresh ``BrownianInterval`` is built.
        seed: entropy of that default Brownian motion: an int, or a ``torch.Generator`` to draw it from;
            ``None`` draws it from torch's global RNG, so ``torch.manual_seed`` makes runs repeatable.
            For a fixed seed, the paths also depend on the times and the method (torchsde samples the
            Brownian motion lazily at the points it is asked for).

    Returns:
        ``(T, B, D)``: the sampled states at ``t``.
    """
    cfg = solver if solver is not None else SDESolverConfig()
    if not isinstance(cfg, SDESolverConfig):
        raise InputError(f"solver must be an SDESolverConfig, got {type(cfg).__name__}.")
    y0 = _check_state(y0)
    if y0.dim() != 2:
        raise InputError(f"y0 must be (B, D) (paths, state size), got shape {tuple(y0.shape)}; reshape it to 2-D.")
    times = _check_times(t, y0, "t", ndim=1).to(y0.dtype)  # torchsde keeps times and states in one dtype
    start = times[0] if t0 is None else _check_t0(t0, times)
    if times.numel() > 1 and not bool((times[1:] > times[:-1]).all()):
        raise InputError("sdeint: t must be strictly increasing; sort it and drop repeats (torch.unique does both).")
    if bool(times[0] < start):
        raise InputError(
            f"sdeint: the first time {float(times[0])} is before t0={float(start)}; SDEs are only integrated "
            f"forwards, so all times must be >= t0."
        )
    if cfg.adjoint and not isinstance(sde, nn.Module):
        raise InputError(
            f"solver.adjoint=True needs sde to be an nn.Module so the adjoint pass knows which parameters to "
            f"differentiate; got {type(sde).__name__}. Subclass SDEFunction, or set adjoint=False."
        )
    sde = _typed_sde(sde, cfg)
    if bm is not None and seed is not None:
        raise InputError("sdeint: pass either bm or seed, not both (the seed only feeds the default Brownian motion).")

    prepend = bool(times[0] > start)  # torchsde starts at ts[0]: add t0 in front and drop it afterwards
    ts = torch.cat([start.reshape(1), times]) if prepend else times
    if ts.numel() == 1:  # nothing to integrate
        return y0.unsqueeze(0).clone()
    if bm is None:
        bm = torchsde.BrownianInterval(
            t0=float(ts[0]),
            t1=float(ts[-1]),
            size=(y0.shape[0], _noise_channels(sde, ts[0], y0)),
            dtype=y0.dtype,
            device=y0.device,
            entropy=_entropy(seed),
            # The step-size hint lets the interval tree be laid out for queries every dt; without it (as
            # when torchsde builds the default itself) we measured 2-80x slower solves (4000 paths, dt 1e-3-1e-2).
            dt=cfg.dt,
            levy_area_approximation=_LEVY_AREA.get(cfg.method, "none"),
        )
    else:
        have = getattr(bm, "levy_area_approximation", None)
        if cfg.method in _LEVY_AREA_OK and have is not None and have not in _LEVY_AREA_OK[cfg.method]:
            raise InputError(
                f"sdeint: method {cfg.method!r} needs a Brownian motion with levy_area_approximation in "
                f"{_LEVY_AREA_OK[cfg.method]}, but bm has {have!r}; build it with "
                f"levy_area_approximation={_LEVY_AREA[cfg.method]!r} or leave bm=None."
            )
    kwargs = dict(bm=bm, method=cfg.method, dt=cfg.dt)
    if cfg.adjoint:
        ys = torchsde.sdeint_adjoint(sde, y0, ts, **kwargs)
    else:
        ys = torchsde.sdeint(sde, y0, ts, **kwargs)
    return ys[1:] if prepend else ys


def _typed_sde(sde: Any, cfg: SDESolverConfig) -> Any:
    if not (hasattr(sde, "f") and hasattr(sde, "g")):
        raise InputError(
            f"sde must have methods f(t, y) (drift) and g(t, y) (diffusion); {type(sde).__name__} lacks "
            f"{'f' if not hasattr(sde, 'f') else 'g'}. Subclass odevideo.solvers.SDEFunction."
        )
    noise_type = getattr(sde, "noise_type", None)
    sde_type = getattr(sde, "sde_type", None)
    for name, have, want in (("noise_type", noise_type, cfg.noise_type), ("sde_type", sde_type, cfg.sde_type)):
        if have is not None and have != want:
            # Two sources disagree about how to read the equation: refuse to pick one.
            raise InputError(
                f"the SDE has {name}={have!r} but the solver config says {want!r}; set solver {name}={have!r} "
                f"(and a method that supports it) or change the SDE."
            )
    if noise_type is None or sde_type is None:
        return _TypedSDE(sde, cfg.noise_type, cfg.sde_type)
    return sde


def _noise_channels(sde: Any, t0: Tensor, y0: Tensor) -> int:
    """Number ``M`` of Brownian channels: ``D`` for diagonal noise, 1 for scalar, else from ``g``'s shape."""
    if sde.noise_type == "diagonal":
        return y0.shape[1]
    if sde.noise_type == "scalar":
        return 1
    with torch.no_grad():
        g = sde.g(t0, y0)
    if g.dim() != 3:
        raise InputError(
            f"for noise_type={sde.noise_type!r}, g(t, y) must be (B, D, M), got shape {tuple(g.shape)}."
        )
    return g.shape[-1]


def _entropy(seed: int | torch.Generator | None) -> int:
    if isinstance(seed, torch.Generator):
        return int(torch.randint(0, 2**62, (), generator=seed, device=seed.device))
    if seed is None:
        # Not numpy's global RNG (torchsde's default): torch.manual_seed should be enough for repeatability.
        return int(torch.randint(0, 2**62, ()))
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InputError(f"seed must be a non-negative int or a torch.Generator, got {seed!r}.")
    return seed
