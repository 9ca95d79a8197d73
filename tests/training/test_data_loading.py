"""Batches from DataLoader workers (train.num_workers) and the on-disk data cache (data.cache_dir) in the trainer:
the same batches, hence the same parameters, as building every batch in the training process."""

from __future__ import annotations

import json

import pytest
import torch

from odevideo.data import CachedClips
from odevideo.data.build import build_dataset
from odevideo.errors import ConfigError
from odevideo.training import Trainer, load_run
from odevideo.training.batches import StepBatches, step_batch_loader


def _params(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _assert_same_params(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


# irregular masks and augmentation: every part of a batch that is drawn per step
VARIED = ["data.drop_prob=0.3", "data.augment_flip=0.5", "data.augment_rotate_degrees=10", "train.batch_size=4",
          "train.grad_accum_steps=2"]


def test_worker_processes_deliver_exactly_the_batches_of_the_training_process(tiny_config):
    cfg = tiny_config("name=w", *VARIED, "train.num_workers=2", "train.steps=7")
    ds = build_dataset(cfg, "train")
    for rank, accum, m in [(0, 2, 2), (1, 1, 2)]:  # a 2-micro-batch share, and rank 1 of 2 processes
        shares = StepBatches(cfg, ds, rank, accum, m)
        got = list(step_batch_loader(cfg, shares, 3, pin_memory=False))  # a resumed run starts at step 3
        assert [s for s, _ in got] == [3, 4, 5, 6]
        for step, micro_batches in got:
            ref = shares[step][1]
            assert len(micro_batches) == accum
            for a, b in zip(micro_batches, ref):
                assert torch.equal(a.frames, b.frames) and torch.equal(a.times, b.times) and torch.equal(a.mask, b.mask)
    assert not torch.equal(shares[3][1][0].mask, shares[4][1][0].mask)  # the draws do change from step to step


def test_training_with_workers_equals_training_without_and_resumes_exactly(tiny_config, interrupt_fit):
    ref = Trainer(tiny_config("name=ref", *VARIED)).fit()
    ref_params = _params(load_run(ref.run_dir, which="last")[0])

    workers = Trainer(tiny_config("name=workers", *VARIED, "train.num_workers=2", "train.prefetch_factor=3")).fit()
    _assert_same_params(_params(load_run(workers.run_dir, which="last")[0]), ref_params)
    lines = [json.loads(ln) for ln in (workers.run_dir / "metrics.jsonl").read_text().splitlines()]
    ref_lines = [json.loads(ln) for ln in (ref.run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["loss"] for r in lines if r["kind"] == "train"] == [r["loss"] for r in ref_lines if r["kind"] == "train"]

    # killed during step 5 (checkpoint after step 3), resumed with workers: the loader restarts at step 4
    t = Trainer(tiny_config("name=part", *VARIED, "train.num_workers=2"))
    interrupt_fit(t, at_step=4)
    resumed = Trainer(tiny_config("name=part", *VARIED, "train.num_workers=2"), resume=True)
    assert resumed.step == 3
    resumed.fit()
    _assert_same_params(_params(resumed.model), ref_params)


def test_bad_loader_settings_are_config_errors(tiny_config):
    with pytest.raises(ConfigError, match="num_workers"):
        Trainer(tiny_config("name=a", "train.num_workers=-1"))
    with pytest.raises(ConfigError, match="pin_memory"):
        Trainer(tiny_config("name=b", "train.pin_memory=true", "train.device=cpu"))
    t = Trainer(tiny_config("name=c", "train.num_workers=1", "train.device=cpu"))
    assert t.pin_memory is False  # auto: only on CUDA


def test_cached_data_trains_exactly_like_generated_data(tiny_config, tmp_path):
    extra = ["data.train_clips=40", "train.steps=3"]
    ref = Trainer(tiny_config("name=gen", *extra)).fit()
    cache = tmp_path / "cache"
    cfg = tiny_config("name=cached", *extra, f"data.cache_dir={cache}", "data.cache_splits=[train,val]",
                      "train.num_workers=1")
    t = Trainer(cfg)
    assert isinstance(t.train_set, CachedClips) and isinstance(t.val_set, CachedClips)
    assert not isinstance(build_dataset(cfg, "test"), CachedClips)  # only the listed splits
    res = t.fit()
    _assert_same_params(_params(load_run(res.run_dir, which="last")[0]),
                        _params(load_run(ref.run_dir, which="last")[0]))
    assert sorted(p.suffix for p in cache.iterdir() if not p.name.startswith(".")) == [".json", ".json", ".npy", ".npy"]
    with pytest.raises(ConfigError, match="cache_splits"):
        build_dataset(tiny_config("name=x", f"data.cache_dir={cache}", "data.cache_splits=[training]"), "val")
