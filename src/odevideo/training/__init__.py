"""The training loop and the experiment config: ``Trainer(cfg).fit()`` trains any method of the registry."""

import importlib

from odevideo.configio import list_presets, load_config
from odevideo.data.build import build_dataset
from odevideo.training.config import EvalConfig, ExperimentConfig, TrainConfig, experiment_config
from odevideo.training.trainer import Trainer, TrainResult

# evaluation helpers, importable from here too (loaded on first use: evaluation imports this package)
_LAZY = {"evaluate": "odevideo.evaluation.conditional", "format_table": "odevideo.evaluation.conditional",
         "save_results": "odevideo.evaluation.conditional", "load_run": "odevideo.evaluation.inference",
         "parse_times": "odevideo.evaluation.inference", "predict_clip": "odevideo.evaluation.inference"}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'odevideo.training' has no attribute {name!r}")


__all__ = [
    "EvalConfig", "ExperimentConfig", "TrainConfig", "experiment_config", "list_presets", "load_config",
    "build_dataset", "Trainer", "TrainResult", *_LAZY,
]
