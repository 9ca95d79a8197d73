"""Convolutional LSTM cell (Shi et al., 2015) without peepholes: TGANv2's temporal generator (Saito et al., 2020).

``forward(x (N, in_ch, h, w), state=None) -> (h', c')``, both ``(N, hidden_ch, h, w)``:

    i, f, o = sigmoid(conv_x(x) + conv_h(h)) (three chunks),  g = tanh(...) (the fourth)
    c' = f * c + i * g,   h' = o * tanh(c')

``state=None`` starts from ``h = c = 0``. The input convolution has a bias, the hidden one none (one bias per
gate is enough).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from odevideo.errors import InputError

__all__ = ["ConvLSTMCell"]


class ConvLSTMCell(nn.Module):
    """One ConvLSTM step; gates from ``kernel x kernel`` convolutions of the input and of the hidden map."""

    def __init__(self, in_ch: int, hidden_ch: int, kernel: int = 3):
        super().__init__()
        for name, value in (("in_ch", in_ch), ("hidden_ch", hidden_ch)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError(f"ConvLSTMCell: {name} must be a positive integer, got {value!r}.")
        if isinstance(kernel, bool) or not isinstance(kernel, int) or kernel < 1 or kernel % 2 == 0:
            raise InputError(
                f"ConvLSTMCell: kernel must be a positive odd integer (3 keeps the map size), got {kernel!r}."
            )
        self.in_ch, self.hidden_ch = in_ch, hidden_ch
        self.conv_x = nn.Conv2d(in_ch, 4 * hidden_ch, kernel, padding=kernel // 2)
        self.conv_h = nn.Conv2d(hidden_ch, 4 * hidden_ch, kernel, padding=kernel // 2, bias=False)

    def forward(self, x: Tensor, state: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        if not isinstance(x, Tensor) or x.dim() != 4 or x.shape[1] != self.in_ch:
            got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise InputError(f"ConvLSTMCell: x must be (N, {self.in_ch}, h, w), got {got}.")
        gates = self.conv_x(x)
        if state is not None:
            h, c = state
            gates = gates + self.conv_h(h)
        i, f, o, g = gates.chunk(4, dim=1)
        i, f, o, g = torch.sigmoid(i), torch.sigmoid(f), torch.sigmoid(o), torch.tanh(g)
        c_new = i * g if state is None else f * state[1] + i * g
        return o * torch.tanh(c_new), c_new
