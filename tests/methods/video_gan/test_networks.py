import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from odevideo.errors import InputError
from odevideo.methods.video_gan.adversarial import (
    hinge_discriminator_loss,
    hinge_generator_loss,
    mocogan_discriminator_loss,
    mocogan_generator_loss,
    nonsaturating_discriminator_loss,
    nonsaturating_generator_loss,
    r1_penalty,
    wgan_discriminator_loss,
    wgan_generator_loss,
)
from odevideo.methods.video_gan.lipschitz import (
    apply_spectral_norm,
    clamp_batchnorm_gamma_,
    clip_singular_values_,
    singular_value_clipping_,
)
from odevideo.methods.video_gan.mocogan import (
    MoCoGANGenerator,
    MoCoGANImageDiscriminator,
    MoCoGANImageGenerator,
    MoCoGANVideoDiscriminator,
)
from odevideo.methods.video_gan.network_common import frames_to_discriminator, to_unit_range
from odevideo.methods.video_gan.temporal_common import count_parameters
from odevideo.methods.video_gan.temporal_discrete import MoCoGANMotionGenerator, TGANTemporalGenerator
from odevideo.methods.video_gan.temporal_ode import mocogan_ode, tgan_ode
from odevideo.methods.video_gan.temporal_sde import SDETemporalGenerator
from odevideo.methods.video_gan.tgan import TGANImageGenerator, TGANVideoDiscriminator, TGANVideoGenerator


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _small_tgan(temporal, size=32):
    return TGANVideoGenerator(temporal, TGANImageGenerator(image_size=size, conv_ch=32, init="default"))


# ------------------------------------------------------------------------------------------ parameter counts


def test_parameter_counts_of_the_papers_settings():
    # TGAN G_i, by hand from the Chainer VideoGeneratorInitUniform (bias-free linears/deconvs, BN with beta)
    mid = 4 * 4 * 256
    tgan_gi = 2 * (100 * mid + 2 * mid) + sum(a * b * 16 + 2 * b for a, b in
                                             [(512, 256), (256, 128), (128, 64), (64, 32)]) + 32 * 3 * 9 + 3
    assert count_parameters(TGANImageGenerator()) == tgan_gi == 3_622_691
    # TGAN D (Chainer VideoDiscriminatorNoBeta minus its unused bn0): convs with bias, gamma-only BN
    convs = sum(a * b * 64 + b for a, b in [(3, 64), (64, 128), (128, 256), (256, 512)]) + 512 * 16 + 1
    assert count_parameters(TGANVideoDiscriminator()) == convs + 128 + 256 + 512 == 11_032_385
    assert count_parameters(TGANVideoDiscriminator(bn_beta=True)) == convs + 2 * (128 + 256 + 512) == 11_033_281
    assert count_parameters(TGANVideoGenerator(TGANTemporalGenerator())) == 826_468 + 3_622_691
    assert count_parameters(TGANVideoGenerator(tgan_ode())) == 638_424 + 3_622_691
    # MoCoGAN (sergeytulyakov/mocogan models.py), content 50 + motion 16
    assert count_parameters(MoCoGANImageGenerator(66)) == 3_298_176
    assert count_parameters(MoCoGANGenerator(MoCoGANMotionGenerator(16))) == 3_298_176 + 1_632
    assert count_parameters(MoCoGANGenerator(mocogan_ode())) == 3_298_176 + 1_633
    assert count_parameters(MoCoGANImageDiscriminator()) == 663_296  # PatchImageDiscriminator
    assert count_parameters(MoCoGANImageDiscriminator(patch=False)) == 2_765_568  # ImageDiscriminator
    assert count_parameters(MoCoGANVideoDiscriminator()) == 11_056_896
    assert count_parameters(MoCoGANVideoDiscriminator(n_categories=6)) == 11_056_896 + 6 * 512 * 64


# ------------------------------------------------------------------------------------------ generators


