"""Scores of predicted frames against their targets, and the clip-paired comparison of two methods.

:class:`InputsAndTargets` cuts clips into a protocol's inputs and targets and scores a model's predictions.

Conventions (data range [0, 1], predictions clamped to [0, 1] as in
:func:`odevideo.evaluation.conditional.frame_metrics`): ``mse`` per pixel (figure 6 plots it x 1e-3, also given as
``mse_x1e3``), ``psnr`` per frame (capped at 100 dB) and ``ssim`` per frame (frames of at least 11x11 pixels,
else None), ``lpips`` per frame (AlexNet v0.1; frames of at least 31x31 pixels; None without an LPIPS model),
all averaged over target frames and clips. Results do not depend on ``batch_size`` when the model's per-clip
output does not depend on its batch (e.g. Vid-ODE with a fixed-step decoder solver; adaptive solvers choose
their steps from the whole batch).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from torch import Tensor

from odevideo.methods.vid_ode.protocols.common import Model, predict
from odevideo.metrics import LPIPS, SSIM_WIN_SIZE, lpips_per_frame, mse_per_pixel, psnr, ssim
from odevideo.metrics.frame_metrics import PSNR_CAP_DB

__all__ = ["METRIC_CONVENTIONS", "Scores", "frame_scores", "summarise", "per_target", "paired", "paired_note",
           "versus_first", "paired_with_first", "InputsAndTargets"]

METRIC_CONVENTIONS = (
    "data range [0,1], predictions clamped to [0,1]; mse per pixel (mse_x1e3 = mse * 1000, figure 6's unit); "
    f"psnr per frame capped at {PSNR_CAP_DB:g} dB; ssim per frame (11x11 Gaussian window); lpips per frame "
    "(AlexNet, v0.1 heads); each averaged over target frames and clips"
)

#: metrics where a higher value is better (the rest: lower is better)
HIGHER_IS_BETTER = ("psnr", "ssim")

#: per metric, ``(N clips, Q targets)`` float64 scores, or None where the metric does not apply
Scores = dict[str, Tensor | None]


def frame_scores(pred: Tensor, target: Tensor, lpips: LPIPS | None) -> Scores:
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


@dataclass(frozen=True)
class InputsAndTargets:
    """Clips cut into what a protocol gives a model (``frames`` at ``times``) and what it scores the model on
    (``target`` at ``target_times``)."""

    frames: Tensor
    times: Tensor
    target: Tensor
    target_times: Tensor

    @classmethod
    def cut(cls, frames: Tensor, times: Tensor, inputs: Sequence[int], targets: Sequence[int]) -> InputsAndTargets:
        """Clip frames ``inputs`` as the inputs, frames ``targets`` as the targets."""
        return cls(frames[:, inputs], times[:, inputs], frames[:, targets], times[:, targets])

    def score(self, model: Model, mask: Tensor | None, lpips: LPIPS | None, batch_size: int) -> Scores:
        """Per-frame scores of ``model``'s prediction at the target times from the inputs (those where ``mask``)."""
        pred = predict(model, self.frames, self.times, mask, self.target_times, batch_size)
        return frame_scores(pred, self.target, lpips)


def summarise(scores: Scores, columns: Sequence[int] | None = None) -> dict[str, float | None]:
    """Each metric's mean over clips and targets (only the target ``columns`` when given), plus ``mse_x1e3``."""
    out: dict[str, float | None] = {}
    for key, value in scores.items():
        if value is None:
            out[key] = None
            continue
        v = value if columns is None else value[:, list(columns)]
        out[key] = float(v.mean())
    out["mse_x1e3"] = out["mse"] * 1e3
    return out


def per_target(scores: Scores) -> dict[str, list[float] | None]:
    """Each metric's mean over clips, one value per target."""
    return {k: (None if v is None else v.mean(0).tolist()) for k, v in scores.items()}


def paired(first: Scores, other: Scores) -> dict[str, dict | None]:
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
        sign = 1.0 if key in HIGHER_IS_BETTER else -1.0
        n = d.numel()
        se = float(d.std(unbiased=True) / n ** 0.5) if n > 1 else float("nan")
        better = ((sign * d > 0).double() + 0.5 * (d == 0).double()).mean()
        out[key] = {"mean_difference": float(d.mean()), "standard_error": se, "first_better_share": float(better)}
    return out


def paired_note(per: str = "") -> str:
    """How to read :func:`paired` results; ``per`` names what each comparison is made for (e.g. ``"at each rate"``)."""
    where = f", {per}" if per else ""
    return (
        f"per clip: first - other of the clip's mean over the targets{where}; psnr/ssim: > 0 means the first is "
        "better, mse/lpips: < 0 means the first is better"
    )


def versus_first(scored: Mapping[str, Scores], first: str) -> dict[str, dict[str, dict | None]]:
    """``{name: paired(scored[first], scored[name])}`` for every method but ``first``, in ``scored``'s order."""
    return {name: paired(scored[first], sc) for name, sc in scored.items() if name != first}


def paired_with_first(first: str, scored: Mapping[str, Mapping], per: str | None = None) -> dict:
    """A protocol's ``paired_with_first_model`` entry: every method of ``scored`` against ``first``.

    ``per=None``: ``scored`` is ``{name: Scores}`` and the comparisons are under ``"versus"``. ``per`` (e.g.
    ``"rate"``): ``scored`` is ``{value: {name: Scores}}``, one comparison per value, under ``"per_<per>"``.
    """
    if per is None:
        return {"first_model": first, "note": paired_note(), "versus": versus_first(scored, first)}
    return {
        "first_model": first, "note": paired_note(f"at each {per}"),
        f"per_{per}": {key: versus_first(group, first) for key, group in scored.items()},
    }
