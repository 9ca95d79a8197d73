"""ELBO of the RNN-encoder latent-ODE VAE (Kanaa et al., eq. 2).

-ELBO = sum over target frames of -log p(x_t | z(t)) + beta * KL(q(z0 | context) || N(0, I)),
with z0 ~ q by the reparameterisation trick. Likelihoods: ``bernoulli`` (pixel intensities as
Bernoulli means, the usual choice for MNIST digits) or ``gaussian`` with fixed ``obs_sigma``
(the paper's choice, sigma = 1). The optimised loss is -ELBO divided by the number of pixels per
clip, which only rescales the gradient; logs report -ELBO in nats per clip.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from odevideo.data.tasks import Task
from odevideo.errors import InputError
from odevideo.methods.latent_ode.latent_matching import LossOutput
from odevideo.methods.latent_ode.latent_ode_vae import LatentODEVAE


def gaussian_kl_standard_normal(mean: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(mean, exp(logvar)) || N(0, I)) per sample ``(B,)``, summed over dimensions."""
    return 0.5 * (mean.pow(2) + logvar.exp() - logvar - 1.0).sum(-1)


def frame_nll(logits: Tensor, targets: Tensor, likelihood: str, obs_sigma: float) -> Tensor:
    """Negative log-likelihood per frame ``(B, Q)`` in nats, summed over channels and pixels."""
    logits = logits.float()
    targets = targets.float()
    if likelihood == "bernoulli":
        nll = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    elif likelihood == "gaussian":
        mu = logits.sigmoid()
        nll = 0.5 * ((targets - mu) / obs_sigma) ** 2 + math.log(obs_sigma) + 0.5 * math.log(2 * math.pi)
    else:
        raise InputError(f"unknown likelihood {likelihood!r}; use 'bernoulli' or 'gaussian'")
    return nll.flatten(2).sum(-1)


def elbo_loss(
    model: LatentODEVAE,
    task: Task,
    likelihood: str = "bernoulli",
    obs_sigma: float = 1.0,
    kl_weight: float = 1.0,
    generator: torch.Generator | None = None,
) -> LossOutput:
    pred = model(task.context_frames, task.context_times, task.context_mask, task.query_times, sample=True,
                 generator=generator, noise=task.noise)
    nll = frame_nll(pred.logits, task.targets, likelihood, obs_sigma)
    m = task.target_mask.to(nll.dtype)
    nll_clip = (nll * m).sum(1)
    kl = gaussian_kl_standard_normal(pred.posterior_mean, pred.posterior_logvar)
    neg_elbo = nll_clip + kl
    pixels_per_clip = m.sum(1).clamp_min(1.0) * task.targets[0, 0].numel()
    loss = ((nll_clip + kl_weight * kl) / pixels_per_clip).mean()
    with torch.no_grad():
        mse = (((pred.frames - task.targets.float()) ** 2).flatten(2).mean(-1) * m).sum() / m.sum().clamp_min(1.0)
    return LossOutput(
        loss=loss,
        metrics={
            "loss": loss.item(),
            "neg_elbo": neg_elbo.mean().item(),
            "nll": nll_clip.mean().item(),
            "kl": kl.mean().item(),
            "kl_weight": kl_weight,
            "mse": mse.item(),
            "nfe": pred.nfe,
        },
        prediction=pred,
    )
