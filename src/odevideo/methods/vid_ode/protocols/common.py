"""What every protocol shares: checking its inputs and running models on clips.

A model follows the odevideo model API: ``model(frames (B,T,C,H,W), times (B,T), mask (B,T) bool | None,
query_times (B,Q)) -> prediction`` with ``prediction.frames`` ``(B, Q, C, H, W)`` in [0, 1]. The protocols run
it in eval mode without gradients and give back its training mode afterwards.
"""

from __future__ import annotations

import contextlib
import numbers
from collections.abc import Callable, Iterator, Mapping

import torch
from torch import Tensor, nn

from odevideo.errors import InputError
from odevideo.metrics import LPIPS
from odevideo.metrics.lpips import MIN_SIZE as LPIPS_MIN_SIZE

__all__ = [
    "Model", "check_int", "check_clips", "check_clip_index", "check_model", "check_models", "check_lpips",
    "device_of", "eval_mode", "predict",
]

Model = Callable[..., object]


# ------------------------------------------------------------------------------------------------ validation


def check_int(value: object, name: str, minimum: int) -> int:
    """``value`` as an int, or an :class:`InputError` when it is not an integer ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < minimum:
        raise InputError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    return int(value)


def check_clips(frames: object, times: object, what: str = "frames") -> tuple[Tensor, Tensor]:
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


def check_clip_index(clip: object, num_clips: int) -> int:
    """``clip`` when it indexes one of ``num_clips`` clips (a plain int, not a bool)."""
    if isinstance(clip, bool) or not isinstance(clip, int) or not 0 <= clip < num_clips:
        raise InputError(f"clip={clip!r} must index one of the {num_clips} clips.")
    return clip


def check_model(model: object, name: str = "model") -> None:
    if not callable(model):
        raise InputError(
            f"{name} must be a model with the odevideo API model(frames, times, mask, query_times), got "
            f"{type(model).__name__}."
        )


def check_models(models: object) -> dict[str, Model]:
    """``{name: model}`` from a mapping, or ``{"model": models}`` from one model."""
    if isinstance(models, Mapping):
        if not models:
            raise InputError("models is empty; pass {'name': model, ...} with at least one model.")
        out = {}
        for name, model in models.items():
            if not isinstance(name, str) or not name:
                raise InputError(f"model names must be non-empty strings, got {name!r}.")
            check_model(model, f"models[{name!r}]")
            out[name] = model
        return out
    check_model(models)
    return {"model": models}


def check_lpips(lpips: object, frames: Tensor) -> LPIPS | None:
    """``lpips`` when it is None or an :class:`LPIPS` that can score ``frames``."""
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


# ------------------------------------------------------------------------------------------------ running models


def device_of(model: object, fallback: torch.device) -> torch.device:
    """The device of ``model``'s first parameter or buffer, else ``fallback``."""
    if isinstance(model, nn.Module):
        for tensor in (*model.parameters(), *model.buffers()):
            return tensor.device
    return fallback


@contextlib.contextmanager
def eval_mode(model: object) -> Iterator[None]:
    """Run ``model`` in eval mode without gradients; its training mode comes back afterwards."""
    was_training = model.training if isinstance(model, nn.Module) else None
    if isinstance(model, nn.Module):
        model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        if was_training is not None:
            model.train(was_training)


def predict(
    model: Model, frames: Tensor, times: Tensor, mask: Tensor | None, query: Tensor, batch_size: int
) -> Tensor:
    """``(N, Q, C, H, W)`` float32 CPU frames of ``model`` at ``query`` (eval mode, no gradients, in batches)."""
    device = device_of(model, frames.device)
    n, q = query.shape
    out = []
    with eval_mode(model):
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
    return torch.cat(out)