def test_tgan_video_generator_64x64_shapes_and_range():
    torch.manual_seed(0)
    g = TGANVideoGenerator(TGANTemporalGenerator())
    v = g(2, generator=_gen()).detach()
    assert v.shape == (2, 16, 3, 64, 64)
    assert float(v.abs().max()) <= 1.0
    u = to_unit_range(v)
    assert float(u.min()) >= 0.0 and float(u.max()) <= 1.0
    # the discrete G_t knows frames 0..15 only
    with pytest.raises(InputError):
        g(2, torch.tensor([0.0, 0.5]))


def test_tgan_ode_more_times_more_frames_and_before_zero():
    torch.manual_seed(0)
    g = _small_tgan(tgan_ode()).eval()
    z = torch.rand(2, 100, generator=_gen(1)) * 2 - 1
    base = g(z)  # default frames 0..15
    assert base.shape == (2, 16, 3, 32, 32)
    dense = g(z, torch.arange(31) / 2.0)  # twice the frame rate
    assert dense.shape == (2, 31, 3, 32, 32)
    assert torch.allclose(dense[:, ::2], base, atol=1e-5)
    before = g(z, torch.arange(-4, 16, dtype=torch.float32))  # 4 frames before t = 0
    assert before.shape == (2, 20, 3, 32, 32)
    assert torch.isfinite(before).all()
    assert torch.allclose(before[:, 4:], base, atol=1e-5)
    s = g.sample(3, [0.0, 1.0, 2.0], generator=_gen(2))
    assert s.shape == (3, 3, 3, 32, 32) and not g.training


def test_mocogan_generator_gru_and_ode():
    torch.manual_seed(0)
    g = MoCoGANGenerator(MoCoGANMotionGenerator(16), image_size=32, ngf=8)
    assert g(2, generator=_gen()).shape == (2, 16, 3, 32, 32)
    v1, v2 = g.sample(2, generator=_gen(3)), g.sample(2, generator=_gen(3))
    assert torch.equal(v1, v2)
    ode = MoCoGANGenerator(mocogan_ode(), image_size=32, ngf=8).eval()
    zc, zm = torch.randn(2, 50, generator=_gen(4)), torch.randn(2, 16, generator=_gen(5))
    with torch.no_grad():
        out = ode(zc, torch.linspace(-2.0, 15.0, 35), z_motion=zm)
    assert out.shape == (2, 35, 3, 32, 32) and float(out.abs().max()) <= 1.0
    # the content code is shared by all frames: same content + same motion time -> same frame
    with torch.no_grad():
        assert torch.allclose(ode(zc, [3.0], z_motion=zm)[:, 0], out[:, 10], atol=1e-5)
    with pytest.raises(InputError):
        MoCoGANGenerator(MoCoGANMotionGenerator(10))  # motion_dim 16 by default


def test_mocogan_generator_motion_norm():
    # motion_norm: the motion codes go through nothing (default), tanh, or a per-frame standardisation
    # before joining the content code; no parameters either way, and the image generator sees the result
    torch.manual_seed(0)
    motion = mocogan_ode()
    zc, zm = torch.randn(3, 50, generator=_gen(4)), torch.randn(3, 16, generator=_gen(5)) * 4
    seen = {}
    for norm in ("none", "tanh", "layer"):
        g = MoCoGANGenerator(motion, image_size=32, ngf=8, motion_norm=norm).eval()
        assert count_parameters(g) == count_parameters(MoCoGANGenerator(motion, image_size=32, ngf=8))
        g.image.register_forward_pre_hook(lambda _m, args, _n=norm: seen.__setitem__(_n, args[0]))
        with torch.no_grad():
            g(zc, [0.0, 7.0, 15.0], z_motion=zm)
    codes = motion(zm, [0.0, 7.0, 15.0]).detach().reshape(9, 16)
    for norm in seen:
        assert torch.equal(seen[norm][:, :50], zc.repeat_interleave(3, 0))
    assert torch.allclose(seen["none"][:, 50:], codes, atol=1e-6)
    assert torch.allclose(seen["tanh"][:, 50:], torch.tanh(codes), atol=1e-6)
    layer = seen["layer"][:, 50:]
    assert torch.allclose(layer.mean(-1), torch.zeros(9), atol=1e-5)
    assert torch.allclose(layer.var(-1, unbiased=False), torch.ones(9), atol=1e-3)
    with pytest.raises(InputError, match="motion_norm"):
        MoCoGANGenerator(motion, motion_norm="batch")


