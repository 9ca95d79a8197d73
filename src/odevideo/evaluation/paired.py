"""Paired comparison of two methods scored on the same windows (clips).

Two methods evaluated on the same held-out windows are compared through the per-window differences
``d_i = a_i - b_i`` (``a_i``, ``b_i``: each method's score on window ``i``, e.g. its PSNR averaged over the
window's scored frames): their mean and the standard error of that mean, ``s_d / sqrt(n)`` with ``s_d`` the sample
standard deviation (``n - 1`` in the denominator). Pairing removes the variation between windows that both
methods share (an easy window is easy for both), so a difference is resolved with far fewer windows than
comparing the two means with their own standard errors. ``mean +- 2 se`` is a rough 95% interval when the
windows are independent; windows cut from one video are correlated, so read it as a lower bound on the
uncertainty there.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import torch

from odevideo.errors import InputError

__all__ = ["PairedDifference", "paired_difference"]


class PairedDifference(NamedTuple):
    """``mean`` of ``a - b`` over the windows, its standard error ``se`` (NaN with fewer than two windows) and the
    number ``n`` of windows (pairs where both scores are finite)."""

    mean: float
    se: float
    n: int

    def as_dict(self) -> dict:
        """JSON-able: ``{"mean", "se", "n"}`` with ``None`` for a value that is not finite."""
        return {"mean": self.mean if math.isfinite(self.mean) else None,
                "se": self.se if math.isfinite(self.se) else None, "n": self.n}


def paired_difference(a: Sequence[float] | torch.Tensor, b: Sequence[float] | torch.Tensor) -> PairedDifference:
    """Mean and standard error of the per-window differences ``a - b`` (see the module docstring).

    ``a``, ``b``: one score per window, same length and order. Windows where either score is NaN or infinite
    are left out (``n`` counts the others); with none left the mean is NaN, with one the standard error is NaN.
    """
    x = torch.as_tensor(a, dtype=torch.float64).reshape(-1) if not isinstance(a, torch.Tensor) else a
    y = torch.as_tensor(b, dtype=torch.float64).reshape(-1) if not isinstance(b, torch.Tensor) else b
    x, y = x.detach().double().cpu(), y.detach().double().cpu()
    if x.dim() != 1 or x.shape != y.shape:
        raise InputError(f"paired_difference needs two 1-D score lists of one length (one score per window), got "
                         f"shapes {tuple(x.shape)} and {tuple(y.shape)}")
    keep = torch.isfinite(x) & torch.isfinite(y)
    d = (x - y)[keep]
    n = int(d.numel())
    if n == 0:
        return PairedDifference(math.nan, math.nan, 0)
    mean = float(d.mean())
    se = float(d.std(correction=1) / math.sqrt(n)) if n > 1 else math.nan
    return PairedDifference(mean, se, n)
