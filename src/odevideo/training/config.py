"""Typed experiment configuration.

Every run is described by one :class:`ExperimentConfig`. It is built from the dataclass defaults,
then a YAML preset (``src/odevideo/presets/<name>.yaml``) or file, then ``--set key=value`` command-line
overrides, in that order of precedence (see :func:`odevideo.training.configio.load_config`). The
resolved config is written to every run directory and into every checkpoint.

Time units: clip times are ``frame_index * data.frame_dt``; solver step sizes use the same units.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from odevideo.solvers import SolverConfig


@dataclass
class DataConfig:
    """Which clips to train and evaluate on."""

    dataset: Literal["bouncing_balls", "moving_mnist", "video_folder"] = "bouncing_balls"
    image_size: int = 32
    channels: int = 1
    num_frames: int = 20
    frame_dt: float = 0.1  # time units between consecutive frames
    num_digits: int = 1  # moving_mnist
    num_balls: int = 3  # bouncing_balls
    train_clips: int = 100_000  # training stream length; clip i is a pure function of (seed, i)
    val_clips: int = 128
    test_clips: int = 256
    data_dir: str | None = None  # moving_mnist: local MNIST files (gz/raw IDX); video_folder: root with train/val/test
    download: bool = True
    seed: int = 0
    drop_prob: float = 0.0  # irregular training: drop each frame after the first with this probability


@dataclass
class ModelConfig:
    """Architecture of the model family."""

    family: Literal["latent_ode_vae", "encoder_ode_decoder"] = "latent_ode_vae"
    channels: list[int] = field(default_factory=lambda: [16, 32, 64])
    latent_dim: int = 32
    embed_dim: int = 128  # latent_ode_vae: per-frame embedding fed to the GRU
    rnn_hidden: int = 128  # latent_ode_vae
    ode_hidden: int = 128
    ode_layers: int = 2
    skip_connections: bool = True
    time_dependent: bool = False
    solver: SolverConfig = field(default_factory=lambda: SolverConfig(method="rk4", step_size=0.1))


@dataclass
class ObjectiveConfig:
    """What a training step optimises."""

    formulation: Literal["reconstruction", "prediction"] = "prediction"
    num_observed: int = 10
    likelihood: Literal["bernoulli", "gaussian"] = "bernoulli"  # latent_ode_vae
    obs_sigma: float = 1.0  # gaussian likelihood
    kl_weight: float = 1.0
    kl_warmup_steps: int = 0  # linear KL annealing from 0 to kl_weight
    latent_weight: float = 1.0  # encoder_ode_decoder latent matching term


@dataclass
class TrainConfig:
    """Optimisation and the training loop."""

    steps: int = 2000
    # The GLOBAL batch of one optimizer step, whatever the number of processes: with N processes
    # (torchrun) and grad_accum_steps A, each process runs A micro-batches of batch_size / (N * A) clips.
    batch_size: int = 16
    grad_accum_steps: int = 1  # micro-batches per optimizer step (per process); same gradient, less memory
    lr: float = 1e-3  # for the global batch; not rescaled with the number of processes
    weight_decay: float = 0.0
    lr_schedule: Literal["constant", "cosine"] = "cosine"
    warmup_steps: int = 50
    grad_clip: float = 10.0  # max global grad norm; 0 disables clipping
    max_minutes: float | None = None  # wall-clock budget (training time summed over resumes)
    log_every: int = 25
    eval_every: int = 250
    checkpoint_every: int = 250
    seed: int = 0
    threads: int | None = None  # torch intra-op threads; None keeps torch's default
    bf16: bool = False  # bf16 autocast for the conv nets (the ODE itself stays fp32)
    channels_last: bool = False
    device: str = "auto"  # auto (cuda:LOCAL_RANK > mps > cpu), cpu, cuda (= cuda:LOCAL_RANK), cuda:N, mps
    activation_checkpointing: bool = False  # recompute frame-decoder activations in backward: less memory, ~1/3 more compute
    compile: bool = False  # torch.compile the conv encoders/decoders and ODE nets (off: speed-up not measured)
    progress: bool = True


@dataclass
class EvalConfig:
    """Held-out evaluation (``odevideo evaluate``) and in-training validation."""

    split: Literal["val", "test"] = "test"
    num_clips: int = 256
    batch_size: int = 32
    interpolation: bool = True
    num_sample_clips: int = 4  # clips shown in sample grids / GIFs


@dataclass
class ExperimentConfig:
    """A whole experiment; ``name`` names the run directory ``<output_dir>/<name>``."""

    name: str = "default"
    description: str = ""
    output_dir: str = "runs"
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    objective: ObjectiveConfig = field(default_factory=ObjectiveConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
