"""ODE2VAE-style second-order latent ODE (Yildiz, Heinonen and Lähdesmäki, NeurIPS 2019), the Vid-ODE paper's
second-order neural-ODE baseline.

The latent state is a position ``s`` and a velocity ``v`` (``latent_dim`` each) that follow
``ds/dt = v, dv/dt = f(s, v)``: motion is carried by the velocity, and the dynamics net only has to learn
accelerations. Frames are decoded from the position alone. ``q(s0, v0 | context) = N(mu, sigma^2)``:

* ``s0`` from the embedding of the *first observed* frame (ODE2VAE: the first frame);
* ``v0`` from a GRU run backwards over all observed frames with their time gaps and mask bits (ODE2VAE stacks
  the first few frames in a CNN; a GRU accepts irregular, partly masked inputs as well).

Trained with the same ELBO as :class:`~odevideo.methods.latent_ode.latent_ode_vae.LatentODEVAE`
(:func:`odevideo.methods.latent_ode.elbo.elbo_loss`), the KL term taken against ``N(0, I)`` on ``(s0, v0)``.
Unlike ODE2VAE, ``f`` is a deterministic MLP (no Bayesian weights, so no KL on them) and there is no
trajectory-entropy term.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from odevideo.methods.latent_ode.latent_ode_vae import LatentODEVAE
from odevideo.methods.prediction import first_observed_index, gather_time, last_observed_index
from odevideo.nn import MLPODEFunc
from odevideo.solvers import NFECounter
from odevideo.solvers.higher_order import HigherOrderODEFunc

__all__ = ["AccelerationField", "ODE2VAE"]


class AccelerationField(nn.Module):
    """``f(t, s, v) -> dv/dt``: a tanh MLP (:class:`~odevideo.nn.MLPODEFunc`) on ``cat(s, v)``, ``(..., 2 D)`` ->
    ``(..., D)``.

    Its last layer starts at zero, so every latent first moves at its initial velocity (uniform motion), the
    natural prior for objects in a video. ``time_dependent=True`` appends ``t`` to the input.
    """

    def __init__(self, dim: int, hidden: int = 128, layers: int = 2, time_dependent: bool = False):
        super().__init__()
        self.net = MLPODEFunc(dim, hidden, layers, time_dependent, in_dim=2 * dim)

    def forward(self, t: Tensor, s: Tensor, v: Tensor) -> Tensor:
        return self.net(t, torch.cat([s, v], dim=-1))


class ODE2VAE(LatentODEVAE):
    """``forward(frames, times, mask, query_times, sample=None, generator=None, noise=None) -> VideoPrediction``.

    Shapes as :class:`~odevideo.methods.latent_ode.latent_ode_vae.LatentODEVAE`; here the posterior
    (``posterior_mean`` / ``posterior_logvar``, and ``noise``) is ``(B, 2 * latent_dim)``, position then
    velocity, and ``latents`` are the states ``(B, Q, 2 * latent_dim)`` ``[s(t), v(t)]`` at ``query_times``
    (time units of the input). The solve starts at each clip's first observed time and runs forwards or
    backwards to any query time.
    """

    def __init__(self, *args, **kwargs):
        """Arguments as :class:`~odevideo.methods.latent_ode.latent_ode_vae.LatentODEVAE`; ``latent_dim`` is the size
        of the position (and of the velocity)."""
        super().__init__(*args, **kwargs)
        # the GRU's head (inherited ``to_posterior``) gives q(v0); the first observed frame's embedding q(s0)
        self.to_position = nn.Linear(self.embed_dim, 2 * self.latent_dim)
        self.latent.dynamics = NFECounter(HigherOrderODEFunc(
            AccelerationField(self.latent_dim, self.ode_hidden, self.ode_layers, self.time_dependent), order=2))

    def posterior(self, frames: Tensor, times: Tensor, mask: Tensor) -> tuple[Tensor, Tensor, list[Tensor]]:
        """q(s0, v0 | context): mean and log-variance ``(B, 2 D)`` (position, then velocity), and the skip maps
        of the last observed frame."""
        b, t = frames.shape[:2]
        emb, feats = self.encoder(frames.flatten(0, 1), return_features=True)
        emb = emb.view(b, t, -1).float()
        mean_s, logvar_s = self.to_position(gather_time(emb, first_observed_index(mask))).float().chunk(2, dim=-1)
        h = self.rnn(emb, times, mask)
        mean_v, logvar_v = self.to_posterior(h).float().chunk(2, dim=-1)
        last = last_observed_index(mask)
        skips = [gather_time(f.view(b, t, *f.shape[1:]), last) for f in feats]
        mean = torch.cat([mean_s, mean_v], dim=-1)
        logvar = torch.cat([logvar_s, logvar_v], dim=-1)
        return mean, logvar.clamp(-12.0, 8.0), skips

    def decode_latents(self, zs: Tensor, skips: list[Tensor] | None) -> Tensor:
        """States ``(B, Q, 2 D)`` -> frame logits from the positions ``zs[..., :D]``."""
        return self.latent.decode(zs[..., : self.latent_dim].contiguous(), skips)
