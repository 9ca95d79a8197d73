"""Per-frame image-quality metrics on video tensors: MSE, MAE, PSNR, SSIM.

Conventions
-----------
* ``pred`` and ``target`` are ``(B, T, C, H, W)`` tensors (a batch of clips) or ``(N, C, H, W)``
  tensors (a stack of frames). Values are expected in ``[0, data_range]``; ``data_range``
  defaults to ``1.0`` (the library's frame convention). Values are not clipped or checked
  against the range (predictions may overshoot slightly), but they must be finite.
* Every metric returns **one value per frame**: shape ``(B, T)`` for 5-D input and ``(N,)``
  for 4-D input (in general ``pred.shape[:-3]``), dtype ``float64`` on the input's device.
  Averaging is left to the caller (over frames, clips, or per time step), see
  :func:`odevideo.metrics.aggregate`.
* Computation is done in float64 regardless of the input dtype.

Naming of the two MSE conventions
---------------------------------
* :func:`mse_per_pixel` / :func:`mae_per_pixel`: mean over ``C, H, W`` (the usual definition;
  the one PSNR is based on).
* :func:`mse_per_frame_sum` / :func:`mae_per_frame_sum`: **sum** over ``C, H, W``. This is the
  convention of OpenSTL (and of many Moving-MNIST papers that report "MSE" in the hundreds):
  ``per_frame_sum = per_pixel * C * H * W``.

PSNR conventions
----------------
* :func:`psnr` gives one PSNR per frame; the field's usual number is the **mean of per-frame
  PSNRs** (``psnr(pred, target).mean()``).
* :func:`psnr_from_mean_mse` converts a dataset-mean per-pixel MSE to PSNR, the convention some
  papers use. Because ``-log`` is convex, it is never larger than the mean of per-frame PSNRs;
  label which one you report.
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch
import torch.nn.functional as F

from odevideo.errors import InputError

__all__ = [
    "aggregate",
    "mse_per_pixel",
    "mse_per_frame_sum",
    "mae_per_pixel",
    "mae_per_frame_sum",
    "psnr",
    "psnr_from_mean_mse",
    "ssim",
    "SSIM_K1",
    "SSIM_K2",
    "SSIM_SIGMA",
    "SSIM_TRUNCATE",
    "SSIM_WIN_SIZE",
]

# Wang et al. 2004 constants, as used by skimage.metrics.structural_similarity(gaussian_weights=True)
SSIM_K1 = 0.01
SSIM_K2 = 0.03
SSIM_SIGMA = 1.5
SSIM_TRUNCATE = 3.5  # skimage sets truncate=3.5 for gaussian_weights -> radius int(3.5*1.5+0.5)=5
SSIM_WIN_SIZE = 2 * int(SSIM_TRUNCATE * SSIM_SIGMA + 0.5) + 1  # 11

# Upper bound on the number of float64 elements of one SSIM work chunk (5 maps per frame channel)
_SSIM_CHUNK_ELEMENTS = 1 << 24

#: PSNR of identical frames is infinite; per-frame PSNR is capped here (dB) so that means stay finite
PSNR_CAP_DB = 100.0


# --------------------------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------------------------


def _check_data_range(data_range: float) -> float:
    try:
        value = float(data_range)
    except (TypeError, ValueError):
        raise InputError(
            f"data_range must be a positive number (e.g. 1.0 for frames in [0, 1] or 255.0 for "
            f"8-bit frames), got {data_range!r}"
        ) from None
    if not math.isfinite(value) or value <= 0:
        raise InputError(
            f"data_range must be a positive finite number (e.g. 1.0 for frames in [0, 1] or 255.0 "
            f"for 8-bit frames), got {data_range!r}"
        )
    return value


def _check_pair(pred, target, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate a (pred, target) pair and return both as float64 tensors of the same shape."""
    tensors = []
    for label, value in (("pred", pred), ("target", target)):
        if not isinstance(value, torch.Tensor):
            try:
                value = torch.as_tensor(value)
            except (TypeError, ValueError, RuntimeError):
                raise InputError(
                    f"{name}: {label} must be a torch.Tensor (or array-like), got {type(value).__name__}"
                ) from None
        if value.dtype == torch.bool or value.is_complex():
            raise InputError(
                f"{name}: {label} must be a real floating-point or integer tensor, got dtype {value.dtype}"
            )
        if value.dim() not in (4, 5):
            raise InputError(
                f"{name}: {label} must have shape (B, T, C, H, W) or (N, C, H, W), got shape "
                f"{tuple(value.shape)}; add the missing batch/time dimension with .unsqueeze(0)"
            )
        tensors.append(value)
    pred, target = tensors
    if pred.shape != target.shape:
        raise InputError(
            f"{name}: pred and target must have the same shape, got {tuple(pred.shape)} and "
            f"{tuple(target.shape)}"
        )
    if pred.device != target.device:
        raise InputError(
            f"{name}: pred and target are on different devices ({pred.device} and {target.device}); "
            f"move both to the same device"
        )
    if pred.numel() == 0:
        raise InputError(f"{name}: got empty tensors of shape {tuple(pred.shape)}")
    pred = pred.to(torch.float64)
    target = target.to(torch.float64)
    for label, value in (("pred", pred), ("target", target)):
        finite = torch.isfinite(value)
        if not bool(finite.all()):
            bad = int((~finite).sum())
            raise InputError(
                f"{name}: {label} contains {bad} non-finite value(s) (NaN or inf); "
                f"check the model output / data before computing metrics"
            )
    return pred, target


