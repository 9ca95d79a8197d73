"""Irregular-sampling utilities: random observation masks, random time subsets, random time grids.

Every function draws its randomness from an optional :class:`torch.Generator` (always a *CPU*
generator; results are moved to ``device`` afterwards), so the output is a deterministic function
of the generator state. Pass ``generator=None`` to use torch's global RNG.
"""

from __future__ import annotations

import math
import operator

import torch

from odevideo.data.batch import DEFAULT_FRAME_DT, ClipBatch
from odevideo.errors import InputError

__all__ = ["random_drop_mask", "random_time_subset", "per_sample_time_grid", "apply_mask"]


def random_drop_mask(
    batch_size: int,
    num_frames: int,
    drop_prob: float | None = None,
    *,
    keep_prob: float | None = None,
    drop_frac: float | None = None,
    generator: torch.Generator | None = None,
    keep_first: bool = True,
    min_observed: int = 1,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Random observation mask for irregularly observed clips.

    Exactly one of ``drop_prob`` / ``keep_prob`` / ``drop_frac`` must be given:

    * ``drop_prob=p`` (the positional argument, matching the config's ``data.drop_prob``): every
      frame is dropped independently with probability ``p`` (Bernoulli) -- except frame 0 when
      ``keep_first``; the number of observed frames varies between clips.
    * ``keep_prob=q``: the same with ``drop_prob = 1 - q``.
    * ``drop_frac=f``: exactly ``round(f * T)`` frames are dropped in every clip, chosen uniformly
      without replacement (the count is reduced when needed to honour ``keep_first``/``min_observed``).

    Args:
        batch_size: number of clips ``B`` (>= 1).
        num_frames: frames per clip ``T`` (>= 1).
        drop_prob: probability in ``[0, 1]`` that a frame is dropped (Bernoulli mode).
        keep_prob: probability in ``[0, 1]`` that a frame is observed (Bernoulli mode).
        drop_frac: fraction in ``[0, 1]`` of frames to drop per clip (fixed-count mode).
        generator: CPU ``torch.Generator`` supplying the randomness (``None`` = global RNG).
        keep_first: if ``True`` frame 0 is always observed (latent-ODE encoders need an
            observation at the start of the clip).
        min_observed: every clip gets at least this many observed frames (``0 <= min_observed <= T``);
            in Bernoulli mode missing observations are added at uniformly random dropped positions.
        device: device of the returned mask.

    Returns:
        ``(B, T)`` bool tensor, ``True`` = observed.
    """
    b = _pos_int(batch_size, "batch_size")
    t = _pos_int(num_frames, "num_frames")
    options = (("drop_prob", drop_prob), ("keep_prob", keep_prob), ("drop_frac", drop_frac))
    given = [name for name, v in options if v is not None]
    if len(given) != 1:
        raise InputError(
            "random_drop_mask needs exactly one of drop_prob / keep_prob (Bernoulli drop / keep probability) "
            f"or drop_frac (fixed fraction of dropped frames), got {given or 'none'}; e.g. drop_prob=0.5"
        )
    if drop_prob is not None:
        keep_prob = 1.0 - _fraction(drop_prob, "drop_prob")
    min_obs = _int(min_observed)
    if min_obs is None or not 0 <= min_obs <= t:
        raise InputError(f"min_observed must be an int in [0, T={t}], got {min_observed!r}")
    min_observed = min_obs
    floor = max(min_observed, 1 if keep_first else 0)
    scores = torch.rand(b, t, generator=generator)  # used for ranking / Bernoulli draws
    if keep_prob is not None:
        p = _fraction(keep_prob, "keep_prob")
        mask = scores < p
        if keep_first:
            mask[:, 0] = True
        counts = mask.sum(dim=1)
        if bool((counts < floor).any()):
            # Turn on the dropped frames with the smallest fresh scores until `floor` is reached.
            fill = torch.rand(b, t, generator=generator)
            fill = fill.masked_fill(mask, float("inf"))  # already observed: never chosen again
            order = fill.argsort(dim=1)
            rank = torch.empty_like(order)
            rank.scatter_(1, order, torch.arange(t).expand(b, t).contiguous())
            need = (floor - counts).clamp(min=0).unsqueeze(1)
            mask = mask | (rank < need)
    else:
        f = _fraction(drop_frac, "drop_frac")
        n_drop = min(int(round(f * t)), t - floor)
        scores = scores.clone()
        if keep_first:
            scores[:, 0] = float("inf")  # never among the lowest -> never dropped
        order = scores.argsort(dim=1)
        mask = torch.ones(b, t, dtype=torch.bool)
        if n_drop > 0:
            mask.scatter_(1, order[:, :n_drop], False)
    return mask.to(device)


def random_time_subset(
    num_frames: int,
    k: int,
    generator: torch.Generator | None = None,
    sorted: bool = True,  # noqa: A002 - public name chosen to match torch conventions
    *,
    include_first: bool = False,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """``k`` distinct time indices drawn uniformly from ``range(num_frames)``.

    Args:
        num_frames: number of available time steps ``T`` (>= 1).
        k: how many indices to draw (``1 <= k <= T``).
        generator: CPU ``torch.Generator`` supplying the randomness (``None`` = global RNG).
        sorted: return the indices in increasing order (needed for :meth:`ClipBatch.select`);
            ``False`` returns them in random order.
        include_first: always include index 0 (the remaining ``k - 1`` are drawn from ``1..T-1``).
        device: device of the result.

    Returns:
        ``(k,)`` int64 tensor of distinct indices.
    """
    t = _pos_int(num_frames, "num_frames")
    k_int = _int(k)
    if k_int is None or not 1 <= k_int <= t:
        raise InputError(f"k must be an int in [1, T={t}], got {k!r}")
    k = k_int
    if include_first:
        rest = torch.randperm(t - 1, generator=generator)[: k - 1] + 1
        idx = torch.cat([torch.zeros(1, dtype=torch.long), rest])
        if not sorted:
            idx = idx[torch.randperm(k, generator=generator)]
    else:
        idx = torch.randperm(t, generator=generator)[:k]
    if sorted:
        idx = idx.sort().values
    return idx.to(device)


def per_sample_time_grid(
    batch_size: int,
    num_frames: int,
    generator: torch.Generator | None = None,
    *,
    t_max: float | None = None,
    min_gap: float | None = None,
    t0: float = 0.0,
    fix_first: bool = True,
    frame_dt: float = DEFAULT_FRAME_DT,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Random, strictly increasing time grid per clip inside ``[t0, t_max]``.

    Construction: with ``slack = t_max - t0 - (T - 1) * min_gap``, draw sorted uniforms
    ``s_j`` in ``[0, slack]`` and set ``times_j = t0 + j * min_gap + s_j``; consecutive gaps are
    therefore ``>= min_gap`` and every time lies in ``[t0, t_max]``. With ``fix_first`` the first
    time is exactly ``t0`` (``s_0 = 0``).

    Args:
        batch_size: number of clips ``B`` (>= 1).
        num_frames: times per clip ``T`` (>= 1).
        generator: CPU ``torch.Generator`` supplying the randomness (``None`` = global RNG).
        t_max: upper end of the window (time units); default ``t0 + (T - 1) * frame_dt``,
            i.e. the span of a regular clip.
        min_gap: smallest allowed gap between consecutive times (> 0); default ``0.25 * frame_dt``.
            Must satisfy ``(T - 1) * min_gap <= t_max - t0``.
        t0: lower end of the window.
        fix_first: every clip starts exactly at ``t0`` (otherwise the first time is random too).
        frame_dt: nominal frame interval used for the defaults above.
        dtype: floating point dtype of the result (sampling happens in float64).
        device: device of the result.

    Returns:
        ``(B, T)`` tensor, strictly increasing along ``T``.
    """
    b = _pos_int(batch_size, "batch_size")
    t = _pos_int(num_frames, "num_frames")
    frame_dt = float(frame_dt)
    if not math.isfinite(frame_dt) or frame_dt <= 0:
        raise InputError(f"frame_dt must be a finite number > 0, got {frame_dt!r}")
    t0 = float(t0)
    t_max = t0 + (t - 1) * frame_dt if t_max is None else float(t_max)
    min_gap = 0.25 * frame_dt if min_gap is None else float(min_gap)
    if not (math.isfinite(t0) and math.isfinite(t_max) and math.isfinite(min_gap)):
        raise InputError(f"t0, t_max and min_gap must be finite, got {t0}, {t_max}, {min_gap}")
    if min_gap <= 0:
        raise InputError(f"min_gap must be > 0 so that times are strictly increasing, got {min_gap}")
    slack = t_max - t0 - (t - 1) * min_gap
    if slack < 0:
        raise InputError(
            f"cannot fit T={t} times with gaps >= min_gap={min_gap:g} into [t0={t0:g}, t_max={t_max:g}] "
            f"(needs t_max >= {t0 + (t - 1) * min_gap:g}); raise t_max or lower min_gap"
        )
    u = torch.rand(b, t, generator=generator, dtype=torch.float64) * slack
    if fix_first:
        u[:, 0] = 0.0
    u = u.sort(dim=1).values
    times = t0 + torch.arange(t, dtype=torch.float64) * min_gap + u
    times = times.clamp(max=t_max).to(dtype)
    # Casting to a low-precision dtype could merge neighbours; refuse rather than return ties.
    if t > 1 and bool((times[:, 1:] <= times[:, :-1]).any()):
        raise InputError(
            f"min_gap={min_gap:g} is below the resolution of {dtype} at these times; "
            f"use a larger min_gap or dtype=torch.float64"
        )
    return times.to(device)


def apply_mask(batch: ClipBatch, mask: torch.Tensor, *, zero_unobserved: bool = False) -> ClipBatch:
    """Combine an extra observation mask with a batch's mask.

    Args:
        batch: the input :class:`ClipBatch`.
        mask: ``(B, T)`` bool mask (``True`` = keep observed), or ``(T,)`` shared by all clips.
        zero_unobserved: also set the frames of unobserved steps to 0 (by default the frames are kept
            so they can still serve as prediction targets; models must only read observed frames).

    Returns:
        A new :class:`ClipBatch` whose mask is ``batch.mask & mask``; times are unchanged.
    """
    if not isinstance(mask, torch.Tensor):
        raise InputError(f"mask must be a bool torch.Tensor, got {type(mask).__name__}")
    if mask.dtype != torch.bool:
        raise InputError(f"mask must be a bool tensor (True = observed), got dtype {mask.dtype}; use mask.bool()")
    b, t = batch.batch_size, batch.num_frames
    if mask.ndim == 1 and mask.shape[0] == t:
        mask = mask.unsqueeze(0).expand(b, t)
    if tuple(mask.shape) != (b, t):
        raise InputError(f"mask must have shape (B, T) = ({b}, {t}) or ({t},), got {tuple(mask.shape)}")
    new_mask = batch.mask & mask.to(batch.mask.device)
    frames = batch.frames
    if zero_unobserved:
        frames = frames * new_mask[:, :, None, None, None].to(frames.dtype)
    return ClipBatch(frames=frames, times=batch.times, mask=new_mask)


def _int(value: object) -> int | None:
    """``value`` as an int if it is an integer (Python, numpy or 0-dim integer tensor), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, torch.Tensor) and value.ndim == 0 and not value.dtype.is_floating_point:
        return int(value)
    try:
        return operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        return None


def _pos_int(value: object, name: str) -> int:
    v = _int(value)
    if v is None or v < 1:
        raise InputError(f"{name} must be a positive integer, got {value!r}")
    return v


def _fraction(value: object, name: str) -> float:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number in [0, 1], got {value!r}") from None
    if not 0.0 <= v <= 1.0:
        raise InputError(f"{name} must be in [0, 1], got {v}")
    return v
