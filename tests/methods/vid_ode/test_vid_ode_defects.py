"""One test per defect of the authors' Vid-ODE code that this implementation must not repeat."""

from __future__ import annotations

import copy
import math
import shutil

import pytest
import torch
from torch import nn

from odevideo.data import random_drop_mask
from odevideo.errors import InputError
from odevideo.methods.base import backward_adversarial
from odevideo.methods.vid_ode.baselines import ConvGRUBaseline, ODEConvBaseline, ODEFCBaseline, VidRNN
from odevideo.methods.vid_ode.losses import (
    difference_loss,
    difference_targets,
    sequence_windows,
    vid_ode_losses,
)
from odevideo.methods.vid_ode.protocols import sampling_rate_sweep, sweep_masks
from odevideo.methods.vid_ode.vid_ode import VidODE
from odevideo.metrics import psnr, psnr_from_mean_mse
from odevideo.nn import ImageDiscriminator, SequenceDiscriminator
from odevideo.solvers import SolverConfig

EULER = SolverConfig(method="euler", step_size=0.05)  # fixed steps: a clip's result does not depend on its batch


def _model(**kw):
    torch.manual_seed(0)
    model = VidODE(in_channels=1, hidden_channels=8, n_downs=2, decoder_solver=EULER, **kw)
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():  # non-zero ODE dynamics (they start at zero), so the times matter
        for p in [*model.ode_encoder.dynamics.parameters(), *model.decoder_dynamics.parameters()]:
            p.copy_(torch.randn(p.shape, generator=g) * 0.3)
    return model


def _clips(b=2, t=6, seed=1):
    g = torch.Generator().manual_seed(seed)
    frames = torch.rand(b, t, 1, 16, 16, generator=g)
    times = (torch.arange(t, dtype=torch.float32) * 0.1).expand(b, -1).contiguous()
    return frames, times


def _lsgan_d(real, fake):
    return 0.5 * (((real - 1) ** 2).mean() + (fake**2).mean())


def _lsgan_g(fake):
    return ((fake - 1) ** 2).mean()


def test_fused_gan_step_equals_the_classic_two_pass_update():
    """Defect: the authors' generator/discriminator update order breaks on current torch (an optimizer step
    modifies weights that a later backward still needs). Ours: one fused step whose gradients equal the classic
    two-pass update at the same parameters, then both optimizer steps."""
    frames, times = _clips()
    ctx, ctx_t, tgt, q = frames[:, :3], times[:, :3], frames[:, 3:], times[:, 3:]
    gen = _model()
    torch.manual_seed(5)
    d_img = ImageDiscriminator(1, base_channels=4, n_downs=2)
    d_seq = SequenceDiscriminator(1, window=4, base_channels=4, n_downs=2)
    gen2, d_img2, d_seq2 = (copy.deepcopy(m) for m in (gen, d_img, d_seq))
    d_params = [*d_img.parameters(), *d_seq.parameters()]
    d_params2 = [*d_img2.parameters(), *d_seq2.parameters()]

    # fused: one forward, one pass of each discriminator on real and on (non-detached) fake
    opt_g, opt_d = torch.optim.Adam(gen.parameters(), lr=1e-3), torch.optim.Adam(d_params, lr=1e-3)
    losses = vid_ode_losses(gen(ctx, ctx_t, None, q), tgt, context_frames=ctx, image_disc=d_img, seq_disc=d_seq)
    backward_adversarial(losses.generator, losses.discriminator, gen.parameters(), d_params)
    fused_g = [p.grad.clone() for p in gen.parameters()]
    fused_d = [p.grad.clone() for p in d_params]
    opt_g.step()
    opt_d.step()

    # classic: (1) D loss on the detached fake; (2) G loss through D, D's gradients from it discarded
    pred = gen2(ctx, ctx_t, None, q)
    fake = pred.raw_frames

    def windows(x):
        return sequence_windows(x, 4, ctx).flatten(0, 1)

    d_loss = _lsgan_d(d_img2(tgt.flatten(0, 1)), d_img2(fake.detach().flatten(0, 1))) + _lsgan_d(
        d_seq2(windows(tgt)), d_seq2(windows(fake.detach()))
    )
    d_loss.backward()
    assert all(p.grad is None for p in gen2.parameters())  # the detached fake keeps D's loss out of G
    classic_d = [p.grad.clone() for p in d_params2]
    prev = torch.cat([ctx[:, -1:], tgt[:, :-1]], dim=1)
    g_loss = (
        (fake - tgt).abs().mean()
        + 1.0 * (pred.differences - (tgt - prev)).abs().mean()
        + 0.003 * _lsgan_g(d_img2(fake.flatten(0, 1)))
        + 0.003 * _lsgan_g(d_seq2(windows(fake)))
    )
    g_loss.backward()
    for p, g in zip(d_params2, classic_d):
        p.grad = g  # discard what the generator pass added to the discriminators
    for a, p in zip(fused_g, gen2.parameters()):
        torch.testing.assert_close(a, p.grad)
    for a, b in zip(fused_d, classic_d):
        torch.testing.assert_close(a, b)
    torch.optim.Adam(gen2.parameters(), lr=1e-3).step()
    torch.optim.Adam(d_params2, lr=1e-3).step()
    for a, b in zip([*gen.parameters(), *d_params], [*gen2.parameters(), *d_params2]):
        torch.testing.assert_close(a, b)

    # the order that breaks: stepping the generator, then back-propagating the discriminator loss through the
    # non-detached fake (what backward_adversarial's ordering avoids) fails on current torch
    opt_g.zero_grad()
    opt_d.zero_grad()
    losses = vid_ode_losses(gen(ctx, ctx_t, None, q), tgt, context_frames=ctx, image_disc=d_img, seq_disc=d_seq)
    losses.generator.backward(retain_graph=True)
    opt_g.step()
    with pytest.raises(RuntimeError, match="inplace"):
        losses.discriminator.backward()


