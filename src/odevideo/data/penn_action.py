"""Penn Action (Zhang, Zhu and Derpanis, ICCV 2013) with the Vid-ODE preprocessing.

2,326 videos of 15 sports actions, stored as folders of JPEG frames (at most 640x480), with one
MATLAB label file per video. The official split (the ``train`` field of the label files: 1 =
train, -1 = test) has 1,258 training and 1,068 test videos -- the split Vid-ODE reports.

Download (no checksums are published by the source): the project page
http://dreamdragon.github.io/PennAction/ links ``Penn_Action.tar.gz`` (about 3 GB), which unpacks to::

    Penn_Action/frames/0001/000001.jpg ...   one folder of frames per video
    Penn_Action/labels/0001.mat ...          action, train (1 / -1), nframes, pose, bbox, ...

Accepted layouts of ``root``: that ``Penn_Action`` folder (or its parent), or the one-npy-per-video
layout of the Vid-ODE authors' code (``root/train/*.npy``, ``root/test/*.npy``; no labels).
Reading the ``.mat`` label files needs SciPy (``pip install scipy``).

Preprocessing (the paper: "we center-crop each frame and then resize it to 128x128"): the largest
centred square, then a bilinear antialiased resize to ``size``; 3 channels; training items get the
paper's flip + rotation augmentation. (The authors' released loader only rescales the short side
to 128, which leaves non-square frames when the source is not already square -- their
preprocessed files probably are; this loader follows the paper's text.)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from odevideo.data.batch import DEFAULT_FRAME_DT
from odevideo.data.clip_files import VideoClip, list_video_clips
from odevideo.data.video_folder import VideoFolderDataset, split_defaults
from odevideo.data.video_io import natural_key
from odevideo.errors import DatasetError, InputError

__all__ = ["PennAction", "PENN_ACTIONS", "PENN_URL", "read_penn_label"]

PENN_URL = "http://dreamdragon.github.io/PennAction/"
#: The 15 actions, sorted; a clip's label is its action's index here.
PENN_ACTIONS = (
    "baseball_pitch",
    "baseball_swing",
    "bench_press",
    "bowl",
    "clean_and_jerk",
    "golf_swing",
    "jump_rope",
    "jumping_jacks",
    "pullup",
    "pushup",
    "situp",
    "squat",
    "strum_guitar",
    "tennis_forehand",
    "tennis_serve",
)

_HELP = (
    f"download Penn_Action.tar.gz from {PENN_URL}, unpack it and pass the Penn_Action folder "
    f"(with frames/ and labels/), or use the Vid-ODE authors' npy layout root/train/*.npy + root/test/*.npy"
)


def read_penn_label(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a Penn Action label file: ``{"action": str, "train": bool, "nframes": int | None}``."""
    path = Path(path)
    try:
        import scipy.io  # noqa: PLC0415 - optional dependency
    except ImportError as e:
        raise DatasetError(
            f"{path}: reading Penn Action .mat label files needs SciPy; run `pip install scipy`"
        ) from e
    try:
        mat = scipy.io.loadmat(str(path), squeeze_me=True, variable_names=["action", "train", "nframes"])
    except Exception as e:  # scipy raises several unrelated types for corrupt files
        raise DatasetError(f"{path}: cannot read the label file ({e}); re-extract Penn_Action.tar.gz") from e
    if "action" not in mat or "train" not in mat:
        raise DatasetError(f"{path}: the label file has no 'action'/'train' fields; is this a Penn Action labels/*.mat?")
    action = str(np.asarray(mat["action"]).item()).strip()
    if action not in PENN_ACTIONS:
        raise DatasetError(f"{path}: unknown action {action!r}; expected one of {', '.join(PENN_ACTIONS)}")
    train = int(np.asarray(mat["train"]).item())
    if train not in (1, -1):
        raise DatasetError(f"{path}: the 'train' field is {train}, expected 1 (train) or -1 (test)")
    nframes = int(np.asarray(mat["nframes"]).item()) if "nframes" in mat else None
    return {"action": action, "train": train == 1, "nframes": nframes}


