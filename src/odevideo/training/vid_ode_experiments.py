"""The analysis experiments of Vid-ODE (Park et al., AAAI 2021): figures 1, 3, 6 and 8, for any model.

Every function takes already-built models that follow the odevideo model API
(``model(frames (B,T,C,H,W), times (B,T), mask (B,T) bool | None, query_times (B,Q)) -> prediction`` with
``prediction.frames`` ``(B, Q, C, H, W)`` in [0, 1]) and clip tensors, runs the models in eval mode without
gradients, and returns JSON-able dicts (or small dataclasses with a ``summary()``).
:func:`write_experiment_result` writes any of them as ``<name>.json`` plus ``<name>.png``, atomically.
The images are drawn with Pillow alone (no matplotlib needed).

Protocols (quotes from the paper; "input" = frames the model is given, "target" = frames it is scored on):

* **Sampling-rate sweep** (figure 6, section 4.3 "Irregular Video Prediction": "we measure MSE and LPIPS on
  CAM5 dataset while changing the input's sampling rate to evaluate the effect of irregularity"). Section 4.1
  fixes the inputs and targets of the two tasks: "In video interpolation, a sequence of five input frames are
  given [...]. At inference, it predicts the four intermediate frames between the input time steps. In video
  extrapolation, given a sequence of five input frames, [...] At inference, it predicts the next five frames."
  So with ``num_observed = n``:

  - ``task="extrapolation"``: inputs are clip frames ``0 .. n-1``, targets frames ``n .. n+P-1``
    (``P = num_predicted``, default all remaining frames);
  - ``task="interpolation"``: inputs are frames ``0, 2, .., 2(n-1)``, targets the ``n - 1`` frames in between
    (``1, 3, .., 2n-3``).

  At sampling rate ``r`` each clip keeps ``n - round((1 - r) n)`` of its ``n`` input frames (at least one), the
  first input frame always among them, the others dropped uniformly at random (mask False). The masks come
  from one ``torch.Generator`` seeded with ``seed`` (:func:`sweep_masks`): the same ``seed`` gives the same
  masks, hence the same numbers (the authors drew their test masks from an unseeded RNG). A clip's mask depends
  only on ``seed`` and its index (not on ``batch_size``), the masks of one clip are nested across rates (a lower
  rate drops a superset of frames), rate 1.0 is full observation, and every model of one call sees the same
  masks. The targets do not change with the rate: only the input sparsity does.

* **Unseen time steps** (figure 8, section 4.4: "While Vid-ODE is successfully inferring video frames at unseen
  timesteps (t = 2.25, t = 2.5, t = 2.75) [...], Vid-RNN generates unrealistic video frames due to simply
  blending two adjacent latent representations"). The models observe every ``stride``-th frame
  (``0, s, 2s, ..``) and are scored on all the frames in between, which they never saw; each target's offset
  ``(i mod s) / s`` within its gap is reported separately (``stride=2``: the 0.5 points of section 4.1's
  interpolation protocol; ``stride=4``: 0.25 / 0.5 / 0.75, the quantitative analogue of figure 8's
  2.25 / 2.5 / 2.75). Two pixel baselines come along: the linear blend of the two neighbouring observations and
  a copy of the previous observation.

* **Arbitrary frame rate** (figure 1: "Generating video frames in diverse time intervals based on a 5 FPS
  video. (Top row: Input to Vid-ODE. Remaining rows: Videos in various FPS between the start frame and the end
  frame.)"): from the first ``num_observed`` frames, ``factor - 1`` frames are added evenly inside every input
  gap (``factor`` x the frame rate between the first and the last input) and optionally ``future`` frames after
  the last input at the same spacing (the mean input gap / ``factor``).

* **Composition components** (figure 3: "Visualization of three intermediate outputs (Warped Image, Image
  Difference, Composition Mask) during reconstructing images for video interpolation"): warped image
  ``W(F, X_prev)``, image difference ``D`` (shown as ``(D + 1) / 2``), mask ``M``, output frame and the flow
  magnitude ``|F|`` (normalised by its maximum over the plotted clip) for every query time.

Metric conventions (data range [0, 1], predictions clamped to [0, 1] as in
:func:`odevideo.evaluation.conditional.frame_metrics`): ``mse`` per pixel (figure 6 plots it x 1e-3, also given as
``mse_x1e3``), ``psnr`` per frame (capped at 100 dB) and ``ssim`` per frame (frames of at least 11x11 pixels,
else None), ``lpips`` per frame (AlexNet v0.1; frames of at least 31x31 pixels; None without an LPIPS model),
all averaged over target frames and clips. Results do not depend on ``batch_size`` when the model's per-clip
output does not depend on its batch (e.g. Vid-ODE with a fixed-step decoder solver; adaptive solvers choose
their steps from the whole batch).
"""

from __future__ import annotations

import hashlib
import json
import math
import numbers
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from odevideo._atomic import atomic_write, atomic_write_text
from odevideo.data.sampling import random_drop_mask
from odevideo.errors import InputError
from odevideo.metrics import LPIPS, SSIM_WIN_SIZE, lpips_per_frame, mse_per_pixel, psnr, ssim
from odevideo.metrics.lpips import MIN_SIZE as LPIPS_MIN_SIZE
from odevideo.evaluation.conditional import PSNR_CAP_DB

__all__ = [
    "DEFAULT_RATES", "TASKS", "sweep_masks", "sampling_rate_sweep", "unseen_timestep_interpolation",
    "FrameRateOutput", "arbitrary_frame_rate", "save_frame_strip", "CompositionComponents",
    "composition_components", "plot_composition", "plot_sampling_rate_sweep", "plot_unseen_timesteps",
    "write_experiment_result",
]

