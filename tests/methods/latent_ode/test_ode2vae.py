"""ODE2VAE-style second-order latent ODE: uniform motion at initialisation (analytic), which frames set the
position and the velocity, masks, noise, backward-in-time queries and the ELBO's gradients."""

from __future__ import annotations

import pytest
import torch

from odevideo.data.tasks import Task
from odevideo.errors import InputError
from odevideo.methods.latent_ode.elbo import elbo_loss
from odevideo.methods.latent_ode.ode2vae import ODE2VAE
from odevideo.solvers import SolverConfig

D = 4


def _model(**kw) -> ODE2VAE:
    torch.manual_seed(0)
    kw.setdefault("solver", SolverConfig(method="rk4", step_size=0.05))
    return ODE2VAE(in_channels=1, image_size=16, channels=(4, 8), latent_dim=D, embed_dim=8, rnn_hidden=8,
                   ode_hidden=8, **kw)


def _clips(b=3, t=5, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b, t, 1, 16, 16, generator=g), torch.arange(t) * 0.1


def test_zero_acceleration_at_init_gives_uniform_motion_forwards_and_backwards():
    # dv/dt = f(s, v) starts at exactly zero, so s(t) = s0 + v0 (t - t0) and v(t) = v0 at any real query time.
    model = _model().eval()
    frames, times = _clips()
    mask = torch.ones(3, 5, dtype=torch.bool)
    mask[1, 0] = False  # clip 1 starts at its second frame: t0 = 0.1
    query = torch.tensor([-0.3, 0.0, 0.05, 0.4, 1.7])
    out = model(frames, times, mask, query)
    s0, v0 = out.posterior_mean[:, :D], out.posterior_mean[:, D:]
    t0 = torch.tensor([0.0, 0.1, 0.0])
    expected_s = s0[:, None] + v0[:, None] * (query[None, :, None] - t0[:, None, None])
    assert out.latents.shape == (3, 5, 2 * D) and out.frames.shape == (3, 5, 1, 16, 16)
    torch.testing.assert_close(out.latents[..., :D], expected_s, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(out.latents[..., D:], v0[:, None].expand(-1, 5, -1), rtol=1e-5, atol=1e-5)


def test_learned_acceleration_bends_the_trajectory():
    model = _model().eval()
    with torch.no_grad():
        for p in model.latent.dynamics.func.f.parameters():
            p.add_(0.3 * torch.randn_like(p))
    frames, times = _clips()
    out = model(frames, times, None, torch.linspace(0, 1, 6))
    v = out.latents[..., D:]
    assert (v[:, -1] - v[:, 0]).abs().max() > 1e-3  # the velocity changes
    # and s still integrates v: ds/dt = v (central difference at the middle query against v there)
    q = torch.tensor([0.5 - 1e-2, 0.5, 0.5 + 1e-2])
    fine = model(frames, times, None, q).latents
    torch.testing.assert_close((fine[:, 2, :D] - fine[:, 0, :D]) / 2e-2, fine[:, 1, D:], rtol=1e-3, atol=1e-3)


def test_position_from_first_observed_frame_velocity_from_all_and_masked_frames_ignored():
    model = _model().eval()
    frames, times = _clips()
    mask = torch.ones(3, 5, dtype=torch.bool)
    mask[:, 2] = False
    base = model(frames, times, mask, times)
    later = frames.clone()
    later[:, 3] = torch.rand_like(later[:, 3])  # an observed later frame: velocity changes, position does not
    out = model(later, times, mask, times)
    torch.testing.assert_close(out.posterior_mean[:, :D], base.posterior_mean[:, :D])
    assert not torch.allclose(out.posterior_mean[:, D:], base.posterior_mean[:, D:])
    hidden = frames.clone()
    hidden[:, 2] = 1.0  # an unobserved frame changes nothing
    torch.testing.assert_close(model(hidden, times, mask, times).frames, base.frames)


def test_noise_sampling_and_bad_noise():
    model = _model()
    frames, times = _clips()
    eps = torch.randn(3, 2 * D)
    a = model(frames, times, None, times, sample=True, noise=eps)
    b = model(frames, times, None, times, sample=True, noise=eps)
    torch.testing.assert_close(a.frames, b.frames)
    std = (0.5 * a.posterior_logvar).exp()
    torch.testing.assert_close(a.latents[:, 0], a.posterior_mean + eps * std, rtol=1e-5, atol=1e-5)
    with pytest.raises(InputError, match="noise"):
        model(frames, times, None, times, sample=True, noise=torch.randn(3, D))


def test_elbo_gradients_reach_every_part_and_loss_falls():
    model = _model()
    frames = torch.zeros(4, 6, 1, 16, 16)  # a 4x4 square moving 2 px per frame (binary targets: BCE floor 0)
    for b in range(4):
        for t in range(6):
            x = b + 2 * t
            frames[b, t, 0, 4 + b:8 + b, x:x + 4] = 1.0
    times = torch.arange(6) * 0.1
    task = Task(frames[:, :3], times[:3].expand(4, -1), torch.ones(4, 3, dtype=torch.bool), times[3:].expand(4, -1),
                frames[:, 3:], torch.ones(4, 3, dtype=torch.bool))
    out = elbo_loss(model, task, generator=torch.Generator().manual_seed(0))
    out.loss.backward()
    for name in ("encoder", "rnn", "to_posterior", "to_position", "latent.dynamics", "latent.decoder"):
        grads = [p.grad for n, p in model.named_parameters() if n.startswith(name)]
        assert grads and all(g is not None for g in grads), name
    assert out.metrics["kl"] >= 0
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for i in range(40):
        opt.zero_grad()
        loss = elbo_loss(model, task, generator=torch.Generator().manual_seed(i)).loss
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert sum(losses[-5:]) / 5 < 0.5 * sum(losses[:5]) / 5