def test_frame_transform_draws_one_image_per_clip_and_moves_it_by_the_codes():
    # model.frame_transform: frame t = the clip's one image moved by the head's transform of the code at t, for
    # TGAN (image from z0 and the code at time 0) and MoCoGAN (image from the content code, motion code 0)
    from odevideo.nn.warping import affine_warp

    torch.manual_seed(0)
    times = torch.tensor([-2.0, 0.0, 0.5, 3.0, 9.25])
    tgan = TGANVideoGenerator(tgan_ode(), TGANImageGenerator(image_size=32, conv_ch=32, init="default"),
                              frame_transform="translate", max_shift=0.5).eval()
    z = torch.rand(3, 100, generator=_gen(1)) * 2 - 1
    moco = MoCoGANGenerator(mocogan_ode(), image_size=32, ngf=8, motion_norm="tanh",
                            frame_transform="affine").eval()
    zc, zm = torch.randn(3, 50, generator=_gen(2)), torch.randn(3, 16, generator=_gen(3))
    with torch.no_grad():
        out = tgan(z, times)
        sprite = tgan.image(z, tgan.temporal(z, [0.0])[:, 0])
        codes = tgan.temporal(z, times)
        mout = moco(zc, times, z_motion=zm)
        msprite = moco.image(torch.cat([zc, torch.zeros(3, 16)], dim=1))
        mcodes = torch.tanh(moco.motion(zm, times))
    for o, sp, head, c in ((out, sprite, tgan.transform, codes), (mout, msprite, moco.transform, mcodes)):
        assert o.shape == (3, 5, *sp.shape[1:])
        for k in range(5):
            torch.testing.assert_close(o[:, k], affine_warp(sp, head(c[:, k])), rtol=0, atol=1e-5)
    assert not torch.allclose(out[:, 0], out[:, -1], atol=1e-3)  # the codes move the image
    with torch.no_grad():  # a zero head: no motion, every frame is the clip's image itself
        tgan.transform.linear.weight.zero_()
        still = tgan(z, times)
    torch.testing.assert_close(still, sprite[:, None].expand_as(still), rtol=0, atol=1e-5)
    # the head trains with the rest, and "none" leaves the papers' generators (and their parameters) alone
    tgan.train()
    tgan(z, times).square().mean().backward()
    assert tgan.transform.linear.weight.grad.abs().sum() > 0 and tgan.image.fc_content.weight.grad.abs().sum() > 0
    plain = MoCoGANGenerator(mocogan_ode(), image_size=32, ngf=8)
    assert count_parameters(moco) == count_parameters(plain) + 16 * 6 + 6
    assert MoCoGANGenerator(mocogan_ode(), image_size=32, ngf=8).transform is None
    with pytest.raises(InputError, match="frame_transform"):
        MoCoGANGenerator(mocogan_ode(), frame_transform="flow")
    with pytest.raises(InputError, match="frame_transform"):
        _small_tgan(tgan_ode()).__class__(tgan_ode(), frame_transform="shift")


