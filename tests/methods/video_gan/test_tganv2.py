"""TGANv2 with feature-map temporal generators: ConvLSTM, conv ODE (orders 1-2), conv SDE; levels, loss."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from odevideo.errors import InputError
from odevideo.methods.video_gan.map_temporal import (
    ConvLSTMTemporalGenerator,
    MapODETemporalGenerator,
    MapSDETemporalGenerator,
)
from odevideo.methods.video_gan.steps import multilevel_gan_losses
from odevideo.methods.video_gan.temporal_common import count_parameters
from odevideo.methods.video_gan.tganv2 import TGANv2Generator, TGANv2MultiLevelDiscriminator, TGANv2VideoDiscriminator
from odevideo.nn.convlstm import ConvLSTMCell


def _constant_field(gen, value: float) -> None:
    """Make every conv of the dynamics output ``LeakyReLU(value)``: zero weights, bias ``value``."""
    for m in gen.modules():
        if isinstance(m, torch.nn.Conv2d):
            torch.nn.init.zeros_(m.weight)
            torch.nn.init.constant_(m.bias, value)


def test_convlstm_cell_matches_the_lstm_equations():
    torch.manual_seed(0)
    cell = ConvLSTMCell(3, 4)
    x, h, c = torch.randn(2, 3, 5, 5), torch.randn(2, 4, 5, 5), torch.randn(2, 4, 5, 5)
    gates = cell.conv_x(x) + cell.conv_h(h)
    i, f, o, g = gates.chunk(4, 1)
    c_ref = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    h_new, c_new = cell(x, (h, c))
    torch.testing.assert_close(c_new, c_ref)
    torch.testing.assert_close(h_new, torch.sigmoid(o) * torch.tanh(c_ref))
    # no state = zero state
    torch.testing.assert_close(cell(x)[0], cell(x, (torch.zeros_like(h), torch.zeros_like(c)))[0])
    with pytest.raises(InputError, match=r"\(N, 3, h, w\)"):
        cell(torch.randn(2, 5, 5))


def test_convlstm_temporal_generator_unrolls_with_input_only_at_frame_zero():
    torch.manual_seed(0)
    gen = ConvLSTMTemporalGenerator(8, 6, 3, n_layers=2)
    z = torch.randn(2, 8)
    out = gen(z, [0, 1, 2, 3])
    assert out.shape == (2, 4, 6, 3, 3)
    x0 = gen.fc(z).view(2, 6, 3, 3)
    s = [None, None]
    for k in range(4):
        h = x0 if k == 0 else torch.zeros_like(x0)
        for j, cell in enumerate(gen.cells):
            s[j] = cell(h, s[j])
            h = s[j][0]
        torch.testing.assert_close(out[:, k], h)
    # per-clip frame rows pick from the same unrolled sequence
    rows = gen(z, torch.tensor([[3.0, 0.0], [1.0, 2.0]]))
    torch.testing.assert_close(rows[0], out[0, [3, 0]])
    torch.testing.assert_close(rows[1], out[1, [1, 2]])
    for bad in ([0.5], [-1.0]):
        with pytest.raises(InputError, match="discrete temporal generator"):
            gen(z, bad)


@pytest.mark.parametrize("times", [[0.0, 1.0, 2.5, 15.0], [-3.0, -0.5, 0.0, 4.0]])
def test_map_ode_order1_and_order2_follow_the_analytic_solution(times):
    torch.manual_seed(0)
    t = torch.tensor(times)
    z = torch.randn(3, 8)
    tau = (t * (1.0 / 15.0))[None, :, None, None, None]  # solver time: frames over [0, 1] for 16 frames
    first = MapODETemporalGenerator(8, 4, 2)
    _constant_field(first, 0.7)  # dx/dt = LeakyReLU(0.7) = 0.7
    x0 = first.init_maps[0](z).view(3, 1, 4, 2, 2)
    torch.testing.assert_close(first(z, t), x0 + 0.7 * tau, rtol=1e-5, atol=1e-5)
    second = MapODETemporalGenerator(8, 4, 2, order=2)
    _constant_field(second, 0.7)  # x'' = 0.7 (top-derivative construction)
    x0, v0 = (m(z).view(3, 1, 4, 2, 2) for m in second.init_maps)
    torch.testing.assert_close(second(z, t), x0 + v0 * tau + 0.35 * tau**2, rtol=1e-5, atol=1e-5)
    # a negative constant goes through LeakyReLU(0.2): slope 0.2
    _constant_field(first, -1.0)
    x0 = first.init_maps[0](z).view(3, 1, 4, 2, 2)
    torch.testing.assert_close(first(z, t), x0 - 0.2 * tau, rtol=1e-5, atol=1e-5)


def test_map_ode_general_construction_and_time_channel_see_what_they_should():
    torch.manual_seed(0)
    gen = MapODETemporalGenerator(8, 4, 2, order=2, construction="general", time_dependent=True)
    conv = gen.func.f.net.net[0]
    assert conv.in_channels == 2 * 4 + 1 and conv.out_channels == 4
    z = torch.randn(2, 8)
    out = gen(z, [0.0, 1.0, 3.0])
    assert out.shape == (2, 3, 4, 2, 2) and torch.isfinite(out).all()
    out.sum().backward()
    assert conv.weight.grad is not None and conv.weight.grad[:, -1].abs().sum() > 0  # the t channel matters
    with pytest.raises(InputError, match="f_type"):
        MapODETemporalGenerator(8, 4, 2, f_type="equal_params")


def test_map_sde_is_seeded_and_without_diffusion_is_the_ode():
    torch.manual_seed(0)
    sde = MapSDETemporalGenerator(8, 4, 2)
    z = torch.randn(2, 8)
    a, b = sde(z, [0.0, 2.0, 5.0], seed=3), sde(z, [0.0, 2.0, 5.0], seed=3)
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a, sde(z, [0.0, 2.0, 5.0], seed=4))
    assert a.shape == (2, 3, 4, 2, 2)
    torch.testing.assert_close(a[:, 0], sde.init_map(z).view(2, 4, 2, 2))  # x(0) is deterministic
    back = sde(z, [-2.0, 0.0], seed=3)
    assert torch.isfinite(back).all()
    # zero diffusion, constant drift: a straight line
    _constant_field(sde.sde.drift, 0.5)
    _constant_field(sde.sde.diffusion, 0.0)
    tau = torch.tensor([0.0, 2.0, 5.0])[None, :, None, None, None] / 15.0
    torch.testing.assert_close(sde(z, [0.0, 2.0, 5.0], seed=1), a[:, :1] + 0.5 * tau, rtol=1e-5, atol=1e-5)


def _tiny(temporal=None, **kw):
    temporal = temporal if temporal is not None else ConvLSTMTemporalGenerator(16, 8, 4, n_layers=1)
    return TGANv2Generator(temporal, out_channels=1, image_size=32, channels=8, levels=3, n_frames=16, **kw)


def test_training_levels_are_sparse_views_of_the_dense_video():
    torch.manual_seed(0)
    gen = _tiny(MapODETemporalGenerator(16, 8, 4))
    z = torch.rand(4, 16) * 2 - 1
    lv = gen(z, levels=True, generator=torch.Generator().manual_seed(5))
    assert [tuple(v.shape) for v in lv.videos] == [(4, 16, 1, 8, 8), (2, 8, 1, 16, 16), (1, 4, 1, 32, 32)]
    assert [c.tolist() for c in lv.clips] == [[0, 1, 2, 3], [0, 2], [0]]
    f1, f2 = lv.frames[1], lv.frames[2]
    assert len(f1) == 8 and set(f2.tolist()) <= set(f1.tolist()) and (f1.diff() == 2).all() and (f2.diff() == 4).all()
    # "train sparsely, generate densely": in eval mode (BatchNorm running statistics, frames independent) the
    # finest level is exactly the dense video at the kept clips and frames
    gen.eval()
    lv = gen(z, levels=True, generator=torch.Generator().manual_seed(5))
    dense = gen(z)
    assert dense.shape == (4, 16, 1, 32, 32) and dense.abs().max() <= 1
    torch.testing.assert_close(lv.videos[-1], dense[lv.clips[-1]][:, lv.frames[-1]], rtol=1e-5, atol=1e-5)
    # the dense video at a higher frame rate contains the 16 frames
    fine = gen(z, torch.arange(0, 15.5, 0.5))
    torch.testing.assert_close(fine[:, ::2], dense, rtol=1e-4, atol=1e-5)


def test_real_levels_pool_and_thin_like_the_generator():
    gen = _tiny()
    real = torch.rand(4, 16, 1, 32, 32)
    lv = gen.real_levels(real, torch.Generator().manual_seed(2))
    assert [tuple(v.shape) for v in lv.videos] == [(4, 16, 1, 8, 8), (2, 8, 1, 16, 16), (1, 4, 1, 32, 32)]
    for level, k in enumerate((4, 2, 1)):
        picked = real[lv.clips[level]][:, lv.frames[level]]
        ref = F.avg_pool2d(picked.flatten(0, 1), k).view_as(lv.videos[level]) if k > 1 else picked
        torch.testing.assert_close(lv.videos[level], ref)
    with pytest.raises(InputError, match="real_levels"):
        gen.real_levels(torch.rand(4, 16, 1, 16, 16))
    with pytest.raises(InputError, match="no clips or frames"):
        gen(2, torch.arange(2.0), levels=True)  # 2 frames cannot be thinned twice by 2


def test_parameter_counts_match_the_chainer_tganv2_ucf101_model():
    # TGANv2's UCF-101 generator (MultiTGANCLSTMGenerator: z 256, CLSTM 512 x 4 x 4, 2 layers, ch 32, 4 levels)
    # and its per-level ResNetVideoDiscriminator(3, 64), counted from the Chainer topology
    def conv(i, o, k):
        return i * o * k + o

    def gen_block(i, o):
        return 2 * i + conv(i, o, 9) + 2 * o + conv(o, o, 9) + conv(i, o, 1)

    clstm = 2 * (conv(512, 2048, 9) + 512 * 2048 * 9)
    widths = [512, 512, 256, 128, 64, 32, 32]
    blocks = sum(gen_block(a, b) for a, b in zip(widths[:-1], widths[1:]))
    renders = sum(2 * w + conv(w, 3, 9) for w in (128, 64, 32, 32))
    expected_g = (256 * 8192 + 8192) + clstm + blocks + renders
    gen = TGANv2Generator(ConvLSTMTemporalGenerator(256, 512, 4, n_layers=2), out_channels=3, image_size=256,
                          channels=32, levels=4)
    assert count_parameters(gen) == expected_g

    def dis_block(i, o):
        return conv(i, i, 27) + conv(i, o, 27) + conv(i, o, 1)

    expected_d = (conv(3, 64, 27) + conv(64, 64, 27) + conv(3, 64, 1)
                  + sum(dis_block(64 * 2**k, 128 * 2**k) for k in range(4)) + 1024 + 1)
    assert count_parameters(TGANv2VideoDiscriminator(3, 64)) == expected_d
    assert count_parameters(TGANv2MultiLevelDiscriminator(3, 64, levels=4)) == 4 * expected_d


def test_video_discriminator_pools_odd_lengths_and_scores_each_clip():
    d = TGANv2VideoDiscriminator(1, 4, n_blocks=3)
    for shape in ((3, 1, 16, 8, 8), (2, 1, 5, 6, 6), (1, 1, 1, 4, 4)):
        assert d(torch.randn(shape)).shape == (shape[0],)
    with pytest.raises(InputError, match=r"\(B, C, T, H, W\)"):
        d(torch.randn(2, 3, 4, 8, 8))


@pytest.mark.parametrize("temporal", ["clstm", "sde"])
def test_multilevel_losses_reach_both_networks_and_r1_is_on_real(temporal):
    torch.manual_seed(0)
    t = ConvLSTMTemporalGenerator(16, 8, 4, n_layers=1) if temporal == "clstm" else MapSDETemporalGenerator(16, 8, 4)
    gen, disc = _tiny(t), TGANv2MultiLevelDiscriminator(1, 4, levels=3, n_blocks=3)
    real = torch.rand(4, 16, 1, 32, 32)
    out = multilevel_gan_losses(gen, disc, real, generator_rng=torch.Generator().manual_seed(1), r1_gamma=1.0)
    assert out.metrics["video_r1"] > 0 and set(out.metrics) >= {"level0_real", "level2_fake", "disc_loss"}
    g_grads = torch.autograd.grad(out.generator, list(gen.parameters()), allow_unused=True, retain_graph=True)
    assert all(g is not None for g in g_grads[:3])  # reaches the temporal generator's first layers
    d_grads = torch.autograd.grad(out.discriminator, list(disc.parameters()), allow_unused=True)
    assert all(g is not None and torch.isfinite(g).all() for g in d_grads)
    # same rng, same step (SDE noise included)
    again = multilevel_gan_losses(gen, disc, real, generator_rng=torch.Generator().manual_seed(1), r1_gamma=1.0)
    assert again.metrics == pytest.approx(out.metrics)
    no_r1 = multilevel_gan_losses(gen, disc, real, generator_rng=torch.Generator().manual_seed(1))
    assert "video_r1" not in no_r1.metrics
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        multilevel_gan_losses(gen, disc, real * 3)


def test_generator_rejects_inconsistent_sizes():
    with pytest.raises(InputError, match="map size"):
        TGANv2Generator(ConvLSTMTemporalGenerator(16, 8, 4), image_size=24, levels=2)
    with pytest.raises(InputError, match="levels"):
        TGANv2Generator(ConvLSTMTemporalGenerator(16, 8, 4), image_size=16, levels=3)
    with pytest.raises(InputError, match="feature-map temporal generator"):
        TGANv2Generator(torch.nn.Linear(3, 3))


def test_two_frame_discriminator_blocks_keep_finite_gradients_under_cpu_bf16():
    # PyTorch's CPU bf16 Conv3d backward gave non-finite gradients for 2-frame inputs in about 1 call of 10 here;
    # the discriminator blocks run such convolutions in float32 (tganv2._conv3d)
    from odevideo.methods.video_gan.tganv2 import _conv3d, _DiscBlock

    torch.manual_seed(0)
    block = _DiscBlock(32, 64)
    for _ in range(12):
        x = torch.randn(4, 32, 2, 8, 8, requires_grad=True)
        block.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            y = block(x)
        y.float().sum().backward()
        assert torch.isfinite(x.grad).all() and all(torch.isfinite(p.grad).all() for p in block.parameters())
    conv = torch.nn.Conv3d(2, 2, 3, padding=1)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert _conv3d(conv, torch.randn(1, 2, 2, 4, 4)).dtype == torch.float32
        assert _conv3d(conv, torch.randn(1, 2, 3, 4, 4)).dtype == torch.bfloat16
