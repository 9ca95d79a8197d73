"""Frames at any frame rate (Vid-ODE, Park et al. AAAI 2021, figure 1).

Figure 1: "Generating video frames in diverse time intervals based on a 5 FPS video. (Top row: Input to
Vid-ODE. Remaining rows: Videos in various FPS between the start frame and the end frame.)". From the first
``num_observed`` frames, ``factor - 1`` frames are added evenly inside every input gap (``factor`` x the frame
rate between the first and the last input) and optionally ``future`` frames after the last input at the same
spacing (the mean input gap / ``factor``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from odevideo.errors import InputError
from odevideo.methods.vid_ode.protocols.common import Model, check_clips, check_int, check_model, predict

__all__ = ["FrameRateOutput", "arbitrary_frame_rate"]


@dataclass
class FrameRateOutput:
    """Frames of :func:`arbitrary_frame_rate`.

    Attributes:
        frames: ``(B, Q, C, H, W)`` generated frames; ``times`` ``(B, Q)`` their times.
        input_frames: ``(B, n, C, H, W)`` the observed frames; ``input_times`` ``(B, n)``.
        at_input: ``(B, Q)`` bool, True where a generated time is an input time (reconstructions).
        factor, future: the arguments.
    """

    frames: Tensor
    times: Tensor
    input_frames: Tensor
    input_times: Tensor
    at_input: Tensor
    factor: int
    future: int

    def summary(self) -> dict:
        """JSON-able description (times and shapes, no pixels)."""
        return {
            "experiment": "arbitrary_frame_rate", "figure": "Park et al. 2021, figure 1",
            "factor": self.factor, "future": self.future, "num_observed": int(self.input_times.shape[1]),
            "input_times": self.input_times.tolist(), "times": self.times.tolist(),
            "at_input": self.at_input.tolist(), "frame_shape": list(self.frames.shape[2:]),
        }


def arbitrary_frame_rate(
    model: Model,
    frames: Tensor,
    times: Tensor,
    *,
    num_observed: int = 5,
    factor: int = 2,
    future: int = 0,
    batch_size: int = 8,
) -> FrameRateOutput:
    """Figure 1: ``factor`` x the frame rate over the span of the first ``num_observed`` frames (plus ``future``).

    ``frames`` ``(B, T, C, H, W)`` or one clip ``(T, C, H, W)``, ``times`` ``(B, T)`` or ``(T,)``; only the first
    ``num_observed`` frames are given to the model. Query times: ``t_i + j / factor * (t_{i+1} - t_i)`` for every
    input gap ``i`` and ``j = 0 .. factor - 1``, then the last input time, then ``future`` frames after it spaced
    by (mean input gap) / ``factor``. ``factor=1`` reconstructs the inputs.
    """
    check_model(model)
    frames, times = check_clips(frames, times)
    n = check_int(num_observed, "num_observed", 2)
    if n > frames.shape[1]:
        raise InputError(f"num_observed={n} exceeds the clip length {frames.shape[1]}; lower it.")
    k = check_int(factor, "factor", 1)
    fut = check_int(future, "future", 0)
    bs = check_int(batch_size, "batch_size", 1)
    ctx, ctx_t = frames[:, :n], times[:, :n]
    frac = torch.arange(k, dtype=torch.float64) / k
    gaps = ctx_t[:, 1:] - ctx_t[:, :-1]  # (B, n-1)
    inside = (ctx_t[:, :-1, None] + frac * gaps[:, :, None]).flatten(1)
    step = (gaps.mean(1) / k)[:, None]
    after = ctx_t[:, -1:] + step * torch.arange(1, fut + 1, dtype=torch.float64)
    query = torch.cat([inside, ctx_t[:, -1:], after], dim=1)
    at_input = torch.zeros(query.shape, dtype=torch.bool)
    at_input[:, : (n - 1) * k + 1 : k] = True
    out = predict(model, ctx, ctx_t, None, query, bs)
    return FrameRateOutput(
        frames=out, times=query, input_frames=ctx.detach().float().cpu(), input_times=ctx_t.clone(),
        at_input=at_input, factor=k, future=fut,
    )
