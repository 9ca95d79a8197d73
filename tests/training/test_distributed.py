"""Multi-process training: DDP over gloo on the CPU, launched by the tests with PyTorch's own torchrun.

Each launch is a subprocess ``python -m torch.distributed.run --standalone --nproc-per-node 2 ...`` bounded by
``LAUNCH_TIMEOUT_S``. The model is the tiny test config with ``model.channels=[16,16]``: with the tiny
config's 8 first-level channels every GroupNorm group holds one channel, which makes the preceding conv
bias a parameter with an exactly zero gradient; Adam turns the float noise of that gradient into lr-sized
steps, so that parameter differs between any two summation orders (one process vs two) by ~1e-3 although
the loss does not depend on it.

Tolerance: one process vs two processes with the same global batch agree to ``ATOL = 1e-5`` on every
parameter after 6 AdamW steps (measured: ~2e-6; the difference is the order of float sums in the
gradient all-reduce). A resumed two-process run equals the uninterrupted one exactly; the same checkpoint
resumed by one process agrees to ``ATOL``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from odevideo.checkpoints import load_checkpoint
from odevideo.errors import ConfigError
from odevideo.training import ExperimentConfig, Trainer, load_config
from odevideo.training.config import applicable_overrides

LAUNCH_TIMEOUT_S = 120
ATOL = 1e-5
DDP_MODEL = ["model.channels=[16,16]"]  # on top of the tiny test overrides (conftest.TINY)

# Runs `odevideo train ARGS...` as one torchrun rank, after optionally sabotaging rank 1 at a given step.
WORKER = r'''
import os, signal, sys
import odevideo.training.trainer as trainer_mod
from odevideo.cli.main import main

mode, at_step, argv = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
rank = int(os.environ["RANK"])
if mode == "kill":  # rank 1 dies like a killed process (no cleanup) before training step at_step + 1
    real_step = trainer_mod.Trainer._train_step

    def step(self):
        if self.step == at_step and rank == 1:
            os.kill(os.getpid(), signal.SIGKILL)
        return real_step(self)

    trainer_mod.Trainer._train_step = step
elif mode == "nan":  # only rank 1 sees a NaN loss at step at_step
    from odevideo.methods import METHODS

    method = METHODS["latent_ode_vae"]
    real_loss = method.losses

    def poisoned(cfg, model, critics, batch, noise, step, rng):
        out = real_loss(cfg, model, critics, batch, noise, step, rng)
        if step == at_step and rank == 1:
            out.loss = out.loss * float("nan")
        return out

    method.losses = poisoned
sys.exit(main(argv))
'''


@pytest.fixture(scope="module")
def ddp(tiny_overrides) -> list[str]:
    return [*tiny_overrides, *DDP_MODEL]


def _train_args(ddp: list[str], out_dir: Path, name: str, *extra: str, resume: bool = False) -> list[str]:
    args = ["train", "--preset", "default", "--output-dir", str(out_dir)]
    for kv in applicable_overrides("default", [*ddp, f"name={name}", *extra]):
        args += ["--set", kv]
    return args + (["--resume"] if resume else [])


def _torchrun(target: list[str], cwd: Path, nproc: int = 2) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    env.pop("WORLD_SIZE", None)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(nproc),
           "--monitor-interval", "0.5", *target]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=LAUNCH_TIMEOUT_S)


def _cli(cwd: Path, args: list[str]) -> subprocess.CompletedProcess:
    proc = _torchrun(["-m", "odevideo", *args], cwd)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def _worker(cwd: Path, mode: str, at_step: int, args: list[str]) -> subprocess.CompletedProcess:
    script = cwd / "ddp_worker.py"
    script.write_text(WORKER)
    return _torchrun([str(script), mode, str(at_step), *args], cwd)


def _params(path: Path) -> dict[str, torch.Tensor]:
    return load_checkpoint(path).model_state


def _records(run_dir: Path, kind: str) -> list[dict]:
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [r for r in map(json.loads, lines) if r["kind"] == kind]


def _config(ddp: list[str], tmp_path: Path, *extra: str) -> ExperimentConfig:
    return load_config(ExperimentConfig, "default", None,
                       applicable_overrides("default", [*ddp, f"output_dir={tmp_path}", *extra]))


def _assert_close(got: dict, ref: dict, atol: float) -> None:
    assert got.keys() == ref.keys()
    worst = max((got[k].double() - ref[k].double()).abs().max().item() for k in ref)
    assert worst <= atol, f"max parameter difference {worst:.3g} > {atol}"


@pytest.fixture(scope="module")
def two_process_run(tmp_path_factory, ddp) -> Path:
    """An uninterrupted 6-step run of `torchrun --nproc-per-node 2 -m odevideo train` (global batch 4)."""
    out = tmp_path_factory.mktemp("ddp")
    proc = _cli(out, _train_args(ddp, out, "ddp"))
    assert "trained 6 steps on 2 processes" in proc.stdout
    assert proc.stdout.count("trained 6 steps") == 1  # only rank 0 reports
    return out / "ddp"


def test_two_processes_match_one_process_with_the_same_global_batch(two_process_run, tmp_path, ddp):
    single = Trainer(_config(ddp, tmp_path, "name=single")).fit()
    _assert_close(
        _params(two_process_run / "checkpoints" / "last"), _params(single.run_dir / "checkpoints" / "last"), ATOL
    )
    # the logged losses are global-batch means in both runs
    got, ref = _records(two_process_run, "train"), _records(single.run_dir, "train")
    assert [r["loss"] for r in got] == pytest.approx([r["loss"] for r in ref], rel=1e-5)
    assert [r["val_mse"] for r in _records(two_process_run, "val")] == pytest.approx(
        [r["val_mse"] for r in _records(single.run_dir, "val")], rel=1e-5)


def test_two_processes_write_one_log_and_one_set_of_checkpoints(two_process_run):
    run = two_process_run
    files = sorted(str(p.relative_to(run)) for p in run.rglob("*") if p.is_file())
    assert files == [
        "checkpoints/best.safetensors", "checkpoints/good.safetensors", "checkpoints/last.safetensors", "config.yaml",
        "metrics.jsonl", "model/config.json", "model/model.safetensors",
        "samples/step_000003.gif", "samples/step_000003.png", "samples/step_000006.gif", "samples/step_000006.png",
    ]
    assert [r["step"] for r in _records(run, "train")] == [1, 2, 3, 4, 5, 6]  # log_every=1: one line per step
    assert [r["step"] for r in _records(run, "val")] == [3, 6]
    extra = load_checkpoint(run / "checkpoints" / "last").extra_state
    assert extra["step"] == 6 and extra["world_size"] == 2


def test_killed_two_process_run_resumes_like_an_uninterrupted_one(two_process_run, tmp_path, ddp):
    killed = _worker(tmp_path, "kill", 4, _train_args(ddp, tmp_path, "ddp"))  # rank 1 dies after step 4
    assert killed.returncode != 0
    run = tmp_path / "ddp"
    assert load_checkpoint(run / "checkpoints" / "last").extra_state["step"] == 3
    one_process = tmp_path / "one"  # the same checkpoint, resumed by a single process (same global batch)
    shutil.copytree(run, one_process / "ddp")
    _cli(tmp_path, _train_args(ddp, tmp_path, "ddp", resume=True))
    got, ref = _params(run / "checkpoints" / "last"), _params(two_process_run / "checkpoints" / "last")
    for k in ref:
        assert torch.equal(got[k], ref[k]), k
    assert [r["step"] for r in _records(run, "train")] == [1, 2, 3, 4, 5, 6]
    resumed = Trainer(_config(ddp, one_process, "name=ddp"), resume=True).fit()
    _assert_close(_params(resumed.run_dir / "checkpoints" / "last"), ref, ATOL)


def test_nan_on_one_rank_stops_every_rank_without_deadlock(tmp_path, ddp):
    proc = _worker(tmp_path, "nan", 4, _train_args(ddp, tmp_path, "nan"))  # bounded by LAUNCH_TIMEOUT_S
    assert proc.returncode != 0
    assert proc.stderr.count("loss became nan at step 4") == 2, proc.stderr[-3000:]  # both ranks raise
    assert load_checkpoint(tmp_path / "nan" / "checkpoints" / "last").extra_state["step"] == 3


def test_fp16_nan_on_one_rank_skips_the_step_on_every_rank_with_workers_and_cache(tmp_path, ddp):
    """fp16: a NaN loss on rank 1 only makes every rank skip that step (the gradient scaler's decision follows
    the all-reduced gradients), and the run goes on. Batches come from DataLoader workers; rank 0 fills the
    data cache (the validation split) and rank 1 then reads it."""
    extra = ["train.fp16=true", "train.num_workers=1", f"data.cache_dir={tmp_path / 'cache'}"]
    proc = _worker(tmp_path, "nan", 2, _train_args(ddp, tmp_path, "fp16", *extra))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    rec = _records(tmp_path / "fp16", "train")
    assert [r["fp16_skipped_steps"] for r in rec] == [0, 0, 1, 1, 1, 1]
    assert rec[3]["grad_scale"] == rec[2]["grad_scale"] / 2
    ck = load_checkpoint(tmp_path / "fp16" / "checkpoints" / "last")
    assert ck.extra_state["grad_scaler"]["scale"] == rec[2]["grad_scale"] / 2
    assert sorted(p.suffix for p in (tmp_path / "cache").iterdir() if not p.name.startswith(".")) == [".json", ".npy"]


def test_two_processes_with_two_micro_batches_equal_one_process_with_one_batch(tmp_path, ddp):
    """2 processes x 2 micro-batches of 1 clip = 1 process x 4 clips, for the deterministic model with irregular
    (masked) frames, where each micro-batch's loss must be weighted by its number of observed target frames."""
    extra = ["method=encoder_ode_decoder", "data.drop_prob=0.4", "train.steps=4", "train.eval_every=4",
             "train.checkpoint_every=4"]
    _cli(tmp_path, _train_args(ddp, tmp_path, "accum", *extra, "train.grad_accum_steps=2"))
    single = Trainer(_config(ddp, tmp_path, "name=single", *extra)).fit()
    _assert_close(
        _params(tmp_path / "accum" / "checkpoints" / "last"), _params(single.run_dir / "checkpoints" / "last"), ATOL
    )
    got, ref = _records(tmp_path / "accum", "train"), _records(single.run_dir, "train")
    assert [r["loss"] for r in got] == pytest.approx([r["loss"] for r in ref], rel=1e-5)


