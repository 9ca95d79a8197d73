"""sample_videos (seeded, batch-size independent, any times) and generator_scores (the R x S protocol)."""

import numpy as np
import pytest
import torch
from torch import nn

from odevideo.errors import InputError
from odevideo.methods.video_gan.generation import generator_scores, sample_video_batches, sample_videos
from odevideo.methods.video_gan.mocogan import MoCoGANGenerator
from odevideo.methods.video_gan.network_common import to_signed_range
from odevideo.methods.video_gan.temporal_discrete import MoCoGANMotionGenerator
from odevideo.methods.video_gan.temporal_ode import ODETemporalGenerator
from odevideo.methods.video_gan.temporal_sde import SDETemporalGenerator
from odevideo.methods.video_gan.tgan import TGANImageGenerator, TGANVideoGenerator

torch.set_num_threads(1)


def _tgan(temporal=None, seed=0):
    torch.manual_seed(seed)
    temporal = temporal if temporal is not None else ODETemporalGenerator(8)
    return TGANVideoGenerator(temporal, TGANImageGenerator(8, 8, out_channels=1, image_size=16, conv_ch=8,
                                                           init="default"), n_frames=6)


def _mocogan(motion=None, seed=0):
    torch.manual_seed(seed)
    motion = motion if motion is not None else MoCoGANMotionGenerator(4)
    return MoCoGANGenerator(motion, content_dim=4, motion_dim=4, out_channels=1, image_size=16, ngf=4,
                            video_length=6)


def _warm_bn(g):
    """A few train-mode passes so BatchNorm running statistics are not the init values."""
    with torch.no_grad():
        for _ in range(2):
            g(4)


class ToyFeatures(nn.Module):
    """A small random-init conv net: clips (B, T, C, H, W) -> (B, 8) features."""

    def __init__(self, channels=1, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.net = nn.Sequential(nn.Conv3d(channels, 4, 3, padding=1), nn.Tanh(), nn.AdaptiveAvgPool3d((2, 4, 4)),
                                 nn.Flatten(), nn.Linear(128, 8))

    def forward(self, videos):
        return self.net(videos.transpose(1, 2))


class ReplayGenerator(nn.Module):
    """Returns the real clips in order (cycling), i.e. exactly the real distribution."""

    def __init__(self, real):
        super().__init__()
        self.register_buffer("real", to_signed_range(real))
        self.w = nn.Parameter(torch.zeros(()))
        self.next = 0

    def forward(self, n, times=None, *, generator=None):
        idx = (torch.arange(n) + self.next) % self.real.shape[0]
        self.next += n
        return self.real[idx] + 0 * self.w


class ConstantGenerator(nn.Module):
    def __init__(self, like):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(()))
        self.shape = like.shape[1:]

    def forward(self, n, times=None, *, generator=None):
        return torch.full((n, *self.shape), -0.8) + self.w  # dark grey clips


# ------------------------------------------------------------------------------------------ sample_videos


@pytest.mark.parametrize("kind", ["tgan_ode", "mocogan_gru", "tgan_sde", "mocogan_sde"])
def test_sample_videos_is_deterministic_whatever_the_batch_size(kind):
    g = {"tgan_ode": lambda: _tgan(),
         "mocogan_gru": lambda: _mocogan(),
         "tgan_sde": lambda: _tgan(SDETemporalGenerator(8)),
         "mocogan_sde": lambda: _mocogan(SDETemporalGenerator(4, f_type="two_layer", hidden_dim=6))}[kind]()
    _warm_bn(g)
    g.train()
    a = sample_videos(g, 7, seed=3, batch_size=7, sde_block_size=4)
    b = sample_videos(g, 7, seed=3, batch_size=2, sde_block_size=4)
    c = sample_videos(g, 7, seed=4, batch_size=7, sde_block_size=4)
    assert a.shape == (7, 6, 1, 16, 16)
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    assert (a - c).abs().max() > 1e-3  # another seed, other clips
    assert (a[0] - a[1]).abs().max() > 1e-4  # the clips differ from each other
    assert float(a.min()) >= 0.0 and float(a.max()) <= 1.0
    assert g.training  # the mode is restored


def test_sample_videos_negative_and_fractional_times():
    g = _tgan()
    _warm_bn(g)
    g.eval()
    times = [-2.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0]
    v = sample_videos(g, 3, times, seed=0, batch_size=2)
    assert v.shape == (3, 7, 1, 16, 16)
    assert float(v.min()) >= 0.0 and float(v.max()) <= 1.0
    assert not g.training
    # integer times of the denser grid are the frames of the plain grid (same seed -> same z0)
    plain = sample_videos(g, 3, [0.0, 1.0, 2.0], seed=0)
    torch.testing.assert_close(v[:, [2, 4, 6]], plain, rtol=1e-5, atol=1e-6)
    signed = sample_videos(g, 3, times, seed=0, unit_range=False)
    torch.testing.assert_close((signed + 1) / 2, v, rtol=1e-5, atol=1e-6)
    # SDE: negative and fractional times, reproducible
    s = _tgan(SDETemporalGenerator(8))
    x = sample_videos(s, 3, times, seed=1, batch_size=1)
    y = sample_videos(s, 3, times, seed=1, batch_size=3)
    assert x.shape == (3, 7, 1, 16, 16)
    torch.testing.assert_close(x, y)


