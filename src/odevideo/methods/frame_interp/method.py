"""The frame-interpolation method: :class:`ODEFlowInterpolator` trained on in-between frames of random gaps."""

from __future__ import annotations

import torch

from odevideo.errors import ConfigError
from odevideo.methods.base import ConditionalMethod, StepLosses, init_kwargs
from odevideo.methods.frame_interp.config import FrameInterpLossConfig, ODEFlowInterpConfig
from odevideo.methods.frame_interp.model import ODEFlowInterpolator


class ODEFlowInterpMethod(ConditionalMethod):
    """Continuous-time interpolation from a classical start (DIS flow or the linear blend): flows to both
    neighbours, a visibility mask and a residual from a latent ODE over the gap."""

    name, family = "ode_flow_interp", "frame_interp"
    model_config, loss_config = ODEFlowInterpConfig, FrameInterpLossConfig
    interpolator = True

    def check(self, cfg) -> None:
        gaps = cfg.loss.gaps
        if not gaps or any(isinstance(g, bool) or not isinstance(g, int) or g < 2 for g in gaps):
            raise ConfigError(f"loss.gaps={gaps!r} must be a list of whole numbers >= 2 (frames between two "
                              f"observations)")
        if max(gaps) > cfg.data.num_frames - 1:
            raise ConfigError(f"loss.gaps reach {max(gaps)} but windows have data.num_frames={cfg.data.num_frames}; "
                              f"set data.num_frames >= {max(gaps) + 1}")
        if cfg.task.formulation != "interpolation":
            raise ConfigError("ode_flow_interp is an interpolator: set task.formulation=interpolation")

    def build_model(self, model_cfg, spec):
        return ODEFlowInterpolator(in_channels=spec.channels, **init_kwargs(model_cfg))

    def loss_units(self, cfg, mask) -> float:
        return float(mask.shape[0])

    def losses(self, cfg, model, critics, batch, noise, step, rng):
        """Charbonnier L1 on the in-between frames of one gap per step (drawn from ``loss.gaps`` by the step
        number, so a resumed run sees the same gaps): the window's frames 0 and ``g`` are observed."""
        gaps = cfg.loss.gaps
        gap = gaps[int(torch.randint(len(gaps), (1,), generator=torch.Generator().manual_seed(int(step))))]
        ends = [0, gap]
        pred = model(batch.frames[:, ends], batch.times[:, ends], batch.mask[:, ends], batch.times[:, 1:gap])
        target = batch.frames[:, 1:gap].float()
        valid = (batch.mask[:, 1:gap] & batch.mask[:, 0:1] & batch.mask[:, gap:gap + 1]).float()
        eps = cfg.loss.charbonnier_eps
        err = torch.sqrt((pred.frames.float() - target) ** 2 + eps * eps).flatten(2).mean(2)  # (B, g - 1)
        loss = ((err * valid).sum(1) / valid.sum(1).clamp(min=1)).mean()
        with torch.no_grad():
            mse = ((pred.frames.detach().float().clamp(0, 1) - target) ** 2).flatten(2).mean(2)
            mse = float((mse * valid).sum() / valid.sum().clamp(min=1))
        return StepLosses(loss, {"loss": float(loss.detach()), "mse": mse, "gap": gap, "nfe": pred.nfe})
