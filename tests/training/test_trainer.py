import json

import pytest
import torch

from odevideo.checkpoints import load_checkpoint
from odevideo.errors import CheckpointError, TrainingDivergedError
from odevideo.training import Trainer, evaluate, load_run


def _params(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_fit_writes_run_directory(tiny_config):
    cfg = tiny_config("name=run")
    res = Trainer(cfg).fit()
    run = res.run_dir
    assert res.step == 6 and not res.stopped_early
    assert (run / "config.yaml").exists()
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == [  # one file per checkpoint
        "best.safetensors", "good.safetensors", "last.safetensors"]
    assert (run / "samples" / "step_000003.png").exists() and (run / "samples" / "step_000006.gif").exists()
    records = [json.loads(ln) for ln in (run / "metrics.jsonl").read_text().splitlines()]
    train = [r for r in records if r["kind"] == "train"]
    assert [r["step"] for r in train] == [1, 2, 3, 4, 5, 6]
    assert all(r["nfe"] > 0 and r["steps_per_s"] > 0 for r in train)
    assert [r["step"] for r in records if r["kind"] == "val"] == [3, 6]
    ck = load_checkpoint(run / "checkpoints" / "last")
    assert ck.config["model"]["latent_dim"] == 8  # the resolved config travels with the checkpoint
    assert ck.extra_state["step"] == 6
    assert not list(run.rglob("*.tmp*"))


def test_exact_resume_matches_uninterrupted_run(tiny_config, interrupt_fit):
    full = Trainer(tiny_config("name=full", "method=latent_ode_vae")).fit()
    ref_model, _ = load_run(full.run_dir, which="last")

    t = Trainer(tiny_config("name=part"))
    interrupt_fit(t, at_step=4)  # steps 1-4 done (checkpoint after 3), killed in the middle of step 5
    resumed = Trainer(tiny_config("name=part"), resume=True)
    assert resumed.step == 3
    resumed.fit()
    got = _params(resumed.model)
    for k, v in _params(ref_model).items():
        assert torch.equal(got[k], v), k
    steps = [json.loads(ln)["step"] for ln in (resumed.run_dir / "metrics.jsonl").read_text().splitlines()
             if json.loads(ln)["kind"] == "train"]
    assert steps == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize("stop_after", [2, 5])
def test_stop_time_validation_leaves_best_as_in_the_uninterrupted_run(tiny_config, monkeypatch, stop_after):
    """A signal stop after step ``stop_after`` (off the eval_every=3 grid) validates and logs that step, but the
    resumed run's best checkpoint is the uninterrupted run's (scores by step make the stop step the best
    score: before the fix it became `best` and stayed so)."""
    import os
    import signal

    table = {2: 0.05, 3: 0.5, 5: 0.1, 6: 0.4}  # the stop steps score best; on the grid step 6 wins
    real_validate = Trainer.validate

    def validate(self):
        return {**real_validate(self), self.method.val_key: table[self.step]}

    monkeypatch.setattr(Trainer, "validate", validate)
    full = Trainer(tiny_config("name=full")).fit()

    part = Trainer(tiny_config("name=part"))
    real_step = part._train_step

    def step_then_signal():
        out = real_step()
        if part.step == stop_after - 1:  # the step that becomes step `stop_after`: SIGTERM arrives during it
            os.kill(os.getpid(), signal.SIGTERM)
        return out

    monkeypatch.setattr(part, "_train_step", step_then_signal)
    stopped = part.fit()
    assert stopped.stopped_early and stopped.step == stop_after
    val = [json.loads(ln) for ln in (part.run_dir / "metrics.jsonl").read_text().splitlines()
           if json.loads(ln)["kind"] == "val"]
    assert val[-1]["step"] == stop_after and val[-1]["stop"] is True  # logged, marked
    best = load_checkpoint(part.run_dir / "checkpoints" / "best")
    # no best yet at step 2: a placeholder that any validation on the grid replaces; at step 5: still step 3
    assert best.extra_state["step"] == (stop_after if stop_after < 3 else 3)
    assert best.extra_state["best_val_mse"] == (float("inf") if stop_after < 3 else 0.5)

    resumed = Trainer(tiny_config("name=part"), resume=True)
    resumed.fit()
    want = load_checkpoint(full.run_dir / "checkpoints" / "best")
    got = load_checkpoint(resumed.run_dir / "checkpoints" / "best")
    assert got.extra_state["step"] == want.extra_state["step"] == 6
    assert got.extra_state["best_val_mse"] == want.extra_state["best_val_mse"] == 0.4
    for k, v in want.model_state.items():
        assert torch.equal(got.model_state[k], v), k


def test_same_seed_same_result_different_seed_differs(tiny_config):
    a = Trainer(tiny_config("name=a", "train.steps=3")).fit()
    b = Trainer(tiny_config("name=b", "train.steps=3")).fit()
    c = Trainer(tiny_config("name=c", "train.steps=3", "train.seed=1")).fit()
    pa, pb, pc = (_params(load_run(r.run_dir, which="last")[0]) for r in (a, b, c))
    assert all(torch.equal(pa[k], pb[k]) for k in pa)
    assert any(not torch.equal(pa[k], pc[k]) for k in pa)


def test_existing_run_requires_resume_and_resume_requires_run(tiny_config):
    Trainer(tiny_config("name=x", "train.steps=3")).fit()
    with pytest.raises(CheckpointError, match="--resume"):
        Trainer(tiny_config("name=x"))
    with pytest.raises(CheckpointError, match="nothing to resume"):
        Trainer(tiny_config("name=never"), resume=True)
    with pytest.raises(CheckpointError, match="different model"):
        Trainer(tiny_config("name=x", "model.latent_dim=4"), resume=True)


def test_nan_loss_stops_with_clear_error_and_keeps_last_checkpoint(tiny_config, monkeypatch):
    t = Trainer(tiny_config("name=nan"))
    real = t.method.losses

    def poisoned(cfg, model, critics, batch, noise, step, rng):
        out = real(cfg, model, critics, batch, noise, step, rng)
        if step == 4:
            out.loss = out.loss * float("nan")
        return out

    monkeypatch.setattr(t.method, "losses", poisoned)
    with pytest.raises(TrainingDivergedError, match="step 4"):
        t.fit()
    assert load_checkpoint(t.run_dir / "checkpoints" / "last").extra_state["step"] == 3


def test_time_budget_stops_and_leaves_resumable_state(tiny_config):
    res = Trainer(tiny_config("name=budget", "train.max_minutes=0")).fit()
    assert res.stopped_early and res.step == 0
    assert (res.run_dir / "checkpoints" / "last.safetensors").exists()


def test_loss_goes_down_on_tiny_data(tiny_config):
    cfg = tiny_config("name=learn", "train.steps=60", "train.eval_every=60", "train.checkpoint_every=60",
                      "train.lr=0.003", "train.lr_schedule=constant", "train.log_every=10")
    res = Trainer(cfg).fit()
    losses = [json.loads(ln)["loss"] for ln in (res.run_dir / "metrics.jsonl").read_text().splitlines()
              if json.loads(ln)["kind"] == "train"]
    assert losses[-1] < 0.7 * losses[0]


def test_trains_on_a_folder_of_the_users_own_clips(tiny_config, tmp_path):
    """data.dataset=video_folder: <data_dir>/{train,val,test}/ of clips in any supported layout."""
    import numpy as np

    from odevideo.data import write_video
    from odevideo.errors import ConfigError, DatasetError

    rng = np.random.default_rng(0)
    root = tmp_path / "clips"
    for split, n in (("train", 4), ("val", 2), ("test", 2)):
        (root / split).mkdir(parents=True)
        for i in range(n):
            clip = torch.from_numpy(rng.random((10, 1, 20, 24), dtype=np.float32))
            write_video(root / split / f"clip{i}{'.npy' if i % 2 else '.gif'}", clip, fps=10)
    cfg = tiny_config("name=own", "data.dataset=video_folder", f"data.data_dir={root}", "train.steps=3",
                      "data.val_clips=2", "data.test_clips=2")
    res = Trainer(cfg).fit()
    model, cfg = load_run(res.run_dir)
    result = evaluate(model, cfg, num_clips=2)
    assert result["num_clips"] == 2 and result["num_frames"] == 8
    with pytest.raises(ConfigError, match="data_dir"):
        Trainer(tiny_config("name=own2", "data.dataset=video_folder"))
    with pytest.raises(DatasetError):
        Trainer(tiny_config("name=own3", "data.dataset=video_folder", f"data.data_dir={tmp_path / 'nothing'}"))
