"""video_gan_losses (one generator pass, one discriminator pass per side), backward_adversarial on it, R1,
the SVC schedule."""

import copy

import pytest
import torch

from odevideo.errors import InputError
from odevideo.methods.base import backward_adversarial
from odevideo.methods.video_gan.adversarial import GAN_LOSSES, r1_penalty
from odevideo.methods.video_gan.lipschitz import after_discriminator_step
from odevideo.methods.video_gan.mocogan import MoCoGANGenerator, MoCoGANImageDiscriminator, MoCoGANVideoDiscriminator
from odevideo.methods.video_gan.network_common import frames_to_discriminator, to_signed_range
from odevideo.methods.video_gan.steps import VideoGANLosses, sample_frames, video_gan_generator_loss, video_gan_losses
from odevideo.methods.video_gan.temporal_discrete import MoCoGANMotionGenerator
from odevideo.methods.video_gan.temporal_ode import ODETemporalGenerator
from odevideo.methods.video_gan.temporal_sde import SDETemporalGenerator
from odevideo.methods.video_gan.tgan import TGANImageGenerator, TGANVideoDiscriminator, TGANVideoGenerator

torch.set_num_threads(1)

T = 16  # TGAN's discriminator needs 16 frames


def _tgan(seed=0, temporal=None):
    torch.manual_seed(seed)
    temporal = temporal if temporal is not None else ODETemporalGenerator(8)
    g = TGANVideoGenerator(temporal, TGANImageGenerator(8, 8, out_channels=1, image_size=16, conv_ch=8,
                                                       init="default"))
    d = TGANVideoDiscriminator(in_channels=1, image_size=16, mid_ch=4)
    return g, {"video": d}


def _mocogan(seed=0):
    torch.manual_seed(seed)
    g = MoCoGANGenerator(MoCoGANMotionGenerator(4), content_dim=4, motion_dim=4, out_channels=1, image_size=16,
                         ngf=4, video_length=10)
    ds = {"image": MoCoGANImageDiscriminator(in_channels=1, ndf=4, image_size=16),
          "video": MoCoGANVideoDiscriminator(in_channels=1, ndf=4, image_size=16)}
    return g, ds


def _real(b=3, t=T, seed=1):
    return torch.rand(b, t, 1, 16, 16, generator=torch.Generator().manual_seed(seed))


def _d_params(ds):
    return [p for d in ds.values() for p in d.parameters()]


def _grads(params):
    return [None if p.grad is None else p.grad.clone() for p in params]


def _assert_same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x is not None and y is not None
        torch.testing.assert_close(x, y, rtol=1e-5, atol=1e-7)


def _classic(g, ds, real, loss, seed):
    """The textbook two-pass step: D on fake.detach(), then G against a frozen D (same z and frame picks)."""
    g_loss_fn, d_loss_fn = GAN_LOSSES[loss]
    rng = torch.Generator().manual_seed(seed)
    fake = g(real.shape[0], None, generator=rng)
    real_s = to_signed_range(real)
    if "image" in ds:
        real_img, fake_img = sample_frames(real_s, 1, rng), sample_frames(fake, 1, rng)
    inputs = {"video": (frames_to_discriminator(real_s), frames_to_discriminator(fake)),
              "image": (real_img, fake_img) if "image" in ds else None}
    d_loss = sum(d_loss_fn(d(inputs[k][0]), d(inputs[k][1].detach())) for k, d in ds.items())
    d_loss.backward()
    d_grads = _grads(_d_params(ds))
    for p in _d_params(ds):
        p.requires_grad_(False)
    g_loss = sum(g_loss_fn(d(inputs[k][1])) for k, d in ds.items())
    g_loss.backward()
    for p in _d_params(ds):
        p.requires_grad_(True)
    return _grads(g.parameters()), d_grads, float(g_loss.detach()), float(d_loss.detach())


@pytest.mark.parametrize("loss", ["wgan", "hinge", "nonsaturating"])
@pytest.mark.parametrize("family", ["tgan", "mocogan"])
def test_fused_pass_has_the_gradients_of_the_classic_two_pass_step(loss, family):
    make, t = (_tgan, T) if family == "tgan" else (_mocogan, 10)
    g, ds = make()
    g2, ds2 = copy.deepcopy(g), copy.deepcopy(ds)
    real = _real(t=t)
    out = video_gan_losses(g, ds, real, loss=loss, generator_rng=torch.Generator().manual_seed(5))
    assert isinstance(out, VideoGANLosses)
    assert torch.isfinite(out.generator) and torch.isfinite(out.discriminator)
    assert out.fake.shape == real.shape and out.fake.requires_grad
    backward_adversarial(out.generator, out.discriminator, g.parameters(), _d_params(ds))
    g_classic, d_classic, gl, dl = _classic(g2, ds2, real, loss, seed=5)
    _assert_same(_grads(g.parameters()), g_classic)
    _assert_same(_grads(_d_params(ds)), d_classic)
    assert out.metrics["loss"] == pytest.approx(gl, rel=1e-5, abs=1e-6)
    assert out.metrics["disc_loss"] == pytest.approx(dl, rel=1e-5, abs=1e-6)
    for role in ds:
        for key in ("real", "fake", "g_loss", "d_loss"):
            assert isinstance(out.metrics[f"{role}_{key}"], float)


