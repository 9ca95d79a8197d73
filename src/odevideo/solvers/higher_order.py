"""Higher-order ODEs ``x^(k) = f(t, x, x', ..., x^(k-1))`` as first-order systems.

The state of order ``k`` concatenates ``x`` and its first ``k - 1`` derivatives on the last dimension:
``state = cat([x, x', ..., x^(k-1)], dim=-1)``, shape ``(..., k * D)`` for ``x`` of shape ``(..., D)``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from odevideo.errors import InputError


def _check_order(order: int) -> int:
    if isinstance(order, bool) or not isinstance(order, int) or order < 1:
        raise InputError(f"order must be an integer >= 1 (1 = first-order ODE), got {order!r}.")
    return order


def split_state(state: Tensor, order: int) -> tuple[Tensor, ...]:
    """``(..., order * D)`` -> ``(x, x', ..., x^(order-1))``, each ``(..., D)`` (views, no copies)."""
    _check_order(order)
    if state.dim() == 0 or state.shape[-1] % order != 0:
        raise InputError(
            f"a state of order {order} must have a last dimension divisible by {order}, got shape "
            f"{tuple(state.shape)}; build it with initial_state(x0, ..., order={order})."
        )
    return state.split(state.shape[-1] // order, dim=-1)


def initial_state(x0: Tensor, *derivs: Tensor | None, order: int | None = None) -> Tensor:
    """``cat([x0, x0', ..., x0^(order-1)], dim=-1)``: ``(..., D)`` each -> ``(..., order * D)``.

    ``order`` defaults to ``1 + len(derivs)``; derivatives not given (or given as ``None``) are zeros.
    """
    order = 1 + len(derivs) if order is None else _check_order(order)
    if len(derivs) > order - 1:
        raise InputError(
            f"an order-{order} state holds x and {order - 1} derivative(s), got {len(derivs)} derivatives."
        )
    parts = [x0]
    for i in range(1, order):
        d = derivs[i - 1] if i - 1 < len(derivs) else None
        if d is None:
            d = torch.zeros_like(x0)
        elif d.shape != x0.shape:
            raise InputError(
                f"derivative {i} has shape {tuple(d.shape)} but x0 has {tuple(x0.shape)}; they must match."
            )
        parts.append(d)
    return torch.cat(parts, dim=-1)


class HigherOrderODEFunc(nn.Module):
    """First-order form ``d/dt [x, ..., x^(k-1)] = [x', ..., x^(k-1), f(t, x, ..., x^(k-1))]``.

    Args:
        f: ``f(t, x, x', ..., x^(order-1)) -> x^(order)``; each argument ``(..., D)``, result ``(..., D)``;
            ``t`` a 0-dim tensor in time units. An ``nn.Module`` is registered as a submodule.
        order: ``k >= 1``; ``order=1`` is just ``f(t, x)``.

    Usable directly as ``func`` for :func:`odevideo.solvers.odeint` on states built by :func:`initial_state`.
    """

    def __init__(self, f: Callable[..., Tensor], order: int):
        super().__init__()
        self.f = f
        self.order = _check_order(order)

    def forward(self, t: Tensor, state: Tensor) -> Tensor:
        parts = split_state(state, self.order)
        top = self.f(t, *parts)
        return torch.cat([*parts[1:], top], dim=-1)

    def extra_repr(self) -> str:
        return f"order={self.order}"
