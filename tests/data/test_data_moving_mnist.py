import numpy as np
import pytest
import torch

from odevideo.data import ClipBatch, MovingMNIST, load_mnist, load_moving_mnist_npy
from odevideo.errors import DatasetError, InputError


def _glyphs(n=10, size=28, seed=0):
    """Random blob-like glyphs with a guaranteed bright pixel (no MNIST needed)."""
    rng = np.random.default_rng(seed)
    g = (rng.random((n, size, size)) > 0.6).astype(np.uint8) * 255
    g[:, size // 2, size // 2] = 255
    return g


def test_shape_range_and_determinism():
    ds = MovingMNIST("train", num_clips=50, seed=3, digits=_glyphs())
    x = ds[7]
    assert x.shape == (20, 1, 64, 64) and x.dtype == torch.float32
    assert float(x.min()) >= 0.0 and float(x.max()) <= 1.0 and float(x.max()) == 1.0
    again = MovingMNIST("train", num_clips=50, seed=3, digits=_glyphs())
    _ = [again[i] for i in (40, 3, 12)]  # access order does not matter
    assert torch.equal(again[7], x)
    assert not torch.equal(ds[8], x)
    assert not torch.equal(MovingMNIST("train", num_clips=50, seed=4, digits=_glyphs())[7], x)
    assert torch.equal(ds[-43], x) and len(ds) == 50
    with pytest.raises(IndexError):
        ds[50]


def test_digits_stay_inside_and_move_with_constant_steps_until_bounce():
    ds = MovingMNIST("val", num_clips=40, seed=1, digits=_glyphs())
    span = 64 - 28
    saw_bounce = False
    for i in range(40):
        info = ds.clip_info(i)
        pos, box, vel = info["positions"], info["box_positions"], info["velocity"]
        assert pos.min() >= 0 and pos.max() <= span
        assert np.allclose(np.hypot(*vel[0]), 0.1)
        steps = np.diff(box[:, 0, :], axis=0)  # (T-1, 2) box units per frame
        for axis in range(2):
            v = abs(vel[0, axis])
            s = steps[:, axis]
            straight = np.isclose(np.abs(s), v, atol=1e-9)
            # away from the walls every step is exactly the velocity ...
            for t in np.nonzero(~straight)[0]:
                saw_bounce = True
                lo = min(box[t, 0, axis], box[t + 1, 0, axis])
                hi = max(box[t, 0, axis], box[t + 1, 0, axis])
                assert lo < v or hi > 1 - v, "the step changed away from a wall"
            # ... and the direction only reverses through a bounce
            for t in range(len(s) - 1):
                if straight[t] and straight[t + 1] and v > 1e-9:
                    at_wall = min(box[t + 1, 0, axis], 1 - box[t + 1, 0, axis]) < 1e-9
                    assert np.sign(s[t]) == np.sign(s[t + 1]) or at_wall
        x = ds[i][:, 0].numpy()
        # the whole digit is always visible: every frame holds the same mass as the glyph
        glyph = ds._digit(int(info["digit_indices"][0]))
        assert np.allclose(x.sum(axis=(1, 2)), glyph.sum(), rtol=1e-5)
        # the centre of mass follows the (rounded) trajectory exactly
        rows, cols = np.arange(64), np.arange(64)
        com = np.stack([(x.sum(2) * rows).sum(1), (x.sum(1) * cols).sum(1)], 1) / x.sum(axis=(1, 2))[:, None]
        np.testing.assert_allclose(com - com[0], pos[:, 0] - pos[0, 0], atol=1e-3)
    assert saw_bounce


def test_digit_combination_is_pixelwise_max():
    squares = np.full((4, 6, 6), 200, dtype=np.uint8)
    ds = MovingMNIST("test", num_digits=3, num_clips=5, seed=0, digits=squares, digit_size=6, size=32)
    for i in range(5):
        info = ds.clip_info(i)
        expected = np.zeros((20, 32, 32), dtype=np.float32)
        for t in range(20):
            for r, c in info["positions"][t]:
                expected[t, r : r + 6, c : c + 6] = 200 / 255
        np.testing.assert_allclose(ds[i][:, 0].numpy(), expected, atol=1e-6)


def test_small_canvas_scales_digits_and_collates():
    ds = MovingMNIST("train", size=32, num_frames=10, num_clips=8, digits=_glyphs(), frame_dt=0.2)
    assert ds.digit_size == 14 and ds[0].shape == (10, 1, 32, 32)
    loader = torch.utils.data.DataLoader(ds, batch_size=4, collate_fn=ds.collate_fn)
    batch = next(iter(loader))
    assert isinstance(batch, ClipBatch) and batch.frames.shape == (4, 10, 1, 32, 32)
    assert torch.allclose(batch.times[0], torch.arange(10) * 0.2)


def test_argument_errors():
    with pytest.raises(InputError, match="split"):
        MovingMNIST("validation", digits=_glyphs())
    with pytest.raises(InputError, match="digit_size"):
        MovingMNIST("train", size=20, digit_size=28, digits=_glyphs())
    with pytest.raises(InputError, match="seed"):
        MovingMNIST("train", seed=-1, digits=_glyphs())


def test_missing_mnist_gives_dataset_error(tmp_path):
    with pytest.raises(DatasetError, match="data.data_dir"):
        MovingMNIST("train", data_dir=tmp_path, download=False, cache_dir=tmp_path / "c")


def test_real_mnist_splits_use_disjoint_digits(mnist_dir):
    train = MovingMNIST("train", num_clips=200, data_dir=mnist_dir, download=False)
    val = MovingMNIST("val", num_clips=200, data_dir=mnist_dir, download=False)
    test = MovingMNIST("test", num_clips=200, data_dir=mnist_dir, download=False)
    assert len(train) == 200 and MovingMNIST("val", data_dir=mnist_dir, download=False).num_clips == 1000
    tr = np.concatenate([train.clip_info(i)["digit_indices"] for i in range(200)])
    va = np.concatenate([val.clip_info(i)["digit_indices"] for i in range(200)])
    te = np.concatenate([test.clip_info(i)["digit_indices"] for i in range(200)])
    assert tr.max() < 55000 and va.min() >= 55000 and va.max() < 60000 and te.max() < 10000
    assert "train" in train.source and "train" in val.source and "test" in test.source
    # the pixels really come from the stated MNIST images
    images_train, _ = load_mnist("train", data_dir=mnist_dir, download=False)
    images_test, _ = load_mnist("test", data_dir=mnist_dir, download=False)
    for ds, images in ((val, images_train), (test, images_test)):
        info = ds.clip_info(5)
        r, c = info["positions"][0, 0]
        patch = ds[5][0, 0, r : r + 28, c : c + 28]
        assert torch.allclose(patch, images[int(info["digit_indices"][0])].float() / 255)
    # different splits use different seed streams
    assert not np.array_equal(train.clip_info(0)["box_positions"], test.clip_info(0)["box_positions"])
    two = MovingMNIST("test", num_digits=2, num_clips=3, data_dir=mnist_dir, download=False)
    assert two.clip_info(0)["positions"].shape == (20, 2, 2)


def test_load_moving_mnist_npy(tmp_path):
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 256, size=(20, 3, 64, 64), dtype=np.uint8)
    np.save(tmp_path / "seq.npy", arr)
    out = load_moving_mnist_npy(tmp_path / "seq.npy")
    assert out.shape == (3, 20, 1, 64, 64) and out.dtype == torch.float32
    assert torch.allclose(out[1, 4, 0], torch.from_numpy(arr[4, 1]).float() / 255)
    assert load_moving_mnist_npy(tmp_path / "seq.npy", max_clips=2).shape == (2, 20, 1, 64, 64)
    np.save(tmp_path / "clip_major.npy", np.swapaxes(arr, 0, 1))
    with pytest.raises(DatasetError, match="NTHW"):
        load_moving_mnist_npy(tmp_path / "clip_major.npy")
    ok = load_moving_mnist_npy(tmp_path / "clip_major.npy", layout="NTHW")
    assert torch.equal(ok, out)
    np.save(tmp_path / "flat.npy", arr.reshape(20, 3, -1))
    with pytest.raises(DatasetError, match="4-D"):
        load_moving_mnist_npy(tmp_path / "flat.npy")
    np.save(tmp_path / "hwc.npy", np.zeros((20, 4, 64, 3), dtype=np.uint8))
    with pytest.raises(DatasetError, match="square"):
        load_moving_mnist_npy(tmp_path / "hwc.npy")
    with pytest.raises(DatasetError, match="not found"):
        load_moving_mnist_npy(tmp_path / "nope.npy")
    (tmp_path / "junk.npy").write_bytes(b"not numpy")
    with pytest.raises(DatasetError, match="readable"):
        load_moving_mnist_npy(tmp_path / "junk.npy")
