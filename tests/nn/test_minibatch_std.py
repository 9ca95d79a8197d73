"""MinibatchStdDev (ProGAN) and the image discriminator / GAN step options built on it."""

import pytest
import torch

from odevideo.errors import InputError
from odevideo.methods.video_gan.mocogan import MoCoGANImageDiscriminator, MoCoGANVideoDiscriminator
from odevideo.methods.video_gan.steps import video_gan_generator_loss, video_gan_losses
from odevideo.nn import MinibatchStdDev


def test_appended_channel_is_the_mean_feature_std_of_each_consecutive_group():
    torch.manual_seed(0)
    x = torch.randn(6, 3, 4, 5)
    y = MinibatchStdDev(3)(x)
    assert y.shape == (6, 4, 4, 5) and torch.equal(y[:, :3], x)
    for k in range(2):
        want = x[3 * k:3 * k + 3].std(dim=0, unbiased=False).mean()
        torch.testing.assert_close(y[3 * k:3 * k + 3, 3], want.expand(3, 4, 5), rtol=1e-5, atol=1e-6)
    # identical samples: (almost) no spread; changing a sample of group 1 leaves group 0 alone
    same = MinibatchStdDev(2)(torch.ones(4, 2, 3, 3))
    assert float(same[:, 2].max()) < 1e-3
    x2 = x.clone()
    x2[4] += 5.0
    y2 = MinibatchStdDev(3)(x2)
    assert torch.equal(y2[:3, 3], y[:3, 3]) and float(y2[3, 3, 0, 0]) > float(y[3, 3, 0, 0])


def test_gradients_reach_every_sample_of_the_group():
    x = torch.randn(4, 2, 3, 3, requires_grad=True)
    MinibatchStdDev(2)(x)[:2, 2].sum().backward()
    assert x.grad[:2].abs().sum() > 0 and float(x.grad[2:].abs().sum()) == 0.0


def test_bad_group_sizes_and_batches():
    for bad in (1, 0, -2, True, 2.0):
        with pytest.raises(InputError, match="group_size"):
            MinibatchStdDev(bad)
    with pytest.raises(InputError, match="multiple of the group size 4"):
        MinibatchStdDev(4)(torch.randn(6, 2, 3, 3))


def test_image_discriminator_with_minibatch_std():
    plain = MoCoGANImageDiscriminator(1, 8, patch=False, image_size=16)
    mbstd = MoCoGANImageDiscriminator(1, 8, patch=False, image_size=16, minibatch_std=4)
    n_plain, n_mbstd = (sum(p.numel() for p in d.parameters()) for d in (plain, mbstd))
    assert n_mbstd - n_plain == 1 * 4 * 4  # the last conv's one extra input channel (bias-free, one logit)
    assert mbstd(torch.randn(8, 1, 16, 16)).shape == (8,)
    with pytest.raises(InputError, match="group size"):
        mbstd(torch.randn(6, 1, 16, 16))


def test_joint_batch_refuses_groups_that_would_mix_real_and_fake():
    from odevideo.methods.video_gan.mocogan import MoCoGANGenerator
    from odevideo.methods.video_gan.temporal_discrete import MoCoGANMotionGenerator

    torch.manual_seed(0)
    g = MoCoGANGenerator(MoCoGANMotionGenerator(4), content_dim=4, motion_dim=4, out_channels=1, image_size=16,
                         ngf=4, video_length=10)
    ds = {"image": MoCoGANImageDiscriminator(1, 4, patch=False, image_size=16, minibatch_std=2),
          "video": MoCoGANVideoDiscriminator(1, 4, image_size=16)}
    real = torch.rand(4, 10, 1, 16, 16)
    out = video_gan_losses(g, ds, real, loss="nonsaturating", joint_batch=True,
                           generator_rng=torch.Generator().manual_seed(0))
    assert torch.isfinite(out.discriminator)
    with pytest.raises(InputError, match="mix real and fake"):
        video_gan_losses(g, ds, real[:3], loss="nonsaturating", joint_batch=True,
                         generator_rng=torch.Generator().manual_seed(0))
    with pytest.raises(InputError, match="mix real and fake"):
        video_gan_generator_loss(ds, out.fake.detach()[:3], loss="nonsaturating", real=real[:3])