# --------------------------------------------------------------------------------------------
# MSE / MAE / PSNR
# --------------------------------------------------------------------------------------------


def _frame_error(pred: torch.Tensor, target: torch.Tensor, name: str, *, squared: bool, summed: bool) -> torch.Tensor:
    """``(pred - target)**2`` (``squared``) or ``|pred - target|`` per frame, summed (``summed``) or averaged over
    ``C, H, W``, after :func:`_check_pair` (errors name ``name``). Returns ``pred.shape[:-3]`` float64."""
    pred, target = _check_pair(pred, target, name)
    error = (pred - target).square() if squared else (pred - target).abs()
    return error.sum(dim=(-3, -2, -1)) if summed else error.mean(dim=(-3, -2, -1))


def mse_per_pixel(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error per frame, averaged over ``C, H, W``. Returns ``pred.shape[:-3]`` float64."""
    return _frame_error(pred, target, "mse_per_pixel", squared=True, summed=False)


def mse_per_frame_sum(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Squared error per frame **summed** over ``C, H, W`` (OpenSTL's "MSE" convention).

    Equals ``mse_per_pixel(pred, target) * C * H * W``. Returns ``pred.shape[:-3]`` float64.
    """
    return _frame_error(pred, target, "mse_per_frame_sum", squared=True, summed=True)


def mae_per_pixel(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute error per frame, averaged over ``C, H, W``. Returns ``pred.shape[:-3]`` float64."""
    return _frame_error(pred, target, "mae_per_pixel", squared=False, summed=False)


def mae_per_frame_sum(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Absolute error per frame **summed** over ``C, H, W`` (OpenSTL's "MAE" convention).

    Equals ``mae_per_pixel(pred, target) * C * H * W``. Returns ``pred.shape[:-3]`` float64.
    """
    return _frame_error(pred, target, "mae_per_frame_sum", squared=False, summed=True)


def psnr(pred: torch.Tensor, target: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Peak signal-to-noise ratio per frame, in dB.

    ``psnr = 10 * log10(data_range**2 / mse_per_pixel)`` for each frame, matching
    ``skimage.metrics.peak_signal_noise_ratio(target_frame, pred_frame, data_range=data_range)``.
    A frame identical to its target (MSE 0) gives ``+inf``; clamp before averaging if you need a
    finite number (e.g. ``psnr(...).clamp(max=100.0)``). The usual reported number is the mean of
    these per-frame values; see :func:`psnr_from_mean_mse` for the dataset-mean-MSE convention.

    Returns ``pred.shape[:-3]`` float64 (``(B, T)`` for video input).
    """
    data_range = _check_data_range(data_range)
    mse = _frame_error(pred, target, "psnr", squared=True, summed=False)
    return 10.0 * torch.log10((data_range * data_range) / mse)


def psnr_from_mean_mse(mse, data_range: float = 1.0):
    """PSNR (dB) of an already-averaged **per-pixel** MSE: the "PSNR of the dataset-mean MSE" convention.

    ``mse`` is e.g. ``mse_per_pixel(pred, target).mean()`` over a whole test set (not the
    OpenSTL per-frame sum). Some papers report this number; it is never larger than the mean of
    per-frame PSNRs (:func:`psnr`), so label which convention a reported value uses.

    Accepts a Python number (returns a float) or a tensor (returns a float64 tensor of the same
    shape). An MSE of 0 gives ``+inf``.
    """
    data_range = _check_data_range(data_range)
    if isinstance(mse, torch.Tensor):
        value = mse.to(torch.float64)
        if bool((value < 0).any()) or not bool(torch.isfinite(value).all()):
            raise InputError(f"psnr_from_mean_mse: mse must be finite and >= 0, got {mse}")
        return 10.0 * torch.log10((data_range * data_range) / value)
    try:
        value = float(mse)
    except (TypeError, ValueError):
        raise InputError(f"psnr_from_mean_mse: mse must be a number or tensor, got {mse!r}") from None
    if not math.isfinite(value) or value < 0:
        raise InputError(f"psnr_from_mean_mse: mse must be finite and >= 0, got {mse!r}")
    if value == 0.0:
        return math.inf
    return 10.0 * math.log10((data_range * data_range) / value)


# --------------------------------------------------------------------------------------------
# SSIM
# --------------------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _gaussian_taps(sigma: float, truncate: float) -> tuple[float, ...]:
    """1-D Gaussian taps as scipy.ndimage.gaussian_filter builds them (radius int(truncate*sigma+0.5))."""
    radius = int(truncate * sigma + 0.5)
    weights = [math.exp(-0.5 * (i * i) / (sigma * sigma)) for i in range(-radius, radius + 1)]
    total = math.fsum(weights)
    return tuple(w / total for w in weights)


def _ssim_chunk(x: torch.Tensor, y: torch.Tensor, kernel: torch.Tensor, c1: float, c2: float) -> torch.Tensor:
    """SSIM for x, y of shape (M, H, W) float64 -> (M,) mean SSIM over the cropped map."""
    m = x.shape[0]
    # 5 maps per image, filtered depth-wise with the separable Gaussian.
    stack = torch.stack((x, y, x * x, y * y, x * y), dim=1)  # (M, 5, H, W)
    k = kernel.numel()
    kh = kernel.view(1, 1, k, 1).expand(5, 1, k, 1)
    kw = kernel.view(1, 1, 1, k).expand(5, 1, 1, k)
    # 'valid' filtering: skimage filters with mode='reflect' and then crops (win_size-1)//2 pixels
    # from every border before averaging; the kept pixels never touch the padding, so a valid
    # convolution reproduces exactly the cropped region.
    filtered = F.conv2d(F.conv2d(stack, kh, groups=5), kw, groups=5)
    ux, uy, uxx, uyy, uxy = filtered.unbind(dim=1)
    vx = uxx - ux * ux  # population covariance (use_sample_covariance=False)
    vy = uyy - uy * uy
    vxy = uxy - ux * uy
    num = (2.0 * ux * uy + c1) * (2.0 * vxy + c2)
    den = (ux * ux + uy * uy + c1) * (vx + vy + c2)
    return (num / den).reshape(m, -1).mean(dim=1)


def ssim(pred: torch.Tensor, target: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Structural similarity per frame (Wang et al. 2004), in ``[-1, 1]`` (1 = identical).

    Matches ``skimage.metrics.structural_similarity(target_frame, pred_frame,
    gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=data_range,
    channel_axis=0)`` on each ``(C, H, W)`` frame (computed in float64): an 11x11 Gaussian window
    (sigma 1.5, truncated at 3.5 sigma), ``K1=0.01``, ``K2=0.03``, the SSIM map cropped by 5
    pixels on every side, averaged over the remaining pixels and then over channels.
    Frames must be at least 11x11 pixels.

    Vectorised over all frames with a separable ``torch.nn.functional.conv2d``.
    Returns ``pred.shape[:-3]`` float64 (``(B, T)`` for video input).
    """
    data_range = _check_data_range(data_range)
    pred, target = _check_pair(pred, target, "ssim")
    lead = pred.shape[:-3]
    c, h, w = pred.shape[-3:]
    if h < SSIM_WIN_SIZE or w < SSIM_WIN_SIZE:
        raise InputError(
            f"ssim: frames must be at least {SSIM_WIN_SIZE}x{SSIM_WIN_SIZE} pixels (the Gaussian "
            f"window size), got {h}x{w}; upsample the frames or use another metric"
        )
    c1 = (SSIM_K1 * data_range) ** 2
    c2 = (SSIM_K2 * data_range) ** 2
    kernel = torch.tensor(_gaussian_taps(SSIM_SIGMA, SSIM_TRUNCATE), dtype=torch.float64, device=pred.device)

    x = pred.reshape(-1, h, w)
    y = target.reshape(-1, h, w)
    # bound memory: process at most ~_SSIM_CHUNK_ELEMENTS float64 values of filter maps at a time
    per_chunk = max(1, _SSIM_CHUNK_ELEMENTS // (5 * h * w))
    chunks = [
        _ssim_chunk(x[i : i + per_chunk], y[i : i + per_chunk], kernel, c1, c2)
        for i in range(0, x.shape[0], per_chunk)
    ]
    per_channel = torch.cat(chunks).reshape(*lead, c)
    return per_channel.mean(dim=-1)


# --------------------------------------------------------------------------------------------
# aggregation
# --------------------------------------------------------------------------------------------


def aggregate(per_frame: torch.Tensor, mask: torch.Tensor | None = None) -> dict:
    """Summarise ``(B, T)`` per-frame metric values.

    Returns a dict with
    * ``"mean"``: mean over all (selected) frames: the "per-frame metric averaged over frames"
      convention (equal-length clips make this also the mean of per-clip means);
    * ``"std"``: population standard deviation (``ddof=0``) over the same frames;
    * ``"per_timestep"``: list of ``T`` means over clips at each time index (``nan`` where ``mask``
      selects no clip);
    * ``"count"``: number of frames averaged.

    ``mask`` (optional, ``(B, T)`` bool) selects which frames count, e.g. only predicted frames.
    Infinite values (PSNR of a perfect frame) propagate; clamp them first if needed.
    """
    if not isinstance(per_frame, torch.Tensor):
        per_frame = torch.as_tensor(per_frame)
    if per_frame.dim() != 2:
        raise InputError(
            f"aggregate: per_frame must have shape (B, T), got {tuple(per_frame.shape)}; "
            f"reshape (N,) values to (1, N) (one clip) or (N, 1) (independent images)"
        )
    values = per_frame.detach().to(torch.float64).cpu()
    if mask is None:
        keep = torch.ones_like(values, dtype=torch.bool)
    else:
        if not isinstance(mask, torch.Tensor) or mask.shape != values.shape:
            shape = tuple(mask.shape) if isinstance(mask, torch.Tensor) else type(mask).__name__
            raise InputError(f"aggregate: mask must be a bool tensor of shape {tuple(values.shape)}, got {shape}")
        keep = mask.detach().cpu().to(torch.bool)
    count = int(keep.sum())
    if count == 0:
        raise InputError("aggregate: no frames to average (empty input or all-False mask)")
    selected = values[keep]
    mean = selected.mean()
    std = (selected - mean).square().mean().sqrt() if torch.isfinite(mean) else torch.tensor(float("nan"))
    per_t_count = keep.sum(dim=0)
    per_t_sum = torch.where(keep, values, torch.zeros_like(values)).sum(dim=0)
    per_timestep = torch.where(
        per_t_count > 0, per_t_sum / per_t_count.clamp(min=1), torch.full_like(per_t_sum, float("nan"))
    )
    return {
        "mean": float(mean),
        "std": float(std),
        "per_timestep": [float(v) for v in per_timestep],
        "count": count,
    }