def test_a_smaller_sprite_sits_at_the_centre_of_a_black_canvas_before_it_moves():
    torch.manual_seed(0)
    moco = MoCoGANGenerator(mocogan_ode(), image_size=32, ngf=8, frame_transform="translate", sprite_size=16).eval()
    tgan = TGANVideoGenerator(tgan_ode(), TGANImageGenerator(image_size=16, conv_ch=32, init="default"),
                              frame_transform="translate", frame_size=32).eval()
    assert moco.image.image_size == 16 and tgan.image.image_size == 16
    for g in (moco, tgan):
        with torch.no_grad():
            g.transform.linear.weight.zero_()  # no motion: every frame is the canvas itself
            out = g(3, [0.0, 1.0, 4.5], generator=_gen(1))
        assert out.shape == (3, 3, 3, 32, 32)
        border = torch.ones(32, 32, dtype=torch.bool)
        border[8:24, 8:24] = False
        assert torch.equal(out[..., border], torch.full_like(out[..., border], -1.0))  # black around the sprite
        assert (out[..., 8:24, 8:24] > -1).any()
    with pytest.raises(InputError, match="frame_transform"):  # a fixed canvas would never move
        MoCoGANGenerator(mocogan_ode(), image_size=32, sprite_size=16)
    with pytest.raises(InputError, match="sprite_size"):
        MoCoGANGenerator(mocogan_ode(), image_size=32, frame_transform="translate", sprite_size=64)
    with pytest.raises(InputError, match="frame_transform"):
        TGANVideoGenerator(tgan_ode(), TGANImageGenerator(image_size=16, conv_ch=32), frame_size=32)


def test_resize_conv_upsampling_has_no_checkerboard_from_a_constant_input():
    # after the first 4x4 stage: a 4x4 stride-2 transposed convolution uses different kernel taps for even and odd
    # output pixels, so a constant map comes out with a period-2 (checkerboard) pattern; nearest 2x + 3x3
    # convolution keeps it constant away from the border
    torch.manual_seed(0)
    for up, flat in (("deconv", False), ("resize_conv", True)):
        g = MoCoGANImageGenerator(4, 1, 16, 4, upsample=up).eval()
        with torch.no_grad():
            inner = g.main[3:](torch.ones(1, 8, 4, 4))[0, 0, 4:12, 4:12]
        assert inner.shape == (8, 8) and (float(inner.max() - inner.min()) < 1e-6) == flat, up
    assert count_parameters(MoCoGANImageGenerator(66, 1, 16, 64, upsample="resize_conv")) == 209_856
    # deconv_out_conv: the last transposed convolution keeps the width, a 3x3 convolution (with bias) makes the
    # output: 267,648 - 64*1*16 (MoCoGAN's last deconv) + 64*64*16 + 2*64 (BN) + 64*9 + 1 = 332,865
    smooth = MoCoGANImageGenerator(66, 1, 16, 64, upsample="deconv_out_conv")
    assert count_parameters(smooth) == 332_865 and count_parameters(MoCoGANImageGenerator(66, 1, 16, 64)) == 267_648
    last = smooth.main[-2]
    assert isinstance(last, torch.nn.Conv2d) and last.kernel_size == (3, 3) and last.stride == (1, 1)
    assert smooth(torch.randn(2, 66)).shape == (2, 1, 16, 16)


def test_mocogan_image_init_is_dcgans_normal_or_pytorchs_default():
    torch.manual_seed(0)
    dcgan = MoCoGANImageGenerator(66, 1, 16, 64).main[3].weight.detach()
    default = MoCoGANImageGenerator(66, 1, 16, 64, init="default").main[3].weight.detach()
    assert abs(float(dcgan.std()) - 0.02) < 0.002  # MoCoGAN's weights_init
    # PyTorch's kaiming-uniform for ConvTranspose2d(128, 64, 4): bound 1/sqrt(fan_in), fan_in = 64 * 4 * 4
    bound = 1 / (64 * 16) ** 0.5
    assert float(default.abs().max()) <= bound and abs(float(default.std()) - bound / 3 ** 0.5) < 0.002
    with pytest.raises(InputError, match="init"):
        MoCoGANImageGenerator(init="uniform")
    with pytest.raises(InputError, match="upsample"):
        MoCoGANImageGenerator(upsample="bilinear")


