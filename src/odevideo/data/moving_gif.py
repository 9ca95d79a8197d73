"""Moving GIF / MGif (Siarohin et al., "Animating Arbitrary Objects via Deep Motion Transfer", CVPR 2019).

About 1,000 GIF animations of cartoon animals walking or running on a white background, 256x256
after the source's processing; Vid-ODE uses 900 for training and 100 for testing and resizes every
frame to 128x128.

Download (no checksums are published by the source): the dataset comes from the Monkey-Net
authors, https://github.com/AliaksandrSiarohin/monkey-net (``sup-mat/MGif/README.md``), whose
processed version (backgrounds removed, resized to 256x256, ``train``/``test`` folders of ``.gif``
files) is at https://yadi.sk/d/VBFiPs95yO7sMA . The Vid-ODE authors also share their
preprocessed copy (one ``.npy`` per video, ``train``/``test`` folders) through the README of
https://github.com/psh01087/Vid-ODE .

Accepted layout: ``root/train/`` and ``root/test/`` holding one clip per ``.gif``/``.npy``/video
file or frame folder (``root`` may also be the parent of a ``moving-gif`` folder).

Preprocessing (the paper: "each frame is resized to 128x128"): the largest centred square (a no-op
for the 256x256 processed GIFs; raw GIFs are not all square) then a bilinear, antialiased resize to
``size``; ``channels=3``; training items get the paper's flip + rotation augmentation.

Short GIFs: the authors' loader drops clips with fewer frames than the window; so does the
default ``short_clips="skip"`` here (it measures every GIF once at construction -- a few seconds per
thousand files -- and lists the dropped ones in ``dataset.skipped`` with a warning).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

from odevideo.data.batch import DEFAULT_FRAME_DT
from odevideo.data.clip_files import VideoClip, list_video_clips
from odevideo.data.video_folder import VideoFolderDataset, split_defaults
from odevideo.errors import DatasetError, InputError

__all__ = ["MovingGif", "MGIF_URL", "MGIF_PROJECT_URL"]

#: Processed MGif download given by the dataset's authors (Monkey-Net, sup-mat/MGif/README.md).
MGIF_URL = "https://yadi.sk/d/VBFiPs95yO7sMA"
MGIF_PROJECT_URL = "https://github.com/AliaksandrSiarohin/monkey-net"

_HELP = (
    f"download Moving GIF (MGif) from {MGIF_URL} (see {MGIF_PROJECT_URL}, sup-mat/MGif/README.md) or the Vid-ODE "
    f"authors' npy copy (https://github.com/psh01087/Vid-ODE), and arrange it as root/train/* and root/test/*"
)


class MovingGif(VideoFolderDataset):
    """Moving GIF clips resized to ``size`` (see the module docstring).

    Args:
        root: folder with ``train/`` and ``test/`` sub-folders (or the parent of ``moving-gif/``).
        split: ``"train"`` or ``"test"``.
        num_frames: frames per item (Vid-ODE: 10; 20 for irregular sampling).
        size: output side (128).
        window: ``None`` = ``"random"`` for train, ``"first"`` for test.
        augment: ``None`` = flip + rotation for train only.
        short_clips: ``"skip"`` (default, as the authors), ``"pad"`` or ``"error"``.
        **kwargs: passed on to :class:`~odevideo.data.VideoFolderDataset`.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        split: str = "train",
        num_frames: int = 10,
        size: int | Sequence[int] | None = 128,
        *,
        crop: str | int | Sequence[int] | None = "center",
        channels: int | None = 3,
        window: str | None = None,
        augment: bool | None = None,
        short_clips: str = "skip",
        frame_dt: float = DEFAULT_FRAME_DT,
        **kwargs: Any,
    ) -> None:
        if split not in ("train", "test"):
            raise InputError(f"unknown Moving GIF split {split!r}; use 'train' or 'test'")
        self.split = split
        root = Path(root)
        if not root.is_dir():
            raise DatasetError(f"{root}: Moving GIF folder not found; {_HELP}")
        if not (root / split).is_dir() and (root / "moving-gif" / split).is_dir():
            root = root / "moving-gif"
        split_dir = root / split
        if not split_dir.is_dir():
            raise DatasetError(f"{split_dir}: the {split!r} folder is missing; {_HELP}")
        paths = list_video_clips(split_dir, recursive=True)
        if not paths:
            raise DatasetError(f"{split_dir}: no clips (.gif/.npy/videos/frame folders) in the {split!r} folder; {_HELP}")
        window, augment = split_defaults(split, window, augment)
        super().__init__(
            root,
            num_frames,
            size,
            window=window,
            crop=crop,
            channels=channels,
            augment=augment,
            short_clips=short_clips,
            frame_dt=frame_dt,
            clips=[VideoClip(p) for p in paths],
            **kwargs,
        )

    def __repr__(self) -> str:
        return f"MovingGif(split={self.split!r}, " + super().__repr__().split("(", 1)[1]