@pytest.mark.parametrize("loss", ["wgan", "nonsaturating"])
def test_each_loss_reaches_only_its_own_parameters(loss):
    g, ds = _tgan()
    out = video_gan_losses(g, ds, _real(), loss=loss, generator_rng=torch.Generator().manual_seed(0))
    backward_adversarial(out.generator, out.discriminator, (), _d_params(ds))  # discriminator loss only
    assert all(p.grad is None for p in g.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in _d_params(ds))

    g, ds = _tgan()
    out = video_gan_losses(g, ds, _real(), loss=loss, generator_rng=torch.Generator().manual_seed(0))
    backward_adversarial(out.generator, out.discriminator, g.parameters(), ())  # generator loss only
    assert all(p.grad is None for p in _d_params(ds))
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in g.parameters())


def test_label_smoothing_changes_only_the_discriminators_real_term():
    g, ds = _mocogan()
    real = _real(t=10)
    base = video_gan_losses(g, ds, real, loss="nonsaturating", generator_rng=torch.Generator().manual_seed(3))
    smooth = video_gan_losses(g, ds, real, loss="nonsaturating", generator_rng=torch.Generator().manual_seed(3),
                              real_label=0.9)
    assert smooth.metrics["loss"] == pytest.approx(base.metrics["loss"], rel=1e-6)  # the generator's is unchanged
    for role in ds:  # each discriminator: + 0.1 * (softplus(D(real)) - softplus(-D(real))) = + 0.1 * mean D(real)
        extra = 0.1 * smooth.metrics[f"{role}_real"]
        assert smooth.metrics[f"{role}_d_loss"] == pytest.approx(base.metrics[f"{role}_d_loss"] + extra, rel=1e-5,
                                                                 abs=1e-6)
    with pytest.raises(InputError, match="nonsaturating"):
        video_gan_losses(g, ds, real, loss="hinge", real_label=0.9)
    with pytest.raises(InputError, match="real_label"):
        video_gan_losses(g, ds, real, loss="nonsaturating", real_label=0.4)


def test_r1_adds_a_positive_penalty_equal_to_r1_penalty():
    g, ds = _tgan()
    real = _real()
    base = video_gan_losses(g, ds, real, loss="hinge", generator_rng=torch.Generator().manual_seed(3))
    reg = video_gan_losses(g, ds, real, loss="hinge", generator_rng=torch.Generator().manual_seed(3), r1_gamma=10.0)
    r1 = reg.metrics["video_r1"]
    assert r1 > 0 and "video_r1" not in base.metrics
    assert reg.metrics["disc_loss"] == pytest.approx(base.metrics["disc_loss"] + r1, rel=1e-5)
    assert reg.metrics["loss"] == pytest.approx(base.metrics["loss"], rel=1e-6)
    expected = r1_penalty(ds["video"], frames_to_discriminator(to_signed_range(real)), gamma=10.0)
    assert r1 == pytest.approx(float(expected.detach()), rel=1e-5)
    # the penalty's graph reaches the discriminator's parameters (double backward) and not the generator's
    backward_adversarial(reg.generator, reg.discriminator, g.parameters(), _d_params(ds))
    assert all(torch.isfinite(p.grad).all() for p in _d_params(ds) if p.grad is not None)


def test_r1_on_both_mocogan_discriminators():
    g, ds = _mocogan()
    out = video_gan_losses(g, ds, _real(t=10), loss="nonsaturating", r1_gamma=1.0,
                           generator_rng=torch.Generator().manual_seed(0))
    assert out.metrics["image_r1"] > 0 and out.metrics["video_r1"] > 0


def _shape_probe(seen: list) -> type:
    """A discriminator class that records the shape of every input in ``seen`` and scores its mean."""

    class Probe(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.ones(()))

        def forward(self, x):
            seen.append(x.shape)
            return self.w * x.flatten(1).mean(1)

    return Probe


