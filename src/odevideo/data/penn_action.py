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
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from odevideo.data.clip_files import VideoClip
from odevideo.data.paper_dataset import PaperVideoDataset
from odevideo.data.video_io import natural_key
from odevideo.errors import DatasetError

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
        raise DatasetError(
            f"{path}: the label file has no 'action'/'train' fields; is this a Penn Action labels/*.mat?"
        )
    action = str(np.asarray(mat["action"]).item()).strip()
    if action not in PENN_ACTIONS:
        raise DatasetError(f"{path}: unknown action {action!r}; expected one of {', '.join(PENN_ACTIONS)}")
    train = int(np.asarray(mat["train"]).item())
    if train not in (1, -1):
        raise DatasetError(f"{path}: the 'train' field is {train}, expected 1 (train) or -1 (test)")
    nframes = int(np.asarray(mat["nframes"]).item()) if "nframes" in mat else None
    return {"action": action, "train": train == 1, "nframes": nframes}


class PennAction(PaperVideoDataset):
    """Penn Action clips with the official split and the Vid-ODE preprocessing (see the module docstring).

    Arguments are those of :class:`~odevideo.data.paper_dataset.PaperVideoDataset` (``root``: the
    ``Penn_Action`` folder or its parent, or a folder with ``train/`` and ``test/``; ``return_label``:
    the action index, official layout only).

    Attributes:
        layout: ``"official"`` or ``"npy-split"``. ``video_ids``: the 4-digit video id of every clip
        (official layout; ``None`` otherwise).
    """

    title = "Penn Action"
    download_help = _HELP
    nested_folder = "Penn_Action"
    labels_help = "the train/test npy layout carries no action labels; use the official layout (frames/ + labels/)"

    @property
    def video_ids(self) -> list[str] | None:
        return [c.key for c in self.clips] if self.layout == "official" else None

    def holds_data(self, root: Path) -> bool:
        return (root / "frames").is_dir()

    def find_clips(self, root: Path, split: str) -> tuple[list[VideoClip], Sequence[str] | None]:
        if (root / "frames").is_dir():
            self.layout = "official"
            return self._official_clips(root, split), PENN_ACTIONS
        if (root / "train").is_dir() and (root / "test").is_dir():
            self.layout = "npy-split"
            return [VideoClip(p) for p in self.split_folder_clips(root, split)], None
        raise DatasetError(
            f"{root}: neither frames/ + labels/ (official Penn Action) nor train/ + test/ found; {_HELP}"
        )

    def _official_clips(self, root: Path, split: str) -> list[VideoClip]:
        labels_dir = root / "labels"
        if not labels_dir.is_dir():
            raise DatasetError(
                f"{labels_dir}: the labels folder is missing; it holds the train/test split and the actions -- {_HELP}"
            )
        videos = sorted(
            (p for p in (root / "frames").iterdir() if p.is_dir() and not p.name.startswith(".")),
            key=lambda p: natural_key(p.name),
        )
        if not videos:
            raise DatasetError(f"{root / 'frames'}: no video folders; {_HELP}")
        missing = [v.name for v in videos if not (labels_dir / f"{v.name}.mat").is_file()]
        if missing:
            raise DatasetError(
                f"{labels_dir}: no label file for {len(missing)} video folders (e.g. {missing[0]}.mat); "
                f"the extraction is incomplete -- {_HELP}"
            )
        clips = []
        for v in videos:
            info = read_penn_label(labels_dir / f"{v.name}.mat")
            if info["train"] == (split == "train"):
                clips.append(VideoClip(v, label=PENN_ACTIONS.index(info["action"]), key=v.name))
        if not clips:
            raise DatasetError(f"{root}: no {split} videos according to the label files; {_HELP}")
        return clips

    def describe(self) -> str:
        return f"layout={self.layout!r}"
