"""Training the Vid-ODE families through the generic trainer: presets, the adversarial step, exact resume,
augmentation and the task formulations."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from odevideo.checkpoints import load_checkpoint
from odevideo.cli.main import main as cli_main
from odevideo.configio import list_presets
from odevideo.data import ClipBatch
from odevideo.data.tasks import make_task
from odevideo.errors import InputError
from odevideo.methods import get_method
from odevideo.training import ExperimentConfig, Trainer, evaluate, load_config, load_run
from odevideo.training.batches import augment_clips, training_batch
from odevideo.training.config import applicable_overrides

# 16x16 clips of 6 frames (observe 3); networks a few channels wide.
TINY_VID = [
    "data.image_size=16", "data.num_frames=6", "data.val_clips=4", "data.test_clips=4",
    "model.hidden_channels=8", "model.ode_hidden=8", "model.latent_dim=8",
    "model.solver={method: euler, step_size: 0.1}", "model.decoder_solver={method: euler, step_size: 0.1}",
    "task.num_observed=3", "loss.disc_channels=4", "loss.disc_downs=2",
    "train.steps=4", "train.batch_size=2", "train.eval_every=2", "train.checkpoint_every=2", "train.log_every=1",
    "train.progress=false", "train.max_minutes=null", "train.bf16=false",
    "eval.num_clips=4", "eval.batch_size=4", "eval.num_sample_clips=2",
]


def _cfg(tmp_path, preset: str, *extra: str) -> ExperimentConfig:
    overrides = applicable_overrides(preset, [*TINY_VID, f"output_dir={tmp_path}", *extra])
    return load_config(ExperimentConfig, preset, None, overrides)


VID_PRESETS = sorted(p for p in list_presets() if p.endswith(("bb32_extrap", "bb32_interp")))


def test_every_small_vid_ode_preset_is_listed():
    assert {"vid_ode_bb32_extrap", "vid_ode_bb32_interp", "ode_conv_bb32_extrap", "ode_fc_bb32_interp",
            "convgru_bb32_extrap", "vid_rnn_bb32_interp", "ablation_b_vanilla_bb32_extrap",
            "ablation_c_adversarial_bb32_extrap", "ablation_d_warping_bb32_extrap"} <= set(VID_PRESETS)


@pytest.mark.parametrize("preset", VID_PRESETS)
def test_preset_trains_checkpoints_and_evaluates(tmp_path, preset):
    cfg = _cfg(tmp_path, preset, "name=run")
    res = Trainer(cfg).fit()
    assert res.step == 4 and res.best_val_mse < float("inf")
    model, loaded = load_run(res.run_dir, which="best")
    out = evaluate(model, loaded, num_clips=4)
    sections = out["sections"]
    if cfg.task.formulation == "interpolation":
        assert "interpolation" in sections
    else:
        assert "extrapolation" in sections
    assert all(v["model"]["mse"] >= 0 for v in sections.values())
    # ... and predicts from the command line: frames after the 3 observed ones (t = 0, 0.1, 0.2), off the frame grid
    # too; an interpolating model also between them
    query = ([0.05, 0.15] if getattr(model, "interpolates", True) else []) + [0.25, 0.3, 0.45]
    out = tmp_path / "pred.npy"
    rc = cli_main(["predict", str(res.run_dir), "--sample", "1", "--times", ",".join(map(str, query)),
                   "--output", str(out)])
    assert rc == 0
    frames = np.load(out)
    assert frames.shape[0] == len(query) and frames.shape[-2:] == (16, 16)
    assert np.isfinite(frames).all() and frames.min() >= 0 and frames.max() <= 1


def test_adversarial_run_resumes_exactly_with_its_discriminators(tmp_path, interrupt_fit):
    full = Trainer(_cfg(tmp_path, "vid_ode_bb32_extrap", "name=full")).fit()
    t = Trainer(_cfg(tmp_path, "vid_ode_bb32_extrap", "name=part"))
    interrupt_fit(t, at_step=3)
    resumed = Trainer(_cfg(tmp_path, "vid_ode_bb32_extrap", "name=part"), resume=True)
    assert resumed.step == 2
    resumed.fit()
    ref = load_checkpoint(full.run_dir / "checkpoints" / "last")
    got = load_checkpoint(resumed.run_dir / "checkpoints" / "last")
    for k, v in ref.model_state.items():
        assert torch.equal(got.model_state[k], v), k
    assert ref.extra_state["critics"].keys() == got.extra_state["critics"].keys()
    for k, v in ref.extra_state["critics"].items():
        assert torch.equal(got.extra_state["critics"][k], v), k


def test_adversarial_step_updates_generator_and_discriminators(tmp_path):
    t = Trainer(_cfg(tmp_path, "vid_ode_bb32_extrap", "name=upd"))
    g0 = {k: v.clone() for k, v in t.model.state_dict().items()}
    d0 = {k: v.clone() for k, v in t.critics.state_dict().items()}
    metrics = t._train_step()
    assert {"recon_l1", "diff_l1", "adv_img_g", "adv_seq_d", "disc_loss"} <= set(metrics)
    assert any(not torch.equal(v, t.model.state_dict()[k]) for k, v in g0.items())
    assert any(not torch.equal(v, t.critics.state_dict()[k]) for k, v in d0.items())
    assert isinstance(t.opt_d, torch.optim.Adamax) and isinstance(t.opt, torch.optim.Adamax)


def test_exponential_learning_rate_decay(tmp_path):
    t = Trainer(_cfg(tmp_path, "vid_ode_bb32_extrap", "name=lr", "train.lr_decay_every=2", "train.lr_decay=0.5"))
    lrs = []
    for _ in range(4):
        lrs.append(t.sched.get_last_lr()[0])
        t._train_step()
        t.step += 1
    assert lrs == pytest.approx([1e-3, 1e-3, 5e-4, 5e-4])
    assert t.sched_d.get_last_lr()[0] == pytest.approx(2.5e-4)


def test_discriminators_only_for_vid_ode_families(tmp_path):
    from odevideo.errors import ConfigError

    # the discriminators are options of the Vid-ODE methods' loss: other methods have no such key
    with pytest.raises(ConfigError, match="unknown config key 'loss.image_disc'"):
        load_config(ExperimentConfig, "default", None, ["loss.image_disc=true"])
    cfg = _cfg(tmp_path, "vid_ode_bb32_extrap")
    critics = get_method(cfg.method).build_critics(cfg)
    assert set(critics) == {"image", "sequence"} and critics["sequence"].window == 4  # num_observed + 1


def test_augmentation_is_deterministic_and_independent_of_sharding(tmp_path):
    cfg = _cfg(tmp_path, "vid_ode_bb32_extrap", "data.augment_flip=0.5", "data.augment_rotate_degrees=10",
               "train.batch_size=4")
    ds = __import__("odevideo.data.build", fromlist=["build_dataset"]).build_dataset(cfg, "train")
    whole = training_batch(cfg, ds, step=3)
    halves = torch.cat([training_batch(cfg, ds, 3, slice(0, 2)).frames, training_batch(cfg, ds, 3, slice(2, 4)).frames])
    assert torch.equal(whole.frames, halves)
    plain = _cfg(tmp_path, "vid_ode_bb32_extrap", "train.batch_size=4")
    raw = training_batch(plain, ds, step=3).frames
    assert not torch.equal(raw, whole.frames)  # something was flipped / rotated
    # a flip of probability 1 and no rotation is exactly a horizontal flip of every clip
    flip = _cfg(tmp_path, "vid_ode_bb32_extrap", "data.augment_flip=1.0")
    assert torch.equal(augment_clips(flip, raw, step=0), raw.flip(-1))


def test_task_formulations():
    frames = torch.rand(2, 9, 1, 4, 4)
    times = torch.arange(9.0).expand(2, 9) * 0.1
    batch = ClipBatch(frames, times, torch.ones(2, 9, dtype=torch.bool))
    ext = make_task(batch, "extrapolation", 5)
    assert ext.context_frames.shape[1] == 5 and torch.equal(ext.targets, frames[:, 5:])
    interp = make_task(batch, "interpolation", 5, stride=2)
    assert torch.equal(interp.context_frames, frames[:, ::2]) and torch.equal(interp.targets, frames[:, ::2])
    with pytest.raises(InputError, match="need 11 frames"):
        make_task(batch, "interpolation", 6, stride=2)
    with pytest.raises(InputError, match="frames after"):
        make_task(batch, "extrapolation", 9)


def test_baseline_models_built_from_config(tmp_path):
    for fam, cls in (("ode_fc", "ODEFCBaseline"), ("ode_conv", "ODEConvBaseline"), ("convgru", "ConvGRUBaseline"),
                     ("vid_rnn", "VidRNN"), ("vid_ode", "VidODE")):
        cfg = _cfg(tmp_path, "vid_ode_bb32_extrap", f"method={fam}")  # the preset's data and training, fam's model
        model = get_method(cfg.method).build(cfg)
        assert type(model).__name__ == cls


def test_vid_ode_kth_preset_on_a_tiny_kth_folder(tmp_path):
    """The paper-scale KTH preset (shrunk) trains and evaluates on a KTH layout made on the fly; validation is
    every 20th train clip (held out of training), the test split is persons 17-25."""
    import numpy as np

    from odevideo.data import write_video
    from odevideo.data.build import HOLDOUT_EVERY, build_dataset

    root = tmp_path / "kth"
    rng = np.random.default_rng(0)
    for person in (1, 2, 3, 17):
        clip = torch.from_numpy(rng.random((8, 1, 120, 160), dtype=np.float32))  # KTH frame size
        write_video(root / "walking" / f"person{person:02d}_walking_d1_uncomp.avi", clip, fps=25)
    over = ["data.image_size=16", "data.num_frames=6", "data.channels=1", f"data.data_dir={root}",
            "model.hidden_channels=8", "model.ode_hidden=8", "model.decoder_solver={method: euler, step_size: 0.1}",
            "task.num_observed=3", "loss.disc_channels=4", "loss.disc_downs=2",
            "train.steps=2", "train.batch_size=2", "train.eval_every=2", "train.checkpoint_every=2",
            "train.progress=false", "train.bf16=false", "eval.num_clips=4", "eval.batch_size=2", "eval.lpips=false",
            f"output_dir={tmp_path}", "name=kth"]
    cfg = load_config(ExperimentConfig, "vid_ode_kth", None, applicable_overrides("vid_ode_kth", over))
    train, val, test = (build_dataset(cfg, s) for s in ("train", "val", "test"))
    assert (len(train), len(val), len(test)) == (2, 1, 1) and HOLDOUT_EVERY == 20
    res = Trainer(cfg).fit()
    model, loaded = load_run(res.run_dir)
    assert "extrapolation" in evaluate(model, loaded, num_clips=1)["sections"]
