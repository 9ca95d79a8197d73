"""fp16 mixed precision (train.fp16): autocast + torch.amp.GradScaler, tested on the CPU (torch's CPU autocast
runs convs and linears in float16 and GradScaler("cpu") exists).

What the trainer promises: the loss goes down; the scaler's state is in the checkpoint, so a resumed run
equals the uninterrupted one bit for bit; a step with a non-finite loss or gradient is skipped (parameters
unchanged, the scale halves) instead of stopping the run, and only FP16_MAX_SKIPPED_IN_A_ROW skipped steps
in a row raise TrainingDivergedError; the adversarial step (two optimizers, one scaler) and gradient
accumulation work with it.
"""

from __future__ import annotations

import json

import pytest
import torch

from odevideo.checkpoints import load_checkpoint
from odevideo.errors import ConfigError, TrainingDivergedError
from odevideo.training import ExperimentConfig, Trainer, load_config, load_run
from odevideo.training.precision import autocast_context

FP16 = ["train.fp16=true"]


def _params(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _train_records(run_dir) -> list[dict]:
    return [r for r in map(json.loads, (run_dir / "metrics.jsonl").read_text().splitlines()) if r["kind"] == "train"]


def test_bf16_and_fp16_together_are_rejected(tiny_config):
    with pytest.raises(ConfigError, match="train.bf16=false --set train.fp16=true"):
        Trainer(tiny_config("name=both", "train.bf16=true", "train.fp16=true"))


def test_fp16_runs_the_convs_in_half_precision_and_the_loss_goes_down(tiny_config):
    cfg = tiny_config("name=learn16", *FP16, "train.steps=60", "train.eval_every=60", "train.checkpoint_every=60",
                      "train.lr=0.003", "train.lr_schedule=constant", "train.log_every=10")
    t = Trainer(cfg)
    with autocast_context(cfg, t.device):
        assert torch.nn.Conv2d(1, 2, 3)(torch.rand(1, 1, 5, 5)).dtype == torch.float16
    res = t.fit()
    records = _train_records(res.run_dir)
    assert records[-1]["loss"] < 0.7 * records[0]["loss"]
    assert records[-1]["grad_scale"] > 0 and records[-1]["fp16_skipped_steps"] == 0
    ck = load_checkpoint(res.run_dir / "checkpoints" / "last")
    assert ck.extra_state["grad_scaler"]["scale"] == records[-1]["grad_scale"]


def test_fp16_resume_is_exact(tiny_config, monkeypatch, interrupt_fit):
    # a small growth interval makes the scale change during the run, so the resumed run must restore it
    monkeypatch.setattr(torch.amp.GradScaler, "__init__", _scaler_defaults(growth_interval=2))
    full = Trainer(tiny_config("name=full", *FP16)).fit()
    scales = [r["grad_scale"] for r in _train_records(full.run_dir)]
    assert len(set(scales)) > 1, scales
    t = Trainer(tiny_config("name=part", *FP16))
    interrupt_fit(t, at_step=4)
    resumed = Trainer(tiny_config("name=part", *FP16), resume=True)
    assert resumed.step == 3 and resumed.scaler.get_scale() == scales[3]  # the scale before step 4
    resumed.fit()
    ref = _params(load_run(full.run_dir, which="last")[0])
    got = _params(resumed.model)
    assert all(torch.equal(got[k], ref[k]) for k in ref)
    assert [r["grad_scale"] for r in _train_records(resumed.run_dir)] == scales


def _scaler_defaults(**defaults):
    real = torch.amp.GradScaler.__init__

    def init(self, *args, **kwargs):
        real(self, *args, **{**kwargs, **defaults})

    return init


def _poison(monkeypatch, bad_steps, value=float("inf")):
    from odevideo.methods import METHODS

    method = METHODS["latent_ode_vae"]
    real = method.losses

    def poisoned(cfg, model, critics, batch, noise, step, rng):
        out = real(cfg, model, critics, batch, noise, step, rng)
        if step in bad_steps:
            out.loss = out.loss * value
        return out

    monkeypatch.setattr(method, "losses", poisoned)


def test_a_non_finite_fp16_step_is_skipped_not_fatal(tiny_config, monkeypatch):
    t = Trainer(tiny_config("name=skip", *FP16, "train.steps=4"))
    _poison(monkeypatch, {2}, float("nan"))
    seen = []
    real_step = t._train_step

    def watch():
        before = _params(t.model)
        out = real_step()
        seen.append((t.step, all(torch.equal(before[k], v) for k, v in _params(t.model).items())))
        return out

    monkeypatch.setattr(t, "_train_step", watch)
    res = t.fit()
    assert res.step == 4
    assert seen == [(0, False), (1, False), (2, True), (3, False)]  # step 2 left every parameter as it was
    rec = _train_records(res.run_dir)
    assert [r["fp16_skipped_steps"] for r in rec] == [0, 0, 1, 1]
    assert rec[3]["grad_scale"] == rec[2]["grad_scale"] / 2
    # the optimizer did not count the skipped step either (AdamW's step counter)
    state = t.opt.state_dict()["state"]
    assert all(float(s["step"]) == 3 for s in state.values())


def test_fp16_stops_after_too_many_skipped_steps_in_a_row(tiny_config, monkeypatch):
    import odevideo.training.step as step_mod

    monkeypatch.setattr(step_mod, "FP16_MAX_SKIPPED_IN_A_ROW", 3)
    t = Trainer(tiny_config("name=diverge", *FP16))
    _poison(monkeypatch, {1, 2, 3, 4, 5})
    with pytest.raises(TrainingDivergedError, match="3 steps in a row up to step 3"):
        t.fit()


def test_fp16_with_gradient_accumulation_and_the_adversarial_step(tmp_path, monkeypatch):
    # GradScaler's initial scale 2**16 overflows this model's fp16 discriminator gradients in step 1 with a batch
    # of 4 but not with micro-batches of 2 (a legitimate skip that makes the runs differ): start lower
    monkeypatch.setattr(torch.amp.GradScaler, "__init__", _scaler_defaults(init_scale=2.0**8))
    tiny_vid_ode = [
        "data.image_size=16", "data.num_frames=6", "data.val_clips=4", "data.test_clips=4",
        "model.hidden_channels=16", "model.ode_hidden=8", "model.decoder_solver={method: euler, step_size: 0.1}",
        "task.num_observed=3", "loss.disc_channels=8", "loss.disc_downs=2",
        "train.steps=3", "train.batch_size=4", "train.eval_every=3", "train.checkpoint_every=3", "train.log_every=1",
        "train.progress=false", "train.max_minutes=null", "train.bf16=false", "train.fp16=true",
        "eval.num_sample_clips=2", f"output_dir={tmp_path}",
    ]
    runs = {}
    for accum in (1, 2):
        cfg = load_config(ExperimentConfig, "vid_ode_bb32_extrap", None,
                          [*tiny_vid_ode, f"name=a{accum}", f"train.grad_accum_steps={accum}"])
        t = Trainer(cfg)
        assert t.critics is not None and t.scaler is not None
        critics_before = {k: v.clone() for k, v in t.critics.state_dict().items()}
        res = t.fit()
        ck = load_checkpoint(res.run_dir / "checkpoints" / "last")
        assert "grad_scaler" in ck.extra_state
        assert any(not torch.equal(critics_before[k], v) for k, v in t.critics.state_dict().items())  # D stepped
        runs[accum] = _train_records(res.run_dir)
    # 2 micro-batches of 2 clips take the steps of 1 batch of 4 (up to fp16 rounding of the losses)
    assert [r["fp16_skipped_steps"] for r in runs[1] + runs[2]] == [0] * 6
    for a, b in zip(runs[1], runs[2]):
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-3)
        assert a["disc_loss"] == pytest.approx(b["disc_loss"], rel=1e-3)
