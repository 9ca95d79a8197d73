"""Which clips a run trains and evaluates on (the ``data`` section of an experiment config)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass
class DataConfig:
    """Which clips to train and evaluate on."""

    # kth / moving_gif / penn_action: Vid-ODE's datasets from data_dir (validation = every 20th train clip)
    dataset: Literal[
        "bouncing_balls", "moving_mnist", "video_folder", "video_file", "kth", "moving_gif", "penn_action", "ucf101",
    ] = "bouncing_balls"
    image_size: int = 32
    channels: int = 1
    num_frames: int = 20
    frame_dt: float = 0.1  # time units between consecutive frames
    num_digits: int = 1  # moving_mnist
    num_balls: int = 3  # bouncing_balls
    fold: int = 1  # ucf101: the official train/test split (1, 2 or 3)
    train_clips: int = 100_000  # training stream length; clip i is a pure function of (seed, i)
    val_clips: int = 128
    test_clips: int = 256
    # moving_mnist: local MNIST files (gz/raw IDX); video_folder: root with train/val/test sub-folders of clips;
    # video_file: one video file or a folder of them, each split in time by `split`
    data_dir: str | None = None
    # video_folder / video_file: training draws train_clips windows from anywhere in every file; val and test
    # score every non-overlapping window of their files (val_clips / test_clips do not apply)
    # video_file: train / val / test fractions of every file's frames, in time order (no window crosses a cut)
    split: list[float] = field(default_factory=lambda: [0.8, 0.1, 0.1])
    # video_folder / video_file: "center" = the largest centred square, resized to image_size; "random" = an
    # image_size square of the frames at their own resolution (no resize), at a random place per training
    # window, centred for validation and test (fine detail as a full-resolution video has it)
    crop: Literal["center", "random"] = "center"
    # video_folder / video_file: no window crosses a scene cut (a hard cut between shots, found when the files are
    # measured: docs/configuration.md); scenes shorter than a window are left out with a warning
    scene_cuts: bool = True
    download: bool = True
    seed: int = 0
    drop_prob: float = 0.0  # irregular training: drop each frame after the first with this probability
    augment_flip: float = 0.0  # training clips: probability of a horizontal flip (Vid-ODE: 0.5)
    # training clips: rotation by U(-d, d) degrees, same for every frame (Vid-ODE: 10)
    augment_rotate_degrees: float = 0.0
    # Pre-generated synthetic clips (bouncing_balls, moving_mnist) cached on disk as .npy + .json (the
    # generating config): generated once (rank 0 first, a file lock against other runs), then loaded by
    # every process and run. None = off (clips are generated on the fly). Same clips either way.
    cache_dir: str | None = None
    cache_splits: list[str] = field(default_factory=lambda: ["val", "test"])  # add "train" for the training stream