class PennAction(VideoFolderDataset):
    """Penn Action clips with the official split and the Vid-ODE preprocessing (see the module docstring).

    Args:
        root: the ``Penn_Action`` folder (or its parent), or a folder with ``train/`` and ``test/``.
        split: ``"train"`` or ``"test"``.
        num_frames: frames per item (Vid-ODE: 10; 20 for irregular sampling).
        size: output side (128).
        window: ``None`` = ``"random"`` for train, ``"first"`` for test.
        augment: ``None`` = flip + rotation for train only.
        return_label: items are ``{"frames", "label"}`` (official layout only).
        **kwargs: passed on to :class:`~odevideo.data.VideoFolderDataset`.

    Attributes:
        layout: ``"official"`` or ``"npy-split"``. ``video_ids``: the 4-digit video id of every clip
        (official layout).
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
        return_label: bool = False,
        frame_dt: float = DEFAULT_FRAME_DT,
        **kwargs: Any,
    ) -> None:
        if split not in ("train", "test"):
            raise InputError(f"unknown Penn Action split {split!r}; use 'train' or 'test'")
        self.split = split
        root = Path(root)
        if not root.is_dir():
            raise DatasetError(f"{root}: Penn Action folder not found; {_HELP}")
        if not (root / "frames").is_dir() and (root / "Penn_Action" / "frames").is_dir():
            root = root / "Penn_Action"
        clips: list[VideoClip] = []
        self.video_ids: list[str] | None = None
        if (root / "frames").is_dir():
            self.layout = "official"
            labels_dir = root / "labels"
            if not labels_dir.is_dir():
                raise DatasetError(
                    f"{labels_dir}: the labels folder is missing; it holds the train/test split and the actions -- {_HELP}"
                )
            videos = sorted((p for p in (root / "frames").iterdir() if p.is_dir() and not p.name.startswith(".")),
                            key=lambda p: natural_key(p.name))
            if not videos:
                raise DatasetError(f"{root / 'frames'}: no video folders; {_HELP}")
            missing = [v.name for v in videos if not (labels_dir / f"{v.name}.mat").is_file()]
            if missing:
                raise DatasetError(
                    f"{labels_dir}: no label file for {len(missing)} video folders (e.g. {missing[0]}.mat); "
                    f"the extraction is incomplete -- {_HELP}"
                )
            ids = []
            for v in videos:
                info = read_penn_label(labels_dir / f"{v.name}.mat")
                if info["train"] == (split == "train"):
                    clips.append(VideoClip(v, label=PENN_ACTIONS.index(info["action"])))
                    ids.append(v.name)
            if not clips:
                raise DatasetError(f"{root}: no {split} videos according to the label files; {_HELP}")
            self.video_ids = ids
            class_names: Sequence[str] | None = PENN_ACTIONS
        elif (root / "train").is_dir() and (root / "test").is_dir():
            self.layout = "npy-split"
            if return_label:
                raise InputError(f"{root}: the train/test npy layout carries no action labels; use the official layout")
            paths = list_video_clips(root / split, recursive=True)
            if not paths:
                raise DatasetError(f"{root / split}: no clips in the {split!r} folder; {_HELP}")
            clips = [VideoClip(p) for p in paths]
            class_names = None
        else:
            raise DatasetError(f"{root}: neither frames/ + labels/ (official Penn Action) nor train/ + test/ found; {_HELP}")
        window, augment = split_defaults(split, window, augment)
        super().__init__(
            root,
            num_frames,
            size,
            window=window,
            crop=crop,
            channels=channels,
            augment=augment,
            return_label=return_label,
            frame_dt=frame_dt,
            clips=clips,
            class_names=class_names,
            **kwargs,
        )
        if self.video_ids is not None and self.skipped:
            kept = set(self.clips)
            self.video_ids = [i for c, i in zip(clips, self.video_ids) if c in kept]

    def __repr__(self) -> str:
        return f"PennAction(split={self.split!r}, layout={self.layout!r}, " + super().__repr__().split("(", 1)[1]