# ---------------------------------------------------------------------------------- in one process


@pytest.mark.parametrize("family", ["latent_ode_vae", "encoder_ode_decoder"])
def test_gradient_accumulation_in_one_process_equals_the_full_batch(tmp_path, ddp, family):
    extra = [f"method={family}", "data.drop_prob=0.4", "train.steps=3", "train.eval_every=3",
             "train.checkpoint_every=3"]
    full = Trainer(_config(ddp, tmp_path, "name=full", *extra)).fit()
    accum = Trainer(_config(ddp, tmp_path, "name=accum", *extra, "train.grad_accum_steps=4")).fit()
    _assert_close(_params(accum.run_dir / "checkpoints" / "last"), _params(full.run_dir / "checkpoints" / "last"), ATOL)


def test_batch_size_must_split_into_equal_micro_batches(tmp_path, ddp):
    with pytest.raises(ConfigError, match="multiple of 3"):
        Trainer(_config(ddp, tmp_path, "train.grad_accum_steps=3"))
    with pytest.raises(ConfigError, match="grad_accum_steps"):
        Trainer(_config(ddp, tmp_path, "train.grad_accum_steps=0"))
    for key in ("train.eval_every", "train.checkpoint_every"):
        with pytest.raises(ConfigError, match=key):
            Trainer(_config(ddp, tmp_path, f"{key}=0"))


