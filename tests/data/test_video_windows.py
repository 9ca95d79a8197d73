"""VideoWindowDataset: windows over whole files, every window scored, files split in time."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from odevideo.data import VideoWindowDataset, write_video
from odevideo.data.build import build_dataset
from odevideo.data.config import DataConfig
from odevideo.data.video_windows import time_split_range
from odevideo.errors import ConfigError, DatasetError, InputError

REAL = Path("/work/shared/data/video")


def coded_clip(t: int, h: int = 8, w: int = 8, c: int = 1) -> torch.Tensor:
    """Frame k has the value (4 * k + 2) / 255 everywhere (its index is readable; up to 63 frames)."""
    vals = (4 * torch.arange(t, dtype=torch.float32) + 2) / 255
    return vals[:, None, None, None].expand(t, c, h, w).contiguous()


def frame_ids(frames: torch.Tensor) -> list[int]:
    return [int(round((float(f.mean()) * 255 - 2) / 4)) for f in frames]


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "videos"
    write_video(root / "a.npy", (coded_clip(20) * 255).round().to(torch.uint8))
    write_video(root / "b.avi", coded_clip(13, c=3), fps=10)
    return root


def test_training_windows_cover_every_file_and_are_pure(folder):
    ds = VideoWindowDataset(folder, 4, num_items=400, seed=1)
    assert len(ds) == 400 and ds.windows == [17, 10]  # every start position of each file
    seen: dict[str, set[int]] = {"a.npy": set(), "b.avi": set()}
    for i in range(len(ds)):
        part, start = ds.window_of(i)
        seen[part.path.name].add(start)
    assert seen == {"a.npy": set(range(17)), "b.avi": set(range(10))}  # all of both files, both ends included
    again = VideoWindowDataset(folder, 4, num_items=400, seed=1)
    for i in (5, 0, 399, 17):
        info = ds.clip_info(i)
        assert frame_ids(ds[i]) == info["frame_indices"] == [info["window_start"] + k for k in range(4)]
        assert torch.equal(ds[i], again[i])  # a pure function of (seed, index)
    ds.set_epoch(3)
    assert [ds.window_of(i)[1] for i in range(30)] == [again.window_of(i)[1] for i in range(30)]
    other = VideoWindowDataset(folder, 4, num_items=400, seed=2)
    assert [ds.window_of(i)[1] for i in range(30)] != [other.window_of(i)[1] for i in range(30)]
    with pytest.raises(InputError, match="window"):
        VideoWindowDataset(folder, 4, window="random")


def test_evaluation_scores_every_window(folder):
    ds = VideoWindowDataset(folder, 4)
    assert len(ds) == 5 + 3  # 20 frames -> starts 0, 4, 8, 12, 16; 13 frames -> 0, 4, 8
    got = [(ds.window_of(i)[0].path.name, ds.window_of(i)[1]) for i in range(len(ds))]
    assert got == [("a.npy", s) for s in (0, 4, 8, 12, 16)] + [("b.avi", s) for s in (0, 4, 8)]
    assert frame_ids(ds[6]) == [4, 5, 6, 7]
    strided = VideoWindowDataset(folder, 3, frame_stride=2, stride=3)  # span 5
    assert strided.windows == [6, 3]
    assert strided.clip_info(1)["frame_indices"] == [3, 5, 7] and frame_ids(strided[1]) == [3, 5, 7]


def test_short_parts(folder):
    with pytest.raises(DatasetError, match="b.avi"):
        VideoWindowDataset(folder, 15)
    with pytest.warns(UserWarning, match="left out 1"):
        skip = VideoWindowDataset(folder, 15, short_clips="skip")
    assert len(skip) == 1 and skip.window_of(0)[0].path.name == "a.npy"
    pad = VideoWindowDataset(folder, 15, short_clips="pad")
    assert len(pad) == 2 and frame_ids(pad[1]) == list(range(13)) + [12, 12]


def test_time_split_is_disjoint_covers_the_file_and_no_window_crosses(tmp_path):
    clip = tmp_path / "clip.avi"
    write_video(clip, coded_clip(50, 16, 16, 3), fps=25)
    ranges = {p: time_split_range(50, (0.7, 0.2, 0.1), p) for p in ("train", "val", "test")}
    assert ranges == {"train": (0, 35), "val": (35, 45), "test": (45, 50)}
    for part in ("train", "val", "test"):
        lo, hi = ranges[part]
        ev = VideoWindowDataset(clip, 5, 8, time_split=(0.7, 0.2, 0.1), part=part)
        assert len(ev) == (hi - lo) // 5
        for i in range(len(ev)):
            ids = frame_ids(ev[i])
            assert lo <= ids[0] and ids[-1] < hi and ids == list(range(ids[0], ids[0] + 5))
        tr = VideoWindowDataset(clip, 5, 8, num_items=200, time_split=(0.7, 0.2, 0.1), part=part)
        starts = {tr.window_of(i)[1] for i in range(200)}
        assert starts == set(range(lo, hi - 4))  # the whole part, never past its end
    with pytest.raises(InputError, match="sum to 1"):
        VideoWindowDataset(clip, 5, time_split=(0.7, 0.2, 0.2))


def test_build_dataset_video_file_and_folder(tmp_path):
    clip = tmp_path / "clip.avi"
    write_video(clip, coded_clip(60, 16, 16, 3), fps=25)
    d = DataConfig(dataset="video_file", data_dir=str(clip), num_frames=5, image_size=8, channels=3,
                   train_clips=64, split=[0.8, 0.1, 0.1])
    train, val, test = (build_dataset(d, s) for s in ("train", "val", "test"))
    assert len(train) == 64 and len(val) == 1 and len(test) == 1
    assert train[0].shape == (5, 3, 8, 8)
    assert frame_ids(val[0]) == [48, 49, 50, 51, 52] and frame_ids(test[0]) == [54, 55, 56, 57, 58]
    with pytest.raises(ConfigError, match="data.split"):
        build_dataset(DataConfig(dataset="video_file", data_dir=str(clip), split=[0.5, 0.1]), "train")
    with pytest.raises(ConfigError, match="video file"):
        build_dataset(DataConfig(dataset="video_file"), "val")
    for s in ("train", "val", "test"):
        write_video(tmp_path / "own" / s / "x.avi", coded_clip(12, 16, 16, 3), fps=25)
    d = DataConfig(dataset="video_folder", data_dir=str(tmp_path / "own"), num_frames=4, image_size=8, channels=3,
                   train_clips=10)
    assert len(build_dataset(d, "train")) == 10 and len(build_dataset(d, "test")) == 3


@pytest.mark.skipif(not (REAL / "box.mp4").is_file(), reason="needs /work/shared/data/video")
def test_real_clip_split_in_time():
    ds = VideoWindowDataset(REAL / "box.mp4", 9, 32, time_split=(0.8, 0.1, 0.1), part="test")
    part = ds.clips[0]
    assert len(ds) == (part.stop - part.start) // 9 >= 1
    assert ds[len(ds) - 1].shape == (9, 3, 32, 32)


def test_native_crops_keep_the_resolution_and_match_with_or_without_the_cache(tmp_path):
    """data.crop=random: native-resolution squares, random per training window (pure function of the index),
    centred for evaluation; the cached part (8-bit values) gives exactly the frames decoded per window."""
    import numpy as np

    from odevideo.data.video_windows import VideoWindowDataset

    rng = np.random.default_rng(0)
    clip = rng.integers(0, 256, size=(30, 24, 40, 3), dtype=np.uint8)  # (T, H, W, C)
    path = tmp_path / "clip.npy"
    np.save(path, clip)
    kw = dict(native_crop=16, channels=3, scene_cuts=False, npy_layout="THWC")
    train = VideoWindowDataset(path, 5, None, num_items=20, **kw)
    uncached = VideoWindowDataset(path, 5, None, num_items=20, cache_bytes=0, **kw)
    crops = [train[i] for i in range(20)]
    assert all(c.shape == (5, 3, 16, 16) for c in crops)
    assert all(torch.equal(crops[i], uncached[i]) for i in (0, 7, 19))
    assert len({tuple(c[0, 0, 0, :3].tolist()) for c in crops}) > 1  # the crop moves between windows
    # every crop is a piece of the source frames at their own resolution
    part, start = train.window_of(3)
    src = torch.from_numpy(clip[start:start + 5]).permute(0, 3, 1, 2).float() / 255
    found = [(t, left) for t in range(24 - 15) for left in range(40 - 15)
             if torch.allclose(src[..., t:t + 16, left:left + 16], crops[3], atol=1e-6, rtol=0)]
    assert len(found) == 1
    test = VideoWindowDataset(path, 5, None, **kw)  # evaluation: centred, (24 - 16) / 2 and (40 - 16) / 2
    first = torch.from_numpy(clip[:5]).permute(0, 3, 1, 2).float() / 255
    torch.testing.assert_close(test[0], first[..., 4:20, 12:28], atol=1e-6, rtol=0)
    with pytest.raises(DatasetError, match="smaller than the 32x32 crop"):
        VideoWindowDataset(path, 5, None, native_crop=32, channels=3, scene_cuts=False, npy_layout="THWC")[0]
