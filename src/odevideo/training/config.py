"""Typed experiment configuration.

Every run is described by an experiment config: the sections ``data`` (:class:`~odevideo.data.config.DataConfig`),
``task`` (:class:`~odevideo.data.tasks.TaskConfig`), ``train`` and ``eval`` (here), and the method's own sections
``model`` and ``loss`` (and e.g. ``validation``), whose types the top-level ``method`` picks from the registry
(:data:`odevideo.methods.METHODS`). It is built from the dataclass defaults, then a YAML preset
(``src/odevideo/presets/<family>/<name>.yaml``) or file, then ``--set key=value`` overrides, in that order of
precedence (:func:`odevideo.configio.load_config`). The resolved config is written to every run directory and
into every checkpoint.

Time units: clip times are ``frame_index * data.frame_dt``; solver step sizes use the same units.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from odevideo._paths import blocking_file
from odevideo.data.config import DataConfig
from odevideo.data.tasks import TaskConfig
from odevideo.errors import ConfigError

DEFAULT_METHOD = "latent_ode_vae"


@dataclass
class TrainConfig:
    """Optimisation and the training loop."""

    steps: int = 2000
    # The GLOBAL batch of one optimizer step, whatever the number of processes: with N processes
    # (torchrun) and grad_accum_steps A, each process runs A micro-batches of batch_size / (N * A) clips.
    batch_size: int = 16
    grad_accum_steps: int = 1  # micro-batches per optimizer step (per process); same gradient, less memory
    lr: float = 1e-3  # for the global batch; not rescaled with the number of processes
    disc_lr: float | None = None  # discriminators' learning rate; None = lr
    optimizer: Literal["adamw", "adam", "adamax"] = "adamw"
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    weight_decay: float = 0.0
    # exponential: lr * lr_decay ** (step // lr_decay_every) (Vid-ODE: 0.99 per epoch)
    lr_schedule: Literal["constant", "cosine", "exponential"] = "cosine"
    lr_decay: float = 0.99
    lr_decay_every: int = 1000
    warmup_steps: int = 50
    grad_clip: float = 10.0  # max global grad norm; 0 disables clipping
    # Exponential moving average of the model's weights (GANs: the generator's, as ProGAN / StyleGAN / BigGAN),
    # decay min(ema_decay, (1+n)/(10+n)) after n updates; 0 = off. With it on, validation, the best checkpoint,
    # evaluate / predict / generate all use the average; the trained weights stay in the checkpoint for --resume.
    ema_decay: float = 0.0
    max_minutes: float | None = None  # wall-clock budget (training time summed over resumes)
    log_every: int = 25
    eval_every: int = 250
    checkpoint_every: int = 250
    seed: int = 0
    threads: int | None = None  # torch intra-op threads; None keeps torch's default
    bf16: bool = False  # bf16 autocast for the conv nets (the ODE itself stays fp32)
    fp16: bool = False  # fp16 autocast + a dynamic gradient scaler (torch.amp.GradScaler); not with bf16
    # Batches from a torch DataLoader with this many worker processes (persistent, prefetching); 0 = built
    # in the training process. The batch of step s is the same either way (a pure function of seed, s, rank).
    num_workers: int = 0
    prefetch_factor: int = 2  # batches (steps) prefetched per worker (num_workers > 0)
    pin_memory: bool | None = None  # page-locked batches, non-blocking copies (workers only); None = auto: True on CUDA
    channels_last: bool = False
    device: str = "auto"  # auto (cuda:LOCAL_RANK > mps > cpu), cpu, cuda (= cuda:LOCAL_RANK), cuda:N, mps
    # recompute the frame decoder's (Vid-ODE: G's) activations in backward: less memory, more compute
    activation_checkpointing: bool = False
    # torch.compile the conv encoders/decoders and ODE nets (speed: docs/results/speed.md)
    compile: bool = False
    progress: bool = True


@dataclass
class EvalConfig:
    """Held-out evaluation (``odevideo evaluate``) and in-training validation."""

    split: Literal["val", "test"] = "test"
    num_clips: int = 256
    batch_size: int = 32
    interpolation: bool = True
    # the interpolation section observes frames 0, g, 2g, ... and predicts the g - 1 frames between two of them
    interp_gap: int = 2
    num_sample_clips: int = 4  # clips shown in sample grids / GIFs
    # LPIPS (AlexNet, v0.1 heads) next to PSNR/SSIM/MSE: needs the weights in lpips_dir (or the cache,
    # downloaded once when a network is there); see odevideo.metrics.LPIPS.pretrained.
    lpips: bool = False
    lpips_dir: str | None = None


@dataclass
class ExperimentConfig:
    """A whole experiment; ``name`` names the run directory ``<output_dir>/<name>``. The sections of the method
    (``model``, ``loss``, ...) exist on the concrete type for ``method``: build configs with
    :func:`experiment_config` or :func:`odevideo.configio.load_config`."""

    name: str = "default"
    description: str = ""
    output_dir: str = "runs"
    method: str = DEFAULT_METHOD  # a name in odevideo.methods.METHODS (`odevideo methods` lists them)
    data: DataConfig = field(default_factory=DataConfig)
    task: TaskConfig = field(default_factory=TaskConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)

    @classmethod
    def config_type_for(cls, data: Mapping[str, Any]) -> type:
        """The concrete experiment type of the ``method`` named in ``data`` (a mapping of config values); without
        one, ``cls`` itself if it is concrete, else the default method's."""
        if isinstance(data, Mapping) and "method" in data:
            method = data["method"]
            if not isinstance(method, str):
                from odevideo._config_types import short_repr

                raise ConfigError(f"config key 'method': expected a method name (str), got {short_repr(method)}; "
                                  f"set method to a name that `odevideo methods` lists")
            return experiment_type(method)
        return cls if cls is not ExperimentConfig else experiment_type(DEFAULT_METHOD)

    def check(self) -> None:
        """Refuse values no run can use (see :func:`check_config`); ConfigError naming the key and the fix."""
        check_config(self)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _require(ok: bool, key: str, value: Any, what: str) -> None:
    if not ok:
        raise ConfigError(f"{key}={value!r} {what}")


