"""The training loop: steps, logging, validation, samples, checkpoints, exact resume.

Run directory layout (``<output_dir>/<name>/``)::

    config.yaml                   the resolved config
    metrics.jsonl                 one JSON object per log / validation event
    checkpoints/last.safetensors  latest state (every train.checkpoint_every steps), rewritten atomically
    checkpoints/good.safetensors  the state at the last validation that saw finite scores and weights
    checkpoints/best.safetensors  best validation score so far (lowest validation MSE)
    model/                        the best model alone (odevideo.load_model)
    samples/step_XXXXXX.{png,gif}   truth (top) vs prediction (bottom) on validation clips

Every checkpoint is a complete training state. ``--resume`` (``Trainer(cfg, resume=True)``) loads the newest
intact one (the highest step; ``last`` on a tie) and says which on stderr; a damaged ``last`` (e.g. a disk
error) falls back to ``good`` or ``best``. Temporaries of writes killed mid-way are removed when a trainer
starts. A changed ``train.lr`` / ``train.disc_lr`` on resume rebases the learning-rate schedule: the run
continues with the new base rate times the schedule's factor at the resumed step.

Divergence: a non-finite loss or gradient, non-finite weights before a validation, or non-finite validation
scores or predictions stop the run with :class:`~odevideo.errors.TrainingDivergedError`. The message names the
checkpoint to continue from (``good``: the last validated state) and the command to do so with a lower
learning rate; a ``last`` written after that validation is moved aside to ``checkpoints/diverged.*`` so that
``--resume`` cannot pick it.

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

import json
import math
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from odevideo.checkpoints import (
    checkpoint_exists,
    save_checkpoint,
)
from odevideo.configio import save_config, to_dict
from odevideo.data import make_grid, save_image, write_video
from odevideo.data.build import build_dataset
from odevideo.errors import CheckpointError, ConfigError, InputError, TrainingDivergedError
from odevideo.methods import Method, ModelSpec, ValidationContext, get_method
from odevideo.pretrained import save_pretrained
from odevideo.training import distributed
from odevideo.training.batches import StepBatches, step_batch_loader
from odevideo.training.config import ExperimentConfig, check_config, check_run_dir
from odevideo.training.ema import build_ema
from odevideo.training.optim import build_optimizer, compile_networks, enable_activation_checkpointing
from odevideo.training.precision import autocast_context, autocast_dtype
from odevideo.training.resume import RESUMABLE, ResumeMixin  # noqa: F401  (RESUMABLE re-exported)
from odevideo.training.step import FP16_MAX_SKIPPED_IN_A_ROW, TrainStep  # noqa: F401  (re-exported)

#: the checkpoints --resume chooses from (each a complete training state), ties broken in this order


class _LossModule(nn.Module):
    """Model, critics and the method's loss in one ``forward``: under DDP every use of a parameter (e.g. the
    Encoder-ODE-Decoder's second encoder pass over the targets) then happens inside the wrapped forward."""

    def __init__(self, cfg: ExperimentConfig, method: Method, model: nn.Module, critics: nn.ModuleDict | None):
        super().__init__()
        self.cfg, self.method = cfg, method
        self.model, self.critics = model, critics

    def forward(self, batch, noise, step: int, rng: torch.Generator):
        out = self.method.losses(self.cfg, self.model, self.critics, batch, noise, step, rng)
        return out.loss, out.critic_loss, out.metrics, out.regenerate


@dataclass
class TrainResult:
    run_dir: Path
    step: int
    best_val_mse: float
    stopped_early: bool
    elapsed_s: float


