"""What every continuous-time video model shares: input checks and the prediction object.

The time-aware API: ``model(frames, times, mask, query_times)`` returns a :class:`VideoPrediction`
with frames at *any* real-valued query times: at or between the observed times (reconstruction,
interpolation), after them (extrapolation) or before them (backwards in time).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from odevideo.errors import InputError


@dataclass
class VideoPrediction:
    """Output of a model.

    Attributes:
        frames: ``(B, Q, C, H, W)`` predicted frames in [0, 1] at ``query_times``.
        logits: ``(B, Q, C, H, W)`` pre-sigmoid outputs (what the likelihood is computed from).
        latents: ``(B, Q, D)`` latent trajectory at ``query_times``.
        query_times: ``(B, Q)`` the times the prediction is for (time units of the input).
        posterior_mean / posterior_logvar: ``(B, D)`` q(z0 | context) for variational models, else None.
        nfe: dynamics evaluations spent in the forward solve.
    """

    frames: Tensor
    logits: Tensor
    latents: Tensor
    query_times: Tensor
    posterior_mean: Tensor | None = None
    posterior_logvar: Tensor | None = None
    nfe: int = 0


def check_inputs(
    frames: Tensor, times: Tensor, mask: Tensor | None, query_times: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    """Validate the model inputs; returns ``(times, mask, query_times)`` with defaults filled in.

    ``frames`` ``(B, T, C, H, W)``; ``times`` ``(B, T)`` or ``(T,)`` strictly increasing;
    ``mask`` ``(B, T)`` bool or None (all observed); ``query_times`` ``(B, Q)`` or ``(Q,)`` finite, any order.
    """
    if frames.dim() != 5:
        raise InputError(f"frames must have shape (B, T, C, H, W), got {tuple(frames.shape)}; add the batch/time axes")
    b, t = frames.shape[:2]
    if times.dim() == 1:
        times = times.unsqueeze(0).expand(b, -1)
    if times.shape != (b, t):
        raise InputError(f"times must have shape (B, T)=({b}, {t}) to match frames, got {tuple(times.shape)}")
    if not torch.isfinite(times).all():
        raise InputError("times contain NaN or infinity; give every frame a finite time")
    if t > 1 and not (times[:, 1:] > times[:, :-1]).all():
        raise InputError(
            "times must be strictly increasing within each clip; sort the frames by time and drop duplicates"
        )
    if mask is None:
        mask = torch.ones(b, t, dtype=torch.bool, device=frames.device)
    if mask.shape != (b, t) or mask.dtype != torch.bool:
        raise InputError(f"mask must be a bool tensor of shape (B, T)=({b}, {t}), got {mask.dtype} {tuple(mask.shape)}")
    if not mask.any(dim=1).all():
        raise InputError("every clip needs at least one observed frame (mask has an all-False row)")
    if query_times.dim() == 1:
        query_times = query_times.unsqueeze(0).expand(b, -1)
    if query_times.dim() != 2 or query_times.shape[0] != b:
        raise InputError(f"query_times must have shape (B, Q) or (Q,), got {tuple(query_times.shape)}")
    if not torch.isfinite(query_times).all():
        raise InputError("query_times contain NaN or infinity; ask for finite times")
    return times.to(frames.dtype), mask, query_times.to(frames.dtype)


def first_observed_index(mask: Tensor) -> Tensor:
    """``(B,)`` index of the first True entry of each row of ``mask`` ``(B, T)``."""
    t = mask.shape[1]
    ar = torch.arange(t, device=mask.device).expand_as(mask)
    return torch.where(mask, ar, t).min(dim=1).values


def last_observed_index(mask: Tensor) -> Tensor:
    """``(B,)`` index of the last True entry of each row of ``mask`` ``(B, T)``."""
    ar = torch.arange(mask.shape[1], device=mask.device).expand_as(mask)
    return torch.where(mask, ar, -1).max(dim=1).values


def gather_time(x: Tensor, index: Tensor) -> Tensor:
    """Pick ``x[b, index[b]]`` for every b; ``x`` ``(B, T, ...)``, ``index`` ``(B,)`` -> ``(B, ...)``."""
    return x[torch.arange(x.shape[0], device=x.device), index]


class ContinuousTimeVideoModel(nn.Module):
    """Base of the latent-ODE model families: shared helpers for solving and decoding."""

    def predict_frames(self, frames: Tensor, times: Tensor, query_times: Tensor, mask: Tensor | None = None) -> Tensor:
        """Convenience: ``(B, Q, C, H, W)`` frames at ``query_times`` in eval mode without gradients."""
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                return self(frames, times, mask, query_times).frames
        finally:
            self.train(was_training)