def test_sample_video_batches_streams_the_same_clips_and_validates():
    g = _mocogan()
    whole = sample_videos(g, 5, seed=2, batch_size=5)
    parts = list(sample_video_batches(g, 5, seed=2, batch_size=2))
    assert [p.shape[0] for p in parts] == [2, 2, 1]
    torch.testing.assert_close(torch.cat(parts), whole, rtol=1e-5, atol=1e-6)
    assert torch.is_grad_enabled()
    with pytest.raises(InputError, match="num"):
        sample_videos(g, 0, seed=0)
    with pytest.raises(InputError, match="seed"):
        sample_videos(g, 2, seed=-1)
    with pytest.raises(InputError, match="times"):
        sample_videos(g, 2, torch.zeros(3, 4), seed=0)


def test_unknown_generators_are_sampled_one_clip_per_seed():
    class Noise(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.ones(()))

        def forward(self, n, times=None, *, generator=None):
            return torch.rand(n, 2, 1, 4, 4, generator=generator) * 2 - 1

    a = sample_videos(Noise(), 5, seed=0, batch_size=5)
    b = sample_videos(Noise(), 5, seed=0, batch_size=2)
    torch.testing.assert_close(a, b)


# ------------------------------------------------------------------------------------------ generator_scores


def test_generator_scores_repeats_and_a_perfect_generator_scores_zero():
    real = torch.rand(24, 6, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    feats = ToyFeatures()
    perfect = generator_scores(ReplayGenerator(real), real, metric="fid", repeats=3, samples=24, seed=0,
                               features=feats)
    assert perfect["metric"] == "fid" and len(perfect["values"]) == 3
    assert perfect["mean"] == pytest.approx(0.0, abs=1e-6)
    constant = generator_scores(ConstantGenerator(real), real, metric="fid", repeats=2, samples=24, seed=0,
                                features=feats)
    assert constant["mean"] > 1e-3 and constant["mean"] > 1e6 * max(perfect["mean"], 1e-12)

    g = _tgan()
    _warm_bn(g)
    res = generator_scores(g, real, metric="fid", repeats=3, samples=8, seed=5, features=feats, batch_size=3)
    values = np.asarray(res["values"])
    assert values.shape == (3,) and np.all(values > 0)
    assert res["mean"] == pytest.approx(values.mean()) and res["std"] == pytest.approx(values.std())
    assert res["std"] > 0
    assert res["protocol"]["repeats"] == 3 and res["protocol"]["samples"] == 8 and res["protocol"]["seed"] == 5
    again = generator_scores(g, real, metric="fid", repeats=3, samples=8, seed=5, features=feats, batch_size=8)
    np.testing.assert_allclose(again["values"], res["values"], rtol=1e-6)


def test_generator_scores_inception_score_and_frame_fid_with_toy_networks():
    real = torch.rand(6, 6, 1, 16, 16, generator=torch.Generator().manual_seed(1))
    g = _mocogan()
    net = ToyFeatures()
    score = generator_scores(g, None, metric="is", repeats=2, samples=5, seed=0,
                             features=lambda v: torch.softmax(net(v), dim=1))
    assert len(score["values"]) == 2 and all(1.0 <= x <= 8.0 for x in score["values"])

    frame_net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten())  # frames -> (N, 4)
    fid = generator_scores(g, real, metric="frame_fid", repeats=2, samples=3, seed=0, extractor=frame_net)
    assert len(fid["values"]) == 2 and all(np.isfinite(fid["values"]))


def test_generator_scores_validation():
    real = torch.rand(4, 6, 1, 16, 16)
    g = _tgan()
    with pytest.raises(InputError, match="metric"):
        generator_scores(g, real, metric="psnr", repeats=1, samples=2, seed=0, features=ToyFeatures())
    with pytest.raises(InputError, match="extractor"):
        generator_scores(g, real, metric="fvd", repeats=1, samples=2, seed=0)
    with pytest.raises(InputError, match="I3D"):
        generator_scores(g, real, metric="fvd", repeats=1, samples=2, seed=0, extractor=ToyFeatures())
    with pytest.raises(InputError, match="real_videos"):
        generator_scores(g, None, metric="fid", repeats=1, samples=2, seed=0, features=ToyFeatures())
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        generator_scores(g, real * 2 - 1, metric="fid", repeats=1, samples=2, seed=0, features=ToyFeatures())
    with pytest.raises(InputError, match="samples"):
        generator_scores(g, real, metric="fid", repeats=1, samples=1, seed=0, features=ToyFeatures())
