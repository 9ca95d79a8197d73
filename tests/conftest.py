"""Shared fixtures: the small real data in ../shared/data and tiny experiment configs."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"

# Overrides that shrink the default preset to something that trains in seconds on 2 cores.
TINY = [
    "data.image_size=16", "data.val_clips=4", "data.test_clips=8", "data.num_frames=8",
    "model.channels=[8,16]", "model.latent_dim=8", "model.embed_dim=16", "model.rnn_hidden=16", "model.ode_hidden=16",
    "task.num_observed=4", "loss.kl_warmup_steps=2",
    "train.steps=6", "train.batch_size=4", "train.eval_every=3", "train.checkpoint_every=3", "train.log_every=1",
    "train.warmup_steps=2", "train.bf16=false", "train.progress=false", "train.max_minutes=null",
    "eval.num_clips=8", "eval.batch_size=8", "eval.num_sample_clips=2",
]


@pytest.fixture(scope="session")
def tiny_overrides() -> list[str]:
    return list(TINY)


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared test data not found at {SHARED_DATA} (only present in the project's CI checkout)")
    return SHARED_DATA


@pytest.fixture
def tiny_config(tmp_path):
    """``make(*extra_overrides)`` -> a tiny ExperimentConfig writing under tmp_path."""
    from odevideo.training import ExperimentConfig, load_config
    from odevideo.training.config import applicable_overrides

    def make(*extra: str):
        overrides = applicable_overrides("default", [*TINY, f"output_dir={tmp_path}", *extra])
        return load_config(ExperimentConfig, "default", None, overrides)

    return make


@pytest.fixture
def interrupt_fit(monkeypatch):
    """``interrupt_fit(trainer, at_step)``: ``trainer.fit()`` interrupted by Ctrl-C (``KeyboardInterrupt``)
    as it starts the step with index ``at_step`` (``trainer.step == at_step``), i.e. mid-run, after the
    checkpoints written so far."""

    def run(trainer, at_step: int) -> None:
        real_step = trainer._train_step

        def interrupted():
            if trainer.step == at_step:
                raise KeyboardInterrupt
            return real_step()

        monkeypatch.setattr(trainer, "_train_step", interrupted)
        with pytest.raises(KeyboardInterrupt):
            trainer.fit()

    return run
