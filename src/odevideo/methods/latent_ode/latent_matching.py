"""Loss of the deterministic Encoder-ODE-Decoder (Kanaa et al., eq. 1).

L = sum_i ||x_i - dec(z(t_i))||^2 + latent_weight * ||enc(x_i) - z(t_i)||^2 over the target frames,
where z(t) solves the latent ODE from enc(x_0). Pixel errors are summed over pixels (per frame) and
averaged over target frames and clips, the latent term likewise over latent dimensions.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from odevideo.data.tasks import Task, masked_frame_mean
from odevideo.methods.latent_ode.encoder_ode_decoder import EncoderODEDecoder


@dataclass
class LossOutput:
    """``loss`` to minimise plus scalar ``metrics`` for logging (floats) and the raw prediction."""

    loss: Tensor
    metrics: dict
    prediction: object = None


def encoder_ode_decoder_loss(model: EncoderODEDecoder, task: Task, latent_weight: float = 1.0) -> LossOutput:
    pred = model(task.context_frames, task.context_times, task.context_mask, task.query_times)
    pixel = ((pred.frames - task.targets.float()) ** 2).flatten(2).sum(-1)
    enc = model.encode_frames(task.targets).float()
    latent = ((enc - pred.latents) ** 2).sum(-1)
    pixel_term = masked_frame_mean(pixel, task.target_mask)
    latent_term = masked_frame_mean(latent, task.target_mask)
    loss = pixel_term + latent_weight * latent_term
    n_pix = task.targets[0, 0].numel()
    return LossOutput(
        loss=loss,
        metrics={
            "loss": loss.item(),
            "pixel_sse": pixel_term.item(),
            "mse": pixel_term.item() / n_pix,
            "latent_l2": latent_term.item(),
            "nfe": pred.nfe,
        },
        prediction=pred,
    )
