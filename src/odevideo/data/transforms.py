"""Clip transforms on ``(T, C, H, W)`` float tensors: spatial crops/resizes, augmentation, temporal windows.

Every function takes a clip ``frames`` of shape ``(T, C, H, W)`` (the spatial ones accept any
``(..., H, W)`` tensor with at least 3 dims, e.g. a batch ``(B, T, C, H, W)``) and returns a new
tensor; inputs are never modified in place. Randomness always comes from an explicit CPU
:class:`torch.Generator`, so a transform is a deterministic function of the generator state
(:func:`make_generator` builds one from a tuple of integers, e.g. ``(seed, epoch, index)``).

Spatial
    :func:`crop`, :func:`center_crop` (fixed size), :func:`center_crop_square` (largest centred
    square), :func:`resize` (to ``(h, w)``), :func:`resize_short_side`.
Augmentation (the Vid-ODE paper: horizontal flip and a random rotation in ``[-10, 10]`` degrees,
one draw per clip so all frames move together)
    :func:`hflip`, :func:`rotate`, :func:`sample_flip_rotate`, :func:`random_flip_rotate`.
Temporal
    :func:`window_start`, :func:`temporal_window`, :func:`random_temporal_window`,
    :func:`subsample` (fixed frame stride), :func:`irregular_indices` / :func:`irregular_subsample`
    (random sorted subset of frames, for irregularly sampled inputs).

Resizing (:func:`resize`) is bilinear by default and uses :func:`torch.nn.functional.interpolate`
with ``align_corners=False`` (pixel centres are mapped onto pixel centres, the convention of PIL,
OpenCV and torchvision). ``antialias`` matters only when *shrinking*:

* ``antialias=True`` (default) widens the bilinear (triangle) filter by the shrink factor, so each
  output pixel averages its whole footprint -- the same filter as Pillow's ``BILINEAR`` resize
  (values agree with Pillow to within a few 1/255 steps). This avoids aliasing (moire, flickering
  thin edges) when e.g. 256 px Moving GIF frames are halved to 128 px.
* ``antialias=False`` samples the 2x2 nearest input pixels only, like OpenCV's ``INTER_LINEAR``
  (what the Vid-ODE authors' code uses). Use it to reproduce their preprocessing exactly.

When enlarging (KTH: 120 -> 128 px) both settings give the same result. ``mode="nearest-exact"``
matches Pillow's ``NEAREST`` (TGAN's UCF101 preprocessing ran on a Pillow whose default resize
filter was ``NEAREST``); ``"bicubic"`` may overshoot and is clamped back to the input's range.
Bilinear interpolation, antialiased or not, and :func:`rotate` (bilinear) only form convex
combinations of input pixels, so frames in ``[0, 1]`` stay in ``[0, 1]``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from odevideo.data.sampling import _int, _pos_int
from odevideo.errors import InputError

__all__ = [
    "make_generator",
    "crop",
    "center_crop",
    "center_crop_square",
    "resize",
    "resize_short_side",
    "hflip",
    "rotate",
    "sample_flip_rotate",
    "random_flip_rotate",
    "window_start",
    "temporal_window",
    "random_temporal_window",
    "subsample",
    "irregular_indices",
    "irregular_subsample",
]

_RESIZE_MODES = ("bilinear", "bicubic", "nearest-exact", "area")
_WINDOW_MODES = ("random", "first", "center")


# ====================================================================== helpers
def make_generator(*keys: int) -> torch.Generator:
    """A CPU :class:`torch.Generator` seeded from a tuple of non-negative integers.

    The integers are mixed with :class:`numpy.random.SeedSequence`, so nearby tuples such as
    ``(seed, epoch, 0)`` and ``(seed, epoch, 1)`` give unrelated streams.
    """
    ints = []
    for k in keys:
        v = _int(k)
        if v is None or v < 0:
            raise InputError(f"generator keys must be non-negative integers, got {k!r}")
        ints.append(v)
    state = np.random.SeedSequence(ints).generate_state(2, dtype=np.uint32)
    g = torch.Generator()
    g.manual_seed((int(state[0]) << 31) ^ int(state[1]))
    return g


def _size2(size: int | Sequence[int], name: str = "size") -> tuple[int, int]:
    """``int`` -> ``(s, s)``; ``(h, w)`` -> ``(h, w)``; both positive."""
    if _int(size) is not None:
        s = _pos_int(size, name)
        return s, s
    if isinstance(size, (tuple, list)) and len(size) == 2:
        return _pos_int(size[0], f"{name}[0] (height)"), _pos_int(size[1], f"{name}[1] (width)")
    raise InputError(f"{name} must be an int or a (height, width) pair, got {size!r}")


def _check_spatial(frames: torch.Tensor, what: str = "frames") -> None:
    if not isinstance(frames, torch.Tensor):
        raise InputError(f"{what} must be a torch.Tensor (T, C, H, W), got {type(frames).__name__}")
    if frames.ndim < 3:
        raise InputError(f"{what} must have shape (..., C, H, W) with at least 3 dims, got {tuple(frames.shape)}")
    if not frames.dtype.is_floating_point:
        raise InputError(f"{what} must be floating point, got {frames.dtype}; use frames.float() / 255 for uint8")
    if frames.numel() == 0:
        raise InputError(f"{what} is empty (shape {tuple(frames.shape)})")


def _check_clip(frames: torch.Tensor, what: str = "frames") -> None:
    if not isinstance(frames, torch.Tensor) or frames.ndim != 4:
        shape = tuple(frames.shape) if isinstance(frames, torch.Tensor) else type(frames).__name__
        raise InputError(f"{what} must be a (T, C, H, W) tensor, got {shape}")
    if frames.shape[0] < 1:
        raise InputError(f"{what} has no frames (shape {tuple(frames.shape)})")


def _as_4d(frames: torch.Tensor) -> tuple[torch.Tensor, tuple[int, ...]]:
    lead = tuple(frames.shape[:-3])
    return frames.reshape(-1, *frames.shape[-3:]), lead


# ====================================================================== spatial
def crop(frames: torch.Tensor, top: int, left: int, height: int, width: int) -> torch.Tensor:
    """``frames[..., top:top + height, left:left + width]``; the box must lie inside the frame."""
    _check_spatial(frames)
    h, w = frames.shape[-2:]
    top_i, left_i = _int(top), _int(left)
    height, width = _pos_int(height, "height"), _pos_int(width, "width")
    if top_i is None or left_i is None or top_i < 0 or left_i < 0 or top_i + height > h or left_i + width > w:
        raise InputError(
            f"crop box (top={top}, left={left}, height={height}, width={width}) does not fit in {h}x{w} frames; "
            f"choose a box inside the frame (or resize first)"
        )
    return frames[..., top_i : top_i + height, left_i : left_i + width].clone()


def center_crop(frames: torch.Tensor, size: int | Sequence[int]) -> torch.Tensor:
    """Crop the centred ``size`` (int = square, or ``(h, w)``) box.

    The box starts at ``((H - h) // 2, (W - w) // 2)``: when the margin is odd the extra row/column
    is left at the bottom/right. A 160x120 KTH frame cropped to 120 keeps columns ``20:140``.
    """
    _check_spatial(frames)
    th, tw = _size2(size)
    h, w = frames.shape[-2:]
    if th > h or tw > w:
        raise InputError(f"cannot center-crop {th}x{tw} from {h}x{w} frames; the crop must not exceed the frame size")
    return crop(frames, (h - th) // 2, (w - tw) // 2, th, tw)


def center_crop_square(frames: torch.Tensor) -> torch.Tensor:
    """Crop the largest centred square (side ``min(H, W)``)."""
    _check_spatial(frames)
    s = int(min(frames.shape[-2:]))
    return center_crop(frames, s)


def resize(
    frames: torch.Tensor,
    size: int | Sequence[int],
    *,
    mode: str = "bilinear",
    antialias: bool = True,
) -> torch.Tensor:
    """Resize every frame to ``size`` (int = square ``(s, s)``, or ``(h, w)``).

    Args:
        frames: ``(..., C, H, W)`` floating point tensor.
        size: output size.
        mode: ``"bilinear"`` (default), ``"bicubic"``, ``"nearest-exact"`` (Pillow's NEAREST) or
            ``"area"`` (box average; exact for integer shrink factors).
        antialias: for ``bilinear``/``bicubic`` when shrinking: filter over the whole footprint (like
            Pillow) instead of sampling the nearest 2x2 / 4x4 pixels (like OpenCV). See the module
            docstring. Ignored for the other modes and when enlarging.

    Returns:
        ``(..., C, h, w)`` tensor of the input dtype; ``bicubic`` output is clamped to the input's range.
    """
    _check_spatial(frames)
    th, tw = _size2(size)
    if mode not in _RESIZE_MODES:
        raise InputError(f"unknown resize mode {mode!r}; use one of {', '.join(_RESIZE_MODES)}")
    if tuple(frames.shape[-2:]) == (th, tw):
        return frames.clone()
    x, lead = _as_4d(frames)
    kwargs: dict = {"size": (th, tw), "mode": mode}
    if mode in ("bilinear", "bicubic"):
        kwargs["align_corners"] = False
        kwargs["antialias"] = bool(antialias)
    out = F.interpolate(x, **kwargs)
    if mode == "bicubic":
        out = out.clamp(float(x.min()), float(x.max()))
    return out.reshape(*lead, *out.shape[-3:])


def resize_short_side(
    frames: torch.Tensor,
    size: int,
    *,
    mode: str = "bilinear",
    antialias: bool = True,
) -> torch.Tensor:
    """Resize so that the shorter side becomes ``size``, keeping the aspect ratio (long side rounded)."""
    _check_spatial(frames)
    s = _pos_int(size, "size")
    h, w = (int(v) for v in frames.shape[-2:])
    if h <= w:
        out = (s, max(1, int(round(w * s / h))))
    else:
        out = (max(1, int(round(h * s / w))), s)
    return resize(frames, out, mode=mode, antialias=antialias)


# ====================================================================== augmentation
def hflip(frames: torch.Tensor) -> torch.Tensor:
    """Mirror left-right (reverse the last dim). ``hflip(hflip(x))`` equals ``x`` exactly."""
    _check_spatial(frames)
    return frames.flip(-1)


def rotate(
    frames: torch.Tensor,
    degrees: float,
    *,
    padding_mode: str = "zeros",
    mode: str = "bilinear",
) -> torch.Tensor:
    """Rotate every frame by ``degrees`` counter-clockwise (as displayed, rows going down) about its centre.

    Implemented with :func:`torch.nn.functional.affine_grid` / :func:`~torch.nn.functional.grid_sample`
    (``align_corners=False``). The rotation is a true rotation in pixel space also for non-square
    frames (the normalised-coordinate matrix is corrected for the aspect ratio). A rotation by
    90 degrees of a square frame equals ``torch.rot90(frames, 1, (-2, -1))``; by 0 it returns a copy.

    Args:
        frames: ``(..., C, H, W)`` floating point tensor.
        degrees: angle; positive = counter-clockwise.
        padding_mode: what fills the corners that come from outside the frame: ``"zeros"`` (black, as
            the Vid-ODE authors' ``skimage.transform.rotate``), ``"border"`` (repeat the edge) or
            ``"reflection"``.
        mode: ``"bilinear"`` or ``"nearest"``.
    """
    _check_spatial(frames)
    try:
        a = float(degrees)
    except (TypeError, ValueError):
        raise InputError(f"degrees must be a number, got {degrees!r}") from None
    if not math.isfinite(a):
        raise InputError(f"degrees must be finite, got {degrees!r}")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise InputError(f"padding_mode must be 'zeros', 'border' or 'reflection', got {padding_mode!r}")
    if mode not in ("bilinear", "nearest"):
        raise InputError(f"mode must be 'bilinear' or 'nearest', got {mode!r}")
    if a == 0.0:
        return frames.clone()
    x, lead = _as_4d(frames)
    n, _, h, w = x.shape
    r = math.radians(a)
    c, s = math.cos(r), math.sin(r)
    # Output pixel q (pixel units from the centre, y down) samples input p = R(-a) q;
    # normalised coords are x_n = x / (W / 2), y_n = y / (H / 2).
    theta = torch.tensor([[c, -s * h / w, 0.0], [s * w / h, c, 0.0]], dtype=x.dtype, device=x.device)
    grid = F.affine_grid(theta.expand(n, 2, 3), [n, x.shape[1], h, w], align_corners=False)
    out = F.grid_sample(x, grid, mode=mode, padding_mode=padding_mode, align_corners=False)
    return out.reshape(*lead, *out.shape[-3:])


def sample_flip_rotate(
    generator: torch.Generator | None,
    *,
    flip_prob: float = 0.5,
    max_degrees: float = 10.0,
) -> tuple[bool, float]:
    """Draw one clip's augmentation: ``(flip, angle)`` with ``flip ~ Bernoulli(flip_prob)`` and
    ``angle ~ U[-max_degrees, max_degrees]`` (always two draws, in that order, from ``generator``)."""
    p = float(flip_prob)
    m = float(max_degrees)
    if not 0.0 <= p <= 1.0:
        raise InputError(f"flip_prob must be in [0, 1], got {flip_prob!r}")
    if not math.isfinite(m) or m < 0:
        raise InputError(f"max_degrees must be a finite number >= 0, got {max_degrees!r}")
    u = torch.rand(2, generator=generator, dtype=torch.float64)
    flip = bool(u[0] < p)
    angle = float((2.0 * u[1] - 1.0) * m)
    return flip, angle


def random_flip_rotate(
    frames: torch.Tensor,
    generator: torch.Generator | None,
    *,
    flip_prob: float = 0.5,
    max_degrees: float = 10.0,
    padding_mode: str = "zeros",
) -> torch.Tensor:
    """The Vid-ODE augmentation: the same random horizontal flip and rotation for every frame of the clip."""
    flip, angle = sample_flip_rotate(generator, flip_prob=flip_prob, max_degrees=max_degrees)
    out = hflip(frames) if flip else frames
    return rotate(out, angle, padding_mode=padding_mode)


# ====================================================================== temporal
def window_start(
    length: int,
    span: int,
    mode: str = "random",
    generator: torch.Generator | None = None,
) -> int:
    """First frame of a window of ``span`` frames inside a clip of ``length`` frames.

    ``mode``: ``"random"`` (uniform over all ``length - span + 1`` positions, the last included),
    ``"first"`` (0) or ``"center"`` (``(length - span) // 2``).
    """
    n = _pos_int(length, "length")
    k = _pos_int(span, "span")
    if mode not in _WINDOW_MODES:
        raise InputError(f"window mode must be one of {', '.join(_WINDOW_MODES)}, got {mode!r}")
    if k > n:
        raise InputError(f"a window of {k} frames does not fit in a clip of {n} frames")
    if mode == "first":
        return 0
    if mode == "center":
        return (n - k) // 2
    return int(torch.randint(0, n - k + 1, (1,), generator=generator))


def temporal_window(frames: torch.Tensor, num_frames: int, start: int = 0, stride: int = 1) -> torch.Tensor:
    """``frames[start : start + (num_frames - 1) * stride + 1 : stride]`` (must fit in the clip)."""
    _check_clip(frames)
    t = _pos_int(num_frames, "num_frames")
    st = _pos_int(stride, "stride")
    s = _int(start)
    span = (t - 1) * st + 1
    if s is None or s < 0 or s + span > frames.shape[0]:
        raise InputError(
            f"a window of {t} frames with stride {st} starting at {start} does not fit in a clip of "
            f"{frames.shape[0]} frames"
        )
    return frames[s : s + span : st].clone()


def random_temporal_window(
    frames: torch.Tensor,
    num_frames: int,
    generator: torch.Generator | None = None,
    *,
    stride: int = 1,
) -> tuple[torch.Tensor, int]:
    """A uniformly random window of ``num_frames`` frames (every ``stride``-th); returns ``(window, start)``."""
    _check_clip(frames)
    span = (_pos_int(num_frames, "num_frames") - 1) * _pos_int(stride, "stride") + 1
    start = window_start(frames.shape[0], span, "random", generator)
    return temporal_window(frames, num_frames, start, stride), start


def subsample(frames: torch.Tensor, stride: int, offset: int = 0) -> torch.Tensor:
    """Every ``stride``-th frame starting at ``offset`` (lower the frame rate by ``stride``)."""
    _check_clip(frames)
    st = _pos_int(stride, "stride")
    o = _int(offset)
    if o is None or not 0 <= o < frames.shape[0]:
        raise InputError(f"offset must be an int in [0, {frames.shape[0] - 1}], got {offset!r}")
    return frames[o::st].clone()


def irregular_indices(
    length: int,
    num_keep: int,
    generator: torch.Generator | None = None,
    *,
    keep_first: bool = True,
    keep_last: bool = False,
) -> torch.Tensor:
    """``num_keep`` distinct sorted frame indices from ``range(length)``, uniformly at random.

    ``keep_first`` / ``keep_last`` force index 0 / ``length - 1`` into the set (the rest is drawn
    from the remaining positions). Returns an int64 ``(num_keep,)`` tensor.
    """
    n = _pos_int(length, "length")
    k = _pos_int(num_keep, "num_keep")
    if k > n:
        raise InputError(f"cannot keep {k} of {n} frames; num_keep must be <= length")
    fixed = []
    if keep_first:
        fixed.append(0)
    if keep_last and (n - 1) not in fixed:
        fixed.append(n - 1)
    if len(fixed) > k:
        raise InputError(f"num_keep={k} is too small to keep both the first and the last frame")
    pool = torch.tensor([i for i in range(n) if i not in fixed], dtype=torch.long)
    extra = pool[torch.randperm(pool.numel(), generator=generator)[: k - len(fixed)]]
    return torch.cat([torch.tensor(fixed, dtype=torch.long), extra]).sort().values


def irregular_subsample(
    frames: torch.Tensor,
    num_keep: int,
    generator: torch.Generator | None = None,
    *,
    keep_first: bool = True,
    keep_last: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Keep ``num_keep`` random frames in time order; returns ``(frames[idx], idx)`` (see :func:`irregular_indices`)."""
    _check_clip(frames)
    idx = irregular_indices(frames.shape[0], num_keep, generator, keep_first=keep_first, keep_last=keep_last)
    return frames[idx].clone(), idx
