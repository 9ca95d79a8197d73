"""Scene cuts in VideoWindowDataset: found at the right frame, no window crosses one, short scenes, no false cuts."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch.nn import functional as F

from odevideo.data import VideoWindowDataset, read_video, write_video
from odevideo.data.build import build_dataset
from odevideo.data.config import DataConfig
from odevideo.data.video_windows import find_scene_cuts
from odevideo.errors import DatasetError

REAL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "video"
needs_real = pytest.mark.skipif(not REAL.is_dir(), reason=f"needs the development clips in {REAL}")


def moving_texture(t: int, seed: int, level: float, h: int = 48, w: int = 64, speed: int = 1) -> torch.Tensor:
    """``(t, 3, h, w)``: a smooth random texture (blobs of ~16 pixels, values within 0.25 of ``level``) panning
    ``speed`` pixels per frame: a shot without cuts."""
    g = torch.Generator().manual_seed(seed)
    canvas = torch.rand(1, 3, h // 16 + 2, (w + speed * t) // 16 + 2, generator=g)
    canvas = F.interpolate(canvas, scale_factor=16, mode="bicubic", align_corners=False)[0]
    canvas = (level + 0.5 * (canvas - 0.5)).clamp(0, 1)
    return torch.stack([canvas[:, :h, k * speed:k * speed + w] for k in range(t)])


def windows_of(ds: VideoWindowDataset) -> list[list[int]]:
    return [ds.clip_info(i)["frame_indices"] for i in range(len(ds))]


def test_detector_on_hand_made_differences():
    # 10 frames, small motion everywhere, one jump into frame 6: a cut at 6
    d1 = [0.01] * 9
    d1[5] = 0.3
    d2 = [0.02] * 8
    d2[4] = d2[5] = 0.3  # frames 6 vs 4 and 7 vs 5 differ too
    assert find_scene_cuts(d1, d2) == [6]
    # a one-frame flash at 6 (frame 7 is like frame 5 again): no cut
    flash1 = list(d1)
    flash1[6] = 0.3
    flash2 = list(d2)
    flash2[5] = 0.02
    assert find_scene_cuts(flash1, flash2) == []
    # motion that is large at every frame is not a cut, nor a jump under the 0.08 floor
    assert find_scene_cuts([0.2] * 9, [0.3] * 8) == []
    small = [0.005] * 9
    small[5] = 0.07
    assert find_scene_cuts(small, [0.07] * 8) == []
    assert find_scene_cuts([], []) == [] and find_scene_cuts([0.5], []) == [1]  # two frames: the floor only


@pytest.mark.parametrize("suffix", [".npy", ".avi"])
def test_concatenated_shots_cut_at_the_right_frame_and_no_window_crosses(tmp_path, suffix):
    a, b = moving_texture(30, 1, 0.3), moving_texture(26, 2, 0.6, speed=2)
    flash = a.clone()
    flash[12] = 1.0  # a one-frame flash inside the first shot: not a cut
    path = tmp_path / f"two_shots{suffix}"
    write_video(path, torch.cat([flash, b]), fps=25)
    ev = VideoWindowDataset(path, 8, 16)
    assert ev.scene_cut_frames == {path: [30]}
    assert [(c.start, c.stop) for c in ev.clips] == [(0, 30), (30, 56)]
    assert len(ev) == 30 // 8 + 26 // 8
    tr = VideoWindowDataset(path, 8, 16, num_items=300, seed=3)
    starts = {tr.window_of(i)[1] for i in range(300)}
    assert starts == set(range(0, 23)) | set(range(30, 49))  # every position of both shots, none across
    for ds in (ev, tr):
        for idx in windows_of(ds)[:60]:
            assert max(idx) < 30 or min(idx) >= 30, idx
    # without the option the windows run across the cut
    across = VideoWindowDataset(path, 8, 16, scene_cuts=False)
    assert across.scene_cut_frames == {path: []} and len(across) == 56 // 8
    assert any(min(i) < 30 <= max(i) for i in windows_of(across))


def test_cuts_inside_time_split_parts_and_short_scenes(tmp_path):
    # shots of 40, 5 and 35 frames: cuts at 40 and 45; split 0.75 / 0.125 / 0.125 -> train [0, 60)
    video = torch.cat([moving_texture(40, 1, 0.3), moving_texture(5, 2, 0.6), moving_texture(35, 3, 0.35)])
    path = tmp_path / "three.npy"
    write_video(path, (video * 255).round().to(torch.uint8))
    split = (0.75, 0.125, 0.125)
    with pytest.raises(DatasetError, match=r"scene .*\[40:45\].* has 5 frames.*data.scene_cuts=false"):
        VideoWindowDataset(path, 8, time_split=split, part="train")
    with pytest.warns(UserWarning, match="left out 1 of 3 scenes"):
        ds = VideoWindowDataset(path, 8, time_split=split, part="train", short_scenes="skip")
    assert [(c.start, c.stop) for c in ds.clips] == [(0, 40), (45, 60)]
    assert [(c.start, c.stop) for c, _ in ds.skipped] == [(40, 45)]
    with pytest.warns(UserWarning, match="left out"):  # short_clips="skip" covers scenes too
        assert len(VideoWindowDataset(path, 8, time_split=split, part="train", short_clips="skip")) == 5 + 1
    pad = VideoWindowDataset(path, 8, time_split=split, part="train", short_scenes="pad")
    assert [(c.start, c.stop) for c in pad.clips] == [(0, 40), (40, 45), (45, 60)]
    assert pad.clip_info(5)["frame_indices"] == [40, 41, 42, 43, 44, 44, 44, 44]
    # a part without a cut inside keeps the short_clips policy: val [60, 70) and test [70, 80) are whole
    assert [(c.start, c.stop) for c in VideoWindowDataset(path, 8, time_split=split, part="val").clips] == [(60, 70)]
    # build_dataset: data.scene_cuts wired through, short scenes left out with a warning
    d = DataConfig(dataset="video_file", data_dir=str(path), num_frames=8, image_size=16, channels=3,
                   split=list(split))
    with pytest.warns(UserWarning, match="scenes"):
        test = build_dataset(d, "train")
    assert test.scene_cuts and [(c.start, c.stop) for c in test.clips] == [(0, 40), (45, 60)]
    d.scene_cuts = False
    assert [(c.start, c.stop) for c in build_dataset(d, "train").clips] == [(0, 60)]
    # only short scenes: no window at all, and the message says why
    with pytest.raises(DatasetError, match="scene cuts found.*data.scene_cuts=false"), pytest.warns(UserWarning):
        VideoWindowDataset(path, 41, short_scenes="skip", short_clips="skip")


def test_real_shots_concatenated(tmp_path, shared_data):
    """Two real shots (tree.avi, then box.mp4 resized to tree's size) back to back: one cut, between them."""
    tree, _ = read_video(REAL / "tree.avi", max_frames=20)
    box, _ = read_video(REAL / "box.mp4", max_frames=20)
    box = F.interpolate(box, size=tree.shape[-2:], mode="area")
    path = tmp_path / "tree_box.npy"
    write_video(path, (torch.cat([tree, box]) * 255).round().to(torch.uint8))
    ds = VideoWindowDataset(path, 5, 16)
    assert ds.scene_cut_frames[path] == [20] and len(ds) == 8
    assert all(max(i) < 20 or min(i) >= 20 for i in windows_of(ds))


@needs_real
@pytest.mark.parametrize("name, cuts", [("tree.avi", []), ("Megamind.avi", [1, 98, 154, 200])])
def test_development_clips(name, cuts):
    """tree.avi: fast motion, no cut. Megamind.avi: a black first frame, then three hard cuts between shots
    (checked by eye); nothing else. (box.mp4 and cup.mp4, also without cuts: the slow test below.)"""
    if cuts:
        with pytest.warns(UserWarning, match="left out 1 of 5 scenes"):  # the black first frame
            ds = VideoWindowDataset(REAL / name, 9, 16, short_scenes="skip")
    else:
        ds = VideoWindowDataset(REAL / name, 9, 16)
    assert ds.scene_cut_frames[REAL / name] == cuts
    bounds = [0, *cuts, ds.clips[-1].stop]
    for idx in windows_of(ds):
        assert any(lo <= min(idx) and max(idx) < hi for lo, hi in zip(bounds[:-1], bounds[1:])), idx


@needs_real
@pytest.mark.slow
@pytest.mark.parametrize("name", ["box.mp4", "cup.mp4"])
def test_development_clips_without_cuts(name):
    """Each decodes for a few seconds: box.mp4 (a camera jerk at frame 362), cup.mp4 (hand-held)."""
    assert VideoWindowDataset(REAL / name, 9, 16).scene_cut_frames[REAL / name] == []
