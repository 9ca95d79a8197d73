"""Recurrent encoders over irregularly sampled, masked sequences."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class BackwardGRUEncoder(nn.Module):
    """Runs a GRU over a sequence *backwards in time* and returns its final state.

    Inputs ``x`` ``(B, T, D)``, ``times`` ``(B, T)`` (increasing, time units) and ``mask`` ``(B, T)``
    (True = observed). Each step also sees the time gap to the previously processed (later) observation
    and the mask bit. Unobserved steps leave the hidden state unchanged, so the result summarises only
    the observed frames, and it refers to the time of the *earliest* observed frame of each clip.
    Returns ``(B, hidden)``.
    """

    def __init__(self, input_dim: int, hidden: int):
        super().__init__()
        self.hidden = hidden
        self.cell = nn.GRUCell(input_dim + 2, hidden)

    def forward(self, x: Tensor, times: Tensor, mask: Tensor) -> Tensor:
        b, t, _ = x.shape
        h = x.new_zeros(b, self.hidden)
        next_time = times[:, -1].clone()
        maskf = mask.to(x.dtype)
        for i in range(t - 1, -1, -1):
            gap = (next_time - times[:, i]).unsqueeze(-1).to(x.dtype)
            m = maskf[:, i : i + 1]
            h_new = self.cell(torch.cat([x[:, i], gap, m], dim=-1), h)
            h = m * h_new + (1 - m) * h
            next_time = torch.where(mask[:, i], times[:, i], next_time)
        return h
