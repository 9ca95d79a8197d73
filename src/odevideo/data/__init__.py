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
* :mod:`~odevideo.data.video_windows` -- :class:`VideoWindowDataset` (windows over whole files, split in time)
* :mod:`~odevideo.data.paper_dataset` -- :class:`PaperVideoDataset`, the base of the papers' named datasets
* real-video datasets: :class:`KTHAction`, :class:`MovingGif`, :class:`PennAction`, :class:`CAM5Hurricane`
  (raw physical values, *not* in ``[0, 1]``), :class:`UCF101`
"""

# A module whose whole ``__all__`` belongs to the package is imported with ``*`` (its ``__all__`` is the one list
# of those names); from the others the package takes only the names listed here.
from odevideo.data import batch, bouncing_balls, cam5, kth, mnist, sampling, transforms
from odevideo.data.batch import *  # noqa: F403
from odevideo.data.bouncing_balls import *  # noqa: F403
from odevideo.data.cam5 import *  # noqa: F403
from odevideo.data.clip_cache import CachedClips, cached_clips
from odevideo.data.clip_files import CLIP_EXTENSIONS, VideoClip, list_video_clips
from odevideo.data.kth import *  # noqa: F403
from odevideo.data.mnist import *  # noqa: F403
from odevideo.data.moving_gif import MGIF_URL, MovingGif
from odevideo.data.moving_mnist import MovingMNIST, load_moving_mnist_npy
from odevideo.data.paper_dataset import PaperVideoDataset
from odevideo.data.penn_action import PENN_ACTIONS, PENN_URL, PennAction
from odevideo.data.sampling import *  # noqa: F403
from odevideo.data.transforms import *  # noqa: F403
from odevideo.data.ucf101 import UCF101, UCF101_SPLITS_URL, UCF101_VIDEOS_URL
from odevideo.data.video_folder import VideoFolderDataset
from odevideo.data.video_io import iter_video_frames, make_grid, read_video, save_image, write_video
from odevideo.data.video_windows import VideoWindowDataset

__all__ = [
    "MovingMNIST",
    "load_moving_mnist_npy",
    "CachedClips",
    "cached_clips",
    "read_video",
    "iter_video_frames",
    "write_video",
    "make_grid",
    "save_image",
    "CLIP_EXTENSIONS",
    "VideoClip",
    "VideoFolderDataset",
    "VideoWindowDataset",
    "list_video_clips",
    "PaperVideoDataset",
    "MovingGif",
    "MGIF_URL",
    "PennAction",
    "PENN_ACTIONS",
    "PENN_URL",
    "UCF101",
    "UCF101_VIDEOS_URL",
    "UCF101_SPLITS_URL",
]
__all__ += batch.__all__
__all__ += sampling.__all__
__all__ += mnist.__all__
__all__ += bouncing_balls.__all__
__all__ += transforms.__all__
__all__ += kth.__all__
__all__ += cam5.__all__
