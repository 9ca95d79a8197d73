"""Training-free frame interpolation between two frames: the bars a learned interpolator must clear.

All functions take two frames ``frame0``, ``frame1`` ``(N, C, H, W)`` float in [0, 1] observed at the
times 0 and 1 of their gap, and ``tau`` ``(N,)`` or a float: the query time as a fraction of the gap
(0 = ``frame0``, 1 = ``frame1``). They return the frame at ``tau`` ``(N, C, H, W)``.

* :func:`repeat_previous`: ``frame0`` (what a player that drops frames shows).
* :func:`linear_blend`: ``(1 - tau) frame0 + tau frame1`` (a cross-fade).
* :func:`flow_interpolate`: both frames backward-warped to ``tau`` along a linear-motion flow and mixed by
  ``tau``; with :func:`dis_flow` (OpenCV's DIS optical flow, medium preset) it is the classical
  optical-flow interpolation of :func:`dis_flow_interpolate`.
* :func:`flow_or_blend_interpolate`: the flow interpolation where its two warped frames agree better than the
  unmoved frames do, the blend where they do not (:func:`flow_confidence`); with DIS flow,
  :func:`dis_flow_or_blend_interpolate`. A flow that spills from a moving object onto a still, textured
  background drags the texture along; this keeps the background where it is.

Flow conventions are :mod:`odevideo.nn.warping`'s: pixels, channel 0 = x, backward warping. A flow
``F_{0->1}`` maps a pixel of ``frame0`` to where it is in ``frame1``. Under linear motion the pixel at
``x`` of the frame at ``tau`` came from ``x + tau F_{1->0}(x)`` in ``frame0`` and goes to
``x + (1 - tau) F_{0->1}(x)`` in ``frame1`` (each flow read at ``x``, the usual approximation of the
flow at the intermediate frame by the flow at the same pixel of the end frames).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor
from torch.nn import functional as F

from odevideo.errors import InputError
from odevideo.nn.warping import warp

__all__ = [
    "repeat_previous", "linear_blend", "dis_flow", "flows_to_time", "flow_interpolate",
    "dis_flow_interpolate", "flow_confidence", "flow_or_blend_interpolate", "dis_flow_or_blend_interpolate",
    "local_mean", "has_opencv", "CLASSICAL", "FLOW_MIXERS",
]


def _tau(tau: Tensor | float, frame: Tensor) -> Tensor:
    t = torch.as_tensor(tau, dtype=frame.dtype, device=frame.device)
    if t.dim() == 0:
        t = t.expand(frame.shape[0])
    if t.shape != (frame.shape[0],):
        raise InputError(f"tau must be a float or shape ({frame.shape[0]},), got {tuple(t.shape)}")
    if not bool(torch.isfinite(t).all()) or bool((t < 0).any()) or bool((t > 1).any()):
        raise InputError(f"tau must lie in [0, 1] (a fraction of the gap between two frames), got {t.tolist()}")
    return t.view(-1, 1, 1, 1)


def _check_pair(frame0: Tensor, frame1: Tensor) -> None:
    if frame0.dim() != 4 or frame0.shape != frame1.shape:
        raise InputError(f"the two frames must both be (N, C, H, W) of one shape, got {tuple(frame0.shape)} and "
                         f"{tuple(frame1.shape)}")


def repeat_previous(frame0: Tensor, frame1: Tensor, tau: Tensor | float) -> Tensor:
    """``frame0`` at every ``tau < 1`` (``frame1`` at ``tau == 1``)."""
    _check_pair(frame0, frame1)
    t = _tau(tau, frame0)
    return torch.where(t >= 1, frame1, frame0)


def linear_blend(frame0: Tensor, frame1: Tensor, tau: Tensor | float) -> Tensor:
    """The cross-fade ``(1 - tau) frame0 + tau frame1``."""
    _check_pair(frame0, frame1)
    t = _tau(tau, frame0)
    return (1 - t) * frame0 + t * frame1


def has_opencv() -> bool:
    try:
        import cv2  # noqa: F401
    except ImportError:
        return False
    return True


def _cv2():
    try:
        import cv2
    except ImportError as e:
        raise InputError("DIS optical flow needs OpenCV: pip install 'odevideo[flow]' "
                         "(opencv-python-headless)") from e
    return cv2


def _gray_u8(frames: Tensor) -> np.ndarray:
    """``(N, C, H, W)`` in [0, 1] -> ``(N, H, W)`` uint8 luma (ITU-R BT.601 weights for RGB)."""
    x = frames.detach().float().clamp(0, 1).cpu()
    if x.shape[1] == 3:
        x = (0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2])
    else:
        x = x.mean(1)
    return (x * 255.0).round().to(torch.uint8).numpy()


def check_finest_scale(finest_scale: int | None, name: str = "DIS finest_scale") -> None:
    """A DIS pyramid level: ``None`` (the preset's) or a whole number from 0 to 4."""
    if finest_scale is not None and (isinstance(finest_scale, bool) or not isinstance(finest_scale, int)
                                     or not 0 <= finest_scale <= 4):
        raise InputError(f"{name} must be a whole number from 0 to 4 (or None), got {finest_scale!r}")


def dis_flow(frame0: Tensor, frame1: Tensor, preset: str = "medium",
             finest_scale: int | None = None) -> tuple[Tensor, Tensor]:
    """OpenCV's DIS optical flow (Kroeger et al. 2016) on the frames' luma, both ways.

    Returns ``(flow01, flow10)``, each ``(N, 2, H, W)`` float32 on the frames' device, in pixels:
    ``flow01`` maps ``frame0``'s pixels into ``frame1`` and ``flow10`` the other way. Not differentiable
    (a classical estimate). ``preset``: ``ultrafast``, ``fast`` or ``medium`` (OpenCV's presets).
    ``finest_scale``: the finest pyramid level the patches are matched on, 0 = the frames' own resolution
    (``None``: the preset's, 1 = half resolution for ``medium``). Half resolution suits video-sized frames;
    on frames of about 64 px its 12 px patches cover a fifth of the frame, and level 0 is far more accurate.
    """
    _check_pair(frame0, frame1)
    cv2 = _cv2()
    presets = {"ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST, "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
               "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM}
    if preset not in presets:
        raise InputError(f"DIS preset must be one of {', '.join(presets)}, got {preset!r}")
    h, w = frame0.shape[-2:]
    if min(h, w) < 8:
        raise InputError(f"DIS optical flow needs frames of at least 8x8 pixels, got {h}x{w}")
    check_finest_scale(finest_scale)
    dis = cv2.DISOpticalFlow_create(presets[preset])
    if finest_scale is not None:
        dis.setFinestScale(finest_scale)
    g0, g1 = _gray_u8(frame0), _gray_u8(frame1)
    f01 = np.stack([dis.calc(a, b, None) for a, b in zip(g0, g1)])
    f10 = np.stack([dis.calc(b, a, None) for a, b in zip(g0, g1)])
    to = {"device": frame0.device, "dtype": torch.float32}
    return (torch.from_numpy(f01).permute(0, 3, 1, 2).to(**to), torch.from_numpy(f10).permute(0, 3, 1, 2).to(**to))


def flows_to_time(flow01: Tensor, flow10: Tensor, tau: Tensor | float) -> tuple[Tensor, Tensor]:
    """Linear-motion flows from the frame at ``tau`` back to ``frame0`` and on to ``frame1``:
    ``(tau * flow10, (1 - tau) * flow01)`` (see the module docstring)."""
    t = _tau(tau, flow01)
    return t * flow10, (1 - t) * flow01


def _warped_to_time(frame0: Tensor, frame1: Tensor, tau: Tensor | float, flow01: Tensor, flow10: Tensor,
                    sampling: str = "bilinear") -> tuple[Tensor, Tensor]:
    """Both frames backward-warped to ``tau`` along :func:`flows_to_time`."""
    ft0, ft1 = flows_to_time(flow01, flow10, tau)
    return (warp(frame0, ft0.to(frame0.dtype), sampling=sampling),
            warp(frame1, ft1.to(frame0.dtype), sampling=sampling))


def flow_interpolate(frame0: Tensor, frame1: Tensor, tau: Tensor | float, flow01: Tensor, flow10: Tensor) -> Tensor:
    """Both frames backward-warped to ``tau`` along :func:`flows_to_time` and mixed ``(1 - tau) : tau``.
    Exactly ``frame0`` at ``tau = 0`` and ``frame1`` at ``tau = 1`` (there the end frame itself, not its warp by a
    zero flow, which ``grid_sample``'s coordinate rounding moves by ~1e-7)."""
    _check_pair(frame0, frame1)
    t = _tau(tau, frame0)
    w0, w1 = _warped_to_time(frame0, frame1, tau, flow01, flow10)
    mixed = (1 - t) * w0 + t * w1
    return torch.where(t <= 0, frame0, torch.where(t >= 1, frame1, mixed))


def dis_flow_interpolate(frame0: Tensor, frame1: Tensor, tau: Tensor | float, preset: str = "medium") -> Tensor:
    """The classical optical-flow interpolation: :func:`flow_interpolate` along :func:`dis_flow`."""
    f01, f10 = dis_flow(frame0, frame1, preset)
    return flow_interpolate(frame0, frame1, tau, f01, f10)


def local_mean(x: Tensor, sigma: float) -> Tensor:
    """Gaussian-weighted local mean of ``x`` ``(N, C, H, W)``, standard deviation ``sigma`` pixels, edges
    replicated. A wide window is taken on a grid ``sigma // 2`` times coarser (area-averaged, then upsampled
    bilinearly): the same smooth map at a small fraction of the cost on full-resolution frames."""
    if sigma <= 0:
        raise InputError(f"sigma must be positive, got {sigma}")
    r = int(sigma // 2)
    if r > 1:
        small = F.avg_pool2d(x, r, r, ceil_mode=True)
        return F.interpolate(local_mean(small, sigma / r), size=x.shape[-2:], mode="bilinear", align_corners=False)
    half = max(1, int(3 * sigma))
    k = torch.exp(-torch.arange(-half, half + 1, dtype=x.dtype, device=x.device) ** 2 / (2 * sigma ** 2))
    k = k / k.sum()
    c = x.shape[1]
    x = F.conv2d(F.pad(x, (half, half, 0, 0), mode="replicate"), k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(F.pad(x, (0, 0, half, half), mode="replicate"), k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


#: the local window of :func:`flow_confidence`, in pixels per 64 pixels of the frame's longer side
CONFIDENCE_SPREAD = 2.0


def flow_confidence(frame0: Tensor, frame1: Tensor, warped0: Tensor, warped1: Tensor) -> Tensor:
    """How far to trust a flow interpolation over the blend, per pixel: ``(N, 1, H, W)`` in (0, 1).

    ``warped0``, ``warped1`` are ``frame0`` and ``frame1`` warped to the query time. With ``D_flow`` the local
    mean of ``|warped0 - warped1|`` and ``D_still`` that of ``|frame0 - frame1|`` (channel means, Gaussian window
    of ``CONFIDENCE_SPREAD`` px per 64 px of the longer side), the weight is
    ``D_still^2 / (D_still^2 + D_flow^2)``: near 1 where the warps line the frames up, near 0 where the frames
    already agree unmoved and the warps do not (a flow spilling onto still texture), 1/2 where both agree.
    """
    sigma = CONFIDENCE_SPREAD * max(1.0, max(frame0.shape[-2:]) / 64)
    d_flow = local_mean((warped0 - warped1).abs().mean(1, keepdim=True), sigma) ** 2
    d_still = local_mean((frame0 - frame1).abs().mean(1, keepdim=True), sigma) ** 2
    eps = 1e-6
    return (d_still + eps) / (d_still + d_flow + 2 * eps)


def flow_or_blend_interpolate(frame0: Tensor, frame1: Tensor, tau: Tensor | float, flow01: Tensor, flow10: Tensor,
                              sampling: str = "bilinear") -> Tensor:
    """:func:`flow_interpolate` where its warps agree, the blend where the unmoved frames agree better:
    ``c F + (1 - c) B`` with ``c`` = :func:`flow_confidence`. The end frames themselves at ``tau`` 0 and 1."""
    _check_pair(frame0, frame1)
    t = _tau(tau, frame0)
    w0, w1 = _warped_to_time(frame0, frame1, tau, flow01, flow10, sampling)
    c = flow_confidence(frame0, frame1, w0, w1)
    blend = (1 - t) * frame0 + t * frame1
    mixed = c * ((1 - t) * w0 + t * w1) + (1 - c) * blend
    return torch.where(t <= 0, frame0, torch.where(t >= 1, frame1, mixed))


def dis_flow_or_blend_interpolate(frame0: Tensor, frame1: Tensor, tau: Tensor | float,
                                  preset: str = "medium") -> Tensor:
    """:func:`flow_or_blend_interpolate` along :func:`dis_flow`."""
    f01, f10 = dis_flow(frame0, frame1, preset)
    return flow_or_blend_interpolate(frame0, frame1, tau, f01, f10)


#: the classical interpolators that mix frames warped along DIS flow, by name: ``fn(frame0, frame1, tau, flow01,
#: flow10)``, so that one flow estimate can serve every query time of a gap
FLOW_MIXERS = {
    "dis_flow": flow_interpolate,
    "dis_flow_or_blend": flow_or_blend_interpolate,
}

#: the training-free interpolators by name (``odevideo retime --model NAME``, evaluation baselines)
CLASSICAL = {
    "repeat_previous": repeat_previous,
    "linear_blend": linear_blend,
    "dis_flow": dis_flow_interpolate,
    "dis_flow_or_blend": dis_flow_or_blend_interpolate,
}
