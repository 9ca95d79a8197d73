"""The datasets of a ``data`` config: synthetic generators, the user's own clips and the papers' datasets."""

from __future__ import annotations

from pathlib import Path

import torch

from odevideo.data.bouncing_balls import BouncingBalls
from odevideo.data.config import DataConfig
from odevideo.data.moving_mnist import MovingMNIST
from odevideo.data.video_windows import VideoWindowDataset, check_split
from odevideo.errors import ConfigError, InputError

_SPLIT_OFFSET = {"train": 0, "val": 1, "test": 2}


def build_dataset(d: DataConfig, split: str) -> torch.utils.data.Dataset:
    """The ``train``/``val``/``test`` clips of the ``data`` config ``d`` (deterministic from ``d.seed``).

    With ``data.cache_dir`` the synthetic datasets' splits named in ``data.cache_splits`` come from the
    on-disk cache (:func:`odevideo.data.cached_clips`; generated there first if missing or stale): the
    same clips, bit for bit. Several processes: build under the training loop's ``main_first``
    so that rank 0 generates and the others load."""
    d = getattr(d, "data", d)  # an experiment config works too
    dataset = _build_generator(d, split)
    if d.cache_dir is None:
        return dataset
    bad = [s for s in d.cache_splits if s not in _SPLIT_OFFSET]
    if bad:
        raise ConfigError(f"data.cache_splits={d.cache_splits} holds {bad}; use a list of train, val, test")
    if split not in d.cache_splits or not hasattr(dataset, "cache_description"):
        return dataset  # only the synthetic generators are cached; file datasets are read as they are
    import sys

    from odevideo.data import cached_clips

    return cached_clips(dataset, d.cache_dir, f"{d.dataset}-{split}", dataset.cache_description(),
                        frame_dt=d.frame_dt, log=lambda line: print(line, file=sys.stderr, flush=True))


def _build_generator(d: DataConfig, split: str) -> torch.utils.data.Dataset:
    n = {"train": d.train_clips, "val": d.val_clips, "test": d.test_clips}[split]
    if d.dataset == "moving_mnist":
        if d.channels != 1:
            raise ConfigError("moving_mnist clips have 1 channel; set data.channels=1")
        return MovingMNIST(
            split=split, num_digits=d.num_digits, num_frames=d.num_frames, size=d.image_size, num_clips=n,
            seed=d.seed, data_dir=d.data_dir, download=d.download, frame_dt=d.frame_dt,
        )
    if d.dataset == "bouncing_balls":
        if d.channels != 1:
            raise ConfigError("bouncing_balls clips have 1 channel; set data.channels=1")
        # Bouncing balls has no digit pools: splits are disjoint seed streams.
        return BouncingBalls(
            num_clips=n, num_frames=d.num_frames, size=d.image_size, num_balls=d.num_balls,
            seed=d.seed * 3 + _SPLIT_OFFSET[split] + 1_000_003 * _SPLIT_OFFSET[split], frame_dt=d.frame_dt,
        )
    if d.dataset in ("video_folder", "video_file"):
        return _own_videos(d, split, n)
    if d.dataset in _PAPER_VIDEO_DATASETS:
        return _paper_video_dataset(d, split)
    raise ConfigError(
        f"unknown data.dataset {d.dataset!r}; use bouncing_balls, moving_mnist, video_folder, video_file, "
        f"{', '.join(_PAPER_VIDEO_DATASETS)}"
    )


def _own_videos(d: DataConfig, split: str, n: int) -> VideoWindowDataset:
    """The user's own videos (:class:`VideoWindowDataset`): ``train`` is ``n`` windows drawn from the whole of
    every file, ``val``/``test`` every non-overlapping window. Frames are centre-cropped to a square and
    resized to image_size.

    ``video_folder``: ``<data_dir>/{train,val,test}/`` each hold clips (video files, GIFs, .npy, frame folders).
    ``video_file``: ``data_dir`` is one video file or a folder of them; each file is split in time by
    ``data.split`` (train, val, test fractions).

    With ``data.scene_cuts`` (default) no window crosses a scene cut; the scenes shorter than a window are left
    out with a warning (a whole part too short is still an error naming the keys that fix it)."""
    if not d.data_dir:
        raise ConfigError(
            "data.dataset=video_folder needs data.data_dir=PATH, a folder with train/, val/ and test/ "
            "sub-folders of clips (video files, GIFs, .npy or folders of frames)" if d.dataset == "video_folder" else
            "data.dataset=video_file needs data.data_dir=PATH, a video file or a folder of them (split in time by "
            "data.split)"
        )
    common = dict(num_items=n if split == "train" else None, seed=d.seed + _SPLIT_OFFSET[split],
                  channels=d.channels, frame_dt=d.frame_dt, recursive=True, scene_cuts=d.scene_cuts,
                  short_scenes="skip")
    if d.crop == "random":
        common["native_crop"] = d.image_size
    else:
        common["crop"] = "center"
    size = None if d.crop == "random" else d.image_size
    if d.dataset == "video_folder":
        return VideoWindowDataset(Path(d.data_dir) / split, d.num_frames, size, **common)
    try:
        check_split(d.split)
    except InputError as e:
        raise ConfigError(f"data.split={d.split}: {e}") from e
    return VideoWindowDataset(d.data_dir, d.num_frames, size, time_split=d.split, part=split, **common)


_PAPER_VIDEO_DATASETS = ("kth", "moving_gif", "penn_action", "ucf101")
#: every HOLDOUT_EVERY-th clip of the official train split is the validation split (and not trained on)
HOLDOUT_EVERY = 20


def _paper_video_dataset(d: DataConfig, split: str):
    """KTH Action / Moving GIF / Penn Action with Vid-ODE's preprocessing, UCF101 (``data.fold``) with TGAN's
    (:mod:`odevideo.data`).

    These datasets only have train and test splits; validation (best checkpoint) uses every
    :data:`HOLDOUT_EVERY`-th clip of the train split, which training then skips. Augmentation is the
    trainer's (``data.augment_flip`` / ``data.augment_rotate_degrees``), so the loaders' own is off."""
    from odevideo.data import UCF101, KTHAction, MovingGif, PennAction

    if not d.data_dir:
        raise ConfigError(f"data.dataset={d.dataset} needs data.data_dir=PATH (see `odevideo.data` for the layouts)")
    source = "test" if split == "test" else "train"
    window = "random" if split == "train" else "first"
    if d.dataset == "ucf101":
        if d.fold not in (1, 2, 3):
            raise ConfigError(f"data.fold={d.fold}: UCF101 has the official splits 1, 2 and 3")
        full = UCF101(d.data_dir, source, d.fold, d.num_frames, d.image_size, channels=d.channels, window=window,
                      frame_dt=d.frame_dt, seed=d.seed)
    else:
        cls = {"kth": KTHAction, "moving_gif": MovingGif, "penn_action": PennAction}[d.dataset]
        full = cls(d.data_dir, source, d.num_frames, d.image_size, channels=d.channels, window=window,
                   augment=False, frame_dt=d.frame_dt, seed=d.seed)
    if split == "test":
        return full
    keep = [i for i in range(len(full)) if (i % HOLDOUT_EVERY == 0) == (split == "val")]
    if not keep:
        raise ConfigError(f"{d.data_dir} holds too few {d.dataset} clips for a {split} split (every "
                          f"{HOLDOUT_EVERY}th train clip is held out for validation)")
    return torch.utils.data.Subset(full, keep)