def test_image_discriminator_sees_one_random_frame_per_clip():
    seen = []
    Probe = _shape_probe(seen)

    g, ds = _mocogan()
    video_gan_losses(g, {"image": Probe(), "video": ds["video"]}, _real(b=4, t=10), loss="hinge")
    assert seen == [torch.Size([4, 1, 16, 16])] * 2
    frames = sample_frames(torch.arange(2 * 5, dtype=torch.float32).view(2, 5, 1, 1, 1), 3,
                           torch.Generator().manual_seed(0))
    assert frames.shape == (6, 1, 1, 1)
    assert bool((frames[:3] < 5).all()) and bool((frames[3:] >= 5).all())  # frames of their own clip


def test_video_clips_limits_the_video_discriminator_to_the_first_clips():
    seen_img, seen_vid = [], []
    g, _ = _mocogan()
    ds = {"image": _shape_probe(seen_img)(), "video": _shape_probe(seen_vid)()}
    out = video_gan_losses(g, ds, _real(b=5, t=10), loss="hinge", image_frames=2, video_clips=2,
                           generator_rng=torch.Generator().manual_seed(0))
    assert seen_img == [torch.Size([10, 1, 16, 16])] * 2  # frames of all 5 clips
    assert seen_vid == [torch.Size([2, 1, 10, 16, 16])] * 2  # the first 2 clips only
    # the video scores are those of the first clips: the same as scoring a batch of just those
    real = _real(b=5, t=10)
    first = frames_to_discriminator(to_signed_range(real[:2]))
    assert out.metrics["video_real"] == pytest.approx(float(ds["video"](first).mean().detach()), rel=1e-5)
    seen_img.clear(), seen_vid.clear()
    video_gan_generator_loss(ds, out.fake, loss="hinge", image_frames=1, video_clips=3, real=real)
    assert seen_img == [torch.Size([10, 1, 16, 16])] and seen_vid == [torch.Size([6, 1, 10, 16, 16])]
    for bad in (0, 6, True, 2.0):
        with pytest.raises(InputError, match="video_clips"):
            video_gan_losses(g, ds, real, loss="hinge", video_clips=bad)
    with pytest.raises(InputError, match="video_clips"):
        video_gan_generator_loss(ds, out.fake, loss="hinge", video_clips=6)


def test_sde_generator_gets_the_step_rng_as_seed():
    g, ds = _tgan(temporal=SDETemporalGenerator(8))
    a = video_gan_losses(g, ds, _real(), loss="wgan", generator_rng=torch.Generator().manual_seed(7))
    b = video_gan_losses(g, ds, _real(), loss="wgan", generator_rng=torch.Generator().manual_seed(7))
    torch.testing.assert_close(a.fake, b.fake)


def test_input_validation():
    g, ds = _tgan()
    real = _real()
    with pytest.raises(InputError, match="loss="):
        video_gan_losses(g, ds, real, loss="lsgan")
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        video_gan_losses(g, ds, to_signed_range(real), loss="wgan")
    with pytest.raises(InputError, match="role"):
        video_gan_losses(g, {"frames": ds["video"]}, real, loss="wgan")
    with pytest.raises(InputError, match="non-empty mapping"):
        video_gan_losses(g, {}, real, loss="wgan")
    with pytest.raises(InputError, match="r1_gamma"):
        video_gan_losses(g, ds, real, loss="wgan", r1_gamma=-1.0)
    with pytest.raises(InputError, match=r"\(B, T, C, H, W\)"):
        video_gan_losses(g, ds, real[0], loss="wgan")
    with pytest.raises(InputError, match="same size"):
        video_gan_losses(g, ds, _real(t=8), loss="wgan")
    with pytest.raises(InputError, match="z must be"):
        video_gan_losses(g, ds, real, loss="wgan", z=0)


def test_svc_is_applied_every_svc_every_iterations():
    _, ds = _tgan()
    d = ds["video"]
    with torch.no_grad():
        for p in d.parameters():
            if p.dim() > 1:
                p.mul_(50.0)

    def top_singular_value():
        return max(float(torch.linalg.matrix_norm(p.detach().reshape(p.shape[0], -1), ord=2))
                   for p in d.parameters() if p.dim() > 1)

    assert top_singular_value() > 1.5
    assert after_discriminator_step(ds, 1, svc_every=None) is False
    assert after_discriminator_step(ds, 5, svc_every=None) is False
    assert top_singular_value() > 1.5
    for it in (1, 2):
        assert after_discriminator_step(ds, it, svc_every=3) is False
        assert top_singular_value() > 1.5
    assert after_discriminator_step(ds, 3, svc_every=3) is True
    assert top_singular_value() <= 1.0 + 1e-4
    assert after_discriminator_step(d, 6, svc_every=3) is True  # a bare module works too
    with pytest.raises(InputError):
        after_discriminator_step(ds, 1, svc_every=0)
    with pytest.raises(InputError):
        after_discriminator_step([d], 1, svc_every=1)


