"""Deterministic Encoder-ODE-Decoder (Kanaa, Voleti, Kahou, Pal; paper eq. 1, figure 1a).

A per-frame conv encoder embeds the *first observed* frame, a latent ODE carries the embedding to
any query time, and a per-frame conv decoder maps each latent back to pixels. Training (see
``odevideo.methods.latent_ode.latent_matching``) adds a latent matching term that pulls the ODE latents
towards the per-frame encodings, so encoder and dynamics share one latent space.
"""

from __future__ import annotations

from torch import Tensor

from odevideo.methods.latent_ode.latent_decoder import LatentVideoModel
from odevideo.methods.prediction import (
    VideoPrediction,
    check_inputs,
    first_observed_index,
    gather_time,
)
from odevideo.nn import ConvFrameEncoder


class EncoderODEDecoder(LatentVideoModel):
    """``forward(frames (B,T,C,H,W), times (B,T), mask (B,T), query_times (B,Q)) -> VideoPrediction``.

    Only the first observed frame of each clip conditions the prediction (the paper's formulation);
    with ``skip_connections`` the decoder also sees that frame's encoder features.
    """

    def __init__(self, *args, skip_connections: bool = False, **kwargs):
        """Arguments of :class:`~odevideo.methods.latent_ode.latent_decoder.LatentVideoModel` (the encoder's
        embedding is the latent state); without skip connections by default."""
        super().__init__(*args, skip_connections=skip_connections, **kwargs)

    def build_context(self, in_channels, image_size, channels, latent_dim):
        self.encoder = ConvFrameEncoder(in_channels, image_size, channels, latent_dim)

    def encode_frames(self, frames: Tensor) -> Tensor:
        """Per-frame embeddings ``(B, T, D)`` of ``frames`` ``(B, T, C, H, W)``."""
        b, t = frames.shape[:2]
        return self.encoder(frames.flatten(0, 1)).view(b, t, -1)

    def forward(self, frames: Tensor, times: Tensor, mask: Tensor | None, query_times: Tensor) -> VideoPrediction:
        times, mask, query_times = check_inputs(frames, times, mask, query_times)
        i0 = first_observed_index(mask)
        first = gather_time(frames, i0)
        z0, feats = self.encoder(first, return_features=True)
        zs, nfe = self.latent.trajectory(z0, gather_time(times, i0), query_times)
        logits = self.latent.decode(zs, feats if self.skip_connections else None)
        return VideoPrediction(
            frames=logits.float().sigmoid(), logits=logits, latents=zs, query_times=query_times, nfe=nfe
        )
