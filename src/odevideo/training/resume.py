"""Resuming a run: the newest intact checkpoint (``last``, ``good`` or ``best``), the learning rate given now, the
log cut back to the checkpoint's step, stale temporaries of killed writes removed; and after a divergence, which
checkpoint to continue from. A mixin of :class:`~odevideo.training.trainer.Trainer` (it uses the trainer's state)."""

from __future__ import annotations

import json
import os
import sys

import torch

from odevideo._atomic import atomic_write_text, remove_stale_temporaries
from odevideo.checkpoints import (
    Checkpoint,
    checkpoint_exists,
    checkpoint_paths,
    load_checkpoint,
)
from odevideo.configio import from_dict, to_dict
from odevideo.errors import CheckpointError
from odevideo.pretrained import check_shapes
from odevideo.training.config import ExperimentConfig
from odevideo.training.legacy import migrate_config
from odevideo.training.step import FP16_MAX_SKIPPED_IN_A_ROW, TrainStep  # noqa: F401  (re-exported)

#: the checkpoints --resume chooses from (each a complete training state), ties broken in this order
#: the checkpoints a run can continue from, the preferred one first when their steps tie
RESUMABLE = ("last", "good", "best")


class ResumeMixin:
    """Resume, log truncation and the divergence hint of :class:`~odevideo.training.trainer.Trainer`."""

    def _remove_stale_temporaries(self) -> None:
        """Remove what writes killed mid-way left behind (checkpoint, model folder, samples, log)."""
        removed = [p for d in (self.ckpt_dir, self.run_dir, self.run_dir / "samples")
                   for p in remove_stale_temporaries(d)]
        if removed:
            print(f"{self.run_dir}: removed {len(removed)} temporary file(s) of interrupted writes "
                  f"({', '.join(p.name for p in removed[:3])}{', ...' if len(removed) > 3 else ''})", file=sys.stderr)

    def _resumable(self) -> tuple[list[tuple[int, str, Checkpoint]], list[str]]:
        """The intact, complete checkpoints as ``(step, name, checkpoint)``, newest first (ties: RESUMABLE order),
        and one line per damaged one."""
        found, problems = [], []
        for order, name in enumerate(RESUMABLE):
            path = self.ckpt_dir / name
            if not checkpoint_exists(path):
                continue
            try:
                ck = load_checkpoint(path)
                step = ck.extra_state.get("step")
                missing = [k for k, v in (("config", ck.config), ("optimizer_state", ck.optimizer_state),
                                          ("scheduler_state", ck.scheduler_state)) if not isinstance(v, dict)]
                if isinstance(step, bool) or not isinstance(step, int) or step < 0:
                    missing.append("step")
                if missing:
                    raise CheckpointError(f"checkpoint {ck.path}: has no {', '.join(missing)}; it is not a "
                                          f"training checkpoint")
            except CheckpointError as exc:
                problems.append(str(exc))
                continue
            found.append((step, -order, name, ck))
        found.sort(key=lambda x: (x[0], x[1]), reverse=True)
        return [(step, name, ck) for step, _, name, ck in found], problems

    def _resume(self) -> None:
        if not any(checkpoint_exists(self.ckpt_dir / n) for n in RESUMABLE):
            raise CheckpointError(f"nothing to resume: {self.ckpt_dir} holds no checkpoint ({', '.join(RESUMABLE)}); "
                                  f"start without --resume")
        found, problems = self._resumable()
        if not found:
            raise CheckpointError(f"no intact checkpoint to resume in {self.ckpt_dir}: {' | '.join(problems)}; "
                                  f"remove {self.ckpt_dir} to start over, or choose another --set name=...")
        step, name, ck = found[0]
        if self.is_main:
            why = "the newest intact checkpoint" + (f"; skipped: {' | '.join(problems)}" if problems else "")
            print(f"resuming from {ck.path.parent.name}/{ck.path.name} at step {step} ({why})", file=sys.stderr)
        saved = from_dict(ExperimentConfig, migrate_config(ck.config))
        if saved.method != self.cfg.method or to_dict(saved.model) != to_dict(self.cfg.model) \
                or to_dict(saved.data) != to_dict(self.cfg.data):
            raise CheckpointError(
                f"the checkpoint in {self.run_dir} was trained with a different model/data config; "
                f"resume with the same preset and overrides (see {self.run_dir / 'config.yaml'})"
            )
        check_shapes(self.model, {k: tuple(v.shape) for k, v in ck.model_state.items()}, ck.path,
                     "resume with the same preset and overrides")
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
        self._rebase_lr("train.lr", saved.train.lr, self.cfg.train.lr, self.opt, self.sched)
        if self.critics is not None:
            if "critics" not in ck.extra_state:
                raise CheckpointError(f"the checkpoint in {self.run_dir} has no discriminator state; it was not "
                                      f"trained with adversarial terms: resume with the same config")
            self.critics.load_state_dict(ck.extra_state["critics"])
            self.opt_d.load_state_dict(ck.extra_state["critics_optimizer"])
            self.sched_d.load_state_dict(ck.extra_state["critics_scheduler"])
            self._rebase_lr("train.disc_lr", saved.train.disc_lr or saved.train.lr,
                            self.cfg.train.disc_lr or self.cfg.train.lr, self.opt_d, self.sched_d)
        if self.scaler is not None and "grad_scaler" in ck.extra_state:  # else: a fresh scale (was not fp16)
            self.scaler.load_state_dict(ck.extra_state["grad_scaler"])
            self.skipped_steps = int(ck.extra_state.get("fp16_skipped_steps", 0))
            self.skipped_in_a_row = int(ck.extra_state.get("fp16_skipped_in_a_row", 0))
        self.step = int(ck.extra_state["step"])
        self.best_val = float(ck.extra_state.get("best_val_mse", float("inf")))
        self.elapsed_before = float(ck.extra_state.get("elapsed_s", 0.0))
        if self.is_main:
            self._truncate_log(self.step)

    def _rebase_lr(self, key: str, saved_lr: float, lr: float, opt: torch.optim.Optimizer, sched) -> None:
        """A learning rate changed on resume (``--resume --set train.lr=X``): the schedule continues from the new
        base rate (the LambdaLR's base_lrs and each group's lr = X * factor(step)) instead of the saved one."""
        if lr == saved_lr:
            return
        for i, group in enumerate(opt.param_groups):
            group["initial_lr"] = sched.base_lrs[i] = lr
            group["lr"] = lr * sched.lr_lambdas[i](sched.last_epoch)
        sched._last_lr = [group["lr"] for group in opt.param_groups]
        if self.is_main:
            print(f"{key} changed from {saved_lr:g} to {lr:g} on resume: the schedule continues from the new base "
                  f"(lr {sched._last_lr[0]:.4g} at step {sched.last_epoch})",
                  file=sys.stderr)

    def _truncate_log(self, step: int) -> None:
        """Drop log lines written after the checkpoint (and a line torn by a kill), so the resumed log reads like
        an uninterrupted one."""
        log = self.run_dir / "metrics.jsonl"
        if not log.exists():
            return
        keep = []
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                record = json.loads(line)
                if isinstance(record, dict) and record.get("step", 0) <= step:
                    keep.append(line)
            except (ValueError, TypeError, RecursionError):
                continue  # a line torn by a kill mid-write
        atomic_write_text(log, "".join(ln + "\n" for ln in keep))

    def _after_divergence(self) -> str:
        """After a divergence: move a ``last`` checkpoint newer than the last validated state, or with non-finite
        weights, aside to ``diverged.*`` (rank 0); say which checkpoint ``--resume`` now loads and give the
        command that continues from it with a lower learning rate."""
        command = f"odevideo train --config {self.run_dir / 'config.yaml'} --set train.lr={self.cfg.train.lr / 10:g}"
        found, _ = self._resumable()
        steps = {name: step for step, name, _ in found}
        moved = ""
        if "last" in steps:
            weights = next(ck for _, name, ck in found if name == "last").model_state.values()
            sane = all(bool(torch.isfinite(v).all()) for v in weights if v.is_floating_point())
            validated = [step for name, step in steps.items() if name != "last"]
            if not sane or (validated and steps["last"] > max(validated)):
                if self.is_main:
                    self._move_aside("last", "diverged")
                found = [f for f in found if f[1] != "last"]
                moved = f" (the later state of step {steps['last']} is kept in {self.ckpt_dir}/diverged.safetensors)"
        if not found:
            return (f"no checkpoint holds a finite, validated state{moved}; start again with a lower learning rate: "
                    f"{command}")
        step, name, _ = found[0]
        validated = [s for n, s in steps.items() if n != "last"]
        if name == "last" and validated and step <= max(validated):  # the same state as the validated one
            name = next(n for n in RESUMABLE[1:] if steps.get(n) == step)
        kind = "the last validated state" if name != "last" else "the last state (not validated yet)"
        return (f"{kind} is {self.ckpt_dir / name}.safetensors (step {step}){moved}; continue from it with a lower "
                f"learning rate: {command} --resume")

    def _move_aside(self, name: str, new: str) -> None:
        for src, dst in zip(checkpoint_paths(self.ckpt_dir / name), checkpoint_paths(self.ckpt_dir / new)):
            if src.exists():
                os.replace(src, dst)
