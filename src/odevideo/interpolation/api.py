"""One interface for every interpolator (see the package docstring)."""

from __future__ import annotations

import os
from typing import Protocol

import torch
from torch import Tensor

from odevideo.errors import InputError
from odevideo.interpolation.classical import CLASSICAL, FLOW_MIXERS, dis_flow


class Interpolator(Protocol):
    def interpolate(self, frame0: Tensor, frame1: Tensor, taus: Tensor) -> Tensor:
        """``(C, H, W)``, ``(C, H, W)``, ``(K,)`` -> ``(K, C, H, W)``."""
        ...


def _check(frame0: Tensor, frame1: Tensor, taus: Tensor) -> Tensor:
    if frame0.dim() != 3 or frame0.shape != frame1.shape:
        raise InputError(f"interpolate expects two (C, H, W) frames of one shape, got {tuple(frame0.shape)} and "
                         f"{tuple(frame1.shape)}")
    taus = torch.as_tensor(taus, dtype=frame0.dtype, device=frame0.device).reshape(-1)
    if not bool(torch.isfinite(taus).all()) or bool((taus < 0).any()) or bool((taus > 1).any()):
        raise InputError(f"taus must lie in [0, 1] (fractions of the gap), got {taus.tolist()}")
    return taus


class ClassicalInterpolator:
    """A training-free interpolator of :data:`~odevideo.interpolation.classical.CLASSICAL` by name."""

    def __init__(self, name: str):
        if name not in CLASSICAL:
            raise InputError(f"unknown classical interpolator {name!r}; use one of {', '.join(CLASSICAL)}")
        self.name = name
        self._fn = CLASSICAL[name]

    @torch.no_grad()
    def interpolate(self, frame0: Tensor, frame1: Tensor, taus: Tensor) -> Tensor:
        taus = _check(frame0, frame1, taus)
        k = taus.shape[0]
        if k == 0:
            return frame0.new_zeros((0, *frame0.shape))
        mixer = FLOW_MIXERS.get(self.name)
        if mixer is not None:  # one flow estimate serves every query time of the gap
            f01, f10 = dis_flow(frame0[None], frame1[None])
            return mixer(frame0.expand(k, *frame0.shape), frame1.expand(k, *frame1.shape), taus,
                         f01.expand(k, -1, -1, -1), f10.expand(k, -1, -1, -1))
        return self._fn(frame0.expand(k, *frame0.shape), frame1.expand(k, *frame1.shape), taus)

    def __repr__(self) -> str:
        return f"ClassicalInterpolator({self.name!r})"


def load_interpolator(source: str | os.PathLike[str], device: str | torch.device = "cpu") -> Interpolator:
    """A classical interpolator by name (``repeat_previous``, ``linear_blend``, ``dis_flow``,
    ``dis_flow_or_blend``), a pretrained model by name, a saved model folder or a training run (its ``model/``
    folder). A learned model must provide ``interpolate`` (the frame-interpolation methods do)."""
    s = os.fspath(source)
    if s in CLASSICAL:
        return ClassicalInterpolator(s)
    from odevideo.pretrained import load_model

    model = load_model(s, device=device)
    if not hasattr(model, "interpolate"):
        raise InputError(f"{s} holds a {type(model).__name__}, which does not interpolate between two frames; use a "
                         f"frame-interpolation model (method ode_flow_interp) or one of {', '.join(CLASSICAL)}")
    model.eval()
    return model