@pytest.mark.parametrize("loss", list(GAN_LOSSES))
def test_generator_loss_against_unchanged_discriminators_is_the_fused_one(loss):
    # video_gan_generator_loss rescores the step's fakes; with the discriminator unchanged (eval mode: no batch
    # statistics) it must give the generator loss of the fused pass, and its gradient reaches the generator
    g, ds = _tgan()
    ds["video"].eval()
    out = video_gan_losses(g, ds, _real(), loss=loss, generator_rng=torch.Generator().manual_seed(5))
    again = video_gan_generator_loss(ds, out.fake, loss=loss)
    torch.testing.assert_close(again, out.generator)
    again.backward(inputs=list(g.parameters()))
    assert all(p.grad is not None for p in g.parameters())
    with pytest.raises(InputError):
        video_gan_generator_loss({"critic": ds["video"]}, out.fake, loss=loss)
    with pytest.raises(InputError):
        video_gan_generator_loss(ds, out.fake, loss="lsgan")


def test_joint_batch_scores_real_and_fake_in_one_call_with_shared_batch_statistics():
    # joint_batch: one call per discriminator on [real; fake]. Without BatchNorm (eval mode) the scores, hence the
    # losses, equal the two-call ones; in training mode the BatchNorm statistics are shared, so a shift common to
    # all fakes is no longer normalised away and the losses differ.
    real = _real(b=3, t=10)
    calls = []
    outs = {}
    for joint in (False, True):
        g, ds = _mocogan()
        for d in ds.values():
            d.register_forward_pre_hook(lambda _m, args, _j=joint: calls.append((_j, args[0].shape[0])))
            d.eval()
        outs[joint] = video_gan_losses(g, ds, real, loss="nonsaturating",
                                       generator_rng=torch.Generator().manual_seed(3),
                                       image_frames=2, joint_batch=joint)
    two, out = outs[False], outs[True]
    torch.testing.assert_close(out.discriminator, two.discriminator)
    torch.testing.assert_close(out.generator, two.generator)
    assert [n for j, n in calls if not j] == [6, 6, 3, 3] and [n for j, n in calls if j] == [12, 6]
    g, ds = _mocogan()
    a = video_gan_losses(g, ds, real, loss="nonsaturating", generator_rng=torch.Generator().manual_seed(3))
    g, ds = _mocogan()
    b = video_gan_losses(g, ds, real, loss="nonsaturating", generator_rng=torch.Generator().manual_seed(3),
                         joint_batch=True)
    assert not torch.allclose(a.discriminator, b.discriminator)


def test_generator_loss_with_real_clips_uses_the_joint_batch_and_only_the_fake_scores():
    g, ds = _mocogan()
    real = _real(b=3, t=10)
    out = video_gan_losses(g, ds, real, loss="hinge", generator_rng=torch.Generator().manual_seed(5),
                           joint_batch=True)
    for d in ds.values():
        d.eval()  # no batch statistics: the real clips change nothing (the fake frames are drawn first)
    torch.testing.assert_close(
        video_gan_generator_loss(ds, out.fake, loss="hinge", generator_rng=torch.Generator().manual_seed(6),
                                 real=real),
        video_gan_generator_loss(ds, out.fake, loss="hinge", generator_rng=torch.Generator().manual_seed(6)))
    video = {"video": ds["video"]}
    for d in ds.values():
        d.train()  # shared batch statistics: the real clips now matter, and the gradient reaches the generator
    joint = video_gan_generator_loss(video, out.fake, loss="hinge", real=real)
    assert not torch.allclose(joint, video_gan_generator_loss(video, out.fake, loss="hinge"))
    joint.backward(inputs=list(g.parameters()))
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in g.parameters())
    with pytest.raises(InputError):
        video_gan_generator_loss(video, out.fake, loss="hinge", real=real * 3)


def test_categorical_code_shapes_and_errors():
    torch.manual_seed(0)
    g = MoCoGANGenerator(MoCoGANMotionGenerator(4), content_dim=4, motion_dim=4, out_channels=1, image_size=16,
                         ngf=4, video_length=10, n_categories=3)
    g.eval()  # BatchNorm's running statistics: clips do not depend on each other
    z, zm = torch.randn(2, 4), torch.randn(2, 4)
    a = g(z, z_motion=zm, categories=torch.tensor([0, 2]), generator=torch.Generator().manual_seed(0))
    b = g(z, z_motion=zm, categories=torch.tensor([0, 1]), generator=torch.Generator().manual_seed(0))
    assert torch.equal(a[0], b[0]) and not torch.allclose(a[1], b[1])  # the category changes its clip only
    with pytest.raises(InputError, match="categories"):
        g(z, z_motion=zm, categories=torch.tensor([0, 3]))  # out of range
    with pytest.raises(InputError, match="categorical code"):
        _mocogan()[0](z, z_motion=zm, categories=torch.tensor([0, 1]))