#: Figure 6's sampling rates (fractions of the input frames that are observed).
DEFAULT_RATES = (1.0, 0.8, 0.6, 0.4, 0.2)
TASKS = ("interpolation", "extrapolation")
METRIC_CONVENTIONS = (
    "data range [0,1], predictions clamped to [0,1]; mse per pixel (mse_x1e3 = mse * 1000, figure 6's unit); "
    f"psnr per frame capped at {PSNR_CAP_DB:g} dB; ssim per frame (11x11 Gaussian window); lpips per frame "
    "(AlexNet, v0.1 heads); each averaged over target frames and clips"
)
_BASELINES = ("linear_blend", "copy_previous_observed")

Model = Callable[..., object]


# ------------------------------------------------------------------------------------------------ validation


def _int(value: object, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < minimum:
        raise InputError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    return int(value)


def _check_clips(frames: object, times: object, what: str = "frames") -> tuple[Tensor, Tensor]:
    """``(frames (N,T,C,H,W) float, times (N,T) float64)``; a single clip ``(T,C,H,W)`` gets a batch axis."""
    if not isinstance(frames, Tensor):
        raise InputError(f"{what} must be a torch.Tensor (N, T, C, H, W), got {type(frames).__name__}.")
    if frames.dim() == 4:
        frames = frames.unsqueeze(0)
    if frames.dim() != 5 or min(frames.shape) < 1:
        raise InputError(
            f"{what} must have shape (N, T, C, H, W) (or (T, C, H, W) for one clip), got {tuple(frames.shape)}."
        )
    if not frames.is_floating_point():
        raise InputError(f"{what} must be float in [0, 1], got {frames.dtype}; convert with frames.float() / 255.")
    if not isinstance(times, Tensor):
        raise InputError(f"times must be a torch.Tensor (N, T) or (T,), got {type(times).__name__}.")
    n, t = frames.shape[:2]
    if times.dim() == 1:
        times = times.unsqueeze(0).expand(n, -1)
    if times.shape != (n, t):
        raise InputError(
            f"times must have shape (N, T) = {(n, t)} or (T,) = ({t},) to match {what}, got {tuple(times.shape)}."
        )
    times = times.to(torch.float64)
    if not bool(torch.isfinite(times).all()):
        raise InputError("times contain NaN or infinity; give every frame a finite time.")
    if t > 1 and not bool((times[:, 1:] > times[:, :-1]).all()):
        raise InputError("times must be strictly increasing within each clip; sort the frames by time.")
    return frames, times


def _check_model(model: object, name: str = "model") -> None:
    if not callable(model):
        raise InputError(
            f"{name} must be a model with the odevideo API model(frames, times, mask, query_times), got "
            f"{type(model).__name__}."
        )


def _check_models(models: object) -> dict[str, Model]:
    if isinstance(models, Mapping):
        if not models:
            raise InputError("models is empty; pass {'name': model, ...} with at least one model.")
        out = {}
        for name, model in models.items():
            if not isinstance(name, str) or not name:
                raise InputError(f"model names must be non-empty strings, got {name!r}.")
            _check_model(model, f"models[{name!r}]")
            out[name] = model
        return out
    _check_model(models)
    return {"model": models}


def _check_lpips(lpips: object, frames: Tensor) -> LPIPS | None:
    if lpips is None:
        return None
    if not isinstance(lpips, LPIPS):
        raise InputError(
            f"lpips must be an odevideo.metrics.LPIPS with weights (LPIPS.pretrained() or LPIPS.from_files(...)) "
            f"or None, got {type(lpips).__name__}."
        )
    c, h, w = frames.shape[-3:]
    if c not in (1, 3) or h < LPIPS_MIN_SIZE or w < LPIPS_MIN_SIZE:
        raise InputError(
            f"LPIPS needs 1- or 3-channel frames of at least {LPIPS_MIN_SIZE}x{LPIPS_MIN_SIZE} pixels, got "
            f"{c}x{h}x{w}; pass lpips=None for these clips."
        )
    return lpips


def _check_rates(rates: object) -> tuple[float, ...]:
    if isinstance(rates, (str, bytes)) or not isinstance(rates, Sequence) or len(rates) == 0:
        raise InputError(
            f"rates must be a non-empty sequence of fractions in (0, 1], e.g. {DEFAULT_RATES}, got {rates!r}."
        )
    out = []
    for r in rates:
        if isinstance(r, bool) or not isinstance(r, numbers.Real) or not (0.0 < float(r) <= 1.0):
            raise InputError(f"every sampling rate must be a fraction in (0, 1] (1.0 = all input frames), got {r!r}.")
        out.append(float(r))
    if len(set(out)) != len(out):
        raise InputError(f"rates contain duplicates: {rates!r}; list each sampling rate once.")
    return tuple(out)


# ------------------------------------------------------------------------------------------------ running models


def _device_of(model: object, fallback: torch.device) -> torch.device:
    if isinstance(model, nn.Module):
        for tensor in (*model.parameters(), *model.buffers()):
            return tensor.device
    return fallback


def _predict(
    model: Model, frames: Tensor, times: Tensor, mask: Tensor | None, query: Tensor, batch_size: int
) -> Tensor:
    """``(N, Q, C, H, W)`` float32 CPU frames of ``model`` at ``query`` (eval mode, no gradients, in batches)."""
    was_training = model.training if isinstance(model, nn.Module) else None
    if isinstance(model, nn.Module):
        model.eval()
    device = _device_of(model, frames.device)
    n, q = query.shape
    out = []
    try:
        with torch.no_grad():
            for start in range(0, n, batch_size):
                rows = slice(start, start + batch_size)
                clip = frames[rows].to(device)
                m = None if mask is None else mask[rows].to(device)
                as_clip = dict(device=device, dtype=clip.dtype)
                pred = model(clip, times[rows].to(**as_clip), m, query[rows].to(**as_clip))
                got = getattr(pred, "frames", None)
                want = (clip.shape[0], q, *clip.shape[2:])
                if not isinstance(got, Tensor) or tuple(got.shape) != want:
                    shape = tuple(got.shape) if isinstance(got, Tensor) else type(got).__name__
                    raise InputError(
                        f"{type(model).__name__} returned frames {shape} for {q} query times, expected {want}; the "
                        f"model must follow the odevideo API (prediction.frames of shape (B, Q, C, H, W))."
                    )
                out.append(got.detach().float().cpu())
    finally:
        if was_training is not None:
            model.train(was_training)
    return torch.cat(out)


def _frame_scores(pred: Tensor, target: Tensor, lpips: LPIPS | None) -> dict[str, Tensor | None]:
    """Per-frame ``(N, Q)`` float64 metrics (``ssim`` / ``lpips`` None where they do not apply)."""
    pred = pred.float().clamp(0.0, 1.0)
    target = target.float().cpu()
    h, w = pred.shape[-2:]
    return {
        "mse": mse_per_pixel(pred, target),
        "psnr": psnr(pred, target).clamp(max=PSNR_CAP_DB),
        "ssim": ssim(pred, target) if min(h, w) >= SSIM_WIN_SIZE else None,
        "lpips": lpips_per_frame(lpips, pred, target).cpu() if lpips is not None else None,
    }


def _summarise(scores: dict[str, Tensor | None], columns: Sequence[int] | None = None) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for key, value in scores.items():
        if value is None:
            out[key] = None
            continue
        v = value if columns is None else value[:, list(columns)]
        out[key] = float(v.mean())
    out["mse_x1e3"] = out["mse"] * 1e3
    return out


def _per_target(scores: dict[str, Tensor | None]) -> dict[str, list[float] | None]:
    return {k: (None if v is None else v.mean(0).tolist()) for k, v in scores.items()}


#: metrics where a higher value is better (the rest: lower is better)
_HIGHER_IS_BETTER = ("psnr", "ssim")


def _paired(first: dict[str, Tensor | None], other: dict[str, Tensor | None]) -> dict[str, dict | None]:
    """Clip-paired comparison of two methods scored on the same clips and targets: per metric, the mean over clips
    of (first - other) of each clip's target-mean, its standard error (std over clips / sqrt(N)), and the share of
    clips on which ``first`` is better (ties count half). A gap smaller than about two standard errors is within
    the noise of this clip sample (not of training: one trained model each)."""
    out: dict[str, dict | None] = {}
    for key, a in first.items():
        b = other.get(key)
        if a is None or b is None:
            out[key] = None
            continue
        d = a.double().mean(1) - b.double().mean(1)  # (N,)
        sign = 1.0 if key in _HIGHER_IS_BETTER else -1.0
        n = d.numel()
        se = float(d.std(unbiased=True) / n ** 0.5) if n > 1 else float("nan")
        better = ((sign * d > 0).double() + 0.5 * (d == 0).double()).mean()
        out[key] = {"mean_difference": float(d.mean()), "standard_error": se, "first_better_share": float(better)}
    return out


# ------------------------------------------------------------------------------------------------ figure 6


def sweep_masks(
    num_clips: int, num_observed: int, rates: Sequence[float] = DEFAULT_RATES, *, seed: int = 0
) -> dict[float, Tensor]:
    """``{rate: (num_clips, num_observed) bool}`` input masks of :func:`sampling_rate_sweep` (True = observed).

    Rate ``r`` keeps ``num_observed - round((1 - r) * num_observed)`` frames per clip (at least the first, which
    is always kept), chosen by one ``torch.Generator`` seeded with ``seed``: identical for the same arguments,
    nested across rates, and clip ``i``'s mask depends only on ``seed`` and ``i``.
    """
    n = _int(num_clips, "num_clips", 1)
    t = _int(num_observed, "num_observed", 1)
    seed = _int(seed, "seed", 0)
    rates = _check_rates(rates)
    masks = {}
    for rate in rates:
        g = torch.Generator().manual_seed(seed)  # the same scores for every rate: nested masks
        masks[rate] = random_drop_mask(n, t, drop_frac=1.0 - rate, generator=g, keep_first=True, min_observed=1)
    return masks


def _mask_digest(mask: Tensor) -> str:
    return hashlib.sha256(mask.to(torch.uint8).contiguous().numpy().tobytes()).hexdigest()[:16]


def _task_indices(task: str, t: int, n: int, num_predicted: int | None) -> tuple[list[int], list[int]]:
    if task == "extrapolation":
        if t <= n:
            raise InputError(
                f"extrapolation needs frames after the {n} input frames, but the clips have {t}; pass longer clips "
                f"or lower num_observed."
            )
        p = t - n if num_predicted is None else _int(num_predicted, "num_predicted", 1)
        if n + p > t:
            raise InputError(
                f"num_predicted={p} after {n} input frames needs {n + p} frames, the clips have {t}; lower it."
            )
        return list(range(n)), list(range(n, n + p))
    if num_predicted is not None:
        raise InputError(
            "num_predicted applies to task='extrapolation' only (interpolation scores the n - 1 in-between "
            "frames); drop it."
        )
    if n < 2 or 2 * n - 1 > t:
        raise InputError(
            f"interpolation with num_observed={n} input frames (every other frame) needs n >= 2 and 2n - 1 = "
            f"{2 * n - 1} frames, the clips have {t}; pass longer clips or lower num_observed."
        )
    return list(range(0, 2 * n - 1, 2)), list(range(1, 2 * n - 2, 2))


def sampling_rate_sweep(
    model: Model | Mapping[str, Model],
    frames: Tensor,
    times: Tensor,
    *,
    num_observed: int = 5,
    rates: Sequence[float] = DEFAULT_RATES,
    task: str = "extrapolation",
    num_predicted: int | None = None,
    seed: int = 0,
    lpips: LPIPS | None = None,
    batch_size: int = 8,
) -> dict:
    """Figure 6: MSE / LPIPS (and PSNR, SSIM) as the fraction of observed input frames drops.

    Args:
        model: a model, or ``{name: model}`` to compare several on the same masks.
        frames: ``(N, T, C, H, W)`` test clips in [0, 1]; ``times`` ``(N, T)`` or ``(T,)``.
        num_observed: input frames ``n`` before dropping (the paper's 5).
        rates: fractions of the ``n`` input frames that stay observed.
        task: ``"extrapolation"`` or ``"interpolation"`` (module docstring for which frames are inputs / targets).
        num_predicted: extrapolation targets (default: every frame after the inputs).
        seed: seeds the masks (:func:`sweep_masks`).
        lpips: an :class:`~odevideo.metrics.LPIPS` with weights, or None to skip LPIPS.
        batch_size: clips per model call.

    Returns:
        JSON-able dict: the protocol, indices, and ``models[name]``: one entry per rate with the metric means,
        per-target curves (``per_target``), the mean number of observed inputs and a digest of the masks; with
        two or more models, ``paired_with_first_model``: per rate (``{"1": {other: {...}}}``), every other model
        against the first on the same clips and masks (mean per-clip difference, its standard error, the share of
        clips the first wins, per metric).
    """
    models = _check_models(model)
    frames, times = _check_clips(frames, times)
    if task not in TASKS:
        raise InputError(f"task={task!r} is not supported; use one of: {', '.join(TASKS)}.")
    n = _int(num_observed, "num_observed", 1)
    rates = _check_rates(rates)
    seed = _int(seed, "seed", 0)
    bs = _int(batch_size, "batch_size", 1)
    lpips = _check_lpips(lpips, frames)
    inputs, targets = _task_indices(task, frames.shape[1], n, num_predicted)
    masks = sweep_masks(frames.shape[0], n, rates, seed=seed)
    ctx, ctx_t = frames[:, inputs], times[:, inputs]
    tgt, tgt_t = frames[:, targets], times[:, targets]
    result: dict = {
        "experiment": "sampling_rate_sweep", "figure": "Park et al. 2021, figure 6", "task": task,
        "protocol": (
            f"{task}: inputs = clip frames {inputs}, targets = frames {targets}; at rate r each clip keeps "
            f"n - round((1 - r) n) of its n = {n} inputs (the first always), the rest masked, masks from "
            f"torch.Generator().manual_seed({seed}), nested across rates, the same for every model"
        ),
        "num_clips": int(frames.shape[0]), "num_observed": n, "input_indices": inputs, "target_indices": targets,
        "seed": seed, "rates": list(rates), "metric_conventions": METRIC_CONVENTIONS, "models": {},
    }
    scored: dict[str, dict[float, dict[str, Tensor | None]]] = {}
    for name, m in models.items():
        rows = []
        scored[name] = {}
        for rate in rates:
            mask = masks[rate]
            pred = _predict(m, ctx, ctx_t, mask.to(frames.device), tgt_t, bs)
            scores = scored[name][rate] = _frame_scores(pred, tgt, lpips)
            rows.append({
                "rate": rate, "observed_inputs_per_clip": float(mask.sum(1).double().mean()),
                **_summarise(scores), "per_target": _per_target(scores), "mask_sha256": _mask_digest(mask),
            })
        result["models"][name] = rows
    if len(models) > 1:
        first = next(iter(models))
        result["paired_with_first_model"] = {
            "first_model": first,
            "note": "per clip: first - other of the clip's mean over the targets, at each rate; psnr/ssim: > 0 means "
                    "the first is better, mse/lpips: < 0 means the first is better",
            "per_rate": {
                f"{rate:g}": {name: _paired(scored[first][rate], scored[name][rate]) for name in models if name != first}
                for rate in rates
            },
        }
    return result


# ------------------------------------------------------------------------------------------------ figure 8


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
    models = _check_models(models)
    clash = sorted(set(models) & set(_BASELINES))
    if clash and baselines:
        raise InputError(f"model names {clash} are taken by the pixel baselines; rename them or pass baselines=False.")
    frames, times = _check_clips(frames, times)
    s = _int(stride, "stride", 2)
    t = frames.shape[1]
    fit = (t - 1) // s + 1
    n = fit if num_observed is None else _int(num_observed, "num_observed", 2)
    if n < 2 or (n - 1) * s + 1 > t:
        raise InputError(
            f"observing {n} frames every {s} frames needs {(n - 1) * s + 1} frames and at least 2 observations, the "
            f"clips have {t}; lower stride/num_observed or pass longer clips."
        )
    bs = _int(batch_size, "batch_size", 1)
    lpips = _check_lpips(lpips, frames)
    obs = list(range(0, (n - 1) * s + 1, s))
    tgt_idx = [i for i in range(obs[-1]) if i % s]
    offsets = [(i % s) / s for i in tgt_idx]
    groups: dict[str, list[int]] = {}
    for col, off in enumerate(offsets):
        groups.setdefault(f"{off:g}", []).append(col)
    ctx, ctx_t = frames[:, obs], times[:, obs]
    tgt, tgt_t = frames[:, tgt_idx], times[:, tgt_idx]

    def report(scores: dict[str, Tensor | None]) -> dict:
        return {
            "overall": _summarise(scores),
            "per_offset": {k: _summarise(scores, cols) for k, cols in groups.items()},
            "per_target": _per_target(scores),
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
    scored: dict[str, dict[str, Tensor | None]] = {}
    for name, m in models.items():
        scored[name] = _frame_scores(_predict(m, ctx, ctx_t, None, tgt_t, bs), tgt, lpips)
        result["models"][name] = report(scored[name])
    if baselines:
        lo = torch.tensor([i - i % s for i in tgt_idx])
        alpha = torch.tensor(offsets, dtype=frames.dtype).view(1, -1, 1, 1, 1)
        prev, nxt = frames[:, lo].cpu(), frames[:, lo + s].cpu()
        blend = (1 - alpha) * prev + alpha * nxt
        for name, pred in (("linear_blend", blend), ("copy_previous_observed", prev)):
            scored[name] = _frame_scores(pred, tgt, lpips)
            result["baselines"][name] = report(scored[name])
    first = next(iter(models))
    result["paired_with_first_model"] = {
        "first_model": first,
        "note": "per clip: first - other of the clip's mean over the targets; psnr/ssim: > 0 means the first is "
                "better, mse/lpips: < 0 means the first is better",
        "versus": {name: _paired(scored[first], sc) for name, sc in scored.items() if name != first},
    }
    return result


# ------------------------------------------------------------------------------------------------ figure 1


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
    _check_model(model)
    frames, times = _check_clips(frames, times)
    n = _int(num_observed, "num_observed", 2)
    if n > frames.shape[1]:
        raise InputError(f"num_observed={n} exceeds the clip length {frames.shape[1]}; lower it.")
    k = _int(factor, "factor", 1)
    fut = _int(future, "future", 0)
    bs = _int(batch_size, "batch_size", 1)
    ctx, ctx_t = frames[:, :n], times[:, :n]
    frac = torch.arange(k, dtype=torch.float64) / k
    gaps = ctx_t[:, 1:] - ctx_t[:, :-1]  # (B, n-1)
    inside = (ctx_t[:, :-1, None] + frac * gaps[:, :, None]).flatten(1)
    step = (gaps.mean(1) / k)[:, None]
    after = ctx_t[:, -1:] + step * torch.arange(1, fut + 1, dtype=torch.float64)
    query = torch.cat([inside, ctx_t[:, -1:], after], dim=1)
    at_input = torch.zeros(query.shape, dtype=torch.bool)
    at_input[:, : (n - 1) * k + 1 : k] = True
    out = _predict(model, ctx, ctx_t, None, query, bs)
    return FrameRateOutput(
        frames=out, times=query, input_frames=ctx.detach().float().cpu(), input_times=ctx_t.clone(),
        at_input=at_input, factor=k, future=fut,
    )


# ------------------------------------------------------------------------------------------------ figure 3


@dataclass
class CompositionComponents:
    """Vid-ODE's intermediate outputs (paper figure 3), each ``(B, Q, ., H, W)`` float32 on the CPU.

    ``warped`` ``W(F, X_prev)`` and ``output`` (the frames, [0, 1]) have C channels, ``difference`` ``D`` C
    channels in [-1, 1], ``mask`` ``M`` 1 channel in [0, 1], ``flow`` 2 channels (pixels, x then y) and
    ``flow_magnitude`` 1 channel; ``query_times`` ``(B, Q)``; ``targets`` the ground truth when given.
    """

    query_times: Tensor
    warped: Tensor
    difference: Tensor
    mask: Tensor
    output: Tensor
    flow: Tensor
    flow_magnitude: Tensor
    targets: Tensor | None = None

    def summary(self) -> dict:
        """JSON-able per-time statistics of the components (means over clips and pixels)."""
        def per_time(x: Tensor) -> list[float]:
            return x.flatten(2).mean(2).mean(0).tolist()

        out = {
            "experiment": "composition_components", "figure": "Park et al. 2021, figure 3",
            "query_times": self.query_times.tolist(), "mean_mask": per_time(self.mask),
            "mean_abs_difference": per_time(self.difference.abs()),
            "mean_flow_magnitude": per_time(self.flow_magnitude),
        }
        if self.targets is not None:
            out["mse_per_time"] = mse_per_pixel(self.output, self.targets).mean(0).tolist()
        return out


def composition_components(
    model: Model,
    frames: Tensor,
    times: Tensor,
    query_times: Tensor,
    *,
    mask: Tensor | None = None,
    targets: Tensor | None = None,
) -> CompositionComponents:
    """Figure 3: warped image, image difference, mask, output and flow of a Vid-ODE-style model at ``query_times``.

    ``model`` must return a :class:`~odevideo.methods.vid_ode.vid_ode.VidODEPrediction` with flows, differences, masks and warped
    images (:class:`~odevideo.methods.vid_ode.vid_ode.VidODE` with warping and mask composition, or
    :class:`~odevideo.methods.vid_ode.baselines.VidRNN`). ``frames`` ``(B, T, C, H, W)`` (or one clip), ``times``, ``mask`` as for
    the model; ``query_times`` ``(B, Q)`` or ``(Q,)``; ``targets`` ``(B, Q, C, H, W)`` optional ground truth.
    """
    _check_model(model)
    frames, times = _check_clips(frames, times)
    b = frames.shape[0]
    if not isinstance(query_times, Tensor) or query_times.dim() not in (1, 2):
        raise InputError("query_times must be a (B, Q) or (Q,) tensor of times.")
    query = query_times.unsqueeze(0).expand(b, -1) if query_times.dim() == 1 else query_times
    if query.shape[0] != b:
        raise InputError(
            f"query_times has {query.shape[0]} rows for {b} clips; give one row per clip or a (Q,) tensor."
        )
    if mask is not None and mask.dim() == 1:
        mask = mask.unsqueeze(0).expand(b, -1)
    if targets is not None:
        if targets.dim() == 4:
            targets = targets.unsqueeze(0)
        want = (b, query.shape[1], *frames.shape[2:])
        if tuple(targets.shape) != want:
            raise InputError(f"targets must have shape {want} (one frame per query time), got {tuple(targets.shape)}.")
    was_training = model.training if isinstance(model, nn.Module) else None
    if isinstance(model, nn.Module):
        model.eval()
    device = _device_of(model, frames.device)
    try:
        with torch.no_grad():
            dtype = frames.dtype
            pred = model(frames.to(device), times.to(device=device, dtype=dtype),
                         None if mask is None else mask.to(device), query.to(device=device, dtype=dtype))
    finally:
        if was_training is not None:
            model.train(was_training)
    missing = [k for k in ("flows", "differences", "masks", "warped") if getattr(pred, k, None) is None]
    if missing:
        raise InputError(
            f"{type(model).__name__} returned no {', '.join(missing)}: the composition needs flow warping and mask "
            f"composition; use VidODE(use_flow_warping=True, use_mask_composition=True) or VidRNN."
        )
    flow = pred.flows.detach().float().cpu()
    return CompositionComponents(
        query_times=query.detach().to(torch.float64).cpu(),
        warped=pred.warped.detach().float().cpu(),
        difference=pred.differences.detach().float().cpu(),
        mask=pred.masks.detach().float().cpu(),
        output=pred.frames.detach().float().cpu().clamp(0, 1),
        flow=flow,
        flow_magnitude=flow.square().sum(2, keepdim=True).sqrt(),
        targets=None if targets is None else targets.detach().float().cpu(),
    )


# ------------------------------------------------------------------------------------------------ drawing


_COLORS = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (255, 127, 14), (148, 103, 189), (140, 86, 75),
           (227, 119, 194), (127, 127, 127)]


def _font():
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=12)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


