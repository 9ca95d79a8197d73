"""Frames at unseen time steps (Vid-ODE, Park et al. AAAI 2021, figure 8), scored against pixel baselines.

Section 4.4: "While Vid-ODE is successfully inferring video frames at unseen timesteps (t = 2.25, t = 2.5,
t = 2.75) [...], Vid-RNN generates unrealistic video frames due to simply blending two adjacent latent
representations". The models observe every ``stride``-th frame (``0, s, 2s, ..``) and are scored on all the
frames in between, which they never saw; each target's offset ``(i mod s) / s`` within its gap is reported
separately (``stride=2``: the 0.5 points of section 4.1's interpolation protocol; ``stride=4``: 0.25 / 0.5 /
0.75, the quantitative analogue of figure 8's 2.25 / 2.5 / 2.75). Two pixel baselines come along: the linear
blend of the two neighbouring observations and a copy of the previous observation.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor

from odevideo.errors import InputError
from odevideo.methods.vid_ode.protocols.common import Model, check_clips, check_int, check_lpips, check_models
from odevideo.methods.vid_ode.protocols.scores import (
    METRIC_CONVENTIONS,
    InputsAndTargets,
    Scores,
    frame_scores,
    paired_with_first,
    per_target,
    summarise,
)
from odevideo.metrics import LPIPS

__all__ = ["BASELINES", "unseen_timestep_interpolation"]

BASELINES = ("linear_blend", "copy_previous_observed")


def unseen_timestep_interpolation(
    models: Mapping[str, Model] | Model,
    frames: Tensor,
    times: Tensor,
    *,
    stride: int = 2,
    num_observed: int | None = None,
    lpips: LPIPS | None = None,
    batch_size: int = 8,
    baselines: bool = True,
) -> dict:
    """Figure 8: observe every ``stride``-th frame, score every frame in between (times the models never saw).

    Args:
        models: ``{name: model}`` (e.g. ``{"Vid-ODE": vid_ode, "Vid-RNN": vid_rnn}``) or one model.
        frames: ``(N, T, C, H, W)`` clips; ``times`` ``(N, T)`` or ``(T,)``.
        stride: observe frames ``0, stride, 2 stride, ..``; targets are at offsets ``k / stride`` of the gaps.
        num_observed: observed frames (default: as many as fit in the clip, at least 2).
        lpips: an :class:`~odevideo.metrics.LPIPS` with weights, or None.
        batch_size: clips per model call.
        baselines: also score the linear blend of the two neighbouring observations and a copy of the
            previous observation (names ``linear_blend`` and ``copy_previous_observed``).

    Returns:
        JSON-able dict: the protocol, ``observed_indices``, ``target_indices``, ``target_offsets`` and for
        every model (``models``) and baseline (``baselines``): ``overall`` metrics, ``per_offset``
        (``{"0.5": {...}}``) and ``per_target`` curves; ``paired_with_first_model``: every other model and
        baseline against the first model on the same clips (mean per-clip difference, its standard error and the
        share of clips the first wins, per metric).
    """
    models = check_models(models)
    clash = sorted(set(models) & set(BASELINES))
    if clash and baselines:
        raise InputError(f"model names {clash} are taken by the pixel baselines; rename them or pass baselines=False.")
    frames, times = check_clips(frames, times)
    s = check_int(stride, "stride", 2)
    t = frames.shape[1]
    fit = (t - 1) // s + 1
    n = fit if num_observed is None else check_int(num_observed, "num_observed", 2)
    if n < 2 or (n - 1) * s + 1 > t:
        raise InputError(
            f"observing {n} frames every {s} frames needs {(n - 1) * s + 1} frames and at least 2 observations, the "
            f"clips have {t}; lower stride/num_observed or pass longer clips."
        )
    bs = check_int(batch_size, "batch_size", 1)
    lpips = check_lpips(lpips, frames)
    obs = list(range(0, (n - 1) * s + 1, s))
    tgt_idx = [i for i in range(obs[-1]) if i % s]
    offsets = [(i % s) / s for i in tgt_idx]
    groups: dict[str, list[int]] = {}
    for col, off in enumerate(offsets):
        groups.setdefault(f"{off:g}", []).append(col)
    clips = InputsAndTargets.cut(frames, times, obs, tgt_idx)

    def report(scores: Scores) -> dict:
        return {
            "overall": summarise(scores),
            "per_offset": {k: summarise(scores, cols) for k, cols in groups.items()},
            "per_target": per_target(scores),
        }

    result: dict = {
        "experiment": "unseen_timestep_interpolation", "figure": "Park et al. 2021, figure 8",
        "protocol": (
            f"observe clip frames {obs} (every {s}th), predict and score the unobserved frames {tgt_idx} in "
            f"between, at offsets {sorted(set(offsets))} of their gaps"
        ),
        "num_clips": int(frames.shape[0]), "stride": s, "observed_indices": obs, "target_indices": tgt_idx,
        "target_offsets": offsets, "metric_conventions": METRIC_CONVENTIONS, "models": {}, "baselines": {},
    }
    scored: dict[str, Scores] = {}
    for name, m in models.items():
        scored[name] = clips.score(m, None, lpips, bs)
        result["models"][name] = report(scored[name])
    if baselines:
        lo = torch.tensor([i - i % s for i in tgt_idx])
        alpha = torch.tensor(offsets, dtype=frames.dtype).view(1, -1, 1, 1, 1)
        prev, nxt = frames[:, lo].cpu(), frames[:, lo + s].cpu()
        blend = (1 - alpha) * prev + alpha * nxt
        for name, pred in zip(BASELINES, (blend, prev)):
            scored[name] = frame_scores(pred, clips.target, lpips)
            result["baselines"][name] = report(scored[name])
    first = next(iter(models))
    result["paired_with_first_model"] = paired_with_first(first, scored)
    return result
