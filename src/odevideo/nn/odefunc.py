"""Dynamics networks f(t, z) for latent ODEs."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class MLPODEFunc(nn.Module):
    """Autonomous MLP dynamics ``dz/dt = f(z)`` on latent vectors ``(..., dim)``.

    ``time_dependent=True`` appends ``t`` to the input (the time unit is the caller's). ``in_dim`` (default
    ``dim``) sets another input width, e.g. for a second-order field ``f(x, x') -> x''`` on ``cat(x, x')``. The last
    layer starts at zero, so the initial flow is the identity map: training starts from "nothing
    moves" instead of from random dynamics that may be stiff.
    """

    def __init__(self, dim: int, hidden: int = 128, layers: int = 2, time_dependent: bool = False,
                 in_dim: int | None = None):
        super().__init__()
        self.time_dependent = time_dependent
        mods: list[nn.Module] = []
        prev = (dim if in_dim is None else in_dim) + (1 if time_dependent else 0)
        for _ in range(layers):
            mods += [nn.Linear(prev, hidden), nn.Tanh()]
            prev = hidden
        last = nn.Linear(prev, dim)
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
        mods.append(last)
        self.net = nn.Sequential(*mods)

    def forward(self, t: Tensor, z: Tensor) -> Tensor:
        if self.time_dependent:
            tt = t.to(z.dtype).expand(*z.shape[:-1], 1)
            return self.net(torch.cat([z, tt], dim=-1))
        return self.net(z)
