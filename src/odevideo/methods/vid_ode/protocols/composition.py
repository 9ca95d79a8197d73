"""Vid-ODE's composition components (Park et al. AAAI 2021, figure 3).

Figure 3: "Visualization of three intermediate outputs (Warped Image, Image Difference, Composition Mask) during
reconstructing images for video interpolation": the warped image ``W(F, X_prev)``, the image difference ``D``,
the mask ``M``, the output frame and the flow ``F`` for every query time.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from odevideo.errors import InputError
from odevideo.methods.vid_ode.protocols.common import Model, check_clips, check_model, device_of, eval_mode
from odevideo.metrics import mse_per_pixel

__all__ = ["CompositionComponents", "composition_components"]


@dataclass
class CompositionComponents:
    """Vid-ODE's intermediate outputs (paper figure 3), each ``(B, Q, ., H, W)`` float32 on the CPU.

    ``warped`` ``W(F, X_prev)`` and ``output`` (the frames, [0, 1]) have C channels, ``difference`` ``D`` C
    channels in [-1, 1], ``mask`` ``M`` 1 channel in [0, 1], ``flow`` 2 channels (pixels, x then y) and
    ``flow_magnitude`` 1 channel; ``query_times`` ``(B, Q)``; ``targets`` the ground truth when given.
    """

    query_times: Tensor
    warped: Tensor
    difference: Tensor
    mask: Tensor
    output: Tensor
    flow: Tensor
    flow_magnitude: Tensor
    targets: Tensor | None = None

    def summary(self) -> dict:
        """JSON-able per-time statistics of the components (means over clips and pixels)."""
        def per_time(x: Tensor) -> list[float]:
            return x.flatten(2).mean(2).mean(0).tolist()

        out = {
            "experiment": "composition_components", "figure": "Park et al. 2021, figure 3",
            "query_times": self.query_times.tolist(), "mean_mask": per_time(self.mask),
            "mean_abs_difference": per_time(self.difference.abs()),
            "mean_flow_magnitude": per_time(self.flow_magnitude),
        }
        if self.targets is not None:
            out["mse_per_time"] = mse_per_pixel(self.output, self.targets).mean(0).tolist()
        return out


def composition_components(
    model: Model,
    frames: Tensor,
    times: Tensor,
    query_times: Tensor,
    *,
    mask: Tensor | None = None,
    targets: Tensor | None = None,
) -> CompositionComponents:
    """Figure 3: warped image, image difference, mask, output and flow of a Vid-ODE-style model at ``query_times``.

    ``model`` must return a :class:`~odevideo.models.VidODEPrediction` with flows, differences, masks and warped
    images (:class:`~odevideo.models.VidODE` with warping and mask composition, or
    :class:`~odevideo.models.VidRNN`). ``frames`` ``(B, T, C, H, W)`` (or one clip), ``times``, ``mask`` as for
    the model; ``query_times`` ``(B, Q)`` or ``(Q,)``; ``targets`` ``(B, Q, C, H, W)`` optional ground truth.
    """
    check_model(model)
    frames, times = check_clips(frames, times)
    b = frames.shape[0]
    if not isinstance(query_times, Tensor) or query_times.dim() not in (1, 2):
        raise InputError("query_times must be a (B, Q) or (Q,) tensor of times.")
    query = query_times.unsqueeze(0).expand(b, -1) if query_times.dim() == 1 else query_times
    if query.shape[0] != b:
        raise InputError(
            f"query_times has {query.shape[0]} rows for {b} clips; give one row per clip or a (Q,) tensor."
        )
    if mask is not None and mask.dim() == 1:
        mask = mask.unsqueeze(0).expand(b, -1)
    if targets is not None:
        if targets.dim() == 4:
            targets = targets.unsqueeze(0)
        want = (b, query.shape[1], *frames.shape[2:])
        if tuple(targets.shape) != want:
            raise InputError(f"targets must have shape {want} (one frame per query time), got {tuple(targets.shape)}.")
    device = device_of(model, frames.device)
    dtype = frames.dtype
    with eval_mode(model):
        pred = model(frames.to(device), times.to(device=device, dtype=dtype),
                     None if mask is None else mask.to(device), query.to(device=device, dtype=dtype))
    missing = [k for k in ("flows", "differences", "masks", "warped") if getattr(pred, k, None) is None]
    if missing:
        raise InputError(
            f"{type(model).__name__} returned no {', '.join(missing)}: the composition needs flow warping and mask "
            f"composition; use VidODE(use_flow_warping=True, use_mask_composition=True) or VidRNN."
        )
    flow = pred.flows.detach().float().cpu()
    return CompositionComponents(
        query_times=query.detach().to(torch.float64).cpu(),
        warped=pred.warped.detach().float().cpu(),
        difference=pred.differences.detach().float().cpu(),
        mask=pred.masks.detach().float().cpu(),
        output=pred.frames.detach().float().cpu().clamp(0, 1),
        flow=flow,
        flow_magnitude=flow.square().sum(2, keepdim=True).sqrt(),
        targets=None if targets is None else targets.detach().float().cpu(),
    )