def test_sde_plug_in_and_wgan_step_reaches_the_temporal_generator():
    torch.manual_seed(0)
    sde = _small_tgan(SDETemporalGenerator(100, frame_dt=1 / 15)).eval()
    with torch.no_grad():
        a = sde(2, [-1.0, 0.0, 0.5, 1.0], generator=_gen(7), seed=3)
        b = sde(2, [-1.0, 0.0, 0.5, 1.0], generator=_gen(7), seed=3)
    assert a.shape == (2, 4, 3, 32, 32) and torch.equal(a, b)
    g = _small_tgan(tgan_ode())
    d = TGANVideoDiscriminator(image_size=32, mid_ch=4)
    fake = frames_to_discriminator(g(2, generator=_gen()))
    real = torch.rand(2, 3, 16, 32, 32) * 2 - 1
    wgan_discriminator_loss(d(real), d(fake.detach())).backward()
    assert all(p.grad is not None for p in d.parameters())
    wgan_generator_loss(d(fake)).backward()
    assert g.temporal.fcn[0].weight.grad is not None and g.temporal.fcn[0].weight.grad.abs().sum() > 0


def test_tgan_image_generator_last_layer_is_its_transposed_convolution():
    # forward computes the stride-1 last ConvTranspose2d as a conv2d; it must equal running the layers in order
    torch.manual_seed(0)
    g = TGANImageGenerator(content_dim=6, frame_dim=5, out_channels=3, image_size=16, conv_ch=16, init="default").eval()
    with torch.no_grad():
        g.deconv[-2].bias.normal_()
    zc, zf = torch.randn(4, 6), torch.randn(4, 5)
    hc = torch.relu(g.bn_content(g.fc_content(zc))).view(4, 8, 4, 4)
    hf = torch.relu(g.bn_frame(g.fc_frame(zf))).view(4, 8, 4, 4)
    expected = g.deconv(torch.cat([hc, hf], dim=1))
    torch.testing.assert_close(g(zc, zf), expected, atol=1e-5, rtol=1e-5)


def test_generator_rejects_mismatched_sizes():
    with pytest.raises(InputError):
        TGANVideoGenerator(TGANTemporalGenerator(z_dim=100, out_dim=50))
    with pytest.raises(InputError):
        TGANImageGenerator(image_size=48)


# ------------------------------------------------------------------------------------------ discriminators


def test_discriminator_score_shapes():
    torch.manual_seed(0)
    v64 = torch.rand(2, 16, 3, 64, 64) * 2 - 1
    assert TGANVideoDiscriminator()(frames_to_discriminator(v64)).shape == (2,)
    v32 = torch.rand(2, 3, 16, 32, 32)
    assert TGANVideoDiscriminator(image_size=32, mid_ch=8)(v32).shape == (2,)
    assert TGANVideoDiscriminator(image_size=32, mid_ch=8, spectral_norm=True)(v32).shape == (2,)
    frames = v64.flatten(0, 1)[:4]
    assert MoCoGANImageDiscriminator(ndf=8)(frames).shape == (4, 4, 4)  # patch logits
    assert MoCoGANImageDiscriminator(ndf=8, patch=False)(frames).shape == (4,)
    assert MoCoGANVideoDiscriminator(ndf=8)(frames_to_discriminator(v64)).shape == (2,)
    logits, classes = MoCoGANVideoDiscriminator(ndf=8, n_categories=6)(frames_to_discriminator(v64))
    assert logits.shape == (2,) and classes.shape == (2, 6)
    assert MoCoGANVideoDiscriminator(ndf=8, image_size=32)(v32).shape == (2,)
    with pytest.raises(InputError):
        TGANVideoDiscriminator()(v64)  # (B, T, C, H, W) instead of (B, C, T, H, W)


