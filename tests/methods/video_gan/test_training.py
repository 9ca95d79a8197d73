"""Video GANs (TGAN / MoCoGAN with original, ODE and SDE temporal generators) through the trainer and CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from odevideo.checkpoints import load_checkpoint
from odevideo.cli.main import main
from odevideo.errors import ConfigError, InputError
from odevideo.methods import get_method
from odevideo.training import ExperimentConfig, Trainer, load_config, load_run
from odevideo.training.config import applicable_overrides

# 16x16 bouncing balls, 16 frames (TGAN's original temporal generator makes exactly 16), narrow networks.
TINY_GAN = [
    "data.dataset=bouncing_balls", "data.image_size=16", "data.num_frames=16", "data.val_clips=8",
    "data.test_clips=8", "model.gen_channels=16", "loss.disc_channels=8", "validation.samples=8",
    "train.steps=4", "train.batch_size=2", "train.eval_every=2", "train.checkpoint_every=2", "train.log_every=1",
    "train.progress=false", "train.max_minutes=null", "train.bf16=false", "eval.batch_size=8",
    "eval.num_sample_clips=2",
]
GAN_PRESETS = ["tgan_ode_mmnist32", "tgan_mmnist32", "tgan_sde_mmnist32", "mocogan_ode_mmnist32",
               "mocogan_mmnist32", "mocogan_ode2_mmnist32"]


def _build(cfg):
    return get_method(cfg.method).build(cfg)


def _cfg(tmp_path, preset, *extra) -> ExperimentConfig:
    tail = [f"output_dir={tmp_path}", *extra]  # after TINY_GAN, so that a test's own overrides win
    cfg = load_config(ExperimentConfig, preset, None, applicable_overrides(preset, [*TINY_GAN, *tail]))
    # a preset's ProGAN group of 4 frames needs 4 clips: groups of 2 in 2 clips
    if getattr(cfg.loss, "minibatch_std", 0) > 2:
        overrides = applicable_overrides(preset, [*TINY_GAN, "loss.minibatch_std=2", *tail])
        cfg = load_config(ExperimentConfig, preset, None, overrides)
    return cfg


@pytest.mark.parametrize("preset", GAN_PRESETS)
def test_gan_preset_trains_validates_and_keeps_best(tmp_path, preset):
    res = Trainer(_cfg(tmp_path, preset, "name=g")).fit()
    assert res.step == 4
    vals = [json.loads(ln) for ln in (res.run_dir / "metrics.jsonl").read_text().splitlines()]
    scores = [r["val_score"] for r in vals if r["kind"] == "val"]
    assert len(scores) == 2 and all(np.isfinite(scores))
    assert res.best_val_mse == pytest.approx(min(scores))
    # the log names the running best after the score it tracks (no "best_val_mse" for a pixel_fd)
    best = [r["best_val_score"] for r in vals if r["kind"] == "val"]
    assert best[-1] == pytest.approx(min(scores)) and all("best_val_mse" not in r for r in vals)
    ck = load_checkpoint(res.run_dir / "checkpoints" / "last")
    assert set(ck.extra_state["critics"]) and ck.extra_state["critics_optimizer"]["state"]
    train = [r for r in vals if r["kind"] == "train"]
    assert all(np.isfinite(r["loss"]) and np.isfinite(r["disc_loss"]) for r in train)
    model, cfg = load_run(res.run_dir)
    assert cfg.method in ("tgan", "mocogan") and (res.run_dir / "samples" / "step_000004.gif").exists()


@pytest.mark.parametrize("ema", [[], ["train.ema_decay=0.9"]], ids=["raw", "ema"])
def test_gan_run_resumes_exactly(tmp_path, interrupt_fit, ema):
    full = Trainer(_cfg(tmp_path, "mocogan_ode_mmnist32", "name=full", *ema)).fit()
    t = Trainer(_cfg(tmp_path, "mocogan_ode_mmnist32", "name=part", *ema))
    interrupt_fit(t, at_step=3)
    Trainer(_cfg(tmp_path, "mocogan_ode_mmnist32", "name=part", *ema), resume=True).fit()
    a, b = (load_checkpoint(p / "checkpoints" / "last") for p in (full.run_dir, tmp_path / "part"))
    for k, v in a.model_state.items():
        assert torch.equal(b.model_state[k], v), k
    if ema:  # the generator's moving average is the saved model; its trained weights resume too
        for k, v in a.extra_state["trained_model_state"].items():
            assert torch.equal(b.extra_state["trained_model_state"][k], v), k
    for k, v in a.extra_state["critics"].items():
        assert torch.equal(b.extra_state["critics"][k], v), k


def test_alternating_step_scores_the_generator_with_the_updated_discriminator(tmp_path):
    # loss.alternating: the discriminator steps first and the generator is scored by the updated one. With a
    # frozen discriminator (disc_lr = 0) that is the simultaneous step; with a learning one the generator moves
    # differently. TGAN with its video discriminator alone: no frame picks that could differ between the passes.
    def generator_after_one_step(name, *extra):
        t = Trainer(_cfg(tmp_path, "tgan_ode_mmnist32", f"name={name}", "loss.svc_every=0",
                         "loss.kind=nonsaturating", "loss.image_disc=false", "loss.minibatch_std=0",
                         "loss.disc_noise=0",
                         "loss.joint_disc_batch=false", *extra))
        before = torch.cat([p.detach().flatten().clone() for p in t.model.parameters()])
        t._train_step()
        after = torch.cat([p.detach().flatten() for p in t.model.parameters()])
        assert not torch.equal(before, after)
        return after

    frozen = [generator_after_one_step(f"f{a}", f"loss.alternating={a}", "train.disc_lr=0") for a in ("false", "true")]
    torch.testing.assert_close(frozen[0], frozen[1])
    learning = [generator_after_one_step(f"l{a}", f"loss.alternating={a}") for a in ("false", "true")]
    assert not torch.allclose(learning[0], learning[1])


def test_singular_value_clipping_after_discriminator_steps(tmp_path):
    t = Trainer(_cfg(tmp_path, "tgan_ode_mmnist32", "loss.svc_every=1", "name=svc"))
    t._train_step()
    convs = [m for m in t.critics.modules() if isinstance(m, (torch.nn.Conv3d, torch.nn.Conv2d))]
    top = [torch.linalg.matrix_norm(m.weight.detach().flatten(1), ord=2).item() for m in convs]
    assert max(top) <= 1.0 + 1e-4


def test_generate_any_times_and_evaluate_from_the_command_line(tmp_path, capsys):
    Trainer(_cfg(tmp_path, "tgan_ode_mmnist32", "name=g")).fit()
    run = str(tmp_path / "g")
    out = tmp_path / "v.npy"
    assert main(["generate", run, "--num", "3", "--times=-4:15:0.5", "--output", str(out)]) == 0
    v = np.load(out)
    assert v.shape == (3, 39, 1, 16, 16) and v.min() >= 0 and v.max() <= 1
    # the same seed gives the same videos; the frames at integer times match the default 0..15 sampling
    assert main(["generate", run, "--num", "3", "--output", str(tmp_path / "d.npy")]) == 0
    d = np.load(tmp_path / "d.npy")
    np.testing.assert_allclose(v[:, 8::2], d, atol=1e-5)
    assert main(["generate", run, "--num", "2", "--fps-factor", "2", "--output", str(tmp_path / "v.gif")]) == 0
    # a still: one clip per row, its frames left to right (1-px padding), the same pixels as the .npy
    assert main(["generate", run, "--num", "3", "--output", str(tmp_path / "s.png")]) == 0
    from PIL import Image

    still = np.asarray(Image.open(tmp_path / "s.png"))
    assert still.shape[:2] == (3 * 17 + 1, 16 * 17 + 1)
    np.testing.assert_allclose(
        still[18:34, 1 + 17 * 5:17 + 17 * 5].astype(float) / 255, d[1, 5, 0], atol=1 / 255 + 1e-6
    )
    # --scale 3: every pixel becomes a 3x3 block
    assert main(["generate", run, "--num", "3", "--scale", "3", "--output", str(tmp_path / "s3.png")]) == 0
    big = np.asarray(Image.open(tmp_path / "s3.png")).astype(float) / 255
    assert big.shape[:2] == (3 * 49 + 1, 16 * 49 + 1)
    np.testing.assert_allclose(
        big[50:98, 1 + 49 * 5:49 + 49 * 5], np.kron(d[1, 5, 0], np.ones((3, 3))), atol=1 / 255 + 1e-6
    )
    assert main(["generate", run, "--scale", "0", "--output", str(tmp_path / "x.png")]) != 0
    assert "--scale" in capsys.readouterr().err and not (tmp_path / "x.png").exists()
    # --real: the run's own test clips in the same layout, the reference for the samples
    assert main(["generate", run, "--real", "--num", "2", "--output", str(tmp_path / "r.npy")]) == 0
    from odevideo.data.build import build_dataset
    from odevideo.training.batches import batch_from_indices

    cfg = load_run(run)[1]
    want = batch_from_indices(build_dataset(cfg, "test"), range(2), cfg.data.frame_dt).frames
    np.testing.assert_array_equal(np.load(tmp_path / "r.npy"), want.numpy())
    assert main(["generate", run, "--real", "val", "--num", "2", "--output", str(tmp_path / "r.png")]) == 0
    assert main(["generate", run, "--real", "--times=0:3:1", "--output", str(tmp_path / "y.png")]) != 0
    assert "--real" in capsys.readouterr().err and not (tmp_path / "y.png").exists()
    assert main(["generate", run, "--real", "--num", "100000", "--output", str(tmp_path / "z.png")]) != 0
    assert "fewer than --num" in capsys.readouterr().err and not (tmp_path / "z.png").exists()
    assert main(["evaluate", run, "--metric", "pixel_fd", "--repeats", "2", "--samples", "4", "--num-clips", "8"]) == 0
    res = json.loads((tmp_path / "g" / "eval_test" / "eval_generator.json").read_text())
    assert res["metric"] == "pixel_fd" and len(res["values"]) == 2 and res["mean"] > 0


MNIST_DIR = __import__("pathlib").Path(__file__).resolve().parents[3].parent / "shared" / "data" / "mnist"


def test_digit_consistency_from_the_command_line(tmp_path, capsys):
    # a tiny TGAN-ODE on 16x16 Moving MNIST; the digit classifier trained briefly, saved, then loaded by the CLI
    if not (MNIST_DIR / "train-labels-idx1-ubyte.gz").is_file():
        pytest.skip(f"real MNIST files not found in {MNIST_DIR}")
    from odevideo.methods.video_gan.digit_scores import fit_digit_classifier

    mm = ["data.dataset=moving_mnist", f"data.data_dir={MNIST_DIR}", "data.num_digits=1", "train.steps=2"]
    cfg = _cfg(tmp_path, "tgan_ode_mmnist32", "name=d", *mm)
    Trainer(cfg).fit()
    clf_path = tmp_path / "clf"
    clf, info = fit_digit_classifier(cfg, path=clf_path, train_clips=60, val_clips=20, steps=20, width=4,
                                     log=lambda m: None)
    assert info["val_frames"] == 80 and 0 <= info["val_accuracy"] <= 1 and (tmp_path / "clf.safetensors").is_file()
    again, info2 = fit_digit_classifier(cfg, path=clf_path, log=lambda m: None)  # loaded, not retrained
    assert info2 == info
    x = torch.rand(3, 1, 16, 16)
    torch.testing.assert_close(again(x), clf(x))
    run = str(tmp_path / "d")
    assert main(["evaluate", run, "--metric", "digit_consistency", "--digit-classifier", str(clf_path),
                 "--repeats", "2", "--samples", "4", "--num-clips", "8"]) == 0
    res = json.loads((tmp_path / "d" / "eval_test" / "eval_digits.json").read_text())
    assert res["classifier"] == info and res["real_clips"] == 8 and res["real"]["clips"] == 8
    assert len(res["generated"]["consistency"]["values"]) == 2
    assert all(1 / 16 <= v <= 1 for v in res["generated"]["consistency"]["values"])
    assert "consistency: generated" in capsys.readouterr().out
    # digit_fd: the frame Frechet protocol on the classifier's features (its own file; frame_fid's is not touched)
    from odevideo.methods.video_gan.generation import sample_videos
    from odevideo.metrics.frechet import frechet_distance, gaussian_stats

    assert main(["evaluate", run, "--metric", "digit_fd", "--digit-classifier", str(clf_path),
                 "--repeats", "1", "--samples", "4", "--num-clips", "8"]) == 0
    fd = json.loads((tmp_path / "d" / "eval_test" / "eval_digit_fd.json").read_text())
    assert fd["metric"] == "digit_fd" and len(fd["values"]) == 1 and fd["values"][0] > 0
    assert again.embed(x).shape == (3, 16)  # 4 * width
    # as the validation metric: the checkpoint is chosen by it, and the score is the Frechet distance of the
    # classifier's features of the validation clips and of the fixed-seed samples
    t = Trainer(_cfg(tmp_path, "tgan_ode_mmnist32", "name=v", *mm, "validation.metric=digit_fd",
                     f"validation.digit_classifier={clf_path}", "validation.samples=6"))
    res_v = t.fit()
    vals = [json.loads(ln) for ln in (res_v.run_dir / "metrics.jsonl").read_text().splitlines() if '"val"' in ln]
    assert vals and all(v["val_metric"] == "digit_fd" and v["val_score"] > 0 for v in vals)
    with torch.no_grad():
        from odevideo.training.batches import batch_from_indices

        real = batch_from_indices(t.val_set, range(6), cfg.data.frame_dt).frames.flatten(0, 1)
        fake = sample_videos(t.model, 6, None, seed=t.cfg.train.seed + 7919).flatten(0, 1)
        expect = frechet_distance(*gaussian_stats(again.embed(real)), *gaussian_stats(again.embed(fake)))
    assert t.validate()["val_score"] == pytest.approx(float(expect), rel=1e-3)
    with pytest.raises(ConfigError, match="validation.digit_classifier"):
        Trainer(_cfg(tmp_path, "tgan_ode_mmnist32", "name=w", *mm, "validation.metric=digit_fd"))
    # a classifier trained for other frames is refused; runs on other data have no digits to score
    with pytest.raises(ConfigError, match="not a digit classifier"):
        fit_digit_classifier(_cfg(tmp_path, "tgan_ode_mmnist32", "name=e", *mm, "data.image_size=32"), path=clf_path)
    Trainer(_cfg(tmp_path, "tgan_ode_mmnist32", "name=b", "train.steps=2")).fit()
    assert main(["evaluate", str(tmp_path / "b"), "--metric", "digit_consistency", "--digit-classifier",
                 str(clf_path), "--repeats", "1", "--samples", "2", "--num-clips", "4"]) == 2
    assert "1-digit Moving MNIST" in capsys.readouterr().err


def test_original_generators_refuse_other_times(tmp_path, capsys):
    Trainer(_cfg(tmp_path, "tgan_mmnist32", "name=o", "train.steps=2")).fit()
    for times, why in (("--times=-1:3:1", "before the first frame"), ("--times=0:20:1", "past the last frame 15")):
        assert main(["generate", str(tmp_path / "o"), times, "--output", str(tmp_path / "x.gif")]) == 2
        assert why in capsys.readouterr().err
    assert main(["generate", str(tmp_path / "o"), "--fps-factor", "2", "--output", str(tmp_path / "x.gif")]) == 2
    assert "is not a whole frame" in capsys.readouterr().err
    assert not (tmp_path / "x.gif").exists()
    # MoCoGAN's GRU makes whole frames past the training length: 24 frames from a 16-frame run
    Trainer(_cfg(tmp_path, "mocogan_mmnist32", "name=m", "train.steps=2")).fit()
    args = ["generate", str(tmp_path / "m"), "--times=0:23:1", "--num", "2", "--output", str(tmp_path / "m.npy")]
    assert main(args) == 0
    assert np.load(tmp_path / "m.npy").shape == (2, 24, 1, 16, 16)


def test_alternating_gan_step_under_fp16_scales_both_updates_and_resumes(tmp_path, interrupt_fit):
    """loss.alternating (discriminators step, then the generator) with fp16: one scaler serves both optimizers."""
    fp16 = ["train.fp16=true", "loss.alternating=true"]
    full = Trainer(_cfg(tmp_path, "mocogan_ode_mmnist32", "name=full", *fp16)).fit()
    recs = [json.loads(ln) for ln in (full.run_dir / "metrics.jsonl").read_text().splitlines()]
    train = [r for r in recs if r["kind"] == "train"]
    assert len(train) == 4 and all("grad_scale" in r for r in train)
    ck = load_checkpoint(full.run_dir / "checkpoints" / "last")
    assert "grad_scaler" in ck.extra_state
    assert all(torch.isfinite(v).all() for v in ck.model_state.values() if v.is_floating_point())
    t = Trainer(_cfg(tmp_path, "mocogan_ode_mmnist32", "name=part", *fp16))
    interrupt_fit(t, at_step=3)
    Trainer(_cfg(tmp_path, "mocogan_ode_mmnist32", "name=part", *fp16), resume=True).fit()
    part = load_checkpoint(tmp_path / "part" / "checkpoints" / "last")
    for k, v in ck.model_state.items():
        torch.testing.assert_close(part.model_state[k], v, rtol=0, atol=0)


def test_image_discriminator_option_for_both_gan_families(tmp_path):
    # loss.image_disc: None keeps each family's own discriminators; true gives TGAN MoCoGAN's per-frame D_i too
    # (image_disc_channels / video_disc_channels set the two widths), false drops it from MoCoGAN.
    from odevideo.methods.video_gan.mocogan import MoCoGANImageDiscriminator, MoCoGANVideoDiscriminator
    from odevideo.methods.video_gan.tgan import TGANVideoDiscriminator

    def critics(preset, *extra):
        return Trainer(_cfg(tmp_path, preset, f"name={preset}{len(extra)}", *extra)).critics

    assert list(critics("tgan_ode_mmnist32", "loss.image_disc=null", "loss.minibatch_std=0")) == ["video"]
    assert list(critics("tgan_ode_paper_mmnist32")) == ["video"]  # TGAN's own training keeps TGAN's critic
    assert list(critics("mocogan_ode_mmnist32", "loss.image_disc=null")) == ["image", "video"]
    for preset in GAN_PRESETS:  # the tiny presets: image + video discriminators for both families
        assert list(critics(preset)) == ["image", "video"], preset
        # ... and ProGAN's minibatch standard deviation (groups of 4 frames) in MoCoGAN's image one
        want = 4 if preset.startswith("mocogan") else 0
        assert load_config(ExperimentConfig, preset, None, []).loss.minibatch_std == want, preset
    assert list(critics("mocogan_ode_mmnist32", "loss.image_disc=false", "loss.minibatch_std=0")) == ["video"]
    both = critics("tgan_mmnist32", "loss.image_disc=true", "loss.image_disc_channels=4", "loss.video_disc_channels=6",
                   "loss.image_frames=3", "loss.disc_noise=0")
    assert isinstance(both["image"], MoCoGANImageDiscriminator) and isinstance(both["video"], TGANVideoDiscriminator)
    assert both["image"].main[0].out_channels == 4 and both["video"].main[0].out_channels == 6
    assert isinstance(critics("mocogan_mmnist32")["video"], MoCoGANVideoDiscriminator)
    assert not critics("mocogan_mmnist32")["image"].patch  # the presets' whole-frame one (session 9)
    assert critics("mocogan_mmnist32", "loss.image_disc_patch=true")["image"].patch
    # loss.disc_noise: MoCoGAN's instance noise before every conv of both discriminators
    from odevideo.nn import GaussianInputNoise

    for preset in ("mocogan_ode_mmnist32", "tgan_ode_mmnist32"):
        noisy = critics(preset, "loss.disc_noise=0.1", "loss.image_disc_noise=null")  # null: the same noise
        for role in ("image", "video"):
            sigmas = [m.sigma for m in noisy[role].modules() if isinstance(m, GaussianInputNoise)]
            assert sigmas and set(sigmas) == {0.1}, (preset, role)
    with pytest.raises(InputError, match="sigma"):
        critics("mocogan_ode_mmnist32", "loss.disc_noise=-0.1")
    # loss.image_disc_noise: the image discriminator's own noise; the video one keeps loss.disc_noise
    for value, expect in (("0", set()), ("0.05", {0.05})):
        split = critics("mocogan_ode_mmnist32", "loss.disc_noise=0.2", f"loss.image_disc_noise={value}")
        assert {m.sigma for m in split["image"].modules() if isinstance(m, GaussianInputNoise)} == expect
        assert {m.sigma for m in split["video"].modules() if isinstance(m, GaussianInputNoise)} == {0.2}
    # loss.video_batch: the video discriminator scores the first clips of the step, the image one frames of all;
    # at most video_batch: a loss call with fewer clips gives the video discriminator all of them
    for video_batch, video_clips in ((2, 2), (7, 6)):
        t = Trainer(_cfg(tmp_path, "mocogan_ode_mmnist32", f"name=vb{video_batch}", "train.batch_size=6",
                         f"loss.video_batch={video_batch}", "loss.image_frames=1", "loss.joint_disc_batch=true"))
        sizes = {role: [] for role in t.critics}
        for role, d in t.critics.items():
            d.register_forward_pre_hook(lambda _m, args, _r=role, _s=sizes: _s[_r].append(args[0].shape[0]))
        t._train_step()
        assert sizes == {"image": [12, 12], "video": [2 * video_clips] * 2}, video_batch
    for bad in ("0", "-1", "true"):
        with pytest.raises(ConfigError, match="loss.video_batch"):
            Trainer(_cfg(tmp_path, "mocogan_ode_mmnist32", f"name=vb{bad}", f"loss.video_batch={bad}"))
    # loss.joint_disc_batch: every discriminator call of an alternating step scores real and fake clips together
    t = Trainer(_cfg(tmp_path, "mocogan_ode_mmnist32", "name=joint", "loss.joint_disc_batch=true"))
    sizes = {role: [] for role in t.critics}
    for role, d in t.critics.items():
        d.register_forward_pre_hook(lambda _m, args, _r=role: sizes[_r].append(args[0].shape[0]))
    t._train_step()
    b, k = t.cfg.train.batch_size, t.cfg.loss.image_frames
    assert sizes == {"image": [2 * b * k, 2 * b * k], "video": [2 * b, 2 * b]}
    # loss.real_label: one-sided label smoothing of the nonsaturating loss only, refused where it would be ignored
    for bad in ("loss.real_label=0.5", "loss.real_label=1.1", "loss.real_label=true"):
        with pytest.raises(ConfigError, match="loss.real_label"):
            Trainer(_cfg(tmp_path, "mocogan_ode_mmnist32", "name=rl", bad))
    with pytest.raises(ConfigError, match="nonsaturating"):
        Trainer(_cfg(tmp_path, "mocogan_ode_mmnist32", "name=rl", "loss.real_label=0.9", "loss.kind=hinge"))
    with pytest.raises(ConfigError, match="unknown config key 'loss.real_label'"):  # TGANv2's step has none
        load_config(ExperimentConfig, "tganv2_mmnist32", None, ["loss.real_label=0.9"])
    t = Trainer(_cfg(tmp_path, "mocogan_ode_mmnist32", "name=rl9", "loss.real_label=0.9"))
    assert np.isfinite(t._train_step()["disc_loss"])
    # loss.minibatch_std: a layer of the image discriminator whose groups divide the step's frames
    t = Trainer(_cfg(tmp_path, "mocogan_ode_mmnist32", "name=mb", "loss.minibatch_std=2"))
    assert t.critics["image"].minibatch_std == 2 and np.isfinite(t._train_step()["disc_loss"])
    for bad, match in (("loss.minibatch_std=1", "group size >= 2"), ("loss.minibatch_std=4", "make it a divisor")):
        with pytest.raises(ConfigError, match=match):
            Trainer(_cfg(tmp_path, "mocogan_ode_mmnist32", "name=mb", bad))
    with pytest.raises(ConfigError, match="image_disc=true"):
        Trainer(_cfg(tmp_path, "tgan_ode_mmnist32", "name=mb", "loss.minibatch_std=2", "loss.image_disc=false"))
    # model.motion_norm reaches MoCoGAN's generator
    t = Trainer(_cfg(tmp_path, "mocogan_ode_mmnist32", "name=mn", "model.motion_norm=tanh"))
    assert t.model.motion_norm == "tanh"
    t = Trainer(_cfg(tmp_path, "tgan_ode_mmnist32", "name=tgan_img", "loss.image_disc=true", "loss.image_frames=3"))
    metrics = t._train_step()
    assert {"image_real", "image_fake", "video_real", "video_fake"} <= set(metrics)
    assert all(p.grad is not None for p in t.critics["image"].parameters())


# TGANv2 (the issue-4 stretch): 16x16 frames from a 2x2 map over 3 levels, 4 clips (4, 2, 1 clips per level)
TGANV2_PRESETS = ["tganv2_mmnist32", "tganv2_ode_mmnist32", "tganv2_ode2_mmnist32", "tganv2_sde_mmnist32"]
TINY_TGANV2 = [
    "model.map_size=2", "model.map_channels=8", "model.latent_dim=16", "model.gen_channels=8", "train.batch_size=4"
]


@pytest.mark.parametrize("preset", TGANV2_PRESETS)
def test_tganv2_presets_train_and_generate_at_any_times(tmp_path, preset):
    from odevideo.methods.video_gan.tganv2 import TGANv2Generator, TGANv2MultiLevelDiscriminator

    res = Trainer(_cfg(tmp_path, preset, "name=v", *TINY_TGANV2)).fit()
    recs = [json.loads(ln) for ln in (res.run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["kind"] for r in recs].count("val") == 2
    train = [r for r in recs if r["kind"] == "train"]
    assert all(np.isfinite(r["loss"]) and np.isfinite(r["disc_loss"]) and r["video_r1"] >= 0 for r in train)
    assert {"level0_real", "level2_fake"} <= set(train[-1])
    model, cfg = load_run(res.run_dir)
    assert isinstance(model, TGANv2Generator) and cfg.method == "tganv2"
    critics = Trainer(_cfg(tmp_path, preset, "name=c", *TINY_TGANV2)).critics
    assert list(critics) == ["video"] and isinstance(critics["video"], TGANv2MultiLevelDiscriminator)
    out = tmp_path / "v.npy"
    times = ["--times=-2:15:0.5"] if cfg.model.temporal != "original" else []
    assert main(["generate", str(res.run_dir), "--num", "3", *times, "--output", str(out)]) == 0
    v = np.load(out)
    assert v.shape == (3, 35 if times else 16, 1, 16, 16) and v.min() >= 0 and v.max() <= 1


def test_tganv2_run_resumes_exactly_and_refuses_other_gan_steps(tmp_path, interrupt_fit):

    full = Trainer(_cfg(tmp_path, "tganv2_sde_mmnist32", "name=full", *TINY_TGANV2)).fit()
    t = Trainer(_cfg(tmp_path, "tganv2_sde_mmnist32", "name=part", *TINY_TGANV2))
    interrupt_fit(t, at_step=3)
    Trainer(_cfg(tmp_path, "tganv2_sde_mmnist32", "name=part", *TINY_TGANV2), resume=True).fit()
    a, b = (load_checkpoint(p / "checkpoints" / "last") for p in (full.run_dir, tmp_path / "part"))
    for k, v in a.model_state.items():
        assert torch.equal(b.model_state[k], v), k
    for k, v in a.extra_state["critics"].items():
        assert torch.equal(b.extra_state["critics"][k], v), k
    for option in ("loss.alternating=true", "loss.image_disc=true", "loss.svc_every=5"):
        with pytest.raises(ConfigError, match=f"unknown config key '{option.split('=')[0]}'"):
            load_config(ExperimentConfig, "tganv2_mmnist32", None, [option])


def test_tganv2_ucf101_preset_trains_on_a_local_ucf101_tree(tmp_path):
    # the official layout (UCF-101/<class>/*.avi + ucfTrainTestlist/), 4 tiny videos, fold 1
    from odevideo.data import write_video

    root = tmp_path / "ucf"
    frames = torch.rand(20, 3, 64, 85, generator=torch.Generator().manual_seed(0))
    for cls, groups in {"ApplyEyeMakeup": ["g08_c01", "g01_c01"], "YoYo": ["g09_c02", "g02_c01"]}.items():
        for g in groups:
            write_video(root / "UCF-101" / cls / f"v_{cls}_{g}.avi", frames, fps=25)
    lists = root / "ucfTrainTestlist"
    lists.mkdir()
    (lists / "classInd.txt").write_text("1 ApplyEyeMakeup\n2 YoYo\n")
    (lists / "trainlist01.txt").write_text("ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1\nYoYo/v_YoYo_g09_c02.avi 2\n")
    (lists / "testlist01.txt").write_text("ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi\nYoYo/v_YoYo_g02_c01.avi\n")
    small = [f"data.data_dir={root}", "data.image_size=16", "model.levels=2", "model.map_size=4",
             "model.map_channels=8",
             "model.latent_dim=16", "model.gen_channels=8", "loss.disc_channels=4", "validation.metric=pixel_fd",
             "train.batch_size=4", "train.steps=2", "train.eval_every=2", "train.checkpoint_every=2",
             "train.progress=false", "train.bf16=false", "eval.num_sample_clips=1", f"output_dir={tmp_path}"]
    cfg = load_config(ExperimentConfig, "tganv2_ode_ucf101", None, small)
    t = Trainer(cfg)
    assert len(t.train_set) == 1 and len(t.val_set) == 1  # every 20th train clip is held out for validation
    assert t.train_set[0].shape == (16, 3, 16, 16)
    res = t.fit()
    assert res.step == 2 and np.isfinite(res.best_val_mse)


def test_gan_frame_dt_sets_the_time_scale_of_ode_and_sde_temporal_generators(tmp_path):
    from odevideo.methods.video_gan.temporal_common import PAPER_FRAME_DT

    def temporal(preset, *extra):
        return _build(_cfg(tmp_path, preset, *extra)).temporal

    assert temporal("tgan_ode_mmnist32").frame_dt == pytest.approx(PAPER_FRAME_DT)  # the paper's [0, 1] for 16 frames
    ode = temporal("tgan_ode_mmnist32", "model.frame_dt=0.01")
    assert ode.frame_dt == 0.01 and ode.solver.step_size == 0.01  # still one RK4 step per frame
    sde = temporal("tgan_sde_mmnist32", "model.frame_dt=0.01")
    assert sde.frame_dt == 0.01 and sde.solver.dt == pytest.approx(0.025 * 0.01 / PAPER_FRAME_DT)
    assert temporal("tganv2_ode_mmnist32", *TINY_TGANV2, "model.frame_dt=0.01").frame_dt == 0.01

    with pytest.raises(ConfigError, match="frame_dt"):  # zero is refused, not replaced by the default
        temporal("tgan_ode_mmnist32", "model.frame_dt=0")


@pytest.mark.parametrize("preset", ["mocogan_ode_mmnist32", "tgan_ode_mmnist32"])
def test_frame_transform_option_trains_resumes_from_its_checkpoint_and_generates(tmp_path, preset):
    res = Trainer(
        _cfg(tmp_path, preset, "name=f", "model.frame_transform=translate", "model.frame_max_shift=0.75")
    ).fit()
    model, cfg = load_run(res.run_dir)  # the checkpoint rebuilds the transform head with its trained weights
    assert cfg.model.frame_transform == "translate" and model.transform.max_shift == 0.75
    assert model.transform.linear.weight.abs().sum() > 0
    clip = model.sample(2, [-1.0, 0.5, 2.0], generator=torch.Generator().manual_seed(0))
    assert clip.shape == (2, 3, 1, 16, 16) and torch.isfinite(clip).all()
    small = Trainer(_cfg(tmp_path, preset, "name=s", "model.frame_transform=affine", "model.sprite_size=8")).model
    assert small.image.image_size == 8 and small(2).shape == (2, 16, 1, 16, 16)
    for option, match in (("model.frame_transform=flow", "frame_transform"),
                          ("model.frame_max_shift=0", "frame_max_shift"),
                          ("model.sprite_size=32", "sprite_size")):
        with pytest.raises(ConfigError, match=match):
            Trainer(_cfg(tmp_path, preset, "name=x", option))
    with pytest.raises(ConfigError, match="sprite_size"):  # a smaller image that nothing moves
        Trainer(_cfg(tmp_path, preset, "name=x", "model.frame_transform=none", "model.sprite_size=8"))


def test_options_of_the_tgan_mocogan_step_are_refused_for_tganv2(tmp_path):
    # TGANv2's generator and multi-level step have no such options: its config has no such keys
    for option in ("model.frame_transform=translate", "loss.image_disc_noise=0.1", "loss.video_batch=2"):
        with pytest.raises(ConfigError, match=f"unknown config key '{option.split('=')[0]}'"):
            load_config(ExperimentConfig, "tganv2_ode_mmnist32", None, [option])


def test_tgan_image_init_chooses_tgans_uniform_or_pytorchs_init(tmp_path):

    paper = _build(_cfg(tmp_path, "tgan_ode_mmnist32", "model.image_init=uniform")).image
    torch_init = _build(_cfg(tmp_path, "tgan_ode_mmnist32")).image  # the preset's
    assert paper.fc_content.weight.abs().max() <= 0.01  # TGAN's Uniform(-0.01, 0.01)
    assert torch_init.fc_content.weight.abs().max() > 0.01  # PyTorch's Kaiming-uniform bound is 1/sqrt(100)
    with pytest.raises(ConfigError, match="model.image_init"):
        _cfg(tmp_path, "tgan_ode_mmnist32", "model.image_init=normal")


def test_each_gan_builds_its_own_original_temporal_generator(tmp_path):
    """TGAN's original temporal generator makes exactly 16 frames (a clear error otherwise); MoCoGAN's GRU any
    number. The ODE in their place takes each GAN's own FCN widths."""
    from odevideo.methods.video_gan.temporal_common import MOCOGAN_FCN_WIDTHS, TGAN_FCN_WIDTHS
    from odevideo.methods.video_gan.temporal_discrete import MoCoGANMotionGenerator, TGANTemporalGenerator

    assert isinstance(_build(_cfg(tmp_path, "tgan_mmnist32")).temporal, TGANTemporalGenerator)
    with pytest.raises(ConfigError, match="exactly 16 frames"):
        _build(_cfg(tmp_path, "tgan_mmnist32", "data.num_frames=8"))
    mocogan = _build(_cfg(tmp_path, "mocogan_mmnist32", "data.num_frames=8"))
    assert isinstance(mocogan.motion, MoCoGANMotionGenerator)
    widths = {}
    for preset, part in (("tgan_ode_mmnist32", "temporal"), ("mocogan_ode_mmnist32", "motion")):
        fcn = getattr(_build(_cfg(tmp_path, preset, "model.fcn=true")), part).fcn
        widths[preset] = tuple(m.out_features for m in fcn if isinstance(m, torch.nn.Linear))[:-1]
    assert widths == {"tgan_ode_mmnist32": TGAN_FCN_WIDTHS, "mocogan_ode_mmnist32": MOCOGAN_FCN_WIDTHS}
