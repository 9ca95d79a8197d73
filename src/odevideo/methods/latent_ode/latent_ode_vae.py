"""RNN-encoder latent-ODE VAE (Kanaa, Voleti, Kahou, Pal; paper eq. 2, figure 1b).

Context frames are embedded one by one, a GRU runs over the embeddings *backwards in time* (seeing
time gaps and the observation mask) and parameterises q(z0 | context) = N(mu, sigma^2), z0 being the
latent at the earliest observed time. A latent ODE carries a sample (or the mean) of z0 to any query
time and a per-frame decoder renders each latent independently; the ELBO lives in
``odevideo.methods.latent_ode.elbo``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from odevideo.errors import InputError
from odevideo.methods.latent_ode.latent_decoder import LatentVideoModel
from odevideo.methods.prediction import (
    VideoPrediction,
    check_inputs,
    first_observed_index,
    gather_time,
    last_observed_index,
)
from odevideo.nn import BackwardGRUEncoder, ConvFrameEncoder


class LatentODEVAE(LatentVideoModel):
    """``forward(frames, times, mask, query_times, sample=None, generator=None) -> VideoPrediction``.

    ``sample`` (default: ``self.training``) draws z0 ~ q(z0 | context) with the reparameterisation
    trick (standard-normal draws from ``generator``, or the given ``noise`` ``(B, latent_dim)``);
    otherwise the posterior mean is used. With ``skip_connections`` the decoder also sees the
    encoder features of the *last observed* frame (appearance), so the latent can focus on motion.
    """

    def __init__(self, *args, embed_dim: int = 128, rnn_hidden: int = 128, **kwargs):
        """Arguments of :class:`~odevideo.methods.latent_ode.latent_decoder.LatentVideoModel`, and ``embed_dim`` (the
        per-frame embedding fed to the backward GRU) and ``rnn_hidden`` (the GRU's width)."""
        super().__init__(*args, embed_dim=embed_dim, rnn_hidden=rnn_hidden, **kwargs)

    def build_context(self, in_channels, image_size, channels, latent_dim, embed_dim=128, rnn_hidden=128):
        self.encoder = ConvFrameEncoder(in_channels, image_size, channels, embed_dim)
        self.rnn = BackwardGRUEncoder(embed_dim, rnn_hidden)
        self.to_posterior = nn.Linear(rnn_hidden, 2 * latent_dim)
        self.embed_dim = embed_dim

    def posterior(self, frames: Tensor, times: Tensor, mask: Tensor) -> tuple[Tensor, Tensor, list[Tensor]]:
        """q(z0 | context): mean and log-variance ``(B, D)``, and the skip maps of the last observed frame."""
        b, t = frames.shape[:2]
        emb, feats = self.encoder(frames.flatten(0, 1), return_features=True)
        h = self.rnn(emb.view(b, t, -1).float(), times, mask)
        mean, logvar = self.to_posterior(h).float().chunk(2, dim=-1)
        last = last_observed_index(mask)
        skips = [gather_time(f.view(b, t, *f.shape[1:]), last) for f in feats]
        return mean, logvar.clamp(-12.0, 8.0), skips

    def decode_latents(self, zs: Tensor, skips: list[Tensor] | None) -> Tensor:
        """Latent states ``(B, Q, D)`` (+ skip maps) -> frame logits ``(B, Q, C, H, W)``."""
        return self.latent.decode(zs, skips)

    def forward(
        self,
        frames: Tensor,
        times: Tensor,
        mask: Tensor | None,
        query_times: Tensor,
        sample: bool | None = None,
        generator: torch.Generator | None = None,
        noise: Tensor | None = None,
    ) -> VideoPrediction:
        times, mask, query_times = check_inputs(frames, times, mask, query_times)
        mean, logvar, skips = self.posterior(frames, times, mask)
        sample = self.training if sample is None else sample
        if sample:
            if noise is None:
                eps = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
            elif noise.shape != mean.shape:
                raise InputError(
                    f"noise must have shape (B, latent_dim) = {tuple(mean.shape)}, got {tuple(noise.shape)}"
                )
            else:
                eps = noise.to(device=mean.device, dtype=mean.dtype)
            z0 = mean + eps * (0.5 * logvar).exp()
        else:
            z0 = mean
        t0 = gather_time(times, first_observed_index(mask))
        zs, nfe = self.latent.trajectory(z0, t0, query_times)
        logits = self.decode_latents(zs, skips if self.skip_connections else None)
        return VideoPrediction(
            frames=logits.float().sigmoid(), logits=logits, latents=zs, query_times=query_times,
            posterior_mean=mean, posterior_logvar=logvar, nfe=nfe,
        )
