"""Training / evaluation task formulations: what the model sees and what it must produce.

* ``reconstruction`` (Kanaa et al.'s training formulation): observe the first ``num_observed``
  frames and reconstruct exactly those frames.
* ``prediction`` (the usual video-prediction formulation): observe the first ``num_observed`` frames
  and produce every frame of the clip (reconstruction of the context plus extrapolation).

Frames already masked out in the batch (irregular sampling) are neither shown to the model nor
scored as targets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from torch import Tensor

from odevideo.data import ClipBatch
from odevideo.errors import InputError

Formulation = Literal["reconstruction", "prediction", "extrapolation", "interpolation"]
FORMULATIONS = ("reconstruction", "prediction", "extrapolation", "interpolation")


@dataclass
class TaskConfig:
    """Which frames a training step shows the model and which it must produce."""

    # reconstruction: rebuild the observed frames; prediction: the whole clip from its first frames;
    # extrapolation: only the frames after the observed ones; interpolation: observe every
    # ``interp_stride``-th frame and rebuild those (Vid-ODE's interpolation training), scored in between.
    formulation: Formulation = "prediction"
    num_observed: int = 10
    interp_stride: int = 2


@dataclass
class Task:
    """One batch of work: context ``(B, Tc, ...)``, query times ``(B, Q)``, targets ``(B, Q, C, H, W)``.

    ``target_mask`` ``(B, Q)`` says which targets exist (count in the loss and metrics).
    ``noise`` (optional, ``(B, D)``): standard-normal draws that stochastic losses use instead of drawing
    their own (the latent-ODE VAE's z0 reparameterisation noise); the training loop draws them for the
    whole global batch so that a sharded step uses the same noise as an unsharded one.
    """

    context_frames: Tensor
    context_times: Tensor
    context_mask: Tensor
    query_times: Tensor
    targets: Tensor
    target_mask: Tensor
    noise: Tensor | None = None


def make_task(batch: ClipBatch, formulation: Formulation, num_observed: int, stride: int = 1) -> Task:
    """The :class:`Task` of ``formulation`` on ``batch`` (``stride``: interpolation only, see the module doc)."""
    t = batch.frames.shape[1]
    if formulation not in FORMULATIONS:
        raise InputError(f"unknown task formulation {formulation!r}; use one of {', '.join(FORMULATIONS)}")
    stride = stride if formulation == "interpolation" else 1
    if stride < 1:
        raise InputError(f"the interpolation stride must be >= 1, got {stride}")
    if not 1 <= num_observed or (num_observed - 1) * stride + 1 > t:
        raise InputError(
            f"num_observed={num_observed} frames every {stride} frame(s) need {(num_observed - 1) * stride + 1} "
            f"frames but the clips have {t}; lower task.num_observed or raise data.num_frames"
        )
    if formulation == "extrapolation" and num_observed >= t:
        raise InputError(f"extrapolation needs frames after the {num_observed} observed ones; the clips have {t}")
    ctx = slice(0, (num_observed - 1) * stride + 1, stride)
    context_mask = batch.mask[:, ctx]
    if not context_mask.any(dim=1).all():
        raise InputError(
            "a clip has no observed frame among its context frames; lower the drop rate or keep the first frame"
        )
    if formulation in ("reconstruction", "interpolation"):
        q = ctx
    elif formulation == "prediction":
        q = slice(0, t)
    else:  # extrapolation
        q = slice(num_observed, t)
    return Task(
        context_frames=batch.frames[:, ctx],
        context_times=batch.times[:, ctx],
        context_mask=context_mask,
        query_times=batch.times[:, q],
        targets=batch.frames[:, q],
        target_mask=batch.mask[:, q],
    )


def masked_frame_mean(per_frame: Tensor, mask: Tensor) -> Tensor:
    """Mean of ``per_frame`` ``(B, Q)`` over the True entries of ``mask`` ``(B, Q)``."""
    m = mask.to(per_frame.dtype)
    return (per_frame * m).sum() / m.sum().clamp_min(1.0)


def validation_task(batch: ClipBatch, formulation: Formulation, num_observed: int, stride: int = 1) -> Task:
    """What validation scores (the best checkpoint): the training task, except that interpolation is scored on
    every frame of the observed span (the in-between frames are what the model is for)."""
    task = make_task(batch, formulation, num_observed, stride=stride)
    if formulation == "interpolation" and stride > 1:
        span = slice(0, (num_observed - 1) * stride + 1)
        task = Task(task.context_frames, task.context_times, task.context_mask, batch.times[:, span],
                    batch.frames[:, span], batch.mask[:, span])
    return task


def target_rows(mask: Tensor, formulation: Formulation, num_observed: int, stride: int = 1) -> Tensor:
    """The part of an observation ``mask`` ``(B, T)`` that a task of ``formulation`` scores as targets."""
    if formulation == "prediction":
        return mask
    if formulation == "extrapolation":
        return mask[:, num_observed:]
    stride = stride if formulation == "interpolation" else 1
    return mask[:, : (num_observed - 1) * stride + 1 : stride]
