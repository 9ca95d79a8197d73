"""Counting function evaluations (NFE) of an ODE right-hand side."""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor, nn


class NFECounter(nn.Module):
    """Wraps ``func(t, y)`` and counts how often the solver uses it.

    * ``nfe_forward``: calls of ``func``, wherever they happen (the adjoint method also re-evaluates
      ``func`` during the backward pass, and those calls are counted here too).
    * ``nfe_backward``: vector-Jacobian products through ``func``, i.e. how many of its outputs received
      a gradient. Counted by a hook on each output that needs grad, so it covers direct backpropagation
      through the solver and the adjoint method alike; a call whose output gets no gradient adds nothing.

    A wrapped ``nn.Module`` is registered as a submodule, so its parameters stay visible to optimisers
    and to the adjoint method. Counters are plain ints (not saved in the state dict); :meth:`reset` zeroes them.
    """

    def __init__(self, func: Callable[[Tensor, Tensor], Tensor]):
        super().__init__()
        self.func = func
        self.nfe_forward = 0
        self.nfe_backward = 0

    def forward(self, t: Tensor, y: Tensor) -> Tensor:
        self.nfe_forward += 1
        out = self.func(t, y)
        if isinstance(out, Tensor) and out.requires_grad:
            out.register_hook(self._count_backward)
        return out

    def _count_backward(self, grad: Tensor) -> None:
        self.nfe_backward += 1

    def reset(self) -> None:
        """Sets both counters to zero."""
        self.nfe_forward = 0
        self.nfe_backward = 0

    def extra_repr(self) -> str:
        return f"nfe_forward={self.nfe_forward}, nfe_backward={self.nfe_backward}"
