"""Resume after damage and divergence: the newest intact checkpoint, stale temporaries, a changed learning rate,
the last validated state named with the command that continues from it, shapes checked before building."""

from __future__ import annotations

import json
import shlex

import pytest
import torch

from odevideo.checkpoints import load_checkpoint
from odevideo.cli.main import main
from odevideo.errors import CheckpointError, TrainingDivergedError
from odevideo.training import Trainer, load_run


def _params(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _assert_equal(got, ref):
    for k, v in ref.items():
        assert torch.equal(got[k], v), k


def _flip_last_byte(path):
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))


def test_resume_falls_back_to_the_newest_intact_checkpoint(tiny_config, interrupt_fit, capsys):
    ref = _params(load_run(Trainer(tiny_config("name=full")).fit().run_dir, which="last")[0])
    t = Trainer(tiny_config("name=part"))
    interrupt_fit(t, at_step=4)  # checkpoints last, good and best of step 3
    ckpts = t.ckpt_dir
    _flip_last_byte(ckpts / "last.safetensors")
    capsys.readouterr()
    resumed = Trainer(tiny_config("name=part"), resume=True)
    err = capsys.readouterr().err
    assert resumed.step == 3
    assert "resuming from checkpoints/good.safetensors at step 3" in err and "last.safetensors" in err
    assert len(err.strip().splitlines()) == 1
    resumed.fit()
    _assert_equal(_params(resumed.model), ref)
    # nothing intact: one line that says what to do
    for name in ("last", "good", "best"):
        _flip_last_byte(ckpts / f"{name}.safetensors")
    with pytest.raises(CheckpointError, match="no intact checkpoint to resume") as err:
        Trainer(tiny_config("name=part"), resume=True)
    assert "\n" not in str(err.value) and f"remove {ckpts}" in str(err.value)


def test_stale_temporaries_are_removed_and_a_run_killed_early_restarts(tiny_config, capsys):
    cfg = tiny_config("name=early", "train.steps=3")
    run = Trainer(cfg).run_dir
    (run / "checkpoints").mkdir(parents=True)
    stale = [run / "checkpoints" / ".last.safetensors.0123abcd.tmp", run / ".model.89abcdef.tmp",
             run / "checkpoints" / ".good.safetensors.deadbeef.tmp"]
    for p in stale:
        p.write_bytes(b"partial")
    (run / "metrics.jsonl").write_text('{"step": 1, "kind": "train", "loss": 1.0}\n{"step": 2, "ki')  # torn line
    with pytest.raises(CheckpointError, match="nothing to resume.*start without --resume"):
        Trainer(cfg, resume=True)  # the temporaries are no checkpoint
    assert not any(p.exists() for p in stale)
    for p in stale:
        p.write_bytes(b"partial")
    res = Trainer(cfg).fit()  # a fresh start is not refused; the old log lines are redone
    assert not any(p.exists() for p in stale) and "temporary file(s) of interrupted writes" in capsys.readouterr().err
    steps = [json.loads(ln)["step"] for ln in (res.run_dir / "metrics.jsonl").read_text().splitlines()
             if json.loads(ln)["kind"] == "train"]
    assert steps == [1, 2, 3]
    with pytest.raises(CheckpointError, match="already holds a training run.*continue it with --resume"):
        Trainer(cfg)


