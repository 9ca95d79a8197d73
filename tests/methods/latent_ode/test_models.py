import pytest
import torch

from odevideo.errors import InputError
from odevideo.methods.latent_ode.encoder_ode_decoder import EncoderODEDecoder
from odevideo.methods.latent_ode.latent_ode_vae import LatentODEVAE
from odevideo.solvers import SolverConfig

SOLVER = SolverConfig(method="rk4", step_size=0.1)


def _vae(**kw):
    torch.manual_seed(0)
    return LatentODEVAE(in_channels=1, image_size=16, channels=(8, 16), latent_dim=6, embed_dim=12, rnn_hidden=12,
                        ode_hidden=16, solver=SOLVER, **kw)


def _eod(**kw):
    torch.manual_seed(0)
    return EncoderODEDecoder(
        in_channels=1, image_size=16, channels=(8, 16), latent_dim=6, ode_hidden=16, solver=SOLVER, **kw
    )


def _clip(b=2, t=5):
    g = torch.Generator().manual_seed(1)
    frames = torch.rand(b, t, 1, 16, 16, generator=g)
    times = torch.arange(t, dtype=torch.float32).expand(b, -1) * 0.1
    return frames, times


@pytest.mark.parametrize("make", [_vae, _eod])
def test_any_query_times_shapes_and_range(make):
    model = make().eval()
    frames, times = _clip()
    # before the first observation, between observations, after the last one, unsorted and repeated
    query = torch.tensor([-0.3, 0.05, 0.0, 0.25, 0.9, 0.05])
    pred = model(frames, times, None, query)
    assert pred.frames.shape == (2, 6, 1, 16, 16)
    assert pred.latents.shape[:2] == (2, 6)
    assert (pred.frames >= 0).all() and (pred.frames <= 1).all()
    # repeated query times give identical frames
    torch.testing.assert_close(pred.frames[:, 1], pred.frames[:, 5])


def test_eod_latent_at_first_time_is_the_encoding():
    model = _eod().eval()
    frames, times = _clip()
    pred = model(frames, times, None, times[:, :1])
    torch.testing.assert_close(pred.latents[:, 0], model.encode_frames(frames[:, :1])[:, 0])


def test_vae_time_shift_invariance_and_per_sample_grids():
    """Autonomous dynamics: shifting all times of one clip shifts nothing in its prediction."""
    model = _vae().eval()
    frames, times = _clip()
    query = times.clone()
    a = model(frames, times, None, query).frames
    shifted = times.clone()
    shifted[1] += 3.7
    b = model(frames, shifted, None, query + (shifted - times)).frames
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


def test_vae_ignores_unobserved_frames():
    model = _vae().eval()
    frames, times = _clip()
    mask = torch.tensor([[True, False, True, True, False]] * 2)
    a = model(frames, times, mask, times).frames
    frames2 = frames.clone()
    frames2[:, 1] = torch.rand_like(frames2[:, 1])
    frames2[:, 4] = 0.0
    b = model(frames2, times, mask, times).frames
    torch.testing.assert_close(a, b)


def test_vae_sampling_is_seeded_and_mean_is_deterministic():
    model = _vae()
    frames, times = _clip()
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    a = model(frames, times, None, times, sample=True, generator=g1).frames
    b = model(frames, times, None, times, sample=True, generator=g2).frames
    torch.testing.assert_close(a, b)
    c = model(frames, times, None, times, sample=False).frames
    d = model(frames, times, None, times, sample=False).frames
    torch.testing.assert_close(c, d)


@pytest.mark.parametrize("make", [_vae, _eod])
def test_bad_inputs_raise_clear_errors(make):
    model = make()
    frames, times = _clip()
    bad = times.clone()
    bad[0, 2] = bad[0, 1]
    with pytest.raises(InputError, match="strictly increasing"):
        model(frames, bad, None, times)
    nan = times.clone()
    nan[1, 0] = float("nan")
    with pytest.raises(InputError, match="NaN"):
        model(frames, nan, None, times)
    with pytest.raises(InputError, match="NaN"):
        model(frames, times, None, torch.tensor([0.0, float("nan")]))
    with pytest.raises(InputError, match=r"\(B, T, C, H, W\)"):
        model(frames[0], times, None, times)
    with pytest.raises(InputError, match="frame encoder expects"):
        model(torch.rand(2, 5, 1, 20, 20), times, None, times)
    with pytest.raises(InputError, match="at least one observed"):
        model(frames, times, torch.zeros(2, 5, dtype=torch.bool), times)


def test_all_parameters_receive_gradients():
    from odevideo.data import ClipBatch
    from odevideo.data.tasks import make_task
    from odevideo.methods.latent_ode.elbo import elbo_loss

    model = _vae()
    frames, times = _clip()
    batch = ClipBatch(frames, times, torch.ones(2, 5, dtype=torch.bool))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(2):  # the ODE's last layer starts at zero, so its inner layers get gradients from step 2
        opt.zero_grad()
        elbo_loss(model, make_task(batch, "prediction", 3)).loss.backward()
        opt.step()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def test_activation_checkpointing_gives_the_same_gradients():
    from odevideo.training.trainer import enable_activation_checkpointing

    frames, times = _clip()
    grads = []
    for ckpt in (False, True):
        model = _vae()
        if ckpt:
            assert enable_activation_checkpointing(model) == 1
        model(frames, times, None, times, sample=False).frames.square().mean().backward()
        grads.append({n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None})
    assert grads[0].keys() == grads[1].keys()
    for n in grads[0]:
        torch.testing.assert_close(grads[0][n], grads[1][n], rtol=1e-5, atol=1e-7)