def test_discriminator_instance_noise():
    # MoCoGAN's Noise layers: N(0, sigma^2) before every conv while training; identity in eval mode and at 0.
    from odevideo.nn import GaussianInputNoise

    noise = GaussianInputNoise(0.1)
    x = torch.zeros(200_000)
    torch.manual_seed(0)
    assert abs(float(noise(x).std()) - 0.1) < 1e-3 and abs(float(noise(x).mean())) < 1e-3
    assert torch.equal(noise.eval()(x), x) and torch.equal(GaussianInputNoise(0)(x), x)
    for bad in (-0.1, float("nan"), float("inf"), True, "0.1"):
        with pytest.raises(InputError, match="sigma"):
            GaussianInputNoise(bad)

    v32 = torch.rand(2, 3, 16, 32, 32) * 2 - 1
    frames = v32.transpose(1, 2).flatten(0, 1)[:4]
    cases = [
        (lambda s: MoCoGANImageDiscriminator(ndf=8, image_size=32, noise_sigma=s), frames, 4),
        (lambda s: MoCoGANImageDiscriminator(ndf=8, patch=False, image_size=32, noise_sigma=s), frames, 4),
        (lambda s: MoCoGANVideoDiscriminator(ndf=8, image_size=32, noise_sigma=s), v32, 4),
        (lambda s: TGANVideoDiscriminator(image_size=32, mid_ch=8, noise_sigma=s), v32, 5),
    ]
    for make, x, n_convs in cases:
        torch.manual_seed(1)
        plain = make(0.0)
        torch.manual_seed(1)
        noisy = make(0.3)
        # one noise layer per conv, no new parameters, and the same network once the noise is off
        assert sum(isinstance(m, GaussianInputNoise) for m in noisy.modules()) == n_convs
        assert not any(isinstance(m, GaussianInputNoise) for m in plain.modules())
        assert [p.shape for p in noisy.parameters()] == [p.shape for p in plain.parameters()]
        plain.eval()
        noisy.eval()
        assert torch.allclose(noisy(x), plain(x))
        noisy.train()
        assert not torch.allclose(noisy(x), noisy(x))  # fresh noise per call
        torch.manual_seed(5)
        a = noisy(x)
        torch.manual_seed(5)
        assert torch.equal(a, noisy(x))  # drawn from torch's seeded global RNG


# ------------------------------------------------------------------------------------------ objectives


def test_singular_value_clipping_bounds_top_singular_value():
    torch.manual_seed(0)
    d = TGANVideoDiscriminator(image_size=32, mid_ch=4)
    lin = nn.Linear(20, 30)
    net = nn.Sequential(d, lin)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (nn.Conv3d, nn.Linear)):
                m.weight.mul_(50.0)
    weights = [m.weight for m in net.modules() if isinstance(m, (nn.Conv3d, nn.Linear))]
    assert max(float(torch.linalg.svdvals(w.detach().reshape(w.shape[0], -1))[0]) for w in weights) > 1.5
    assert clip_singular_values_(net) == len(weights) == 6
    for w in weights:
        assert float(torch.linalg.svdvals(w.detach().reshape(w.shape[0], -1))[0]) <= 1.0 + 1e-5
    # small weights are left as they were
    small = nn.Linear(5, 5)
    with torch.no_grad():
        small.weight.mul_(1e-3)
    before = small.weight.clone()
    clip_singular_values_(small)
    assert torch.equal(small.weight, before)


def test_batchnorm_gamma_clamp_and_schedule():
    bn = nn.BatchNorm3d(4)
    with torch.no_grad():
        bn.running_var.copy_(torch.tensor([4.0, 0.25, 1.0, 1.0]))
        bn.weight.copy_(torch.tensor([10.0, 0.1, 1e-5, -1.0]))
    assert clamp_batchnorm_gamma_(bn) == 1
    std = (bn.running_var + bn.eps).sqrt()
    assert torch.all(bn.weight <= std + 1e-6) and torch.all(bn.weight >= 0.01 * std - 1e-9)
    expected = torch.stack([std[0], torch.tensor(0.1), 0.01 * std[2], 0.01 * std[3]])
    assert torch.allclose(bn.weight.detach(), expected)  # too big -> std, in range -> kept, too small -> 0.01 std
    lin = nn.Linear(3, 3)
    with torch.no_grad():
        lin.weight.mul_(100)
    assert not singular_value_clipping_(lin, iteration=3, every=5)
    assert float(torch.linalg.svdvals(lin.weight.detach())[0]) > 1.0
    assert singular_value_clipping_(lin, iteration=5, every=5)
    assert float(torch.linalg.svdvals(lin.weight.detach())[0]) <= 1.0 + 1e-5