def test_training_batch_shards_are_slices_of_the_global_batch(tmp_path, ddp):
    from odevideo.methods import get_method
    from odevideo.training import build_dataset
    from odevideo.training.batches import training_batch

    cfg = _config(ddp, tmp_path, "data.drop_prob=0.4")
    ds = build_dataset(cfg, "train")
    whole = training_batch(cfg, ds, 7)
    parts = [training_batch(cfg, ds, 7, slice(i, i + 1)) for i in range(cfg.train.batch_size)]
    assert torch.equal(torch.cat([p.frames for p in parts]), whole.frames)
    assert torch.equal(torch.cat([p.mask for p in parts]), whole.mask)
    assert not whole.mask.all()
    assert torch.equal(get_method(cfg.method).training_noise(cfg, 7), get_method(cfg.method).training_noise(cfg, 7))
    assert not torch.equal(get_method(cfg.method).training_noise(cfg, 7), get_method(cfg.method).training_noise(cfg, 8))


def test_given_noise_reproduces_the_models_own_sampling(tmp_path, ddp):
    """The ELBO with Task.noise runs the same computation as LatentODEVAE.forward(sample=True)."""
    from odevideo.data.tasks import make_task
    from odevideo.methods import get_method
    from odevideo.methods.latent_ode.elbo import elbo_loss
    from odevideo.training import build_dataset
    from odevideo.training.batches import training_batch

    cfg = _config(ddp, tmp_path)
    torch.manual_seed(0)
    model = get_method(cfg.method).build(cfg)
    task = make_task(training_batch(cfg, build_dataset(cfg, "train"), 0), "prediction", cfg.task.num_observed)
    torch.manual_seed(123)
    own = elbo_loss(model, task)
    torch.manual_seed(123)
    task.noise = torch.randn(task.context_frames.shape[0], cfg.model.latent_dim)
    given = elbo_loss(model, task)
    assert torch.equal(own.loss, given.loss)
    assert torch.equal(own.prediction.frames, given.prediction.frames)


