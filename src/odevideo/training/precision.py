"""The training precision: bf16 or fp16 autocast (``train.bf16`` / ``train.fp16``) or float32."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from odevideo.errors import ConfigError

if TYPE_CHECKING:
    from odevideo.training.config import ExperimentConfig


def autocast_dtype(cfg: ExperimentConfig) -> torch.dtype | None:
    """The autocast dtype of ``train.bf16`` / ``train.fp16`` (None = float32); both at once is an error."""
    t = cfg.train
    if t.bf16 and t.fp16:
        raise ConfigError(
            "train.bf16 and train.fp16 are both true; choose one precision, e.g. --set train.bf16=false "
            "--set train.fp16=true for fp16 with a gradient scaler (most presets set bf16: true)"
        )
    return torch.bfloat16 if t.bf16 else torch.float16 if t.fp16 else None


def autocast_context(cfg: ExperimentConfig, device: torch.device | str):
    """``torch.autocast`` in the configured precision on ``device`` (disabled for float32)."""
    dtype = autocast_dtype(cfg)
    return torch.autocast(device_type=torch.device(device).type, dtype=dtype or torch.bfloat16,
                          enabled=dtype is not None)
