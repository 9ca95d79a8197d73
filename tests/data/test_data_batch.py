import numpy as np
import pytest
import torch

from odevideo.data import ClipBatch, collate_clips, regular_times
from odevideo.errors import InputError


def _batch(b=2, t=5, c=1, h=4, w=4):
    frames = torch.rand(b, t, c, h, w)
    return ClipBatch(frames, regular_times(b, t, 0.1), torch.ones(b, t, dtype=torch.bool))


def test_regular_times_values():
    t = regular_times(3, 4, 0.25, t0=1.0)
    assert t.shape == (3, 4) and t.dtype == torch.float32
    assert torch.allclose(t[2], torch.tensor([1.0, 1.25, 1.5, 1.75]))
    with pytest.raises(InputError, match="frame_dt"):
        regular_times(1, 3, 0.0)


def test_collate_tensors_gives_regular_times_and_full_mask():
    clips = [torch.rand(6, 1, 8, 8) for _ in range(3)]
    batch = collate_clips(clips)
    assert batch.frames.shape == (3, 6, 1, 8, 8)
    assert batch.batch_size == 3 and batch.num_frames == 6 and len(batch) == 3
    assert torch.allclose(batch.times, torch.arange(6).float().expand(3, 6) * 0.1)
    assert batch.mask.dtype == torch.bool and bool(batch.mask.all())
    assert torch.equal(batch.frames[1], clips[1])
    assert torch.allclose(collate_clips(clips, frame_dt=0.5).times[0, -1], torch.tensor(2.5))


def test_collate_uint8_and_dicts():
    u8 = torch.full((4, 1, 2, 2), 255, dtype=torch.uint8)
    assert float(collate_clips([u8]).frames.max()) == 1.0
    arr = np.zeros((4, 1, 2, 2), dtype=np.float32)
    times = torch.tensor([0.0, 0.3, 0.4, 1.0])
    mask = torch.tensor([True, False, True, True])
    batch = collate_clips([{"frames": arr, "times": times, "mask": mask}, {"frames": torch.zeros(4, 1, 2, 2)}])
    assert torch.allclose(batch.times[0], times) and torch.allclose(batch.times[1], torch.arange(4) * 0.1)
    assert torch.equal(batch.mask[0], mask) and bool(batch.mask[1].all())


def test_collate_errors():
    with pytest.raises(InputError, match="empty"):
        collate_clips([])
    with pytest.raises(InputError, match="same"):
        collate_clips([torch.zeros(4, 1, 2, 2), torch.zeros(5, 1, 2, 2)])
    with pytest.raises(InputError, match=r"\(T, C, H, W\)"):
        collate_clips([torch.zeros(4, 2, 2)])
    with pytest.raises(InputError, match="frames"):
        collate_clips([{"times": torch.zeros(3)}])


@pytest.mark.parametrize(
    "frames, times, mask, match",
    [
        (torch.rand(2, 5, 4, 4), regular_times(2, 5), torch.ones(2, 5, dtype=torch.bool), "5 dims"),
        (torch.rand(2, 5, 1, 4, 4), regular_times(2, 4), torch.ones(2, 5, dtype=torch.bool), "times has shape"),
        (torch.rand(2, 5, 1, 4, 4), regular_times(3, 5), torch.ones(2, 5, dtype=torch.bool), "times has shape"),
        (torch.rand(2, 5, 1, 4, 4), regular_times(2, 5), torch.ones(2, 4, dtype=torch.bool), "mask has shape"),
        (torch.rand(2, 5, 1, 4, 4), regular_times(2, 5)[0], torch.ones(2, 5, dtype=torch.bool), "2 dims"),
        (torch.rand(2, 5, 1, 4, 4), regular_times(2, 5), torch.ones(2, 5), "bool"),
        (torch.rand(2, 5, 1, 4, 4) * 2, regular_times(2, 5), torch.ones(2, 5, dtype=torch.bool), r"\[0, 1\]"),
        (torch.randint(0, 255, (2, 5, 1, 4, 4)), regular_times(2, 5), torch.ones(2, 5, dtype=torch.bool), "floating"),
        (torch.rand(2, 5, 1, 4, 4), torch.arange(10).view(2, 5), torch.ones(2, 5, dtype=torch.bool), "floating"),
    ],
)
def test_validation_errors(frames, times, mask, match):
    with pytest.raises(InputError, match=match):
        ClipBatch(frames, times, mask)


def test_validation_non_finite_and_non_increasing():
    frames, mask = torch.rand(2, 4, 1, 3, 3), torch.ones(2, 4, dtype=torch.bool)
    times = regular_times(2, 4)
    bad = times.clone()
    bad[1, 2] = float("nan")
    with pytest.raises(InputError, match="NaN or infinite"):
        ClipBatch(frames, bad, mask)
    bad = times.clone()
    bad[1, 2] = bad[1, 1]
    with pytest.raises(InputError, match="strictly increasing.*clip 1"):
        ClipBatch(frames, bad, mask)
    nan_frames = frames.clone()
    nan_frames[0, 0, 0, 0, 0] = float("nan")
    with pytest.raises(InputError, match="NaN"):
        ClipBatch(nan_frames, times, mask)
    # error messages name a fix
    with pytest.raises(InputError, match="clamp"):
        ClipBatch(frames - 1, times, mask)


def test_to_select_and_index_clips():
    batch = _batch(b=3, t=6)
    moved = batch.to("cpu")
    assert torch.equal(moved.frames, batch.frames) and moved.device == torch.device("cpu")
    sub = batch.select([0, 2, 5])
    assert sub.num_frames == 3 and torch.equal(sub.frames[:, 1], batch.frames[:, 2])
    assert torch.equal(sub.times, batch.times[:, [0, 2, 5]])
    assert batch.select(slice(1, 4)).num_frames == 3
    assert batch.select(-1).num_frames == 1 and torch.equal(batch.select(-1).times, batch.times[:, -1:])
    keep = torch.tensor([True, False, True, False, False, True])
    assert torch.equal(batch.select(keep).times, sub.times)
    with pytest.raises(InputError, match="strictly increasing"):
        batch.select([3, 1])
    with pytest.raises(InputError, match="range"):
        batch.select([0, 6])
    one = batch.index_clips(1)
    assert one.batch_size == 1 and torch.equal(one.frames[0], batch.frames[1])
    assert batch.index_clips([0, 2]).batch_size == 2
    assert batch.frame_shape == (1, 4, 4)


def test_errors_are_value_errors():
    # InputError is a ValueError, so generic handlers keep working
    with pytest.raises(ValueError):
        ClipBatch(torch.rand(1, 2, 1, 2, 2), torch.zeros(1, 2), torch.ones(1, 2, dtype=torch.bool))
