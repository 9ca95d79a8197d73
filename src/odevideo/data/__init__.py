"""Data layer: the :class:`ClipBatch` container, irregular sampling, datasets and video files.

* :mod:`~odevideo.data.batch` -- :class:`ClipBatch`, :func:`collate_clips`, :func:`regular_times`
* :mod:`~odevideo.data.sampling` -- random observation masks / time subsets / time grids
* :mod:`~odevideo.data.mnist` -- IDX reader/writer, checksummed MNIST download, :func:`load_mnist`
* :mod:`~odevideo.data.moving_mnist` -- :class:`MovingMNIST`, :func:`load_moving_mnist_npy`
* :mod:`~odevideo.data.bouncing_balls` -- :class:`BouncingBalls` (the default dataset)
* :mod:`~odevideo.data.video_io` -- :func:`read_video`, :func:`write_video`, :func:`make_grid`, :func:`save_image`
"""

from odevideo.data.batch import DEFAULT_FRAME_DT, ClipBatch, collate_clips, regular_times
from odevideo.data.bouncing_balls import BouncingBalls, render_balls, simulate_bouncing_balls
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
from odevideo.data.moving_mnist import MovingMNIST, load_moving_mnist_npy
from odevideo.data.sampling import apply_mask, per_sample_time_grid, random_drop_mask, random_time_subset
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
    "simulate_bouncing_balls",
    "render_balls",
    "read_video",
    "iter_video_frames",
    "write_video",
    "make_grid",
    "save_image",
]
