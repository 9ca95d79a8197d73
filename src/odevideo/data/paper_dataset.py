"""The papers' named video datasets on one base: a downloaded folder, its train/test split, a preprocessing.

:class:`PaperVideoDataset` does what every such dataset does: it checks the split and the folder
(one-line errors that end with how to get the data), accepts the folder the download unpacks to as
a child of ``root``, picks the window and augmentation defaults of the split (random windows and
augmentation for ``train``, the first window without augmentation for ``test``) and hands the clips
to :class:`~odevideo.data.video_folder.VideoFolderDataset`, which crops, resizes, converts channels
and times the frames (``frame_dt``). A subclass says only what is special about its dataset: its
:attr:`~PaperVideoDataset.title` and :attr:`~PaperVideoDataset.download_help`, its defaults, and how
the clips of a split are found (:meth:`~PaperVideoDataset.find_clips`).

The module functions do the same checks for datasets that are not folders of frames
(:class:`~odevideo.data.cam5.CAM5Hurricane`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

from odevideo.data.batch import DEFAULT_FRAME_DT
from odevideo.data.clip_files import VideoClip, list_video_clips
from odevideo.data.video_folder import VideoFolderDataset
from odevideo.errors import DatasetError, InputError

__all__ = ["PaperVideoDataset", "check_split", "locate_root", "split_defaults", "SPLITS"]

#: The splits every paper dataset has (validation is carved out of ``train`` by the trainer).
SPLITS = ("train", "test")


def check_split(split: str, title: str, choices: str = "'train' or 'test'") -> str:
    """``split`` if it is ``"train"`` or ``"test"``; :class:`InputError` naming ``choices`` otherwise."""
    if split not in SPLITS:
        raise InputError(f"unknown {title} split {split!r}; use {choices}")
    return split


def locate_root(
    root: str | os.PathLike[str],
    title: str,
    download_help: str,
    nested: str | None = None,
    holds_data: Callable[[Path], bool] | None = None,
) -> Path:
    """The dataset's folder: ``root``, or ``root/nested`` when only that one ``holds_data``.

    Raises :class:`DatasetError` (ending with ``download_help``) when ``root`` is not a folder.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: {title} folder not found; {download_help}")
    if nested is not None and holds_data is not None and not holds_data(root) and holds_data(root / nested):
        return root / nested
    return root


def split_defaults(split: str, window: str | None, augment: bool | None) -> tuple[str, bool]:
    """Random windows and augmentation for ``train``, the first window and no augmentation otherwise;
    explicit values win."""
    if window is None:
        window = "random" if split == "train" else "first"
    if augment is None:
        augment = split == "train"
    return window, augment


class PaperVideoDataset(VideoFolderDataset):
    """Base of the named datasets: one split of a downloaded dataset, preprocessed as a paper did.

    The defaults are the Vid-ODE protocol: 10 frames, the largest centred square resized to 128x128.

    Args:
        root: the dataset's folder (or its parent, when the download unpacks to :attr:`nested_folder`).
        split: ``"train"`` or ``"test"``.
        num_frames: frames per item (Vid-ODE: 10 = 5 observed + 5 predicted; 20 for irregular sampling).
        size: output frame size (int or ``(h, w)``).
        crop: applied before resizing (``None``, ``"center"`` or an int / ``(h, w)`` box).
        channels: 3 (gray repeated), 1 or ``None``.
        window: ``None`` = ``"random"`` for train, ``"first"`` for test.
        augment: ``None`` = the papers' flip + rotation for train only, else as given.
        frame_dt: time between two returned frames.
        **kwargs: passed on to :class:`~odevideo.data.VideoFolderDataset` (``seed``, ``frame_stride``,
            ``short_clips``, ``return_label``, ``resize_mode``, ``antialias``, ``npy_layout``, ``transform`` ...).

    Attributes:
        split: the split in use.
    """

    #: The dataset's name in messages.
    title: ClassVar[str] = "video dataset"
    #: How to get the data: ends every error about a missing or incomplete folder.
    download_help: ClassVar[str] = "download the dataset and pass its folder"
    #: The valid splits, as said in the error for an unknown one.
    split_choices: ClassVar[str] = "'train' or 'test'"
    #: The folder the download unpacks to, accepted as a child of ``root``.
    nested_folder: ClassVar[str | None] = None

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
        frame_dt: float = DEFAULT_FRAME_DT,
        **kwargs: Any,
    ) -> None:
        self.split = check_split(split, self.title, self.split_choices)
        root = locate_root(root, self.title, self.download_help, self.nested_folder, self.holds_data)
        clips, class_names = self.find_clips(root, split)
        window, augment = split_defaults(split, window, augment)
        super().__init__(
            root,
            num_frames,
            size,
            window=window,
            crop=crop,
            channels=channels,
            augment=augment,
            frame_dt=frame_dt,
            clips=clips,
            class_names=class_names,
            **kwargs,
        )

    # ------------------------------------------------------------------ what a subclass says
    def holds_data(self, root: Path) -> bool:
        """Whether ``root`` is the dataset's folder itself (used with :attr:`nested_folder`)."""
        return (root / self.split).is_dir()

    def find_clips(self, root: Path, split: str) -> tuple[list[VideoClip], Sequence[str] | None]:
        """The clips of ``split`` under ``root`` and the class names their labels index (or ``None``)."""
        raise NotImplementedError(f"{type(self).__name__} must say how its clips are found (find_clips)")

    def describe(self) -> str:
        """What :func:`repr` shows after the split (e.g. the layout)."""
        return ""

    # ------------------------------------------------------------------ shared by the subclasses
    def split_folder_clips(self, root: Path, split: str) -> list[Path]:
        """The clips of ``root/<split>/`` (searched recursively): the layout ``root/train/*``, ``root/test/*``
        of the processed downloads and of the Vid-ODE authors' ``.npy`` copies."""
        folder = root / split
        if not folder.is_dir():
            raise DatasetError(f"{folder}: the {split!r} folder is missing; {self.download_help}")
        paths = list_video_clips(folder, recursive=True)
        if not paths:
            raise DatasetError(
                f"{folder}: no clips (.npy/.gif/videos/frame folders) in the {split!r} folder; {self.download_help}"
            )
        return paths

    def __repr__(self) -> str:
        extra = self.describe()
        head = f"{self._name()}(split={self.split!r}, " + (f"{extra}, " if extra else "")
        return head + super().__repr__().split("(", 1)[1]
