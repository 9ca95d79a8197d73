"""Vid-ODE's frame chain (eq. 2): frames composed one after the other from the Conv-Decoder's heads.

:func:`compose_frame_chain` applies ``X_k = M_k * W(F_k, X_{k-1}) + (1 - M_k) * D_k`` from an observed reference
frame, with the ablation switches of :class:`~odevideo.methods.vid_ode.vid_ode.VidODE`; :func:`coarse_flow`
shares one flow vector per cell. Re-anchoring the chain on observations (:func:`observation_anchors`,
:func:`gather_anchors`) and flows scaled by the time gap (:func:`frame_gaps`) serve VidODE and the VidRNN
baseline alike.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from odevideo.errors import InputError
from odevideo.nn.warping import compose, warp

__all__ = [
    "coarse_flow", "check_flow_stride", "compose_frame_chain", "observation_anchors", "gather_anchors", "frame_gaps",
]


def coarse_flow(flow: Tensor, stride: int) -> Tensor:
    """``(N, 2, H, W)`` -> the same flow averaged over ``stride x stride`` cells and bilinearly upsampled back.

    A flow on a coarse grid: every pixel of a cell shares (an interpolation of) the cell's vector, so the
    warping gradient, which exists only where the image has edges, trains the whole cell. (On bouncing
    balls 32x32, stride 4 learnt no faster than per-pixel flow in a 300-step probe; off by default.)
    """
    h, w = flow.shape[-2:]
    if h % stride or w % stride:
        raise InputError(f"frame size {h}x{w} is not divisible by flow_stride={stride}; choose a divisor of both.")
    coarse = nn.functional.avg_pool2d(flow, stride)
    return nn.functional.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=False)


def check_flow_stride(flow_stride: int) -> int:
    if isinstance(flow_stride, bool) or not isinstance(flow_stride, int) or flow_stride < 1:
        raise InputError(f"flow_stride={flow_stride!r} must be a positive integer (1 = a flow vector per pixel).")
    return flow_stride


def compose_frame_chain(
    heads: Tensor,
    ref_frame: Tensor,
    *,
    flow_stride: int = 1,
    use_flow_warping: bool = True,
    use_mask_composition: bool = True,
    warp_previous: str = "output",
    anchor_frames: Tensor | None = None,
    use_anchor: Tensor | None = None,
    flow_scale: Tensor | None = None,
    warp_padding: str = "border",
) -> dict[str, Tensor | None]:
    """Eq. 2 frame after frame: ``X_k = M_k * W(F_k, X_{k-1}) + (1 - M_k) * D_k`` from ``X_0 = ref_frame``.

    Args:
        heads: ``(B, Q, 2 + C + 1, H, W)`` raw outputs of G: flow (pixels), image difference, mask logit.
        ref_frame: ``(B, C, H, W)`` the observed frame the chain starts from.
        flow_stride: see :func:`coarse_flow` (1 = per-pixel flow).
        use_flow_warping, use_mask_composition, warp_previous: the ablation switches of :class:`VidODE`
            (at least one of the first two must be on; without both G predicts frames directly).
        anchor_frames, use_anchor: ``(B, Q, C, H, W)`` and bool ``(B, Q)`` (both or neither): where
            ``use_anchor[b, k]``, frame k is made from ``anchor_frames[b, k]`` (an observed frame) in place
            of the previous output ``X_{k-1}`` (:func:`observation_anchors`).
        flow_scale: optional ``(B, Q)`` factors applied to G's flows (``flow_per_time``: G's flow head is a
            velocity, the flow applied is the velocity times the time gap).
        warp_padding: what a flow that points outside the frame reads (:func:`~odevideo.nn.warping.warp`).

    Returns:
        ``raw_frames``, ``warped`` ``(B, Q, C, H, W)``; ``flows`` ``(B, Q, 2, H, W)`` (None without warping);
        ``differences`` in [-1, 1] and ``masks`` in [0, 1] (None without mask composition).
    """
    heads = heads.float()  # the chain runs in float32, also under autocast: errors compound frame after frame
    b, q, _, hh, ww = heads.shape
    c = ref_frame.shape[1]
    flows = heads[:, :, :2]
    if flow_scale is not None:
        flows = flows * flow_scale.to(flows.dtype)[:, :, None, None, None]
    if flow_stride > 1:
        flows = coarse_flow(flows.flatten(0, 1), flow_stride).view(b, q, 2, hh, ww)
    differences = torch.tanh(heads[:, :, 2 : 2 + c]) if use_mask_composition else None
    masks = torch.sigmoid(heads[:, :, 2 + c :]) if use_mask_composition else None
    if (anchor_frames is None) != (use_anchor is None):
        raise InputError("compose_frame_chain: pass anchor_frames and use_anchor together (or neither).")
    prev = ref_frame.float()
    warped_all, raw_all = [], []
    for k in range(q):
        anchored = None if use_anchor is None else use_anchor[:, k, None, None, None]
        if anchored is not None:
            prev = torch.where(anchored, anchor_frames[:, k].float(), prev)
        warped = warp(prev, flows[:, k], warp_padding) if use_flow_warping else prev
        raw = compose(warped, differences[:, k], masks[:, k]) if use_mask_composition else warped
        warped_all.append(warped)
        raw_all.append(raw)
        prev = warped if warp_previous == "warped" else raw.clamp(0.0, 1.0)
    return dict(
        raw_frames=torch.stack(raw_all, dim=1), warped=torch.stack(warped_all, dim=1),
        flows=flows if use_flow_warping else None, differences=differences, masks=masks,
    )


def observation_anchors(times: Tensor, mask: Tensor, query_times: Tensor) -> tuple[Tensor, Tensor]:
    """Which observed frame each query's frame should be made from, when re-anchoring on observations.

    Query ``k >= 1`` is anchored on the latest observed frame strictly before ``query_times[:, k]`` if that
    frame is not older than the previous query ``query_times[:, k - 1]``: a real frame then lies between
    the two queries, and warping it is better than warping the previous *generated* frame. Query 0 is
    never anchored here (the chain's reference frame already is an observed frame).

    Args:
        times, mask: ``(B, T)`` observation times and which of them are observed.
        query_times: ``(B, Q)`` strictly increasing query times.

    Returns:
        ``index`` ``(B, Q)`` long: the anchor's index into the T observations (0 where unused), and
        ``use`` ``(B, Q)`` bool.
    """
    before = mask[:, None, :] & (times[:, None, :] < query_times[:, :, None])  # (B, Q, T)
    ar = torch.arange(times.shape[1], device=times.device)
    idx = torch.where(before, ar, -1).max(dim=2).values  # (B, Q), -1: no observation before
    safe = idx.clamp_min(0)
    anchor_t = torch.gather(times, 1, safe)
    prev_q = torch.cat([torch.full_like(query_times[:, :1], float("inf")), query_times[:, :-1]], dim=1)
    use = (idx >= 0) & (anchor_t >= prev_q)
    return safe, use


def gather_anchors(observed: Tensor, obs_states: Tensor, times: Tensor, mask: Tensor, query_times: Tensor) -> dict:
    """The inputs of a re-anchored chain (:func:`observation_anchors`), for VidODE and VidRNN alike.

    Args:
        observed: ``(B, T, C, H, W)`` the observations, unobserved ones zeroed.
        obs_states: ``(B, T, K, h, w)`` decoder states at the observation times.
        times, mask, query_times: as in :func:`observation_anchors`.

    Returns:
        ``anchor_frames`` ``(B, Q, C, H, W)`` and ``use_anchor`` ``(B, Q)`` for :func:`compose_frame_chain`,
        and ``anchor_states`` ``(B, Q, K, h, w)``: the states G pairs with anchored frames in place of ``h_{k-1}``.
    """
    idx, use = observation_anchors(times, mask, query_times)
    ar = torch.arange(observed.shape[0], device=observed.device)[:, None]
    return dict(anchor_frames=observed[ar, idx], use_anchor=use, anchor_states=obs_states[ar, idx],
                anchor_times=times[ar, idx])


def frame_gaps(ref_time: Tensor, query_times: Tensor, anchors: dict | None = None) -> Tensor:
    """``(B, Q)`` time from the frame each query's frame is warped from to the query (``flow_per_time``).

    That frame is the previous query's (the reference frame's, ``ref_time`` ``(B,)``, for query 0), or the
    anchor's where ``anchors`` (:func:`gather_anchors`) re-anchors the chain.
    """
    prev = torch.cat([ref_time[:, None], query_times[:, :-1]], dim=1)
    if anchors is not None:
        prev = torch.where(anchors["use_anchor"], anchors["anchor_times"].to(prev.dtype), prev)
    return query_times - prev