class Trainer(TrainStep, ResumeMixin):
    """Trains the model of ``cfg.method`` on ``cfg.data``'s training clips; see the module docstring."""

    def __init__(self, cfg: ExperimentConfig, run_dir: str | Path | None = None, resume: bool = False):
        check_config(cfg)
        self.cfg = cfg
        self.run_dir = Path(run_dir) if run_dir is not None else Path(cfg.output_dir) / cfg.name
        check_run_dir(self.run_dir)
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
        self.method: Method = get_method(cfg.method)
        self.method.check(cfg)
        self.model = self.method.build(cfg).to(self.device)
        if cfg.train.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.opt, self.sched = build_optimizer(cfg, self.model)
        # train.ema_decay: a moving average of the weights, the model that is validated, saved and sampled
        self.ema = build_ema(self.model, cfg.train.ema_decay) if cfg.train.ema_decay else None
        # Discriminators (adversarial objectives): their own optimizer, saved in the checkpoint's extra state.
        self.critics = self.method.build_critics(cfg)
        if self.critics is not None:
            self.critics = self.critics.to(self.device)
            self.opt_d, self.sched_d = build_optimizer(cfg, self.critics, cfg.train.disc_lr)
        with distributed.main_first(enabled=cfg.data.cache_dir is not None):  # rank 0 fills the data cache
            self.train_set = build_dataset(cfg.data, "train")
            self.val_set = build_dataset(cfg.data, "val")
        self._validation = ValidationContext(
            self.device, self.dist.world_size, self.dist.rank, distributed.all_reduce_sum, distributed.main_first,
            lambda: autocast_context(cfg, self.device))
        self.step = 0
        self.best_val = float("inf")
        self.elapsed_before = 0.0
        if self.is_main:
            self._remove_stale_temporaries()
        if resume:
            self._resume()
        else:
            existing = [n for n in RESUMABLE if checkpoint_exists(self.ckpt_dir / n)]
            if existing:
                raise CheckpointError(
                    f"{self.run_dir} already holds a training run (checkpoints: {', '.join(existing)}); continue it "
                    f"with --resume (it loads the newest intact checkpoint), or choose another --set name=... / "
                    f"--output-dir"
                )
            if self.is_main:  # a run killed before its first checkpoint: its log lines are redone
                self._truncate_log(0)
        # What a step runs: model + loss, wrapped for gradient averaging across processes when there are several.
        # The adversarial step is not wrapped: its two backward calls per forward are beyond DDP's reducer,
        # so its gradients are summed over ranks explicitly (distributed.all_reduce_gradients_).
        self.engine: nn.Module = _LossModule(cfg, self.method, self.model, self.critics)
        if self.dist.distributed and self.critics is None:
            from torch.nn.parallel import DistributedDataParallel

            ids = [self.device.index] if self.device.type == "cuda" else None
            self.engine = DistributedDataParallel(self.engine, device_ids=ids)
        if cfg.train.activation_checkpointing:
            enable_activation_checkpointing(self.model)
        if cfg.train.compile:
            compile_networks(self.model)

    # ------------------------------------------------------------------ state
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
        if name == "best":  # the model to use, apart from the training state (odevideo.load_model)
            save_pretrained(self.run_dir / "model", self.eval_model, self.cfg.method, self.cfg.model,
                            ModelSpec.of(self.cfg))

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

    # ------------------------------------------------------------------ validation
    @torch.no_grad()
    def validate(self) -> dict:
        """The method's validation scores on the validation split (never the test split), e.g. the prediction
        MSE; writes sample images on rank 0. With several processes the work is split over the ranks and the
        sums are all-reduced: every rank gets the same result (a collective: all ranks must call it).

        Raises :class:`TrainingDivergedError` when the weights, the scores or the sample predictions are not
        finite (a diverged run: nothing of it is validated or saved)."""
        model = self.eval_model
        bad = [name for name, p in model.named_parameters() if not bool(torch.isfinite(p).all())]
        if bad:
            raise TrainingDivergedError(f"the weights became non-finite by step {self.step} ({bad[0]}, "
                                        f"{len(bad)} tensor(s))")
        model.eval()
        try:
            scores, samples = self.method.validate(self.cfg, model, self.val_set, self._validation)
        except InputError as exc:
            if "NaN" not in str(exc):
                raise
            raise TrainingDivergedError(f"validation at step {self.step} met non-finite values ({exc})") from None
        finally:
            model.train()
        bad = [k for k, v in scores.items() if isinstance(v, float) and not math.isfinite(v)]  # the same on all ranks
        # the samples may exist on rank 0 only: decided collectively, so that no rank waits for another
        if distributed.any_true(samples is not None and not bool(torch.isfinite(samples[1]).all())) or bad:
            what = f"score {bad[0]} = {scores[bad[0]]}" if bad else "predictions"
            raise TrainingDivergedError(f"validation at step {self.step} gave non-finite {what}")
        if self.is_main and samples is not None:
            self._write_samples(*samples)
        return scores

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
        self.model.train()
        # this rank's share of every remaining step, built here or by DataLoader workers (train.num_workers)
        shares = StepBatches(cfg, self.train_set, self.dist.rank, cfg.train.grad_accum_steps, self.micro_batch_size)
        self._batches = step_batch_loader(cfg, shares, self.step, self.pin_memory)
        try:
            start_step = self.step
            stopped_early = self._loop(stop, bar, t_start, budget)
            elapsed = self.elapsed_before + time.perf_counter() - t_start
            if not stopped_early and self.step == start_step:  # resumed from e.g. good/best of the final step
                self.save("last", elapsed)
            if stopped_early:
                # A budget or signal stop still leaves a resumable state and a validation of the step it stopped
                # at (unless this very step was validated already: then its log line and checkpoint exist). That
                # step is off the train.eval_every grid, so its score is logged but does not compete for `best`:
                # an interrupted and resumed run keeps the uninterrupted run's best checkpoint.
                if self.step % cfg.train.eval_every != 0 or self.step == 0:
                    self._validate_and_keep_best(elapsed, on_grid=False)
                self.save("last", elapsed)
        except TrainingDivergedError as exc:
            raise TrainingDivergedError(f"{exc}; {self._after_divergence()}") from None
        finally:
            self._batches = None  # ends the DataLoader's worker processes
            if bar is not None:
                bar.close()
            for s, h in old.items():
                signal.signal(s, h)
        distributed.barrier()  # no rank returns before rank 0 has written the last checkpoint
        return TrainResult(self.run_dir, self.step, self.best_val, stopped_early, elapsed)

    def _loop(self, stop: dict, bar, t_start: float, budget: float | None) -> bool:
        """Train until train.steps (False) or a stop request / the time budget (True)."""
        cfg = self.cfg
        window_t, window_steps = time.perf_counter(), 0
        while self.step < cfg.train.steps:
            elapsed = self.elapsed_before + time.perf_counter() - t_start
            # collective: all ranks stop before the same step (a signal may reach only some of them)
            if distributed.any_true(stop["flag"] or (budget is not None and elapsed >= budget)):
                return True
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
        return False

    def _validate_and_keep_best(self, elapsed: float, on_grid: bool = True) -> None:
        """Validate; on the validation grid (every ``train.eval_every`` steps and the last step) keep the model
        as ``best`` when it improves. Off the grid (a budget or signal stop) the score is only logged, marked
        ``"stop": true``, except that a run with no ``best`` yet gets this model as a placeholder ``best``
        (``best_val_mse`` stays inf, so the first validation on the grid replaces it)."""
        val = self.validate()  # finite, or TrainingDivergedError
        key = self.method.val_key
        score = val[key]  # lower is better
        improved = on_grid and score < self.best_val
        if improved:
            self.best_val = score
        record = {"step": self.step, "kind": "val", **val, f"best_{key}": self.best_val}
        self._log(record if on_grid else {**record, "stop": True})
        if improved or (not on_grid and not checkpoint_exists(self.ckpt_dir / "best")):
            self.save("best", elapsed)
        self.save("good", elapsed)  # the last validated state: where a diverged run continues

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

def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()