def test_device_selection_and_seeds():
    from odevideo.training.distributed import rank_seed, select_device

    assert select_device("cpu") == torch.device("cpu")
    if not torch.cuda.is_available():
        assert select_device("auto", local_rank=1, world_size=2) == torch.device("cpu")
        with pytest.raises(ConfigError, match="CUDA is not available"):
            select_device("cuda")
    with pytest.raises(ConfigError, match="not a device"):
        select_device("tpu")
    seeds = {rank_seed(0, step, rank, micro) for step in range(50) for rank in range(4) for micro in range(4)}
    assert len(seeds) == 50 * 4 * 4 and all(0 <= s < 2**63 for s in seeds)


# ---------------------------------------------------------------------------------- several networks
# The adversarial step (generator + discriminators, two optimizers) sums its gradients over the ranks with one
# flat all-reduce instead of DDP's reducer (trainer module docstring).

VID_ODE_DDP = [
    "data.image_size=16", "data.num_frames=6", "data.val_clips=4", "data.test_clips=4",
    "model.hidden_channels=64", "model.ode_hidden=8", "model.decoder_solver={method: euler, step_size: 0.1}",
    "task.num_observed=3", "loss.disc_channels=8", "loss.disc_downs=2",
    "train.steps=3", "train.batch_size=4", "train.eval_every=3", "train.checkpoint_every=3", "train.log_every=1",
    "train.progress=false", "train.max_minutes=null", "train.bf16=false", "eval.num_sample_clips=2",
]


def _preset_args(preset: str, out_dir: Path, name: str, overrides: list[str]) -> list[str]:
    args = ["train", "--preset", preset, "--output-dir", str(out_dir)]
    for kv in [*overrides, f"name={name}"]:
        args += ["--set", kv]
    return args


