"""Scoring interpolators on in-between frames: windows of a clip, per-window scores, paired comparisons.

Protocol (gap ``g``): a clip ``(T, C, H, W)`` is cut into consecutive non-overlapping windows of ``g + 1``
frames (window ``w`` covers frames ``w g .. (w + 1) g``); a window's frames 0 and ``g`` are observed and the
``g - 1`` frames between them are predicted at ``tau = k / g``. Scores per predicted frame: ``psnr`` (dB, data
range 1, capped at 100), ``ssim`` (Gaussian 11x11, sigma 1.5) and, given an LPIPS network, ``lpips`` (AlexNet
v0.1; lower is better). A window's score is the mean over its predicted frames; methods are compared by the
paired difference over windows (:func:`paired_difference`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping

import torch
from torch import Tensor

from odevideo.errors import InputError
from odevideo.evaluation.paired import paired_difference as _paired_difference
from odevideo.metrics import psnr, ssim
from odevideo.metrics.frame_metrics import PSNR_CAP_DB

HIGHER_IS_BETTER = {"psnr": True, "ssim": True, "lpips": False}

__all__ = ["HIGHER_IS_BETTER", "paired_difference", "frame_scores", "score_windows", "compare"]


def paired_difference(a: Iterable[float], b: Iterable[float]) -> dict[str, float]:
    """Mean over windows of ``a - b`` and its standard error (sample standard deviation / sqrt(n)), as
    ``{"mean_diff", "se", "windows"}``: :func:`odevideo.evaluation.paired.paired_difference` (which also leaves out
    windows with a non-finite score); no windows to compare is an :class:`InputError`."""
    p = _paired_difference(list(a), list(b))
    if p.n == 0:
        raise InputError("no windows to compare")
    return {"mean_diff": p.mean, "se": p.se, "windows": p.n}


def frame_scores(pred: Tensor, target: Tensor, lpips=None) -> dict[str, Tensor]:
    """``(K, C, H, W)`` each -> per-frame scores ``(K,)`` (``pred`` clamped to [0, 1])."""
    from odevideo.metrics.lpips import lpips_per_frame

    pred = pred.float().clamp(0, 1)
    target = target.float()
    out = {"psnr": psnr(pred[None], target[None], data_range=1.0)[0].clamp(max=PSNR_CAP_DB),
           "ssim": ssim(pred[None], target[None], data_range=1.0)[0]}
    if lpips is not None:
        out["lpips"] = lpips_per_frame(lpips, pred[None], target[None])[0]
    return out


def score_windows(clip: Tensor, gap: int, interpolators: Mapping[str, object], lpips=None) \
        -> tuple[dict[str, dict[str, list[float]]], dict[str, float]]:
    """Per-window mean scores ``{method: {metric: [window scores]}}`` of every interpolator (anything with
    ``interpolate(frame0, frame1, taus)``) on ``clip`` ``(T, C, H, W)``, and the seconds each spent."""
    if isinstance(gap, bool) or not isinstance(gap, int) or gap < 2:
        raise InputError(f"gap must be a whole number >= 2 (frames between two observations), got {gap!r}")
    if clip.dim() != 4 or clip.shape[0] < gap + 1:
        raise InputError(f"a clip (T, C, H, W) with at least gap + 1 = {gap + 1} frames is needed, "
                         f"got {tuple(clip.shape)}")
    scores: dict[str, dict[str, list[float]]] = {m: {} for m in interpolators}
    seconds = dict.fromkeys(interpolators, 0.0)
    taus = torch.arange(1, gap, dtype=clip.dtype) / gap
    for s in range(0, clip.shape[0] - gap, gap):
        f0, f1, target = clip[s], clip[s + gap], clip[s + 1: s + gap]
        for name, interp in interpolators.items():
            t0 = time.perf_counter()
            pred = interp.interpolate(f0, f1, taus)
            seconds[name] += time.perf_counter() - t0
            for k, v in frame_scores(pred, target, lpips).items():
                scores[name].setdefault(k, []).append(float(v.mean()))
    return scores, seconds


def compare(scores: Mapping[str, Mapping[str, list[float]]], model: str = "model",
            against: Iterable[str] | None = None) -> dict:
    """Means of every method and the paired difference of ``model`` with each method of ``against`` (default:
    every other method); ``beats``: the model is better than each of them on every metric (in the metric's
    direction). Methods left out of ``against`` are only reported (e.g. the model's untrained start)."""
    means = {m: {k: sum(v) / len(v) for k, v in d.items()} for m, d in scores.items()}
    others = [m for m in scores if m != model] if against is None else list(against)
    if model not in scores or any(m not in scores or m == model for m in others):
        raise InputError(f"compare: {model!r} against {others} needs each of them among the scored methods "
                         f"{list(scores)} (and not the model itself)")
    paired = {b: {k: paired_difference(scores[model][k], scores[b][k]) for k in scores[model]} for b in others}
    beats = all((p["mean_diff"] > 0) == HIGHER_IS_BETTER[k] and p["mean_diff"] != 0
                for b in others for k, p in paired[b].items())
    return {"windows": len(next(iter(scores[model].values()))), "means": means, "paired": paired, "beats": beats}
