"""One optimizer step of the training loop: micro-batches, gradient accumulation across processes, fp16 loss
scaling and the adversarial update (simultaneous, or alternating through the method's ``regenerate``)."""

from __future__ import annotations

import contextlib
import math
import re
import warnings

import torch

from odevideo.errors import TrainingDivergedError
from odevideo.methods.base import backward_adversarial
from odevideo.training import distributed
from odevideo.training.batches import micro_batch_rows, training_plan
from odevideo.training.precision import autocast_context

#: fp16: this many skipped steps in a row (non-finite losses or gradients) stop the run
FP16_MAX_SKIPPED_IN_A_ROW = 20


class TrainStep:
    """The step of :class:`~odevideo.training.trainer.Trainer` (a mixin: it uses the trainer's state)."""

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
        method = self.method
        _, global_mask = training_plan(cfg, len(self.train_set), self.step)
        total_units = method.loss_units(cfg, global_mask)
        noise = method.training_noise(cfg, self.step)
        adversarial = self.critics is not None
        scaler = self.scaler
        scale = scaler.scale if scaler is not None else (lambda x: x)
        # alternating updates: the critics step first, then the model's loss is recomputed against the updated
        # critics (from the step's one generator pass) and the model steps
        alternating = adversarial and method.alternating(cfg)
        pending: list[tuple[object, float]] = []
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
            seed = distributed.rank_seed(cfg.train.seed, self.step, rank, micro)
            torch.manual_seed(seed)
            rows_noise = noise[rows].to(self.device) if noise is not None else None
            weight = method.loss_units(cfg, batch.mask) / total_units
            last = micro == accum - 1
            # gradients are averaged across processes once per step, in the last micro-batch's backward
            defer_sync = self.dist.distributed and not last and not adversarial
            sync = self.engine.no_sync() if defer_sync else contextlib.nullcontext()
            with sync:
                with autocast_context(cfg, self.device):
                    rng = torch.Generator().manual_seed(seed)
                    loss, d_loss, metrics, regenerate = self.engine(batch, rows_noise, self.step, rng)
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
                        raise TrainingDivergedError(  # the trainer adds where to continue from
                            f"loss became {reduced[1]} at step {self.step} (lower train.lr, keep train.grad_clip > 0, "
                            f"or use a smaller solver step model.solver.step_size)"
                        )
                # fp16 back-propagates every loss, finite or not (the same collectives on every rank); the
                # scaler then skips the step. Otherwise a non-finite loss has stopped the run above.
                if ok or scaler is not None:
                    if alternating:
                        scale(d_loss * weight).backward(inputs=d_params, retain_graph=True)
                        pending.append((regenerate, weight))
                    elif adversarial:
                        # one forward, two losses: each reaches only its own networks (no second critic pass)
                        backward_adversarial(scale(loss * weight), None if d_loss is None else scale(d_loss * weight),
                                             g_params, d_params)
                    else:
                        # DDP averages over processes: scale by world size so the sum of weights is 1
                        scale(loss * (weight * world)).backward()
        groups = [(self.model, g_params, self.opt, self.sched)]
        if adversarial:
            groups.append((self.critics, d_params, self.opt_d, self.sched_d))
        scale_before = scaler.get_scale() if scaler is not None else None
        if alternating:
            self._step_networks([groups[1]], all_finite)
            self._after_critic_step()
            for regenerate, weight in pending:
                with autocast_context(cfg, self.device):
                    g_loss = regenerate()
                scale(g_loss * weight).backward(inputs=g_params)
            pending.clear()
            self._step_networks([groups[0]], all_finite)
        else:
            self._step_networks(groups, all_finite)
            self._after_critic_step()
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
                    f"gradients (loss {sums.get('loss', reduced[1])}, gradient scale now {scaler.get_scale():g}; "
                    f"lower train.lr or train with train.fp16=false: bf16 or fp32)"
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
                        f"the gradient norm of the {type(net).__name__} became {gnorm.item()} at step {self.step} "
                        f"(lower train.lr)"
                    )
            if scaler is not None:
                scaler.step(opt)  # skipped if this optimizer's gradients hold an inf / NaN
            else:
                opt.step()
            with warnings.catch_warnings():  # a skipped first fp16 step: the schedule still follows the step count
                warnings.filterwarnings("ignore", message=re.escape("Detected call of `lr_scheduler.step()`"))
                sched.step()

    def _after_critic_step(self) -> None:
        if self.critics is not None:  # e.g. TGAN's singular value clipping after each discriminator update
            self.method.after_critic_step(self.cfg, self.critics, self.step + 1)