def test_no_batch_norm_eval_output_does_not_depend_on_the_batch():
    """Defect: the authors' BatchNorm stays in train mode at test time, so a clip's prediction depends on the
    other clips of its batch. Ours: no BatchNorm anywhere; a clip alone == the same clip in a batch (eval)."""
    frames, times = _clips(b=3, t=6)
    q = times[:, 3:]
    modules = [
        _model(), VidRNN(in_channels=1, hidden_channels=8, n_downs=2),
        ConvGRUBaseline(in_channels=1, hidden_channels=8, n_downs=2),
        ODEConvBaseline(in_channels=1, n_frames=3, frame_size=16, hidden_channels=8, n_downs=2, solver=EULER),
        ODEFCBaseline(in_channels=1, n_frames=3, frame_size=16, hidden_channels=8, n_downs=2, latent_dim=8,
                      solver=EULER),
        ImageDiscriminator(1, base_channels=4, n_downs=2),
        SequenceDiscriminator(1, window=4, base_channels=4, n_downs=2),
    ]
    for m in modules:
        assert not any(isinstance(x, nn.modules.batchnorm._BatchNorm) for x in m.modules()), type(m).__name__
    for model in modules[:5]:
        model.eval()
        with torch.no_grad():
            batch = model(frames[:, :3], times[:, :3], None, q).frames
            alone = model(frames[1:2, :3], times[1:2, :3], None, q[1:2]).frames
            companions = torch.cat([frames[1:2], frames.flip(-1)[::2]])  # the same clip among other clips
            other = model(companions[:, :3], times[:, :3], None, q).frames
        torch.testing.assert_close(alone[0], batch[1], msg=type(model).__name__)
        torch.testing.assert_close(other[0], batch[1], msg=type(model).__name__)


def test_best_checkpoint_is_chosen_by_validation_score_not_file_order(tiny_config, monkeypatch):
    """Defect: the authors load "the best" checkpoint from an unsorted directory listing. Ours: the trainer writes
    ``best.*`` whenever the validation score improves and loading asks for that name, whatever else is there."""
    from odevideo.checkpoints import load_checkpoint
    from odevideo.evaluation.inference import resolve_checkpoint
    from odevideo.training import Trainer, load_run

    t = Trainer(tiny_config("name=best", "train.steps=4", "train.eval_every=1", "train.checkpoint_every=4"))
    scores = iter([0.5, 0.1, 0.3, 0.2])
    states = {}

    def scripted_validation():
        states[t.step] = {k: v.detach().clone() for k, v in t.model.state_dict().items()}
        return {"val_mse": next(scores), "val_nfe": 0}

    monkeypatch.setattr(t, "validate", scripted_validation)
    res = t.fit()
    ckpts = res.run_dir / "checkpoints"
    # decoys that a listing-based picker could take: names sorting before and after "best", newest last
    for decoy in ("a_step_000004", "step_000004", "zz_latest"):
        shutil.copy(ckpts / "last.safetensors", ckpts / f"{decoy}.safetensors")
    best = load_checkpoint(ckpts / "best")
    assert best.extra_state["step"] == 2 and best.extra_state["best_val_mse"] == 0.1
    assert res.best_val_mse == 0.1
    assert resolve_checkpoint(res.run_dir) == ckpts / "best"
    model, _ = load_run(res.run_dir)
    for k, v in model.state_dict().items():
        assert torch.equal(v, states[2][k]), k
    assert any(not torch.equal(v, states[4][k]) for k, v in model.state_dict().items())


