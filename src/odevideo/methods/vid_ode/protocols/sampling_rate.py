"""The sampling-rate sweep (Vid-ODE, Park et al. AAAI 2021, figure 6): scores as input frames go missing.

Section 4.3 "Irregular Video Prediction": "we measure MSE and LPIPS on CAM5 dataset while changing the input's
sampling rate to evaluate the effect of irregularity". Section 4.1 fixes the inputs ("input" = frames the model
is given) and targets (frames it is scored on) of the two tasks: "In video interpolation, a sequence of five
input frames are given [...]. At inference, it predicts the four intermediate frames between the input time
steps. In video extrapolation, given a sequence of five input frames, [...] At inference, it predicts the next
five frames." So with ``num_observed = n``:

- ``task="extrapolation"``: inputs are clip frames ``0 .. n-1``, targets frames ``n .. n+P-1``
  (``P = num_predicted``, default all remaining frames);
- ``task="interpolation"``: inputs are frames ``0, 2, .., 2(n-1)``, targets the ``n - 1`` frames in between
  (``1, 3, .., 2n-3``).

At sampling rate ``r`` each clip keeps ``n - round((1 - r) n)`` of its ``n`` input frames (at least one), the
first input frame always among them, the others dropped uniformly at random (mask False). The masks come from
one ``torch.Generator`` seeded with ``seed`` (:func:`sweep_masks`): the same ``seed`` gives the same masks,
hence the same numbers (the authors drew their test masks from an unseeded RNG). A clip's mask depends only on
``seed`` and its index (not on ``batch_size``), the masks of one clip are nested across rates (a lower rate
drops a superset of frames), rate 1.0 is full observation, and every model of one call sees the same masks.
The targets do not change with the rate: only the input sparsity does.
"""

from __future__ import annotations

import hashlib
import numbers
from collections.abc import Mapping, Sequence

import torch
from torch import Tensor

from odevideo.data.sampling import random_drop_mask
from odevideo.errors import InputError
from odevideo.methods.vid_ode.protocols.common import Model, check_clips, check_int, check_lpips, check_models
from odevideo.methods.vid_ode.protocols.scores import (
    METRIC_CONVENTIONS,
    InputsAndTargets,
    Scores,
    paired_with_first,
    per_target,
    summarise,
)
from odevideo.metrics import LPIPS

__all__ = ["DEFAULT_RATES", "TASKS", "sweep_masks", "sampling_rate_sweep"]

#: Figure 6's sampling rates (fractions of the input frames that are observed).
DEFAULT_RATES = (1.0, 0.8, 0.6, 0.4, 0.2)
TASKS = ("interpolation", "extrapolation")


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


def sweep_masks(
    num_clips: int, num_observed: int, rates: Sequence[float] = DEFAULT_RATES, *, seed: int = 0
) -> dict[float, Tensor]:
    """``{rate: (num_clips, num_observed) bool}`` input masks of :func:`sampling_rate_sweep` (True = observed).

    Rate ``r`` keeps ``num_observed - round((1 - r) * num_observed)`` frames per clip (at least the first, which
    is always kept), chosen by one ``torch.Generator`` seeded with ``seed``: identical for the same arguments,
    nested across rates, and clip ``i``'s mask depends only on ``seed`` and ``i``.
    """
    n = check_int(num_clips, "num_clips", 1)
    t = check_int(num_observed, "num_observed", 1)
    seed = check_int(seed, "seed", 0)
    rates = _check_rates(rates)
    masks = {}
    for rate in rates:
        g = torch.Generator().manual_seed(seed)  # the same scores for every rate: nested masks
        masks[rate] = random_drop_mask(n, t, drop_frac=1.0 - rate, generator=g, keep_first=True, min_observed=1)
    return masks


def _mask_digest(mask: Tensor) -> str:
    return hashlib.sha256(mask.to(torch.uint8).contiguous().numpy().tobytes()).hexdigest()[:16]


def _task_indices(task: str, t: int, n: int, num_predicted: int | None) -> tuple[list[int], list[int]]:
    """``(input indices, target indices)`` of ``task`` in clips of ``t`` frames with ``n`` inputs."""
    if task == "extrapolation":
        if t <= n:
            raise InputError(
                f"extrapolation needs frames after the {n} input frames, but the clips have {t}; pass longer clips "
                f"or lower num_observed."
            )
        p = t - n if num_predicted is None else check_int(num_predicted, "num_predicted", 1)
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
    models = check_models(model)
    frames, times = check_clips(frames, times)
    if task not in TASKS:
        raise InputError(f"task={task!r} is not supported; use one of: {', '.join(TASKS)}.")
    n = check_int(num_observed, "num_observed", 1)
    rates = _check_rates(rates)
    seed = check_int(seed, "seed", 0)
    bs = check_int(batch_size, "batch_size", 1)
    lpips = check_lpips(lpips, frames)
    inputs, targets = _task_indices(task, frames.shape[1], n, num_predicted)
    masks = sweep_masks(frames.shape[0], n, rates, seed=seed)
    clips = InputsAndTargets.cut(frames, times, inputs, targets)
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
    scored: dict[float, dict[str, Scores]] = {rate: {} for rate in rates}
    for name, m in models.items():
        rows = []
        for rate in rates:
            mask = masks[rate]
            scores = scored[rate][name] = clips.score(m, mask.to(frames.device), lpips, bs)
            rows.append({
                "rate": rate, "observed_inputs_per_clip": float(mask.sum(1).double().mean()),
                **summarise(scores), "per_target": per_target(scores), "mask_sha256": _mask_digest(mask),
            })
        result["models"][name] = rows
    if len(models) > 1:
        first = next(iter(models))
        result["paired_with_first_model"] = paired_with_first(
            first, {f"{rate:g}": scored[rate] for rate in rates}, per="rate"
        )
    return result
