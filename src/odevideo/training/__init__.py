"""Training engine: typed configs, checkpoints, the loop, evaluation and inference."""

from odevideo.training.config import DataConfig, EvalConfig, ExperimentConfig, ModelConfig, ObjectiveConfig, TrainConfig
from odevideo.training.configio import list_presets, load_config
from odevideo.training.evaluation import evaluate, format_table, save_results
from odevideo.training.factory import build_dataset, build_model
from odevideo.training.inference import load_model, parse_times, predict_clip
from odevideo.training.trainer import Trainer, TrainResult

__all__ = [
    "DataConfig", "EvalConfig", "ExperimentConfig", "ModelConfig", "ObjectiveConfig", "TrainConfig",
    "list_presets", "load_config", "evaluate", "format_table", "save_results", "build_dataset", "build_model",
    "load_model", "parse_times", "predict_clip", "Trainer", "TrainResult",
]