def _text_size(draw, text: str, font) -> tuple[int, int]:
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    return right - left, bottom - top


def _save_png(img, path: str | os.PathLike) -> Path:
    path = Path(path)
    return atomic_write(path, lambda tmp: img.save(tmp, format="PNG"), suffix=".tmp.png")


def _rgb(x: Tensor) -> Tensor:
    """``(C, H, W)`` in [0, 1] -> ``(3, H, W)`` (1 channel repeated; C != 1, 3: the channel mean)."""
    x = x.detach().float().cpu().clamp(0, 1)
    if x.shape[0] == 3:
        return x
    return (x if x.shape[0] == 1 else x.mean(0, keepdim=True)).expand(3, -1, -1)


def _auto_scale(h: int, scale: int | None) -> int:
    if scale is None:
        return max(1, math.ceil(64 / h))
    return _int(scale, "scale", 1)


def _image_table(cells: list[list[Tensor | None]], row_labels: list[str], col_labels: list[str] | None,
                 scale: int, pad: int = 4):
    """A PIL image of ``cells`` (rows of ``(3, h, w)`` tensors or None = grey), labelled rows and columns."""
    from PIL import Image, ImageDraw

    h, w = next(c for row in cells for c in row if c is not None).shape[1:]
    ch, cw = h * scale, w * scale
    font = _font()
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    label_w = max([_text_size(probe, s, font)[0] for s in row_labels] + [0]) + 2 * pad
    text_h = _text_size(probe, "Ag0.9", font)[1] + 2 * pad
    top = text_h if col_labels else pad
    cols = max(len(r) for r in cells)
    width = label_w + cols * (cw + pad) + pad
    height = top + len(cells) * (ch + pad) + pad
    img = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    for j, label in enumerate(col_labels or []):
        tw, _ = _text_size(draw, label, font)
        draw.text((label_w + j * (cw + pad) + max(0, (cw - tw) // 2), pad // 2), label, fill=(0, 0, 0), font=font)
    for i, row in enumerate(cells):
        y = top + i * (ch + pad)
        _, th = _text_size(draw, row_labels[i], font)
        draw.text((pad, y + max(0, (ch - th) // 2)), row_labels[i], fill=(0, 0, 0), font=font)
        for j, cell in enumerate(row):
            x = label_w + j * (cw + pad)
            if cell is None:
                draw.rectangle([x, y, x + cw - 1, y + ch - 1], fill=(225, 225, 225))
                continue
            big = cell.repeat_interleave(scale, 1).repeat_interleave(scale, 2)
            arr = (big.permute(1, 2, 0).numpy() * 255.0).round().astype(np.uint8)
            img.paste(Image.fromarray(arr), (x, y))
    return img


def save_frame_strip(
    path: str | os.PathLike,
    outputs: FrameRateOutput | Sequence[FrameRateOutput],
    *,
    clip: int = 0,
    labels: Sequence[str] | None = None,
    scale: int | None = None,
) -> Path:
    """Figure 1 as a PNG: the inputs on the top row, then one row per :class:`FrameRateOutput` (e.g. factors
    1, 2, 4), every frame in the column of its time so equal times line up. Returns ``path``.

    ``clip`` picks the clip of the batch; ``labels`` name the rows (default ``"x{factor}"``); ``scale`` is the
    integer upscaling of the frames (default: at least 64 pixels high).
    """
    if isinstance(outputs, FrameRateOutput):
        outputs = [outputs]
    if not outputs or not all(isinstance(o, FrameRateOutput) for o in outputs):
        raise InputError("outputs must be a FrameRateOutput or a non-empty list of them (from arbitrary_frame_rate).")
    b = outputs[0].frames.shape[0]
    if isinstance(clip, bool) or not isinstance(clip, int) or not 0 <= clip < b:
        raise InputError(f"clip={clip!r} must index one of the {b} clips.")
    if any(o.frames.shape[0] != b or o.frames.shape[2:] != outputs[0].frames.shape[2:] for o in outputs):
        raise InputError("all outputs must come from the same clips (same batch size and frame shape).")
    if labels is not None and len(labels) != len(outputs):
        raise InputError(f"labels has {len(labels)} entries for {len(outputs)} outputs; give one label per output.")
    labels = list(labels) if labels is not None else [f"x{o.factor}" for o in outputs]
    key = lambda t: round(float(t), 6)  # noqa: E731
    columns = sorted({key(t) for o in outputs for t in (*o.times[clip], *o.input_times[clip])})
    where = {t: j for j, t in enumerate(columns)}
    rows: list[list[Tensor | None]] = []
    first = outputs[0]
    top: list[Tensor | None] = [None] * len(columns)
    for f, t in zip(first.input_frames[clip], first.input_times[clip]):
        top[where[key(t)]] = _rgb(f)
    rows.append(top)
    for o in outputs:
        row: list[Tensor | None] = [None] * len(columns)
        for f, t in zip(o.frames[clip], o.times[clip]):
            row[where[key(t)]] = _rgb(f)
        rows.append(row)
    img = _image_table(rows, ["input", *labels], [f"{t:g}" for t in columns] if len(columns) <= 24 else None,
                       _auto_scale(first.frames.shape[-2], scale))
    return _save_png(img, path)


def plot_composition(
    components: CompositionComponents,
    path: str | os.PathLike,
    *,
    clip: int = 0,
    layout: str = "times",
    scale: int | None = None,
) -> Path:
    """Figure 3 as a PNG for clip ``clip``: warped image, image difference ``(D + 1) / 2``, mask, output frame,
    flow magnitude (divided by its maximum over the clip) and, when known, the ground truth.

    ``layout="times"``: one row per query time (a column per component); ``"components"``: one row per component
    (the paper's arrangement, output in the last rows). Returns ``path``.
    """
    if not isinstance(components, CompositionComponents):
        raise InputError("components must be a CompositionComponents (from composition_components).")
    if layout not in ("times", "components"):
        raise InputError(f"layout={layout!r} is not supported; use 'times' or 'components'.")
    b, q = components.output.shape[:2]
    if isinstance(clip, bool) or not isinstance(clip, int) or not 0 <= clip < b:
        raise InputError(f"clip={clip!r} must index one of the {b} clips.")
    mag = components.flow_magnitude[clip]
    mag = mag / mag.max() if float(mag.max()) > 0 else mag
    parts = {
        "warped": components.warped[clip], "difference": (components.difference[clip] + 1) / 2,
        "mask": components.mask[clip], "output": components.output[clip], "|flow|": mag,
    }
    if components.targets is not None:
        parts["truth"] = components.targets[clip]
    times = [f"t={float(t):g}" for t in components.query_times[clip]]
    names = list(parts)
    if layout == "times":
        cells = [[_rgb(parts[name][k]) for name in names] for k in range(q)]
        img = _image_table(cells, times, names, _auto_scale(components.output.shape[-2], scale))
    else:
        cells = [[_rgb(parts[name][k]) for k in range(q)] for name in names]
        img = _image_table(cells, names, times, _auto_scale(components.output.shape[-2], scale))
    return _save_png(img, path)


def _finite(v: object) -> bool:
    return isinstance(v, (int, float)) and math.isfinite(v)


def _line_chart(panels: list[dict], path: str | os.PathLike, title: str) -> Path:
    """Panels side by side; each ``{"title", "xlabels", "series": {name: [y or None per x]}}`` (categorical x)."""
    from PIL import Image, ImageDraw

    pw, ph, ml, mr, mt, mb = 340, 250, 62, 14, 26, 44
    font = _font()
    names = list(dict.fromkeys(n for p in panels for n in p["series"]))
    width = pw * len(panels)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    legend, lx, ly = [], 8, 22  # legend entries below the title, wrapped to the image width
    for name in names:
        w = 22 + _text_size(probe, name, font)[0] + 16
        if lx > 8 and lx + w > width:
            lx, ly = 8, ly + 18
        legend.append((name, lx, ly))
        lx += w
    head = ly + 22
    img = Image.new("RGB", (width, ph + head), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    draw.text((8, 4), title, fill=(0, 0, 0), font=font)
    for k, (name, x, y) in enumerate(legend):
        color = _COLORS[k % len(_COLORS)]
        draw.line([x, y + 7, x + 18, y + 7], fill=color, width=2)
        draw.ellipse([x + 6, y + 4, x + 12, y + 10], fill=color)
        draw.text((x + 22, y), name, fill=(0, 0, 0), font=font)
    for i, p in enumerate(panels):
        x0, y0 = i * pw + ml, head + mt
        x1, y1 = (i + 1) * pw - mr, head + ph - mb
        draw.text((i * pw + ml, head + 6), p["title"], fill=(0, 0, 0), font=font)
        ys = [v for s in p["series"].values() for v in s if _finite(v)]
        nx = len(p["xlabels"])
        xpos = [x0 + (x1 - x0) * (j + 0.5) / nx for j in range(nx)]
        for j, lab in enumerate(p["xlabels"]):
            tw, _ = _text_size(draw, lab, font)
            draw.line([xpos[j], y1, xpos[j], y1 + 4], fill=(0, 0, 0))
            draw.text((xpos[j] - tw / 2, y1 + 6), lab, fill=(0, 0, 0), font=font)
        xl = p.get("xlabel", "")
        tw, _ = _text_size(draw, xl, font)
        draw.text(((x0 + x1) / 2 - tw / 2, y1 + 24), xl, fill=(0, 0, 0), font=font)
        if not ys:
            draw.rectangle([x0, y0, x1, y1], outline=(0, 0, 0))
            draw.text((x0 + 8, y0 + 8), "no values", fill=(120, 120, 120), font=font)
            continue
        lo, hi = min(ys), max(ys)
        span = hi - lo if hi > lo else (abs(hi) * 0.1 or 1.0)
        lo, hi = (max(0.0, lo - 0.08 * span) if lo >= 0 else lo - 0.08 * span), hi + 0.08 * span

        def ypix(v: float) -> float:
            return y1 - (v - lo) / (hi - lo) * (y1 - y0)

        for k in range(5):
            v = lo + (hi - lo) * k / 4
            label = f"{v:.3g}"
            tw, th = _text_size(draw, label, font)
            draw.line([x0 + 1, ypix(v), x1 - 1, ypix(v)], fill=(235, 235, 235))
            draw.line([x0 - 4, ypix(v), x0, ypix(v)], fill=(0, 0, 0))
            draw.text((x0 - 6 - tw, ypix(v) - th / 2 - 2), label, fill=(0, 0, 0), font=font)
        draw.rectangle([x0, y0, x1, y1], outline=(0, 0, 0))
        for name, values in p["series"].items():
            color = _COLORS[names.index(name) % len(_COLORS)]
            pts = [(xpos[j], ypix(v)) for j, v in enumerate(values) if _finite(v)]
            if len(pts) > 1:
                draw.line(pts, fill=color, width=2)
            for x, y in pts:
                draw.ellipse([x - 3, y - 3, x + 3, y + 3], fill=color)
    return _save_png(img, path)


def plot_sampling_rate_sweep(result: dict, path: str | os.PathLike) -> Path:
    """Figure 6 as a PNG: MSE (x 1e-3) and, when measured, LPIPS against the sampling rate, one line per model."""
    if not isinstance(result, dict) or result.get("experiment") != "sampling_rate_sweep":
        raise InputError("result must be the dict returned by sampling_rate_sweep.")
    rates = result["rates"]
    xlabels = [f"{100 * r:g}%" for r in rates]
    panels = [{"title": "MSE (x 1e-3)", "xlabel": "sampling rate", "xlabels": xlabels,
               "series": {n: [row["mse_x1e3"] for row in rows] for n, rows in result["models"].items()}}]
    if any(row["lpips"] is not None for rows in result["models"].values() for row in rows):
        panels.append({"title": "LPIPS", "xlabel": "sampling rate", "xlabels": xlabels,
                       "series": {n: [row["lpips"] for row in rows] for n, rows in result["models"].items()}})
    return _line_chart(panels, path, f"{result['task']}: {result['num_clips']} clips, seed {result['seed']}")


def plot_unseen_timesteps(result: dict, path: str | os.PathLike) -> Path:
    """Figure 8's numbers as a PNG: MSE (x 1e-3), PSNR and (when measured) LPIPS per gap offset, one line per
    model and baseline (baselines dashed in the JSON only; all drawn as lines)."""
    if not isinstance(result, dict) or result.get("experiment") != "unseen_timestep_interpolation":
        raise InputError("result must be the dict returned by unseen_timestep_interpolation.")
    methods = {**result["models"], **{f"{k} (baseline)": v for k, v in result["baselines"].items()}}
    offsets = list(next(iter(methods.values()))["per_offset"])
    panels = []
    for key, title in (("mse_x1e3", "MSE (x 1e-3)"), ("psnr", "PSNR (dB)"), ("lpips", "LPIPS")):
        series = {n: [m["per_offset"][o][key] for o in offsets] for n, m in methods.items()}
        if key == "lpips" and not any(_finite(v) for s in series.values() for v in s):
            continue
        panels.append({"title": title, "xlabel": "offset in the gap", "xlabels": offsets, "series": series})
    return _line_chart(panels, path, f"unseen time steps: stride {result['stride']}, {result['num_clips']} clips")


# ------------------------------------------------------------------------------------------------ writing


def _jsonable(obj: object, where: str = "result") -> object:
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, numbers.Integral):
        return int(obj)
    if isinstance(obj, numbers.Real):
        value = float(obj)
        return value if math.isfinite(value) else None
    if isinstance(obj, Tensor):
        return _jsonable(obj.detach().cpu().tolist(), where)
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist(), where)
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v, f"{where}[{k!r}]") for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v, f"{where}[{i}]") for i, v in enumerate(obj)]
    raise InputError(
        f"{where} is a {type(obj).__name__}, which JSON cannot hold; convert it to numbers, strings or lists."
    )


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def write_experiment_result(
    result: dict | FrameRateOutput | CompositionComponents,
    out_dir: str | os.PathLike,
    name: str,
    *,
    plot: bool = True,
) -> dict[str, Path]:
    """Write ``<out_dir>/<name>.json`` and (``plot``) ``<out_dir>/<name>.png``, each atomically.

    ``result`` is what one of the experiments returned: the dicts of :func:`sampling_rate_sweep` /
    :func:`unseen_timestep_interpolation` (PNG: their curves), a :class:`FrameRateOutput` (JSON: its
    ``summary()``, PNG: :func:`save_frame_strip`), a :class:`CompositionComponents` (``summary()``,
    :func:`plot_composition`) or any other JSON-able dict (JSON only). Non-finite numbers are written as null.
    Returns ``{"json": path, "png": path}`` (no ``"png"`` when nothing was drawn).
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise InputError(
            f"name={name!r} must be a plain file name stem (letters, digits, '.', '_', '-'), e.g. 'fig6_kth'."
        )
    out = Path(out_dir)
    paths: dict[str, Path] = {"json": out / f"{name}.json"}
    png = out / f"{name}.png"
    draw: Callable[[], Path] | None = None
    if isinstance(result, FrameRateOutput):
        data = result.summary()
        draw = lambda: save_frame_strip(png, result)  # noqa: E731
    elif isinstance(result, CompositionComponents):
        data = result.summary()
        draw = lambda: plot_composition(result, png)  # noqa: E731
    elif isinstance(result, dict):
        data = result
        kind = result.get("experiment")
        if kind == "sampling_rate_sweep":
            draw = lambda: plot_sampling_rate_sweep(result, png)  # noqa: E731
        elif kind == "unseen_timestep_interpolation":
            draw = lambda: plot_unseen_timesteps(result, png)  # noqa: E731
    else:
        raise InputError(
            f"result must be an experiment's output (dict, FrameRateOutput or CompositionComponents), got "
            f"{type(result).__name__}."
        )
    text = json.dumps(_jsonable(data), indent=2, allow_nan=False)
    atomic_write_text(paths["json"], text + "\n")
    if plot and draw is not None:
        paths["png"] = draw()
    return paths