def test_vid_ode_with_discriminators_two_processes_match_one(tmp_path):
    _cli(tmp_path, _preset_args("vid_ode_bb32_extrap", tmp_path, "ddp", VID_ODE_DDP))
    overrides = applicable_overrides("vid_ode_bb32_extrap", [*VID_ODE_DDP, f"output_dir={tmp_path}", "name=one"])
    cfg = load_config(ExperimentConfig, "vid_ode_bb32_extrap", None, overrides)
    Trainer(cfg).fit()
    a, b = (load_checkpoint(tmp_path / n / "checkpoints" / "last") for n in ("ddp", "one"))
    _assert_close(a.model_state, b.model_state, ATOL)
    # Conv biases just before a norm layer get an exactly-zero gradient, which Adamax turns into lr-sized
    # steps of the float noise (module docstring): compare the discriminators' other parameters.
    norm_biases = {k for k in a.extra_state["critics"] if k.endswith(".bias")}
    critics = [{k: v for k, v in c.extra_state["critics"].items() if k not in norm_biases} for c in (a, b)]
    _assert_close(*critics, ATOL)
    got, ref = _records(tmp_path / "ddp", "train"), _records(tmp_path / "one", "train")
    assert [r["loss"] for r in got] == pytest.approx([r["loss"] for r in ref], rel=1e-4)
    assert [r["disc_loss"] for r in got] == pytest.approx([r["disc_loss"] for r in ref], rel=1e-4)


def test_video_gan_trains_on_two_processes(tmp_path):
    """TGAN-ODE on 2 ranks: runs, one set of files. (Its BatchNorm normalises each rank's clips separately,
    as DDP without SyncBatchNorm does, so it is not compared with one process.)"""
    gan = ["data.dataset=bouncing_balls", "data.image_size=16", "data.num_frames=16", "data.val_clips=8",
           "model.gen_channels=16", "loss.disc_channels=8", "validation.samples=8", "train.steps=2",
           "train.batch_size=4",
           "train.eval_every=2", "train.checkpoint_every=2", "train.progress=false", "train.max_minutes=null",
           "train.bf16=false", "eval.num_sample_clips=2", "loss.minibatch_std=2"]  # 2 clips per rank: groups of 2
    proc = _cli(tmp_path, _preset_args("tgan_ode_mmnist32", tmp_path, "gan", gan))
    assert proc.stdout.count("trained 2 steps on 2 processes") == 1
    ck = load_checkpoint(tmp_path / "gan" / "checkpoints" / "last")
    assert ck.extra_state["world_size"] == 2 and "critics" in ck.extra_state


def test_train_command_frees_the_trainer_and_leaves_the_group_before_rank_0_reports(tmp_path, ddp, monkeypatch):
    """`odevideo train` ends the process group on every rank right after fit, with the Trainer (and so the DDP
    wrapper that holds the group) already freed, and only then reports and evaluates on rank 0: a group torn down
    by one rank while another still used it, or at interpreter exit, aborted a rank in gloo's threads in CI."""
    import gc
    import weakref

    import odevideo.training as training
    from odevideo.cli.main import main

    trainers, events = [], []
    real_fit, real_evaluate = training.Trainer.fit, training.evaluate

    def fit(self):
        trainers.append(weakref.ref(self))
        return real_fit(self)

    def shutdown():
        gc.collect()
        events.append(("shutdown", trainers[0]() is None))

    def evaluate(model, cfg):
        events.append(("evaluate", None))
        return real_evaluate(model, cfg)

    monkeypatch.setattr(training.Trainer, "fit", fit)
    monkeypatch.setattr(training.distributed, "shutdown", shutdown)
    monkeypatch.setattr(training, "evaluate", evaluate)
    assert main([*_train_args(ddp, tmp_path, "order"), "--evaluate"]) == 0
    assert events[:2] == [("shutdown", True), ("evaluate", None)]
