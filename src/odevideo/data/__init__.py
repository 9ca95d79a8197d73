"""Data layer: the :class:`ClipBatch` container, irregular sampling, datasets and video files.

* :mod:`~odevideo.data.batch` -- :class:`ClipBatch`, :func:`collate_clips`, :func:`regular_times`
* :mod:`~odevideo.data.sampling` -- random observation masks / time subsets / time grids
* :mod:`~odevideo.data.mnist` -- IDX reader/writer, checksummed MNIST download, :func:`load_mnist`
* :mod:`~odevideo.data.moving_mnist` -- :class:`MovingMNIST`, :func:`load_moving_mnist_npy`
* :mod:`~odevideo.data.bouncing_balls` -- :class:`BouncingBalls` (the default dataset)
* :mod:`~odevideo.data.clip_cache` -- :func:`cached_clips`: synthetic splits generated once, cached as ``.npy``
* :mod:`~odevideo.data.video_io` -- :func:`read_video`, :func:`write_video`, :func:`make_grid`, :func:`save_image`
  (readers per format, writers, images, format tables)
* :mod:`~odevideo.data.transforms` -- crops, resizes, flip/rotation augmentation, temporal windows on ``(T, C, H, W)``
* :mod:`~odevideo.data.clip_files` -- :class:`VideoClip`, :func:`list_video_clips`: which files of a folder are clips
* :mod:`~odevideo.data.video_folder` -- :class:`VideoFolderDataset` (any folder of videos / frame folders / ``.npy``)
* :mod:`~odevideo.data.paper_dataset` -- :class:`PaperVideoDataset`, the base of the papers' named datasets
* real-video datasets: :class:`KTHAction`, :class:`MovingGif`, :class:`PennAction`, :class:`CAM5Hurricane`
  (raw physical values, *not* in ``[0, 1]``), :class:`UCF101`
"""

from odevideo.data.batch import DEFAULT_FRAME_DT, ClipBatch, collate_clips, regular_times
from odevideo.data.bouncing_balls import BouncingBalls, render_balls, simulate_bouncing_balls
from odevideo.data.cam5 import CAM5_CHANNELS, CAM5_HOURS_PER_FRAME, CAM5Hurricane
from odevideo.data.clip_cache import CachedClips, cached_clips
from odevideo.data.clip_files import CLIP_EXTENSIONS, VideoClip, list_video_clips
from odevideo.data.kth import KTH_ACTIONS, KTH_TEST_PERSONS, KTH_TRAIN_PERSONS, KTH_URL, KTHAction, parse_kth_name
from odevideo.data.mnist import (
    MNIST_FILES,
    MNIST_MD5,
    MNIST_MIRRORS,
    default_cache_dir,
    download_mnist,
    find_mnist_file,
    load_mnist,
    parse_idx,
    read_idx,
    write_idx,
)
from odevideo.data.moving_gif import MGIF_URL, MovingGif
from odevideo.data.moving_mnist import MovingMNIST, load_moving_mnist_npy
from odevideo.data.paper_dataset import PaperVideoDataset
from odevideo.data.penn_action import PENN_ACTIONS, PENN_URL, PennAction
from odevideo.data.sampling import apply_mask, per_sample_time_grid, random_drop_mask, random_time_subset
from odevideo.data.transforms import (
    center_crop,
    center_crop_square,
    crop,
    hflip,
    irregular_indices,
    irregular_subsample,
    make_generator,
    random_flip_rotate,
    random_temporal_window,
    resize,
    resize_short_side,
    rotate,
    sample_flip_rotate,
    subsample,
    temporal_window,
    window_start,
)
from odevideo.data.ucf101 import UCF101, UCF101_SPLITS_URL, UCF101_VIDEOS_URL
from odevideo.data.video_folder import VideoFolderDataset
from odevideo.data.video_io import iter_video_frames, make_grid, read_video, save_image, write_video

__all__ = [
    "DEFAULT_FRAME_DT",
    "ClipBatch",
    "collate_clips",
    "regular_times",
    "random_drop_mask",
    "random_time_subset",
    "per_sample_time_grid",
    "apply_mask",
    "MNIST_FILES",
    "MNIST_MD5",
    "MNIST_MIRRORS",
    "read_idx",
    "parse_idx",
    "write_idx",
    "default_cache_dir",
    "find_mnist_file",
    "download_mnist",
    "load_mnist",
    "MovingMNIST",
    "load_moving_mnist_npy",
    "BouncingBalls",
    "CachedClips",
    "cached_clips",
    "simulate_bouncing_balls",
    "render_balls",
    "read_video",
    "iter_video_frames",
    "write_video",
    "make_grid",
    "save_image",
    "center_crop",
    "center_crop_square",
    "crop",
    "resize",
    "resize_short_side",
    "hflip",
    "rotate",
    "sample_flip_rotate",
    "random_flip_rotate",
    "window_start",
    "temporal_window",
    "random_temporal_window",
    "subsample",
    "irregular_indices",
    "irregular_subsample",
    "make_generator",
    "CLIP_EXTENSIONS",
    "VideoClip",
    "VideoFolderDataset",
    "list_video_clips",
    "PaperVideoDataset",
    "KTHAction",
    "KTH_ACTIONS",
    "KTH_TRAIN_PERSONS",
    "KTH_TEST_PERSONS",
    "KTH_URL",
    "parse_kth_name",
    "MovingGif",
    "MGIF_URL",
    "PennAction",
    "PENN_ACTIONS",
    "PENN_URL",
    "CAM5Hurricane",
    "CAM5_CHANNELS",
    "CAM5_HOURS_PER_FRAME",
    "UCF101",
    "UCF101_VIDEOS_URL",
    "UCF101_SPLITS_URL",
]
