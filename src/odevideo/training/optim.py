"""Optimizers and schedules, activation checkpointing and torch.compile for the training loop."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
from torch import nn

from odevideo.errors import ConfigError

if TYPE_CHECKING:
    from odevideo.training.config import ExperimentConfig


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
        raise ConfigError(
            f"{type(model).__name__} has no part that supports train.activation_checkpointing; set it to false"
        )
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