def test_loss_signs():
    good_real, good_fake = torch.full((4,), 2.0), torch.full((4,), -2.0)
    for loss in (wgan_discriminator_loss, hinge_discriminator_loss, nonsaturating_discriminator_loss):
        assert loss(good_real, good_fake) < loss(good_fake, good_real)
    for loss in (wgan_generator_loss, hinge_generator_loss, nonsaturating_generator_loss):
        assert loss(good_real) < loss(good_fake)  # fakes scored "real" -> lower generator loss
    assert float(hinge_discriminator_loss(good_real, good_fake)) == 0.0
    assert float(wgan_discriminator_loss(good_real, good_fake)) == -4.0
    ns = float(nonsaturating_discriminator_loss(good_real, good_fake))
    assert math.isclose(ns, 2 * math.log1p(math.exp(-2.0)), rel_tol=1e-6)
    img, vid = mocogan_discriminator_loss(good_real, good_fake, good_real[:2], good_fake[:2])
    assert math.isclose(float(img), ns, rel_tol=1e-6) and math.isclose(float(vid), ns, rel_tol=1e-6)
    assert mocogan_generator_loss(good_real, good_real) < mocogan_generator_loss(good_fake, good_fake)


def test_one_sided_label_smoothing_is_the_bce_against_the_smoothed_target():
    real, fake = torch.tensor([-1.0, 0.5, 3.0]), torch.tensor([-2.0, 0.2])
    got = nonsaturating_discriminator_loss(real, fake, real_label=0.9)
    want = (F.binary_cross_entropy_with_logits(real, torch.full_like(real, 0.9))
            + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))
    torch.testing.assert_close(got, want)
    # the real term is smallest at the finite logit log(0.9 / 0.1), not at +inf
    logits = torch.linspace(0.0, 6.0, 601)
    terms = torch.stack([nonsaturating_discriminator_loss(x[None], torch.tensor([-30.0]), real_label=0.9)
                         for x in logits])
    assert float(logits[terms.argmin()]) == pytest.approx(math.log(9.0), abs=0.01)
    torch.testing.assert_close(nonsaturating_discriminator_loss(real, fake, real_label=1.0),
                               nonsaturating_discriminator_loss(real, fake))


def test_r1_penalty():
    x = torch.randn(3, 2, 4)
    assert float(r1_penalty(lambda v: torch.ones(v.shape[0]), x)) == 0.0  # ignores its input
    assert float(r1_penalty(lambda v: v.flatten(1).sum(1) * 0.0 + 5.0, x)) == 0.0  # constant in x
    w = torch.randn(8)
    pen = r1_penalty(lambda v: v.flatten(1) @ w, x, gamma=4.0)
    assert torch.allclose(pen, 2.0 * w.pow(2).sum())


def test_spectral_norm_helper():
    torch.manual_seed(0)
    net = apply_spectral_norm(nn.Sequential(nn.Linear(6, 6), nn.ReLU(), nn.Linear(6, 1)))
    with torch.no_grad():
        for _ in range(30):
            net(torch.randn(2, 6))
    net.eval()
    top = float(torch.linalg.svdvals(net[0].weight.detach())[0])
    assert top == pytest.approx(1.0, abs=1e-2)
    assert clip_singular_values_(net) == 0  # parametrized layers are skipped
