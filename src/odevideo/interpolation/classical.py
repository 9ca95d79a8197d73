"""Training-free frame interpolation between two frames: the bars a learned interpolator must clear.

All functions take two frames ``frame0``, ``frame1`` ``(N, C, H, W)`` float in [0, 1] observed at the
times 0 and 1 of their gap, and ``tau`` ``(N,)`` or a float: the query time as a fraction of the gap
(0 = ``frame0``, 1 = ``frame1``). They return the frame at ``tau`` ``(N, C, H, W)``.

* :func:`repeat_previous`: ``frame0`` (what a player that drops frames shows).
* :func:`linear_blend`: ``(1 - tau) frame0 + tau frame1`` (a cross-fade).
* :func:`flow_interpolate`: both frames backward-warped to ``tau`` along a linear-motion flow and mixed by
  ``tau``; with :func:`dis_flow` (OpenCV's DIS optical flow, medium preset) it is the classical
  optical-flow interpolation of :func:`dis_flow_interpolate`.

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

from odevideo.errors import InputError
from odevideo.nn.warping import warp

__all__ = [
    "repeat_previous", "linear_blend", "dis_flow", "flows_to_time", "flow_interpolate",
    "dis_flow_interpolate", "has_opencv", "CLASSICAL",
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


def dis_flow(frame0: Tensor, frame1: Tensor, preset: str = "medium") -> tuple[Tensor, Tensor]:
    """OpenCV's DIS optical flow (Kroeger et al. 2016) on the frames' luma, both ways.

    Returns ``(flow01, flow10)``, each ``(N, 2, H, W)`` float32 on the frames' device, in pixels:
    ``flow01`` maps ``frame0``'s pixels into ``frame1`` and ``flow10`` the other way. Not differentiable
    (a classical estimate). ``preset``: ``ultrafast``, ``fast`` or ``medium`` (OpenCV's presets).
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
    dis = cv2.DISOpticalFlow_create(presets[preset])
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


def flow_interpolate(frame0: Tensor, frame1: Tensor, tau: Tensor | float, flow01: Tensor, flow10: Tensor) -> Tensor:
    """Both frames backward-warped to ``tau`` along :func:`flows_to_time` and mixed ``(1 - tau) : tau``.
    Exactly ``frame0`` at ``tau = 0`` and ``frame1`` at ``tau = 1`` (there the end frame itself, not its warp by a
    zero flow, which ``grid_sample``'s coordinate rounding moves by ~1e-7)."""
    _check_pair(frame0, frame1)
    t = _tau(tau, frame0)
    ft0, ft1 = flows_to_time(flow01, flow10, tau)
    mixed = (1 - t) * warp(frame0, ft0.to(frame0.dtype)) + t * warp(frame1, ft1.to(frame0.dtype))
    return torch.where(t <= 0, frame0, torch.where(t >= 1, frame1, mixed))


def dis_flow_interpolate(frame0: Tensor, frame1: Tensor, tau: Tensor | float, preset: str = "medium") -> Tensor:
    """The classical optical-flow interpolation: :func:`flow_interpolate` along :func:`dis_flow`."""
    f01, f10 = dis_flow(frame0, frame1, preset)
    return flow_interpolate(frame0, frame1, tau, f01, f10)


#: the training-free interpolators by name (``odevideo retime --model NAME``, evaluation baselines)
CLASSICAL = {
    "repeat_previous": repeat_previous,
    "linear_blend": linear_blend,
    "dis_flow": dis_flow_interpolate,
}