def test_irregular_interpolation_returns_one_frame_per_query_time():
    """Defect: the authors' irregular interpolation test crashes (20 time stamps built for 10 frames). Ours:
    10 irregularly observed frames, 20 query times -> 20 frames; unobserved frames never matter."""
    frames, times = _clips(b=2, t=10)
    mask = random_drop_mask(2, 10, drop_prob=0.4, generator=torch.Generator().manual_seed(0))
    assert bool(mask[:, 0].all()) and not bool(mask.all())
    query = torch.arange(20, dtype=torch.float32) * 0.05  # every frame time and every midpoint
    model = _model().eval()
    with torch.no_grad():
        pred = model(frames, times, mask, query)
        poisoned = model(torch.where(mask[:, :, None, None, None], frames, torch.nan), times, mask, query)
    assert pred.frames.shape == (2, 20, 1, 16, 16) and pred.query_times.shape == (2, 20)
    assert torch.isfinite(pred.raw_frames).all()
    torch.testing.assert_close(poisoned.frames, pred.frames)
    with pytest.raises(InputError, match="times must have shape"):
        model(frames, torch.arange(20.0) * 0.05, mask, query)  # 20 time stamps for 10 frames: a clear error
    sweep = sampling_rate_sweep(model, frames, times, task="interpolation", num_observed=5, rates=(0.6,))
    assert len(sweep["models"]["model"][0]["per_target"]["mse"]) == 4  # one score per in-between frame


def test_difference_loss_leaves_out_pairs_whose_previous_frame_is_unobserved():
    """Defect: the authors zero-fill missing frames before taking X_k - X_{k-1}, so a pair with an unobserved
    previous frame is compared against a zero image. Ours: such pairs are excluded."""
    frames, times = _clips(b=1, t=7)
    ctx, ctx_t, tgt, q = frames[:, :3], times[:, :3], frames[:, 3:], times[:, 3:]
    ctx_mask = torch.tensor([[True, True, False]])  # the last context frame is missing too
    pred = _model()(ctx, ctx_t, ctx_mask, q)
    target_mask = torch.tensor([[True, False, True, True]])
    delta, valid = difference_targets(pred, tgt, target_mask)
    assert valid.tolist() == [[True, False, False, True]]
    torch.testing.assert_close(delta[:, 0], tgt[:, 0] - ctx[:, 1])  # vs the last *observed* context frame
    torch.testing.assert_close(delta[:, 3], tgt[:, 3] - tgt[:, 2])
    per_pair = (pred.differences - delta).abs().flatten(2).mean(-1)[0]
    ours = difference_loss(pred, tgt, target_mask)
    torch.testing.assert_close(ours, (per_pair[0] + per_pair[3]) / 2)
    zero_filled = torch.where(target_mask[:, :, None, None, None], tgt, torch.zeros_like(tgt))
    prev = torch.cat([ctx[:, 1:2], zero_filled[:, :-1]], dim=1)
    authors = (pred.differences - (zero_filled - prev)).abs().flatten(2).mean(-1)[0][target_mask[0]].mean()
    assert not torch.allclose(ours, authors)


def test_psnr_of_the_mean_mse_is_not_the_mean_of_per_frame_psnr():
    """Defect: the authors report PSNR of the dataset-mean MSE under the name of the usual per-frame mean PSNR.
    Ours: both exist, differ, and each matches its definition."""
    target = torch.zeros(1, 2, 1, 8, 8, dtype=torch.float64)
    pred = target.clone()
    pred[0, 0] += 0.1  # MSE 1e-2 -> 20 dB
    pred[0, 1] += 0.01  # MSE 1e-4 -> 40 dB
    per_frame = psnr(pred, target)
    torch.testing.assert_close(per_frame, torch.tensor([[20.0, 40.0]], dtype=torch.float64))
    mean_of_psnr = float(per_frame.mean())
    of_mean_mse = psnr_from_mean_mse((1e-2 + 1e-4) / 2)
    assert mean_of_psnr == pytest.approx(30.0)
    assert of_mean_mse == pytest.approx(10 * math.log10(1 / 0.00505))  # 22.97 dB
    assert of_mean_mse < mean_of_psnr - 7


def test_test_masks_are_reproducible_from_the_seed():
    """Defect: the authors draw their irregular test masks from an unseeded RNG. Ours: same seed, same masks (and
    numbers); another seed, other masks."""
    a, b, c = (sweep_masks(16, 5, seed=s) for s in (11, 11, 12))
    assert all(torch.equal(a[r], b[r]) for r in a)
    assert any(not torch.equal(a[r], c[r]) for r in a if r < 1.0)
    frames, times = _clips(b=3, t=10)
    model = _model()
    torch.manual_seed(123)  # the global RNG state must not matter
    first = sampling_rate_sweep(model, frames, times, seed=11)
    torch.manual_seed(456)
    assert sampling_rate_sweep(model, frames, times, seed=11) == first
