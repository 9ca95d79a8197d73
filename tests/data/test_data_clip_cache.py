"""The on-disk cache of synthetic clips: same clips as generating, stale caches regenerated, atomic writes."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
import torch

from odevideo.data import BouncingBalls, CachedClips, MovingMNIST, cached_clips
from odevideo.data.clip_cache import cache_paths


def _balls(**kw) -> BouncingBalls:
    args = dict(num_clips=6, num_frames=5, size=16, num_balls=2, seed=3)
    args.update(kw)
    return BouncingBalls(**args)


def _files(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_cached_clips_equal_generated_clips_and_are_reused(tmp_path):
    ds = _balls()
    lines: list[str] = []
    cached = cached_clips(ds, tmp_path, "bb-val", ds.cache_description(), log=lines.append)
    assert isinstance(cached, CachedClips) and len(cached) == len(ds)
    for i in range(len(ds)):
        assert torch.equal(cached[i], ds[i]), i
    assert cached[-1].shape == (5, 1, 16, 16) and cached[-1].dtype == torch.float32
    assert len(lines) == 1 and "generating" in lines[0]
    npy, meta, _ = cache_paths(tmp_path, "bb-val", ds.cache_description())
    assert json.loads(meta.read_text())["shape"] == [6, 5, 1, 16, 16]
    # a second call (another process, a later run) loads without generating
    mtime = npy.stat().st_mtime_ns
    again = cached_clips(ds, tmp_path, "bb-val", ds.cache_description(), log=lines.append)
    assert len(lines) == 1 and npy.stat().st_mtime_ns == mtime
    assert torch.equal(again[2], ds[2])
    # picklable without the memory map (DataLoader workers under spawn)
    clone = pickle.loads(pickle.dumps(again))
    assert clone._array is None and torch.equal(clone[4], ds[4])


def test_moving_mnist_clips_round_trip_and_the_digit_pool_is_part_of_the_key(tmp_path):
    rng = np.random.default_rng(0)
    glyphs = rng.integers(0, 256, size=(7, 28, 28), dtype=np.uint8)
    ds = MovingMNIST("val", num_digits=2, num_frames=4, size=24, num_clips=5, digits=glyphs)
    cached = cached_clips(ds, tmp_path, "mm-val", ds.cache_description())
    assert all(torch.equal(cached[i], ds[i]) for i in range(5))
    other = MovingMNIST("val", num_digits=2, num_frames=4, size=24, num_clips=5, digits=255 - glyphs)
    assert cache_paths(tmp_path, "mm-val", other.cache_description())[0] != cached.path


def test_a_cache_that_does_not_match_its_config_is_regenerated(tmp_path):
    ds = _balls()
    cached_clips(ds, tmp_path, "bb", ds.cache_description())
    npy, meta, _ = cache_paths(tmp_path, "bb", ds.cache_description())
    # the JSON says another seed (e.g. hand-edited, or a hash collision): not used, regenerated
    found = json.loads(meta.read_text())
    found["generator"]["seed"] = 99
    meta.write_text(json.dumps(found))
    np.save(npy, np.zeros((6, 5, 1, 16, 16), np.float32))  # and garbage content
    lines: list[str] = []
    fixed = cached_clips(ds, tmp_path, "bb", ds.cache_description(), log=lines.append)
    assert lines and "does not match" in lines[0]
    assert all(torch.equal(fixed[i], ds[i]) for i in range(6))
    # a truncated array (wrong shape for its JSON) is regenerated too
    np.save(npy, np.zeros((2, 5, 1, 16, 16), np.float32))
    lines.clear()
    fixed = cached_clips(ds, tmp_path, "bb", ds.cache_description(), log=lines.append)
    assert lines and len(fixed) == 6 and torch.equal(fixed[5], ds[5])
    # a different config gets its own files next to the first
    ds2 = _balls(seed=4)
    c2 = cached_clips(ds2, tmp_path, "bb", ds2.cache_description())
    assert c2.path != fixed.path and not torch.equal(c2[0], fixed[0])


def test_a_failed_generation_leaves_no_file(tmp_path, monkeypatch):
    ds = _balls()
    orig = BouncingBalls.__getitem__

    def broken(self, index):
        if index == 4:
            raise RuntimeError("simulated failure while generating clip 4")
        return orig(self, index)

    monkeypatch.setattr(BouncingBalls, "__getitem__", broken)
    with pytest.raises(RuntimeError, match="clip 4"):
        cached_clips(ds, tmp_path, "bb", ds.cache_description())
    assert [f for f in _files(tmp_path) if not f.endswith(".lock")] == []  # no .npy, .json or temporary
    monkeypatch.setattr(BouncingBalls, "__getitem__", orig)
    ok = cached_clips(ds, tmp_path, "bb", ds.cache_description())
    assert torch.equal(ok[4], ds[4])
