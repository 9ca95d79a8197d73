"""Config of :class:`~odevideo.methods.frame_interp.ODEFlowInterpolator` (exactly its constructor's arguments,
less the frame channels the data fixes) and of its training loss."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from odevideo.solvers import SolverConfig


def _rk4() -> SolverConfig:
    return SolverConfig(method="rk4", step_size=0.25)


@dataclass
class ODEFlowInterpConfig:
    """The interpolator's networks and its classical starting point."""

    # the classical interpolation the model starts from (its output at initialisation): DIS optical flow
    # (needs OpenCV), DIS flow with the blend where the unmoved frames agree better than the warps, or the
    # linear blend (zero starting flow)
    start: Literal["dis_flow", "dis_flow_or_blend", "linear_blend"] = "dis_flow"
    dis_preset: Literal["ultrafast", "fast", "medium"] = "medium"
    # DIS's finest pyramid level: 0 = the frames' own resolution (small frames), None = the preset's (half
    # resolution for medium, right for video-sized frames)
    dis_finest_scale: int | None = None
    # how the start warps the frames: bilinear (the classical DIS-flow interpolation) or bicubic (sharper on
    # small frames); the model learns where the other sampling, or the plain blend, does better
    sampling: Literal["bilinear", "bicubic"] = "bilinear"
    work_size: int = 64  # the networks run at most at this size (longer side, px); outputs applied at full size
    work_scale: float = 1.0  # ... and at this fraction of the frames' size (full-resolution models: 0.25)
    channels: int = 32  # feature channels at the working size (x1.5 and x2 at the two coarser levels)
    solver: SolverConfig = field(default_factory=_rk4)  # the latent ODE over the gap, in fractions of the gap


@dataclass
class FrameInterpLossConfig:
    """Training: per step one gap ``g`` from ``gaps`` (frames between two observations); the window's frames
    0 and ``g`` are observed and the ``g - 1`` frames between them are the targets (Charbonnier L1)."""

    gaps: list[int] = field(default_factory=lambda: [2, 3, 4])
    charbonnier_eps: float = 1e-3
