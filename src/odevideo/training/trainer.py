"""The training loop: steps, logging, validation, samples, checkpoints, exact resume.

Run directory layout (``<output_dir>/<name>/``)::

    config.yaml           the resolved config
    metrics.jsonl         one JSON object per log / validation event
    checkpoints/last.*    latest state (safetensors + json), rewritten atomically
    checkpoints/best.*    best validation score so far (lowest validation MSE)
    samples/step_XXXXXX.{png,gif}   truth (top) vs prediction (bottom) on validation clips

Exact resume: the batch of step s and every random draw inside step s depend only on
(train.seed, s) (and on the process rank and micro-batch index, which a resumed run repeats), and the
checkpoint holds model, optimizer, scheduler, step, (fp16) the gradient scaler and (``train.ema_decay``) the
moving average of the weights. A run resumed from the
checkpoint written after step s continues exactly like the uninterrupted run. Batches are built in this
process or, with ``train.num_workers > 0``, by DataLoader worker processes: the same batches either way
(:class:`~odevideo.training.factory.StepBatches`).

Several processes (``torchrun --nproc-per-node N -m odevideo train ...``): every process builds the same
model and wraps model + loss in ``DistributedDataParallel`` (gloo on CPU, nccl on CUDA). The global batch
of a step is ``train.batch_size`` clips whatever N is (:func:`training_plan`); it is cut into
``N * train.grad_accum_steps`` equal, contiguous micro-batches, process r running micro-batches
``r*A .. r*A+A-1``. Each micro-batch's loss is weighted by its share of the global batch
(:func:`loss_normalizer`) so that the averaged gradient is the gradient of the global batch's loss, and
the VAE's sampling noise is drawn for the global batch and sliced (:func:`training_noise`): N processes
take the same steps as one, up to the order of floating-point sums. Only rank 0 writes files (config,
log, samples, checkpoints) and shows progress; validation is split over the ranks and summed; stopping
(signal, time budget, non-finite loss) is decided collectively, so all ranks stop after the same step.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import signal
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from odevideo.data import make_grid, save_image, write_video
from odevideo.errors import CheckpointError, ConfigError, TrainingDivergedError
from odevideo.objectives.vid_ode import VidODELosses, backward_gan
from odevideo.training import distributed
from odevideo.training.checkpoint import load_checkpoint, save_checkpoint
from odevideo.training.config import ExperimentConfig
from odevideo.training.configio import from_dict, save_config, to_dict
from odevideo.training.ema import build_ema
from odevideo.training.factory import (
    GAN_FAMILIES,
    StepBatches,
    autocast_context,
    autocast_dtype,
    gan_losses,
    video_clips,
    batch_from_indices,
    build_critics,
    build_dataset,
    build_model,
    compute_loss,
    conditional_video_losses,
    loss_normalizer,
    micro_batch_rows,
    step_batch_loader,
    task_of,
    training_noise,
    training_plan,
    validation_task,
)


#: fp16: this many optimizer steps skipped in a row (non-finite loss or gradients) raise TrainingDivergedError
FP16_MAX_SKIPPED_IN_A_ROW = 20


def build_optimizer(cfg: ExperimentConfig, model: nn.Module, lr: float | None = None):
    """``(optimizer, scheduler)`` for ``model``'s parameters: ``train.optimizer`` at ``lr`` (default
    ``train.lr``) with ``train.lr_schedule`` after ``train.warmup_steps`` of linear warm-up."""
    t = cfg.train
    lr = t.lr if lr is None else lr
    if len(t.betas) != 2:
        raise ConfigError(f"train.betas={t.betas} must hold two numbers, e.g. [0.9, 0.999] (GANs: [0.5, 0.999])")
    betas = (float(t.betas[0]), float(t.betas[1]))
    params = model.parameters()
    if t.optimizer == "adamw":
        opt = torch.optim.AdamW(params, lr=lr, betas=betas, weight_decay=t.weight_decay)
    elif t.optimizer == "adam":
        opt = torch.optim.Adam(params, lr=lr, betas=betas, weight_decay=t.weight_decay)
    elif t.optimizer == "adamax":
        opt = torch.optim.Adamax(params, lr=lr, betas=betas, weight_decay=t.weight_decay)
    else:
        raise ConfigError(f"unknown train.optimizer {t.optimizer!r}; use adamw, adam or adamax")
    if t.lr_schedule == "exponential" and (t.lr_decay_every < 1 or not 0 < t.lr_decay <= 1):
        raise ConfigError("train.lr_schedule=exponential needs 0 < train.lr_decay <= 1 and train.lr_decay_every >= 1")

    def factor(step: int) -> float:
        warm = min(1.0, (step + 1) / t.warmup_steps) if t.warmup_steps > 0 else 1.0
        if t.lr_schedule == "cosine":
            prog = min(1.0, step / max(1, t.steps))
            return warm * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * prog)))
        if t.lr_schedule == "exponential":
            return warm * t.lr_decay ** (step // t.lr_decay_every)
        return warm

    sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
    return opt, sched


def enable_activation_checkpointing(model: nn.Module) -> int:
    """Switch on activation checkpointing in every sub-module that offers it (an ``activation_checkpointing``
    attribute); returns how many. Raises :class:`ConfigError` if the model has none."""
    found = [m for m in model.modules() if hasattr(m, "activation_checkpointing")]
    if not found:
        raise ConfigError(f"{type(model).__name__} has no part that supports train.activation_checkpointing; set it to false")
    for m in found:
        m.activation_checkpointing = True
    return len(found)


def compile_networks(model: nn.Module) -> int:
    """``torch.compile`` (in place: parameter names and checkpoints are unchanged) the per-frame conv
    encoders/decoders and the ODE dynamics nets of ``model``; returns how many were compiled.

    The solver loop stays eager: it counts function evaluations in Python attributes, which would make
    a whole-model graph recompile at every call. A model with none of these networks is compiled whole.
    """
    from odevideo.nn import ConvFrameDecoder, ConvFrameEncoder, MLPODEFunc

    targets = [m for m in model.modules() if isinstance(m, (ConvFrameEncoder, ConvFrameDecoder, MLPODEFunc))]
    for m in targets or [model]:
        m.compile()
    return len(targets)


class _LossModule(nn.Module):
    """Model and loss in one ``forward``: under DDP every use of a parameter (e.g. the Encoder-ODE-Decoder's
    second encoder pass over the targets) then happens inside the wrapped forward."""

    def __init__(self, cfg: ExperimentConfig, model: nn.Module):
        super().__init__()
        self.cfg = cfg
        self.model = model

    def forward(self, task, step: int):
        out = compute_loss(self.cfg, self.model, task, step)
        return out.loss, out.metrics


class _AdversarialLossModule(nn.Module):
    """Generator, discriminators and Vid-ODE's objective: ``forward`` returns the generator loss, the
    discriminator loss and the metrics of one fused pass (:func:`conditional_video_losses`)."""

    def __init__(self, cfg: ExperimentConfig, model: nn.Module, critics: nn.ModuleDict):
        super().__init__()
        self.cfg = cfg
        self.model = model
        self.critics = critics

    def forward(self, task, step: int, rng: torch.Generator | None = None):
        if self.cfg.model.family in GAN_FAMILIES:  # ``task`` is the batch of real clips
            out = gan_losses(self.cfg, self.model, self.critics, task.frames, rng)
        else:
            out = conditional_video_losses(self.cfg, self.model, self.critics, task)
        return out.generator, out.discriminator, out.metrics, getattr(out, "fake", None)


@dataclass
class TrainResult:
    run_dir: Path
    step: int
    best_val_mse: float
    stopped_early: bool
    elapsed_s: float


class Trainer:
    """Trains ``build_model(cfg)`` on ``build_dataset(cfg, 'train')``; see the module docstring."""

    def __init__(self, cfg: ExperimentConfig, run_dir: str | Path | None = None, resume: bool = False):
        self.cfg = cfg
        self.run_dir = Path(run_dir) if run_dir is not None else Path(cfg.output_dir) / cfg.name
        self.ckpt_dir = self.run_dir / "checkpoints"
        self.dist, self.device = distributed.init_from_env(cfg.train.device)
        self.is_main = self.dist.is_main
        t = cfg.train
        if t.grad_accum_steps < 1:
            raise ConfigError(f"train.grad_accum_steps={t.grad_accum_steps} must be >= 1")
        for key in ("eval_every", "checkpoint_every"):
            value = getattr(t, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"train.{key}={value!r} must be a whole number of steps >= 1 (to validate or save "
                                  f"only at the end, set it to train.steps)")
        parts = self.dist.world_size * t.grad_accum_steps
        if t.batch_size < 1 or t.batch_size % parts:
            raise ConfigError(
                f"train.batch_size={t.batch_size} is the global batch and is split into processes x "
                f"train.grad_accum_steps = {self.dist.world_size} x {t.grad_accum_steps} = {parts} equal "
                f"micro-batches; set train.batch_size to a multiple of {parts} (or change the process count / "
                f"train.grad_accum_steps)"
            )
        self.micro_batch_size = t.batch_size // parts
        self.fp16 = autocast_dtype(cfg) is torch.float16  # also rejects bf16 + fp16
        if t.num_workers < 0 or t.prefetch_factor < 1:
            raise ConfigError(f"train.num_workers={t.num_workers} must be >= 0 and train.prefetch_factor="
                              f"{t.prefetch_factor} >= 1 (worker processes building batches; 0 = none)")
        if t.pin_memory and self.device.type != "cuda":
            raise ConfigError(f"train.pin_memory=true speeds up copies to a CUDA GPU, but the device is {self.device}; "
                              f"set train.pin_memory=null (auto) or false")
        # page-locked batches + non-blocking copies: only worth it (and only done) with DataLoader workers
        self.pin_memory = bool(t.num_workers > 0 and self.device.type == "cuda"
                               and (t.pin_memory if t.pin_memory is not None else True))
        # fp16: dynamic loss scaling; steps whose gradients overflow are skipped (see _train_step)
        self.scaler = torch.amp.GradScaler(self.device.type) if self.fp16 else None
        self.skipped_steps, self.skipped_in_a_row = 0, 0
        if cfg.train.threads:
            torch.set_num_threads(cfg.train.threads)
        torch.manual_seed(cfg.train.seed)
        self.model = build_model(cfg).to(self.device)
        if cfg.train.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.opt, self.sched = build_optimizer(cfg, self.model)
        # train.ema_decay: a moving average of the weights, the model that is validated, saved and sampled
        self.ema = build_ema(self.model, cfg.train.ema_decay) if cfg.train.ema_decay else None
        # Discriminators (adversarial objectives): their own optimizer, saved in the checkpoint's extra state.
        self.gan = cfg.model.family in GAN_FAMILIES
        self._inception = None
        self.critics = build_critics(cfg)
        if self.critics is not None:
            self.critics = self.critics.to(self.device)
            self.opt_d, self.sched_d = build_optimizer(cfg, self.critics, cfg.train.disc_lr)
        with distributed.main_first(enabled=cfg.data.cache_dir is not None):  # rank 0 fills the data cache
            self.train_set = build_dataset(cfg, "train")
            self.val_set = build_dataset(cfg, "val")
        self._digit_classifier = self._load_digit_classifier() if self.gan and cfg.gan.val_metric == "digit_fd" else None
        self.step = 0
        self.best_val = float("inf")
        self.elapsed_before = 0.0
        if resume:
            self._resume()
        elif (self.ckpt_dir / "last.json").exists():
            raise CheckpointError(
                f"{self.run_dir} already holds a training run; pass --resume to continue it, "
                f"or choose another --set name=... / --output-dir"
            )
        # What a step runs: model + loss, wrapped for gradient averaging across processes when there are several.
        # The adversarial step is not wrapped: its two backward calls per forward are beyond DDP's reducer,
        # so its gradients are summed over ranks explicitly (distributed.all_reduce_gradients_).
        if self.critics is not None:
            self.engine: nn.Module = _AdversarialLossModule(cfg, self.model, self.critics)
        else:
            self.engine = _LossModule(cfg, self.model)
        if self.dist.distributed and self.critics is None:
            from torch.nn.parallel import DistributedDataParallel

            ids = [self.device.index] if self.device.type == "cuda" else None
            self.engine = DistributedDataParallel(self.engine, device_ids=ids)
        if cfg.train.activation_checkpointing:
            enable_activation_checkpointing(self.model)
        if cfg.train.compile:
            compile_networks(self.model)

    # ------------------------------------------------------------------ state
    def _resume(self) -> None:
        path = self.ckpt_dir / "last"
        if not (self.ckpt_dir / "last.json").exists():
            raise CheckpointError(f"nothing to resume: {path}.json does not exist; start without --resume")
        ck = load_checkpoint(path)
        saved = from_dict(ExperimentConfig, ck.config)
        if to_dict(saved.model) != to_dict(self.cfg.model) or to_dict(saved.data) != to_dict(self.cfg.data):
            raise CheckpointError(
                f"the checkpoint in {self.run_dir} was trained with a different model/data config; "
                f"resume with the same preset and overrides (see {self.run_dir / 'config.yaml'})"
            )
        # with a moving average, model_state holds the average and the trained weights travel in the extra state
        trained = ck.extra_state.get("trained_model_state")
        self.model.load_state_dict(trained if trained is not None else ck.model_state)
        if self.ema is not None:
            if trained is not None:
                self.ema.module.load_state_dict(ck.model_state)
                self.ema.n_averaged.fill_(int(ck.extra_state["ema_updates"]))
            else:  # the run had no average so far: start one from the trained weights
                self.ema.n_averaged.zero_()
                self.ema.update_parameters(self.model)
        self.opt.load_state_dict(ck.optimizer_state)
        self.sched.load_state_dict(ck.scheduler_state)
        if self.critics is not None:
            if "critics" not in ck.extra_state:
                raise CheckpointError(f"the checkpoint in {self.run_dir} has no discriminator state; it was not "
                                      f"trained with adversarial terms: resume with the same config")
            self.critics.load_state_dict(ck.extra_state["critics"])
            self.opt_d.load_state_dict(ck.extra_state["critics_optimizer"])
            self.sched_d.load_state_dict(ck.extra_state["critics_scheduler"])
        if self.scaler is not None and "grad_scaler" in ck.extra_state:  # else: a fresh scale (was not fp16)
            self.scaler.load_state_dict(ck.extra_state["grad_scaler"])
            self.skipped_steps = int(ck.extra_state.get("fp16_skipped_steps", 0))
            self.skipped_in_a_row = int(ck.extra_state.get("fp16_skipped_in_a_row", 0))
        self.step = int(ck.extra_state["step"])
        self.best_val = float(ck.extra_state.get("best_val_mse", float("inf")))
        self.elapsed_before = float(ck.extra_state.get("elapsed_s", 0.0))
        if self.is_main:
            self._truncate_log(self.step)

    def _truncate_log(self, step: int) -> None:
        """Drop log lines written after the checkpoint, so the resumed log reads like an uninterrupted one."""
        log = self.run_dir / "metrics.jsonl"
        if not log.exists():
            return
        keep = [ln for ln in log.read_text().splitlines() if ln.strip() and json.loads(ln).get("step", 0) <= step]
        tmp = log.with_suffix(".jsonl.tmp")
        tmp.write_text("".join(ln + "\n" for ln in keep))
        os.replace(tmp, log)

    def save(self, name: str, elapsed: float) -> None:
        """Write checkpoint ``name`` (rank 0 only; the other ranks hold the same state)."""
        if not self.is_main:
            return
        extra = {"step": self.step, "best_val_mse": self.best_val, "elapsed_s": elapsed,
                 "world_size": self.dist.world_size}
        if self.critics is not None:
            extra.update(critics=self.critics.state_dict(), critics_optimizer=self.opt_d.state_dict(),
                         critics_scheduler=self.sched_d.state_dict())
        if self.ema is not None:
            extra.update(trained_model_state=self.model.state_dict(), ema_updates=int(self.ema.n_averaged),
                         ema_decay=self.cfg.train.ema_decay)
        if self.scaler is not None:
            extra.update(grad_scaler=self.scaler.state_dict(), fp16_skipped_steps=self.skipped_steps,
                         fp16_skipped_in_a_row=self.skipped_in_a_row)
        save_checkpoint(
            self.ckpt_dir / name,
            model_state=self.eval_model.state_dict(),  # the weights to use: the average when there is one
            optimizer_state=self.opt.state_dict(),
            scheduler_state=self.sched.state_dict(),
            extra_state=extra,
            config=to_dict(self.cfg),
        )

    @property
    def eval_model(self) -> nn.Module:
        """The model that is validated, saved as ``model_state`` and sampled: the moving average of the weights
        with ``train.ema_decay``, else the trained model itself."""
        return self.ema.module if self.ema is not None else self.model

    def _log(self, record: dict) -> None:
        if not self.is_main:
            return
        with open(self.run_dir / "metrics.jsonl", "a") as f:
            f.write(json.dumps(record) + "\n")

    def _load_digit_classifier(self) -> nn.Module:
        """``gan.val_metric: digit_fd``: the classifier at ``gan.digit_classifier``, trained there first (a few
        minutes on one core) if the path holds none; the global RNG is left as it was, so the run's own random
        draws do not depend on whether the classifier had to be trained."""
        from odevideo.training.digit_scores import fit_digit_classifier

        if not self.cfg.gan.digit_classifier:
            raise ConfigError("gan.val_metric=digit_fd needs gan.digit_classifier=PATH (a digit classifier checkpoint; "
                              "one is trained and saved there if the path holds none), or use gan.val_metric=pixel_fd")
        # rank 0 first: if the classifier has to be trained, it is trained and saved once, then loaded by the rest
        with distributed.main_first(), torch.random.fork_rng(devices=[]):
            clf, _ = fit_digit_classifier(self.cfg, path=self.cfg.gan.digit_classifier,
                                          log=lambda m: print(m, file=sys.stderr) if self.is_main else None)
        return clf.to(self.device).eval()

    # ------------------------------------------------------------------ validation
    @torch.no_grad()
    def _validate_generator(self) -> dict:
        """Video GANs: Frechet distance between frames of ``gan.val_samples`` generated and as many validation
        clips (``gan.val_metric``: ``pixel_fd`` = of 8x8 average-pooled frames, cheap, a relative score for
        model selection only; ``frame_fid`` = Inception frame-level FID; ``digit_fd`` = of the features of the
        digit classifier at ``gan.digit_classifier``, cheap and shape-aware, 1-digit Moving MNIST only,
        :meth:`~odevideo.metrics.digit_consistency.DigitClassifier.embed`). Generated clips use a fixed seed, so
        scores of different steps compare the same latent codes. Every rank computes it (the same value)."""
        from odevideo.metrics.frame_fid import frame_fid
        from odevideo.training.generation import pixel_frame_features, sample_videos

        cfg, g = self.cfg, self.cfg.gan
        n = min(g.val_samples, len(self.val_set))
        real = batch_from_indices(self.val_set, range(n), cfg.data.frame_dt).frames
        fake = sample_videos(self.eval_model, n, None, seed=cfg.train.seed + 7919, batch_size=cfg.eval.batch_size,
                             device=self.device).cpu()
        if g.val_metric == "frame_fid":
            if self._inception is None:
                from odevideo.metrics.frame_fid import InceptionFeatureExtractor

                self._inception = (InceptionFeatureExtractor.from_file(g.inception_weights) if g.inception_weights
                                   else InceptionFeatureExtractor.pretrained(download=cfg.data.download))
            extractor = self._inception
        elif g.val_metric == "digit_fd":
            extractor = self._digit_classifier.embed
        else:
            extractor = pixel_frame_features
        score = frame_fid(real, fake, extractor)
        if self.is_main:
            k = cfg.eval.num_sample_clips
            self._write_samples(real[:k], fake[:k])
        return {"val_score": score, "val_metric": g.val_metric}

    @torch.no_grad()
    def validate(self) -> dict:
        """Posterior-mean prediction MSE on the validation split (never the test split).

        With several processes, validation batch k runs on rank k % world_size and the sums are all-reduced:
        every rank gets the same result (a collective: all ranks must call it)."""
        cfg = self.cfg
        if self.gan:
            return self._validate_generator()
        model = self.eval_model
        model.eval()
        se, n, nfe = 0.0, 0, 0
        first = None
        bs = cfg.eval.batch_size
        for k, start in enumerate(range(0, len(self.val_set), bs)):
            if k % self.dist.world_size != self.dist.rank:
                continue
            idx = range(start, min(start + bs, len(self.val_set)))
            batch = batch_from_indices(self.val_set, idx, cfg.data.frame_dt).to(self.device)
            task = validation_task(cfg, batch)
            with autocast_context(cfg, self.device):
                pred = model(task.context_frames, task.context_times, task.context_mask, task.query_times)
            err = ((pred.frames.float() - task.targets) ** 2).flatten(2).mean(-1)
            se += err[task.target_mask].sum().item()
            n += int(task.target_mask.sum())
            nfe += pred.nfe
            if first is None:
                first = (task.targets[: cfg.eval.num_sample_clips], pred.frames[: cfg.eval.num_sample_clips].float())
        model.train()
        se, n, nfe = distributed.all_reduce_sum([se, n, nfe])
        if self.is_main and first is not None:  # rank 0 always runs validation batch 0
            self._write_samples(*first)
        return {"val_mse": se / max(n, 1), "val_nfe": int(round(nfe))}

    def _write_samples(self, truth: torch.Tensor, pred: torch.Tensor) -> None:
        out = self.run_dir / "samples"
        out.mkdir(parents=True, exist_ok=True)
        t = truth.shape[1]
        rows = torch.stack([truth, pred.clamp(0, 1)], dim=1).flatten(0, 1)  # (2N, T, C, H, W)
        save_image(out / f"step_{self.step:06d}.png", make_grid(rows.flatten(0, 1).cpu(), nrow=t))
        # GIF: each frame shows all clips, truth above prediction.
        frames = torch.stack([make_grid(rows[:, i].cpu(), nrow=truth.shape[0]) for i in range(t)])
        write_video(out / f"step_{self.step:06d}.gif", frames, fps=5)

    # ------------------------------------------------------------------ loop
    def fit(self) -> TrainResult:
        cfg = self.cfg
        if self.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            save_config(cfg, self.run_dir / "config.yaml")
        stop = {"flag": False}

        def _handler(signum, frame):  # finish the step, checkpoint, then exit
            stop["flag"] = True

        old = {s: signal.signal(s, _handler) for s in (signal.SIGINT, signal.SIGTERM)} if _main_thread() else {}
        bar = None
        if cfg.train.progress and self.is_main:
            from tqdm.auto import tqdm

            bar = tqdm(total=cfg.train.steps, initial=self.step, desc=cfg.name, dynamic_ncols=True)
        t_start = time.perf_counter()
        budget = cfg.train.max_minutes * 60 if cfg.train.max_minutes is not None else None
        stopped_early = False
        self.model.train()
        window_t, window_steps = time.perf_counter(), 0
        # this rank's share of every remaining step, built here or by DataLoader workers (train.num_workers)
        shares = StepBatches(cfg, self.train_set, self.dist.rank, cfg.train.grad_accum_steps, self.micro_batch_size)
        self._batches = step_batch_loader(cfg, shares, self.step, self.pin_memory)
        try:
            while self.step < cfg.train.steps:
                elapsed = self.elapsed_before + time.perf_counter() - t_start
                # collective: all ranks stop before the same step (a signal may reach only some of them)
                if distributed.any_true(stop["flag"] or (budget is not None and elapsed >= budget)):
                    stopped_early = True
                    break
                metrics = self._train_step()
                self.step += 1
                window_steps += 1
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{metrics['loss']:.4g}", nfe=metrics.get("nfe", 0), refresh=False)
                if self.step % cfg.train.log_every == 0 or self.step == cfg.train.steps:
                    now = time.perf_counter()
                    rate = window_steps / max(now - window_t, 1e-9)
                    window_t, window_steps = now, 0
                    self._log({"step": self.step, "kind": "train", "lr": self.sched.get_last_lr()[0],
                               "steps_per_s": rate, "elapsed_s": self.elapsed_before + now - t_start, **metrics})
                if self.step % cfg.train.eval_every == 0 or self.step == cfg.train.steps:
                    self._validate_and_keep_best(self.elapsed_before + time.perf_counter() - t_start)
                if self.step % cfg.train.checkpoint_every == 0 or self.step == cfg.train.steps:
                    self.save("last", self.elapsed_before + time.perf_counter() - t_start)
        finally:
            self._batches = None  # ends the DataLoader's worker processes
            if bar is not None:
                bar.close()
            for s, h in old.items():
                signal.signal(s, h)
        elapsed = self.elapsed_before + time.perf_counter() - t_start
        if stopped_early:
            # A budget or signal stop still leaves a resumable state and a validated best model
            # (unless this very step was validated already: then its log line and checkpoint exist).
            if self.step % cfg.train.eval_every != 0 or self.step == 0:
                self._validate_and_keep_best(elapsed)
            self.save("last", elapsed)
        distributed.barrier()  # no rank returns before rank 0 has written the last checkpoint
        return TrainResult(self.run_dir, self.step, self.best_val, stopped_early, elapsed)

    def _validate_and_keep_best(self, elapsed: float) -> None:
        val = self.validate()
        score = val["val_mse"] if "val_mse" in val else val["val_score"]  # lower is better
        improved = score < self.best_val
        if improved:
            self.best_val = score
        # GAN runs score with val_score (their val_metric), not an MSE: name the running best after what it is
        best_key = "best_val_mse" if "val_mse" in val else "best_val_score"
        self._log({"step": self.step, "kind": "val", **val, best_key: self.best_val})
        if improved:
            self.save("best", elapsed)

    def _next_shares(self) -> list:
        """This rank's micro-batches of step ``self.step`` (from :attr:`_batches` inside :meth:`fit`)."""
        source = getattr(self, "_batches", None)
        if source is None:  # _train_step called outside fit()
            shares = StepBatches(self.cfg, self.train_set, self.dist.rank, self.cfg.train.grad_accum_steps,
                                 self.micro_batch_size)
            return shares[self.step][1]
        step, micro_batches = next(source)
        if step != self.step:
            raise RuntimeError(f"internal error: the batch loader delivered step {step} for step {self.step}")
        return micro_batches

    def _train_step(self) -> dict:
        """One optimizer step on the global batch of ``self.step``; returns its metrics (global-batch means).

        fp16 (``train.fp16``): every loss is multiplied by the gradient scaler's scale before its backward,
        the gradients are unscaled before clipping, and a step whose loss or gradients are not finite on
        any rank is *skipped* (no parameter update, the scale halves) instead of stopping the run: fp16
        overflows are expected while the scale settles. Only :data:`FP16_MAX_SKIPPED_IN_A_ROW` skipped steps
        in a row raise :class:`TrainingDivergedError` (the NaN guard of fp16). The scale grows x2 after
        2000 good steps (GradScaler's defaults) and is saved in the checkpoint.
        """
        cfg = self.cfg
        world, rank, accum = self.dist.world_size, self.dist.rank, cfg.train.grad_accum_steps
        m = self.micro_batch_size
        _, global_mask = training_plan(cfg, len(self.train_set), self.step)
        total_units = loss_normalizer(cfg, global_mask)
        noise = training_noise(cfg, self.step)
        adversarial = self.critics is not None
        scaler = self.scaler
        scale = scaler.scale if scaler is not None else (lambda x: x)
        # video GANs with gan.alternating: the discriminators step first, then the generator is scored again by
        # the updated discriminators (its fakes kept from the step's one generator pass) and steps
        alternating = self.gan and cfg.gan.alternating
        pending_g: list[tuple[torch.Tensor, float, torch.Generator, torch.Tensor | None]] = []
        g_params = [p for p in self.model.parameters() if p.requires_grad]
        d_params = [p for p in self.critics.parameters() if p.requires_grad] if adversarial else []
        self.opt.zero_grad(set_to_none=True)
        if adversarial:
            self.opt_d.zero_grad(set_to_none=True)
        micro_batches = self._next_shares()
        sums: dict[str, float] = {}
        int_keys: set[str] = set()
        finite, loss_sum, all_finite = True, 0.0, True
        for micro in range(accum):
            rows = micro_batch_rows(rank, micro, accum, m)
            batch = micro_batches[micro].to(self.device, non_blocking=self.pin_memory)
            torch.manual_seed(distributed.rank_seed(cfg.train.seed, self.step, rank, micro))
            task = batch if self.gan else task_of(cfg, batch)
            if noise is not None:
                task.noise = noise[rows].to(self.device)
            weight = loss_normalizer(cfg, batch.mask) / total_units
            last = micro == accum - 1
            # gradients are averaged across processes once per step, in the last micro-batch's backward
            sync = self.engine.no_sync() if (self.dist.distributed and not last and not adversarial) else contextlib.nullcontext()
            with sync:
                with autocast_context(cfg, self.device):
                    if adversarial:
                        rng = torch.Generator().manual_seed(distributed.rank_seed(cfg.train.seed, self.step, rank, micro))
                        loss, d_loss, metrics, fake = self.engine(task, self.step, rng)
                    else:
                        (loss, metrics), d_loss = self.engine(task, self.step), None
                loss_value = float(loss.detach())
                ok = math.isfinite(loss_value) and (d_loss is None or math.isfinite(float(d_loss.detach())))
                finite, loss_sum = finite and ok, loss_sum + weight * loss_value
                for key, value in metrics.items():
                    if isinstance(value, int) and not isinstance(value, bool):
                        int_keys.add(key)
                    sums[key] = sums.get(key, 0.0) + weight * float(value)
                if last:
                    # collective: global-batch metrics, and every rank learns whether any loss was not finite
                    keys = list(sums)  # the same order on every rank: the loss function's
                    reduced = distributed.all_reduce_sum([0.0 if finite else 1.0, loss_sum] + [sums[k] for k in keys])
                    sums = dict(zip(keys, reduced[2:]))
                    all_finite = reduced[0] == 0
                    if not all_finite and scaler is None:
                        raise TrainingDivergedError(
                            f"loss became {reduced[1]} at step {self.step}; the last good state "
                            f"is in {self.ckpt_dir}/last.*. Lower train.lr, keep train.grad_clip > 0, or use a smaller "
                            f"solver step (model.solver.step_size), then resume with --resume"
                        )
                # fp16 back-propagates every loss, finite or not (the same collectives on every rank); the
                # scaler then skips the step. Otherwise a non-finite loss has stopped the run above.
                if ok or scaler is not None:
                    if alternating:
                        scale(d_loss * weight).backward(inputs=d_params, retain_graph=True)
                        pending_g.append((fake, weight, rng, task.frames if cfg.gan.joint_disc_batch else None))
                    elif adversarial:
                        # one forward, two losses: each reaches only its own networks (no second discriminator pass)
                        scaled = VidODELosses(generator=scale(loss * weight),
                                              discriminator=None if d_loss is None else scale(d_loss * weight))
                        backward_gan(scaled, g_params, d_params)
                    else:
                        # DDP averages over processes: scale by world size so the sum of weights is 1
                        scale(loss * (weight * world)).backward()
        groups = [(self.model, g_params, self.opt, self.sched)]
        if adversarial:
            groups.append((self.critics, d_params, self.opt_d, self.sched_d))
        scale_before = scaler.get_scale() if scaler is not None else None
        if alternating:
            from odevideo.objectives.video_gans import video_gan_generator_loss

            self._step_networks([groups[1]], all_finite)
            self._clip_discriminators()
            for fake, weight, rng, real in pending_g:
                with autocast_context(cfg, self.device):
                    g_loss = video_gan_generator_loss(dict(self.critics.items()), fake, loss=cfg.gan.loss,
                                                      generator_rng=rng, image_frames=cfg.gan.image_frames,
                                                      real=real,
                                                      video_clips=video_clips(cfg, fake.shape[0]))
                scale(g_loss * weight).backward(inputs=g_params)
            pending_g.clear()
            self._step_networks([groups[0]], all_finite)
        else:
            self._step_networks(groups, all_finite)
            self._clip_discriminators()
        if self.ema is not None:
            self.ema.update_parameters(self.model)
        out = {k: (int(round(v)) if k in int_keys else v) for k, v in sums.items()}
        if scaler is not None:
            scaler.update()
            skipped = scaler.get_scale() < scale_before  # the scale backs off exactly when a step was skipped
            self.skipped_steps += int(skipped)
            self.skipped_in_a_row = self.skipped_in_a_row + 1 if skipped else 0
            out.update(grad_scale=scale_before, fp16_skipped_steps=self.skipped_steps)
            if self.skipped_in_a_row >= FP16_MAX_SKIPPED_IN_A_ROW:
                raise TrainingDivergedError(
                    f"fp16: {self.skipped_in_a_row} steps in a row up to step {self.step} had non-finite losses or "
                    f"gradients (loss {sums.get('loss', reduced[1])}, gradient scale now {scaler.get_scale():g}); the last "
                    f"good state is in {self.ckpt_dir}/last.*. Lower train.lr or train with train.fp16=false "
                    f"(bf16 or fp32), then resume with --resume"
                )
        return out

    def _step_networks(self, groups: list, all_finite: bool = True) -> None:
        """All-reduce (adversarial: explicit), clip and apply the gradients of ``(net, params, opt, sched)`` groups.

        fp16: the scaler unscales before clipping and skips an optimizer whose gradients hold inf/NaN; with
        ``all_finite`` False (a non-finite loss on some rank) every group's step is skipped."""
        cfg, scaler = self.cfg, self.scaler
        if self.critics is not None:
            for _, params, _, _ in groups:  # the weighted per-rank gradients sum to the global batch's
                distributed.all_reduce_gradients_(params)
        if scaler is not None and not all_finite:  # a non-finite loss skips the step even if its gradients are finite
            for _, params, _, _ in groups:
                if params:
                    params[0].grad = torch.full_like(params[0], float("inf"))
        for net, params, opt, sched in groups:
            if scaler is not None:
                scaler.unscale_(opt)
            if cfg.train.grad_clip > 0:
                # after the all-reduce every rank holds the same gradient, hence the same norm and decision
                gnorm = torch.nn.utils.clip_grad_norm_(params, cfg.train.grad_clip)
                if not torch.isfinite(gnorm) and scaler is None:
                    raise TrainingDivergedError(
                        f"the gradient norm of the {type(net).__name__} became {gnorm.item()} at step {self.step}; "
                        f"lower train.lr and resume with --resume"
                    )
            if scaler is not None:
                scaler.step(opt)  # skipped if this optimizer's gradients hold an inf / NaN
            else:
                opt.step()
            with warnings.catch_warnings():  # a skipped first fp16 step: the schedule still follows the step count
                warnings.filterwarnings("ignore", message=re.escape("Detected call of `lr_scheduler.step()`"))
                sched.step()

    def _clip_discriminators(self) -> None:
        if self.gan and self.cfg.gan.svc_every > 0:  # TGAN: singular value clipping after discriminator updates
            from odevideo.objectives.video_gans import after_discriminator_step

            after_discriminator_step(self.critics, self.step + 1, svc_every=self.cfg.gan.svc_every)


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()