def check_config(cfg: ExperimentConfig) -> None:
    """Refuse the values of ``name``, ``train`` and ``eval`` that no run can use, before any work: a run name that
    is not a plain folder name (the run directory must stay inside ``output_dir``), non-positive step counts, batch
    sizes and clip counts, NaN / infinite / non-positive learning rates (``train.disc_lr`` may be 0: frozen
    discriminators), a negative time budget. Called by the :class:`~odevideo.training.Trainer` and the command
    line; raises :class:`~odevideo.errors.ConfigError`."""
    name = cfg.name
    _require(isinstance(name, str) and name not in ("", ".", "..") and not any(c in name for c in "/\\\0"),
             "name", name, "must be a plain folder name (no '/', '\\' or '..'): the run directory is "
             "<output_dir>/<name>; choose where it goes with output_dir (--output-dir)")
    t = cfg.train
    for key in ("steps", "batch_size", "log_every", "lr_decay_every"):
        value = getattr(t, key)
        _require(_number(value) and value == int(value) and value >= 1, f"train.{key}", value,
                 "must be a whole number >= 1")
    _require(_number(t.warmup_steps) and t.warmup_steps >= 0, "train.warmup_steps", t.warmup_steps,
             "must be a whole number >= 0")
    _require(_number(t.lr) and math.isfinite(t.lr) and t.lr > 0, "train.lr", t.lr,
             "must be a finite number > 0, e.g. 1e-3")
    if t.disc_lr is not None:  # 0 freezes the discriminators (a control in experiments)
        _require(_number(t.disc_lr) and math.isfinite(t.disc_lr) and t.disc_lr >= 0, "train.disc_lr", t.disc_lr,
                 "must be a finite number >= 0, e.g. 1e-3 (0 freezes the discriminators; null: train.lr)")
    for key in ("weight_decay", "grad_clip"):
        value = getattr(t, key)
        _require(_number(value) and math.isfinite(value) and value >= 0, f"train.{key}", value,
                 "must be a finite number >= 0 (0 turns it off)")
    _require(_number(t.lr_decay) and math.isfinite(t.lr_decay) and t.lr_decay > 0, "train.lr_decay", t.lr_decay,
             "must be a finite number > 0 (the factor per train.lr_decay_every steps, e.g. 0.99)")
    _require(_number(t.ema_decay) and 0 <= t.ema_decay < 1, "train.ema_decay", t.ema_decay,
             "must be in [0, 1) (0 turns the moving average off)")
    _require(len(t.betas) == 2 and all(_number(b) and 0 <= b < 1 for b in t.betas), "train.betas", t.betas,
             "must be two numbers in [0, 1), e.g. [0.9, 0.999]")
    if t.max_minutes is not None:
        _require(_number(t.max_minutes) and t.max_minutes >= 0, "train.max_minutes", t.max_minutes,
                 "must be a number of minutes >= 0 (0 saves a checkpoint at once; null: no limit)")
    for key in ("num_clips", "batch_size"):
        value = getattr(cfg.eval, key)
        _require(_number(value) and value == int(value) and value >= 1, f"eval.{key}", value,
                 "must be a whole number >= 1")
    gap = cfg.eval.interp_gap
    _require(isinstance(gap, int) and not isinstance(gap, bool) and gap >= 2, "eval.interp_gap", gap,
             "must be a whole number >= 2 (2: observe every other frame and predict the one between)")


