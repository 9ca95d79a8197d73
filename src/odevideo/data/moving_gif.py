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
from typing import Any

from odevideo.data.clip_files import VideoClip
from odevideo.data.paper_dataset import PaperVideoDataset

__all__ = ["MovingGif", "MGIF_URL", "MGIF_PROJECT_URL"]

#: Processed MGif download given by the dataset's authors (Monkey-Net, sup-mat/MGif/README.md).
MGIF_URL = "https://yadi.sk/d/VBFiPs95yO7sMA"
MGIF_PROJECT_URL = "https://github.com/AliaksandrSiarohin/monkey-net"

_HELP = (
    f"download Moving GIF (MGif) from {MGIF_URL} (see {MGIF_PROJECT_URL}, sup-mat/MGif/README.md) or the Vid-ODE "
    f"authors' npy copy (https://github.com/psh01087/Vid-ODE), and arrange it as root/train/* and root/test/*"
)


class MovingGif(PaperVideoDataset):
    """Moving GIF clips resized to ``size`` (see the module docstring).

    Arguments are those of :class:`~odevideo.data.paper_dataset.PaperVideoDataset` (``root``: a folder
    with ``train/`` and ``test/`` sub-folders or the parent of ``moving-gif/``), except the default
    ``short_clips="skip"`` (as the authors; ``"pad"`` or ``"error"`` otherwise).
    """

    title = "Moving GIF"
    download_help = _HELP
    nested_folder = "moving-gif"

    def __init__(self, root: str | os.PathLike[str], split: str = "train", *args: Any, short_clips: str = "skip",
                 **kwargs: Any) -> None:
        super().__init__(root, split, *args, short_clips=short_clips, **kwargs)

    def find_clips(self, root: Path, split: str) -> tuple[list[VideoClip], None]:
        return [VideoClip(p) for p in self.split_folder_clips(root, split)], None