def test_resume_on_a_torn_log_line(tiny_config, interrupt_fit):
    t = Trainer(tiny_config("name=torn"))
    interrupt_fit(t, at_step=4)
    with open(t.run_dir / "metrics.jsonl", "a") as f:
        f.write('{"step": 5, "kind": "tr')
    res = Trainer(tiny_config("name=torn"), resume=True).fit()
    lines = [json.loads(ln) for ln in (res.run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines if r["kind"] == "train"] == [1, 2, 3, 4, 5, 6]


def test_resume_with_a_new_learning_rate_trains_with_it(tiny_config, interrupt_fit, capsys):
    t = Trainer(tiny_config("name=lr", "train.lr=0.001"))
    interrupt_fit(t, at_step=4)
    capsys.readouterr()
    new_lr = 0.0002
    resumed = Trainer(tiny_config("name=lr", f"train.lr={new_lr}"), resume=True)
    err = capsys.readouterr().err
    assert "train.lr changed from 0.001 to 0.0002 on resume" in err
    factor = resumed.sched.lr_lambdas[0]
    assert resumed.opt.param_groups[0]["lr"] == pytest.approx(new_lr * factor(3), rel=1e-12)
    assert resumed.sched.base_lrs == [new_lr]
    res = resumed.fit()
    log = [json.loads(ln) for ln in (res.run_dir / "metrics.jsonl").read_text().splitlines()]
    lrs = {r["step"]: r["lr"] for r in log if r["kind"] == "train"}
    assert lrs[3] == pytest.approx(0.001 * factor(3), rel=1e-12)  # before the resume: the old rate
    for step in (4, 5, 6):  # after it: the new base times the schedule's factor
        assert lrs[step] == pytest.approx(new_lr * factor(step), rel=1e-12)
    assert "lr: 0.0002" in (res.run_dir / "config.yaml").read_text()  # the config on disk agrees
    assert load_checkpoint(res.run_dir / "checkpoints" / "last").config["train"]["lr"] == new_lr


def _poison(monkeypatch, trainer, at_step):
    real = trainer.method.losses

    def poisoned(cfg, model, critics, batch, noise, step, rng):
        out = real(cfg, model, critics, batch, noise, step, rng)
        if step == at_step:
            out.loss = out.loss * float("nan")
        return out

    monkeypatch.setattr(trainer.method, "losses", poisoned)


def test_divergence_names_the_last_validated_state_and_its_command_continues(tiny_config, monkeypatch, capsys):
    overrides = ("name=div", "train.checkpoint_every=2", "train.eval_every=3")
    t = Trainer(tiny_config(*overrides))
    _poison(monkeypatch, t, at_step=4)  # last of step 4 is newer than the validation of step 3
    with pytest.raises(TrainingDivergedError) as err:
        t.fit()
    msg = str(err.value)
    assert "\n" not in msg and "loss became nan at step 4" in msg
    assert f"the last validated state is {t.ckpt_dir / 'good'}.safetensors (step 3)" in msg
    assert "diverged.safetensors" in msg
    assert not (t.ckpt_dir / "last.safetensors").exists()
    assert load_checkpoint(t.ckpt_dir / "diverged").extra_state["step"] == 4
    command = msg.split("learning rate: ", 1)[1]
    assert command.startswith("odevideo train --config ") and command.endswith("--set train.lr=0.0001 --resume")
    monkeypatch.undo()
    capsys.readouterr()
    assert main(shlex.split(command)[1:]) == 0
    err = capsys.readouterr().err
    assert "resuming from checkpoints/good.safetensors at step 3" in err and "train.lr changed" in err
    ck = load_checkpoint(t.ckpt_dir / "last")
    assert ck.extra_state["step"] == 6 and ck.config["train"]["lr"] == 0.0001


def test_non_finite_validation_stops_the_same_way(tiny_config, monkeypatch):
    t = Trainer(tiny_config("name=valnan"))
    real = t.method.validate

    def nan_scores(cfg, model, val_set, ctx):
        scores, samples = real(cfg, model, val_set, ctx)
        if t.step == 6:
            samples = (samples[0], samples[1] * float("nan"))
        return scores, samples

    monkeypatch.setattr(t.method, "validate", nan_scores)
    with pytest.raises(TrainingDivergedError, match=r"validation at step 6 gave non-finite predictions.*"
                       r"good.safetensors \(step 3\).*--resume"):
        t.fit()
    assert not (t.run_dir / "samples" / "step_000006.png").exists()
    # non-finite weights are caught before validating (here the validation of a time-budget stop)
    t2 = Trainer(tiny_config("name=weightnan", "train.max_minutes=0"))
    with torch.no_grad():
        next(t2.model.parameters()).fill_(float("inf"))
    with pytest.raises(TrainingDivergedError, match="weights became non-finite.*no checkpoint holds"):
        t2.fit()
    assert not (t2.ckpt_dir / "last.safetensors").exists()


def test_configs_that_do_not_fit_the_saved_tensors_fail_before_allocating(tiny_config, tmp_path):
    import odevideo
    from odevideo.checkpoints import save_checkpoint

    res = Trainer(tiny_config("name=shapes", "train.steps=3")).fit()
    cfg_path = res.run_dir / "model" / "config.json"
    config = json.loads(cfg_path.read_text())
    config["model"]["ode_hidden"] = 10**9  # would need tens of GB per layer
    cfg_path.write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match=r"do not fit the model its config describes: shapes differ") as err:
        odevideo.load_model(res.run_dir)
    assert "\n" not in str(err.value)
    # a training checkpoint whose config says the same (a consistent save of an edited config)
    ck = load_checkpoint(res.run_dir / "checkpoints" / "best")
    ck.config["model"]["ode_hidden"] = 10**9
    save_checkpoint(tmp_path / "edited", model_state=ck.model_state, config=ck.config)
    with pytest.raises(CheckpointError, match="shapes differ"):
        load_run(tmp_path / "edited")
    save_checkpoint(tmp_path / "noconfig", model_state=ck.model_state)
    with pytest.raises(CheckpointError, match="holds no config"):
        load_run(tmp_path / "noconfig")
