import pytest
import torch

from odevideo.errors import InputError
from odevideo.nn import ImageDiscriminator, SequenceDiscriminator


def test_image_discriminator_patch_scores_and_mode_independence():
    d = ImageDiscriminator(1, base_channels=8, n_downs=2)
    x = torch.rand(3, 1, 16, 16)
    s = d(x)
    assert s.dim() == 4 and s.shape[:2] == (3, 1)
    d.eval()
    torch.testing.assert_close(d(x), s)
    with pytest.raises(InputError):
        d(torch.rand(3, 2, 16, 16))
    with pytest.raises(InputError):
        d(torch.rand(3, 1, 2, 2))


def test_sequence_discriminator_stacks_frames_along_channels():
    d = SequenceDiscriminator(2, window=3, base_channels=8, n_downs=2)
    x = torch.rand(4, 3, 2, 16, 16)
    s = d(x)
    assert s.shape[:2] == (4, 1)
    torch.testing.assert_close(d(x.flatten(1, 2)), s)
    with pytest.raises(InputError):
        d(torch.rand(4, 2, 2, 16, 16))
