"""Integrate ODEs and SDEs (layer 2; knows nothing about video).

Conventions: ``func(t, y) -> dy/dt`` with ``t`` a 0-dim tensor in time units (torchdiffeq's);
states keep their own shape; outputs put time first (``(T, *y0.shape)``), except the per-sample
:func:`odeint_batch`, which returns ``(B, T, ...)``.

* :class:`SolverConfig` / :class:`SDESolverConfig`: frozen, validated settings of plain values
  (``SolverConfig.from_dict(d)`` and ``.to_dict()`` for configs).
* :func:`odeint` ``(func, y0, t, *, t0=None, solver=None)``: query times in any order, repeated, or before
  ``t0`` (solved backwards); answers in the caller's order.
* :func:`odeint_batch` ``(func, y0, t, *, t0, solver=None)``: a time grid ``t[b]`` and start ``t0[b]`` per
  sample, one solve for the whole batch; ``func`` sees the time elapsed since each sample's start.
* :func:`sdeint` ``(sde, y0, t, *, t0=None, solver=None, bm=None, seed=None)``: torchsde with a Brownian
  motion built for the step size; :class:`SDEFunction` is a base class for SDEs (``f``, ``g``).
* :class:`HigherOrderODEFunc`, :func:`split_state`, :func:`initial_state`: ``x^(k) = f(t, x, ..., x^(k-1))``
  as a first-order system on ``cat([x, x', ...], dim=-1)``.
* :class:`NFECounter`: wraps ``func``; ``nfe_forward`` / ``nfe_backward`` count evaluations and
  vector-Jacobian products.

Example::

    from odevideo.solvers import SolverConfig, odeint
    ys = odeint(lambda t, y: -y, torch.ones(3), torch.tensor([0.5, 0.0, 1.0]), solver=SolverConfig("dopri5"))
    ys.shape  # (3, 3); ys[1] is y0
"""

from odevideo.solvers.config import SDESolverConfig, SolverConfig
from odevideo.solvers.counting import NFECounter
from odevideo.solvers.higher_order import HigherOrderODEFunc, initial_state, split_state
from odevideo.solvers.ode import odeint, odeint_batch
from odevideo.solvers.sde import SDEFunction, sdeint

__all__ = [
    "SolverConfig",
    "SDESolverConfig",
    "odeint",
    "odeint_batch",
    "sdeint",
    "SDEFunction",
    "HigherOrderODEFunc",
    "split_state",
    "initial_state",
    "NFECounter",
]