def check_run_dir(run_dir: str | Path) -> None:
    """Refuse a run directory that cannot be created because a file sits at it or above it (before any work)."""
    blocker = blocking_file(run_dir)
    if blocker is not None:
        raise ConfigError(f"cannot create the run directory {run_dir}: {blocker} is a file, not a folder; choose "
                          f"another output_dir (--output-dir)")


@functools.cache
def experiment_type(method: str) -> type:
    """``ExperimentConfig`` with the sections of ``method`` (``model``, ``loss`` and the method's own)."""
    from odevideo.methods import get_method

    m = get_method(method)
    sections = {"model": m.model_config, "loss": m.loss_config, **m.sections}
    fields = [(name, tp, field(default_factory=tp)) for name, tp in sections.items()]
    cls = dataclasses.make_dataclass(f"{type(m).__name__.removesuffix('Method')}Experiment", fields,
                                     bases=(ExperimentConfig,))
    cls.__doc__ = f"An experiment of method {method!r}: {(type(m).__doc__ or '').strip().splitlines()[0]}"
    cls.__module__ = __name__
    return cls


def experiment_config(method: str = DEFAULT_METHOD, **sections: Any) -> ExperimentConfig:
    """A config of ``method`` with its defaults, the given top-level fields or sections replaced."""
    return experiment_type(method)(method=method, **sections)


def applicable_overrides(preset: str | None, overrides: list[str], method: str | None = None) -> list[str]:
    """The ``key=value`` overrides whose key exists in the config of ``preset``'s method (or ``method``): one list
    of shared overrides (e.g. "narrow networks") applied across presets of different methods."""
    from odevideo.configio import has_key, load_preset

    if method is None:
        method = (load_preset(preset).get("method") if preset else None) or DEFAULT_METHOD
    for o in overrides:
        key = o.split("=", 1)[0].strip()
        if key == "method":
            method = o.split("=", 1)[1].strip()
    cls = experiment_type(method)
    return [o for o in overrides if has_key(cls, o.split("=", 1)[0].strip())]
