"""Real-video dataset loaders and clip transforms, on tiny clips made on the fly in every layout."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from odevideo.data import (
    UCF101,
    CAM5Hurricane,
    ClipBatch,
    KTHAction,
    MovingGif,
    PennAction,
    VideoFolderDataset,
    center_crop,
    center_crop_square,
    hflip,
    irregular_indices,
    irregular_subsample,
    make_generator,
    parse_kth_name,
    random_flip_rotate,
    random_temporal_window,
    resize,
    resize_short_side,
    rotate,
    sample_flip_rotate,
    subsample,
    temporal_window,
    window_start,
    write_video,
)
from odevideo.data.kth import parse_kth_sequences
from odevideo.errors import DatasetError, InputError, VideoFileError


# ====================================================================== helpers
def coded_clip(t: int, h: int, w: int, c: int = 1) -> torch.Tensor:
    """uint8-exact float clip whose frame k has the value (10 * k + 5) / 255 everywhere (frame index readable)."""
    vals = (10 * torch.arange(t, dtype=torch.float32) + 5) / 255
    return vals[:, None, None, None].expand(t, c, h, w).contiguous()


def frame_ids(frames: torch.Tensor) -> list[int]:
    """Inverse of coded_clip (reads the mean of each frame)."""
    return [int(round((float(f.mean()) * 255 - 5) / 10)) for f in frames]


def smooth_image(h: int, w: int, c: int = 1) -> torch.Tensor:
    y = torch.linspace(0, 1, h)[:, None]
    x = torch.linspace(0, 1, w)[None, :]
    img = 0.5 + 0.3 * torch.sin(3 * x + 2 * y) * torch.cos(2 * x - y)
    return img.expand(c, h, w).contiguous()


# ====================================================================== transforms: spatial
def test_center_crop_geometry_kth_frame():
    x = torch.zeros(2, 1, 120, 160)
    x[..., 20] = 1.0  # first kept column
    x[..., 139] = 0.5  # last kept column
    x[..., 19] = x[..., 140] = 0.25  # just outside
    out = center_crop(x, 120)
    assert out.shape == (2, 1, 120, 120)
    assert torch.all(out[..., 0] == 1.0) and torch.all(out[..., 119] == 0.5)
    assert float(out[..., 1:119].abs().max()) == 0.0
    assert center_crop(x, (100, 60)).shape == (2, 1, 100, 60)
    assert center_crop_square(torch.rand(3, 2, 10, 7)).shape == (3, 2, 7, 7)
    with pytest.raises(InputError, match="cannot center-crop"):
        center_crop(x, 130)


def test_resize_geometry_and_range():
    x = torch.zeros(1, 1, 32, 32)
    x[..., 8:16, 8:24] = 1.0  # block rows 8..15, cols 8..23
    out = resize(x, 64)
    assert out.shape == (1, 1, 64, 64)
    assert torch.allclose(out[..., 17:31, 17:47], torch.ones(1)), "interior of the doubled block is exactly 1"
    assert float(out[..., :15, :].abs().max()) == 0.0 and float(out[..., 33:, :].abs().max()) == 0.0
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    # non-square target and aspect-preserving variant
    assert resize(torch.rand(4, 3, 30, 40), (64, 85)).shape == (4, 3, 64, 85)
    assert resize_short_side(torch.rand(2, 1, 120, 160), 60).shape == (2, 1, 60, 80)
    assert resize(torch.rand(2, 3, 5, 5), 9, mode="bicubic").max() <= 1.0


def test_resize_antialias_matches_pillow_bilinear():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, size=(64, 80), dtype=np.uint8)
    ref = np.asarray(Image.fromarray(img).resize((40, 32), Image.Resampling.BILINEAR), dtype=np.float32) / 255
    x = torch.from_numpy(img).float().div(255)[None, None]
    out = resize(x, (32, 40))[0, 0].numpy()
    assert np.abs(out - ref).max() <= 2.0 / 255
    aliased = resize(x, (32, 40), antialias=False)[0, 0].numpy()
    assert np.abs(aliased - ref).max() > 4.0 / 255  # without antialiasing: OpenCV-like, not Pillow-like


def test_flip_and_rotation_identities():
    x = torch.rand(3, 2, 12, 17)
    assert torch.equal(hflip(hflip(x)), x)
    assert torch.equal(hflip(x)[..., 0], x[..., -1])
    assert torch.equal(rotate(x, 0.0), x)
    sq = torch.rand(2, 3, 9, 9)
    assert torch.allclose(rotate(sq, 90), torch.rot90(sq, 1, (-2, -1)), atol=1e-5)
    # counter-clockwise on a non-square frame: a dot right of the centre goes above it
    dot = torch.zeros(1, 1, 9, 13)
    dot[0, 0, 4, 10] = 1.0
    assert rotate(dot, 90, mode="nearest")[0, 0].nonzero().tolist() == [[0, 6]]
    # +a then -a restores the interior of a smooth image
    img = smooth_image(32, 32)[None]
    back = rotate(rotate(img, 10.0), -10.0)
    assert float((back - img)[..., 8:24, 8:24].abs().max()) < 0.02
    # values stay in [0, 1], corners filled with zeros
    r = rotate(torch.ones(1, 1, 16, 16), 10.0)
    assert float(r.min()) >= 0.0 and float(r.max()) <= 1.0 + 1e-6 and float(r[0, 0, 0, 0]) < 0.5


def test_random_flip_rotate_is_deterministic_and_bounded():
    x = torch.rand(4, 1, 16, 16)
    a = random_flip_rotate(x, make_generator(1, 2, 3))
    b = random_flip_rotate(x, make_generator(1, 2, 3))
    assert torch.equal(a, b)
    draws = [sample_flip_rotate(make_generator(7, k)) for k in range(200)]
    angles = [d[1] for d in draws]
    assert all(-10.0 <= a <= 10.0 for a in angles) and max(angles) > 8 and min(angles) < -8
    assert 60 < sum(d[0] for d in draws) < 140
    assert sample_flip_rotate(make_generator(0), flip_prob=0.0, max_degrees=0.0) == (False, 0.0)


# ====================================================================== transforms: temporal
def test_temporal_windows_and_subsampling():
    x = coded_clip(20, 2, 2)
    assert frame_ids(temporal_window(x, 5, start=3, stride=2)) == [3, 5, 7, 9, 11]
    assert window_start(20, 5, "first") == 0 and window_start(20, 5, "center") == 7
    starts = {window_start(20, 5, "random", make_generator(k)) for k in range(300)}
    assert starts == set(range(16)), "every start, the last one included"
    w1, s1 = random_temporal_window(x, 4, make_generator(5), stride=3)
    w2, s2 = random_temporal_window(x, 4, make_generator(5), stride=3)
    assert s1 == s2 and torch.equal(w1, w2) and frame_ids(w1) == [s1, s1 + 3, s1 + 6, s1 + 9]
    assert frame_ids(subsample(x, 4, offset=1)) == [1, 5, 9, 13, 17]
    with pytest.raises(InputError, match="does not fit"):
        temporal_window(x, 8, start=0, stride=3)


def test_irregular_indices():
    idx = irregular_indices(20, 5, make_generator(3))
    assert idx.tolist() == sorted(set(idx.tolist())) and len(idx) == 5 and idx[0] == 0
    assert torch.equal(idx, irregular_indices(20, 5, make_generator(3)))
    last = irregular_indices(10, 3, make_generator(4), keep_first=True, keep_last=True)
    assert last[0] == 0 and last[-1] == 9
    sub, i2 = irregular_subsample(coded_clip(12, 2, 2), 4, make_generator(9), keep_first=False)
    assert frame_ids(sub) == i2.tolist()
    with pytest.raises(InputError):
        irregular_indices(4, 5)


# ====================================================================== VideoFolderDataset
@pytest.fixture
def mixed_folder(tmp_path):
    root = tmp_path / "videos"
    write_video(root / "clip10.avi", coded_clip(12, 24, 32, 3), fps=10)
    write_video(root / "clip2.gif", coded_clip(12, 24, 32, 1), fps=10)
    write_video(root / "clip3.npy", (coded_clip(12, 24, 32, 1) * 255).round().to(torch.uint8))
    write_video(root / "clip1_frames", coded_clip(12, 24, 32, 3), fps=10)  # folder of PNGs
    (root / "README.txt").write_text("not a clip")
    (root / ".hidden.avi").write_bytes(b"")
    return root


def test_video_folder_layouts_shapes_and_order(mixed_folder):
    ds = VideoFolderDataset(mixed_folder, num_frames=5, size=16, window="first")
    assert [c.path.name for c in ds.clips] == ["clip1_frames", "clip2.gif", "clip3.npy", "clip10.avi"]
    for i in range(len(ds)):
        x = ds[i]
        assert x.shape == (5, 3, 16, 16) and x.dtype == torch.float32
        assert 0.0 <= float(x.min()) and float(x.max()) <= 1.0
        assert frame_ids(x) == [0, 1, 2, 3, 4]
    gray = VideoFolderDataset(mixed_folder, num_frames=3, size=(8, 12), channels=1, window="center")
    assert gray[3].shape == (3, 1, 8, 12) and frame_ids(gray[3]) == [4, 5, 6]
    batch = ds.collate_fn([ds[0], ds[1]])
    assert isinstance(batch, ClipBatch) and batch.frames.shape == (2, 5, 3, 16, 16)


def test_video_folder_random_windows_deterministic(mixed_folder):
    a = VideoFolderDataset(mixed_folder, num_frames=4, size=8, seed=3, frame_stride=2, augment=True)
    b = VideoFolderDataset(mixed_folder, num_frames=4, size=8, seed=3, frame_stride=2, augment=True)
    for i in (2, 0, 3, 1):
        assert torch.equal(a[i], b[i])
        info = a.clip_info(i)
        s = info["window_start"]
        assert info["frame_indices"] == [s, s + 2, s + 4, s + 6] and 0 <= s <= 5
        assert -10 <= info["angle"] <= 10
    npy = VideoFolderDataset(mixed_folder, num_frames=4, seed=3, frame_stride=2, extensions=[".npy"])
    s = npy.clip_info(0)["window_start"]
    assert frame_ids(npy[0]) == [s, s + 2, s + 4, s + 6]
    starts = set()
    for seed in range(8):
        d = VideoFolderDataset(mixed_folder, num_frames=4, seed=seed, extensions=[".npy"])
        for epoch in range(3):
            d.set_epoch(epoch)
            starts.add(d.clip_info(0)["window_start"])
    assert len(starts) > 3


def test_video_folder_labels_and_recursion(tmp_path):
    for cls, n in (("dogs", 2), ("cats", 1)):
        for k in range(n):
            write_video(tmp_path / "root" / cls / f"v{k}.npy", coded_clip(6, 8, 8))
    with pytest.raises(DatasetError, match="recursive=True"):
        VideoFolderDataset(tmp_path / "root", num_frames=4)
    ds = VideoFolderDataset(tmp_path / "root", num_frames=4, recursive=True, label_from_folder=True, return_label=True)
    assert ds.class_names == ["cats", "dogs"] and ds.labels == [0, 1, 1]
    item = ds[1]
    assert item["label"] == 1 and item["frames"].shape == (4, 3, 8, 8)


def test_video_folder_errors(tmp_path, mixed_folder):
    with pytest.raises(DatasetError, match="no such folder"):
        VideoFolderDataset(tmp_path / "nope", num_frames=4)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="holds no clips"):
        VideoFolderDataset(tmp_path / "empty", num_frames=4)
    (mixed_folder / "clip5.avi").write_bytes(b"this is not a video" * 10)
    ds = VideoFolderDataset(mixed_folder, num_frames=4, size=8)
    bad = [c.path.name for c in ds.clips].index("clip5.avi")
    with pytest.raises(DatasetError, match="clip5.avi") as err:
        ds[bad]
    assert isinstance(err.value.__cause__, VideoFileError) and "delete" in str(err.value)
    problems = ds.check(raise_errors=False)
    assert [p.name for p, _ in problems] == ["clip5.avi"]
    with pytest.raises(DatasetError, match="1 of 5 clips"):
        ds.check()


def test_video_folder_short_clips(tmp_path):
    write_video(tmp_path / "v" / "long.npy", coded_clip(10, 4, 4))
    write_video(tmp_path / "v" / "short.npy", coded_clip(3, 4, 4))
    ds = VideoFolderDataset(tmp_path / "v", num_frames=5)
    with pytest.raises(DatasetError, match="short_clips='pad'"):
        ds[1]
    pad = VideoFolderDataset(tmp_path / "v", num_frames=5, short_clips="pad")
    assert frame_ids(pad[1]) == [0, 1, 2, 2, 2]
    with pytest.warns(UserWarning, match="left out 1 of 2"):
        skip = VideoFolderDataset(tmp_path / "v", num_frames=5, short_clips="skip")
    assert len(skip) == 1 and skip.skipped[0][1] == 3


# ====================================================================== KTH
def kth_frames(t: int = 6) -> torch.Tensor:
    """160x120 gray frames: white outside columns 20..139 (cut by the 120 crop), frame code inside."""
    x = coded_clip(t, 120, 160, 1).clone()
    x[..., :20] = 1.0
    x[..., 140:] = 1.0
    return x


def test_kth_person_split_avi_layout(tmp_path):
    root = tmp_path / "kth"
    for person, action, d in ((1, "walking", 1), (16, "boxing", 2), (17, "walking", 3), (25, "handwaving", 4)):
        write_video(root / action / f"person{person:02d}_{action}_d{d}_uncomp.avi", kth_frames(), fps=25)
    (root / "walking" / "notes.txt").write_text("x")
    train = KTHAction(root, "train", num_frames=4)
    test = KTHAction(root, "test", num_frames=4, return_label=True)
    assert train.layout == "kth" and [k[0] for k in train.keys] == [1, 16]
    assert [k[0] for k in test.keys] == [17, 25]
    assert train.augment and not test.augment and test.window == "first"
    item = test[0]
    frames = item["frames"]
    assert frames.shape == (4, 3, 128, 128) and item["label"] == test.class_names.index("walking")
    # the white margins are cropped away exactly: what is left is the frame code, resized
    assert frame_ids(frames) == [0, 1, 2, 3]
    per_frame_range = frames.flatten(1).max(1).values - frames.flatten(1).min(1).values
    assert float(per_frame_range.max()) <= 1e-6, "no white margin pixel survives the crop"
    assert torch.equal(frames[:, 0], frames[:, 2])  # gray repeated into 3 channels
    one = KTHAction(root, "test", num_frames=4, channels=1, size=64)
    assert one[1].shape == (4, 1, 64, 64)
    t1 = train[0]
    assert t1.shape == (4, 3, 128, 128) and torch.equal(t1, KTHAction(root, "train", num_frames=4)[0])
    custom = KTHAction(root, "train", num_frames=4, persons=[25])
    assert len(custom) == 1 and custom.keys[0][0] == 25


def test_kth_frame_folders_npy_and_sequences(tmp_path):
    root = tmp_path / "kth"
    write_video(root / "person02_boxing_d1", kth_frames(8), fps=25)  # folder of frames
    np.save(root / "person18_jogging_d2_uncomp.npy", (kth_frames(8) * 255).round().to(torch.uint8).numpy())
    seq = tmp_path / "00sequences.txt"
    seq.write_text("header line\n\nperson02_boxing_d1\t\tframes\t1-3, 4-8\nperson18_jogging_d2\tframes\t2-7\n")
    assert parse_kth_sequences(seq)["person02_boxing_d1"] == [(0, 3), (3, 8)]
    train = KTHAction(root, "train", num_frames=3, sequences_file=seq, window="first", augment=False)
    assert len(train) == 2 and [(c.start, c.stop) for c in train.clips] == [(0, 3), (3, 8)]
    assert frame_ids(train[1]) == [3, 4, 5]
    test = KTHAction(root, "test", num_frames=3, size=32)
    assert test[0].shape == (3, 3, 32, 32)
    assert parse_kth_name("person18_jogging_d2_uncomp.npy") == (18, "jogging", 2)
    assert parse_kth_name("person18_dancing_d2.avi") is None


def test_kth_authors_npy_layout_and_errors(tmp_path):
    root = tmp_path / "kth_action"
    arr = (kth_frames(6) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).repeat(1, 1, 1, 3).numpy()  # (T, H, W, 3)
    for split, n in (("train", 3), ("test", 2)):
        (root / split).mkdir(parents=True)
        for k in range(n):
            np.save(root / split / f"clip_{k}.npy", arr)
    train = KTHAction(root, "train", num_frames=5)
    assert train.layout == "npy-split" and len(train) == 3 and train[2].shape == (5, 3, 128, 128)
    assert len(KTHAction(root, "test", num_frames=5)) == 2
    with pytest.raises(InputError, match="carry no labels"):
        KTHAction(root, "test", return_label=True)
    with pytest.raises(DatasetError, match="walking.zip") as err:
        KTHAction(tmp_path / "missing", "train")
    assert "https://www.csc.kth.se/cvap/actions/" in str(err.value)
    other = tmp_path / "other"
    write_video(other / "person20_walking_d1_uncomp.avi", kth_frames(4))
    with pytest.raises(DatasetError, match="none of the 1 KTH clips"):
        KTHAction(other, "train")
    write_video(other / "frames" / "person20_walking_d1", kth_frames(4))
    with pytest.raises(DatasetError, match="present twice"):
        KTHAction(other, "test")
    with pytest.raises(InputError):
        KTHAction(other, "val")


# ====================================================================== Moving GIF
def test_moving_gif(tmp_path):
    root = tmp_path / "moving-gif"
    for k in range(3):
        write_video(root / "train" / f"{k:03d}.gif", coded_clip(8, 40, 48, 3), fps=10)
    write_video(root / "train" / "short.gif", coded_clip(3, 40, 48, 3), fps=10)
    write_video(root / "test" / "000.gif", coded_clip(8, 40, 48, 3), fps=10)
    with pytest.warns(UserWarning, match="left out 1"):
        train = MovingGif(tmp_path, "train", num_frames=6, size=32)
    assert len(train) == 3 and train.augment and train.skipped[0][0].path.name == "short.gif"
    x = train[0]
    assert x.shape == (6, 3, 32, 32) and 0 <= float(x.min()) and float(x.max()) <= 1
    test = MovingGif(root, "test", num_frames=6, size=32)
    assert frame_ids(test[0]) == list(range(6))
    with pytest.raises(DatasetError, match="yadi.sk"):
        MovingGif(tmp_path / "nothing", "train")


# ====================================================================== Penn Action
def test_penn_action_official_layout(tmp_path):
    sio = pytest.importorskip("scipy.io")
    root = tmp_path / "Penn_Action"
    specs = [("0001", "bowl", 1), ("0002", "squat", -1), ("0003", "pushup", 1)]
    for vid, action, train in specs:
        x = coded_clip(7, 30, 40, 3).clone()
        x[..., :5] = 1.0  # cut by the centred 30x30 square crop (columns 5..34)
        x[..., 35:] = 1.0
        write_video(root / "frames" / vid, x)
        (root / "labels").mkdir(parents=True, exist_ok=True)
        sio.savemat(root / "labels" / f"{vid}.mat", {"action": action, "train": train, "nframes": 7})
    train = PennAction(tmp_path, "train", num_frames=4, size=16, return_label=True, augment=False, window="first")
    assert train.video_ids == ["0001", "0003"]
    item = train[1]
    assert item["frames"].shape == (4, 3, 16, 16) and train.class_names[item["label"]] == "pushup"
    f = item["frames"].flatten(1)
    assert frame_ids(item["frames"]) == [0, 1, 2, 3] and float((f.max(1).values - f.min(1).values).max()) < 1e-6
    test = PennAction(root, "test", num_frames=4, size=16)
    assert len(test) == 1 and test.window == "first"
    (root / "labels" / "0002.mat").unlink()
    with pytest.raises(DatasetError, match="0002.mat"):
        PennAction(root, "train")


def test_penn_action_npy_layout(tmp_path):
    for split in ("train", "test"):
        write_video(tmp_path / "penn" / split / "a.npy", coded_clip(5, 20, 30, 3))
    ds = PennAction(tmp_path / "penn", "test", num_frames=5, size=8)
    assert ds.layout == "npy-split" and ds[0].shape == (5, 3, 8, 8)
    with pytest.raises(DatasetError, match="Penn_Action.tar.gz"):
        PennAction(tmp_path, "train")


# ====================================================================== CAM5 hurricane
def hurricane_array(t: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    u = rng.normal(0, 10, size=(t, 6, 8))
    v = rng.normal(2, 5, size=(t, 6, 8))
    psl = 101325 + rng.normal(0, 500, size=(t, 6, 8))
    extra = rng.normal(size=(t, 6, 8))
    return np.stack([u, v, psl, extra], axis=-1).astype(np.float32)  # (T, H, W, C=4)


@pytest.fixture
def hurricane_root(tmp_path):
    root = tmp_path / "Hurricane"
    (root / "train").mkdir(parents=True)
    (root / "test").mkdir()
    for k in range(3):
        np.save(root / "train" / f"{k}.npy", hurricane_array(30, k))
    np.save(root / "train" / "short.npy", hurricane_array(10, 9))
    np.save(root / "test" / "0.npy", hurricane_array(25, 5))
    return tmp_path


def test_cam5_items_raw_values_and_irregular_inputs(hurricane_root):
    with pytest.warns(UserWarning, match="left out 1"):
        ds = CAM5Hurricane(hurricane_root, "train", seed=1)
    assert len(ds) == 3 and ds.channel_names == ("U850", "V850", "PSL")
    item = ds[0]
    frames, mask, target = item["frames"], item["mask"], item["target_mask"]
    assert frames.shape == (25, 3, 8, 8)  # one row of zeros above and below
    assert torch.all(frames[:, :, 0] == 0) and torch.all(frames[:, :, -1] == 0)
    assert float(frames[:, 2, 1:-1].min()) > 9e4, "pressure stays in Pa: no value scaling"
    assert float(frames[:, 0].min()) < 0
    assert int(mask.sum()) == 5 and bool(mask[0]) and not bool(mask[20:].any())
    assert target.tolist() == [False] * 20 + [True] * 5
    assert item["hours"][-1] == 72.0 and torch.allclose(item["times"][1:] - item["times"][:-1], torch.tensor(0.1))
    start = item["window_start"]
    raw = np.load(hurricane_root / "Hurricane" / "train" / "0.npy")[start : start + 25, :, :, :3]
    assert np.allclose(frames[:, :, 1:-1].numpy(), raw.transpose(0, 3, 1, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = CAM5Hurricane(hurricane_root, "train", seed=1)[0]
        other = [CAM5Hurricane(hurricane_root, "train", seed=s)[0]["mask"] for s in range(2, 8)]
    assert torch.equal(again["mask"], mask) and torch.equal(again["frames"], frames)
    assert any(not torch.equal(m, mask) for m in other)
    test = CAM5Hurricane(hurricane_root, "test", irregular=False, pad=(0, 0))
    t0 = test[0]
    assert t0["window_start"] == 0 and t0["frames"].shape == (25, 3, 6, 8)
    assert t0["mask"].nonzero().flatten().tolist() == [15, 16, 17, 18, 19]


def test_cam5_stats_and_normalisation(hurricane_root):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train = CAM5Hurricane(hurricane_root, "train")
    stats = train.channel_stats()
    allv = np.concatenate(
        [np.load(hurricane_root / "Hurricane" / "train" / f"{k}.npy")[..., :3].reshape(-1, 3) for k in range(3)]
    )
    allv = allv.astype(np.float64)
    assert np.allclose(stats["mean"].numpy(), allv.mean(0), rtol=1e-6)
    assert np.allclose(stats["std"].numpy(), allv.std(0), rtol=1e-3)
    assert np.allclose(stats["max"].numpy(), allv.max(0))
    test = CAM5Hurricane(hurricane_root, "test", normalize="minmax", stats=stats, pad=(0, 0))
    x = test[0]["frames"]
    assert 0.0 <= float(x.min()) and float(x.max()) <= 1.0
    raw = CAM5Hurricane(hurricane_root, "test", pad=(0, 0))[0]["frames"]
    inside = (raw >= stats["min"].float()[:, None, None]) & (raw <= stats["max"].float()[:, None, None])
    assert torch.allclose(test.denormalize(x)[inside], raw[inside], rtol=1e-5, atol=1e-2)
    std = CAM5Hurricane(hurricane_root, "test", normalize="standard", return_dict=False)
    assert std[0].shape == (25, 3, 8, 8) and abs(float(std[0][:, :, 1:-1].mean())) < 1.0


def test_cam5_errors(tmp_path, hurricane_root):
    with pytest.raises(DatasetError, match="Vid-ODE"):
        CAM5Hurricane(tmp_path / "none")
    with pytest.raises(DatasetError, match="fewer than the 25-frame window"):
        CAM5Hurricane(hurricane_root, "train", short_clips="error")
    (hurricane_root / "Hurricane" / "test" / "1.npy").write_bytes(b"garbage")
    with pytest.raises(DatasetError, match="1.npy"):
        CAM5Hurricane(hurricane_root, "test")


# ====================================================================== UCF101
@pytest.fixture
def ucf_root(tmp_path):
    root = tmp_path / "ucf"
    cols = torch.arange(85, dtype=torch.float32) / 255  # column c has value c / 255
    frames = cols.expand(20, 1, 64, 85).contiguous()
    names = {"ApplyEyeMakeup": ["g08_c01", "g01_c01"], "YoYo": ["g09_c02", "g02_c01"]}
    for cls, groups in names.items():
        for g in groups:
            write_video(root / "UCF-101" / cls / f"v_{cls}_{g}.avi", frames, fps=25)
    lists = root / "ucfTrainTestlist"
    lists.mkdir()
    (lists / "classInd.txt").write_text("1 ApplyEyeMakeup\n2 YoYo\n")
    (lists / "trainlist01.txt").write_text(
        "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1\r\nYoYo/v_YoYo_g09_c02.avi 2\r\n"
    )
    (lists / "testlist01.txt").write_text("ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi\nYoYo/v_YoYo_g02_c01.avi\n")
    return root


def test_ucf101_tgan_preprocessing_and_labels(ucf_root):
    train = UCF101(ucf_root, "train", return_label=True, seed=4)
    assert len(train) == 2 and train.class_names == ["ApplyEyeMakeup", "YoYo"] and train.labels == [0, 1]
    item = train[1]
    x = item["frames"]
    assert x.shape == (16, 3, 64, 64) and item["label"] == 1
    # the source is already 64x85, so the resize is the identity and columns 10:74 survive
    assert torch.allclose(x[0, 0, 0], torch.arange(10, 74, dtype=torch.float32) / 255, atol=1e-6)
    assert torch.equal(x, UCF101(ucf_root, "train", return_label=True, seed=4)[1]["frames"])
    info = train.clip_info(0)
    assert 0 <= info["window_start"] <= 4 and len(info["frame_indices"]) == 16
    test = UCF101(ucf_root, "test", size=32, resize_mode="nearest-exact")
    assert test[0].shape == (16, 3, 32, 32) and test.window == "first"
    assert test.relative_paths[1] == "YoYo/v_YoYo_g02_c01.avi"


def test_ucf101_errors(ucf_root, tmp_path):
    with pytest.raises(DatasetError, match="UCF101.rar"):
        UCF101(tmp_path / "missing")
    (ucf_root / "UCF-101" / "YoYo" / "v_YoYo_g02_c01.avi").unlink()
    with pytest.raises(DatasetError, match="1 of the 2 videos in testlist01.txt are missing"):
        UCF101(ucf_root, "test")
    (ucf_root / "ucfTrainTestlist" / "trainlist01.txt").write_text("YoYo/v_YoYo_g09_c02.avi 1\n")
    with pytest.raises(DatasetError, match="class id 1"):
        UCF101(ucf_root, "train")
    with pytest.raises(DatasetError, match="trainlist02.txt not found"):
        UCF101(ucf_root, "train", fold=2)
