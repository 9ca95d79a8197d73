"""UCF101 (Soomro, Zamir and Shah, 2012) with the official split lists and TGAN's preprocessing.

13,320 YouTube clips (``.avi``, 320x240, 25 fps) of 101 actions. The official recognition splits
come as three folds of list files::

    classInd.txt       "1 ApplyEyeMakeup"                                  (1-based class ids)
    trainlist01.txt    "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1"     (path, class id)
    testlist01.txt     "ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi"       (path only)

Download (no checksums are published by the source; check the archive sizes): the videos,
https://www.crcv.ucf.edu/data/UCF101/UCF101.rar (unpacks to ``UCF-101/<class>/*.avi``), and the
lists, https://www.crcv.ucf.edu/data/UCF101/UCF101TrainTestSplits-RecognitionTask.zip (unpacks to
``ucfTrainTestlist/``). Put both under ``root`` (``root/UCF-101`` + ``root/ucfTrainTestlist``), or
pass ``splits_dir=`` and a ``root`` that holds the class folders directly.

Preprocessing as TGAN (Saito et al. 2017, ``make_ucf101.py`` + ``datasets/ucf_dataset.py`` of
pfnet-research/tgan): every frame is resized to 64x85 (rows x columns), then columns ``10:74`` are
kept (a 64x64 crop, one column left of centre), and a random window of 16 consecutive frames is
drawn. Differences, on purpose:

* the window start is uniform over *all* positions; TGAN's ``randint(length - 16)`` never picks the
  last one (and cannot use a clip of exactly 16 frames' last window);
* values stay in ``[0, 1]`` (TGAN maps to ``[-1, 1]`` with ``(x - 128) / 128``; use
  ``transform=lambda x: 2 * x - 1`` for that, outside the library's frame convention);
* the resize is bilinear with antialiasing by default; TGAN's Pillow used its then-default
  ``NEAREST`` filter -- ``resize_mode="nearest-exact"`` reproduces that.

``size`` other than 64 scales the recipe: resize to ``(size, round(size * 85 / 64))`` and keep the
``size`` columns starting at ``(width - size) // 2`` (= 10 for 64).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from odevideo.data.clip_files import VideoClip
from odevideo.data.paper_dataset import PaperVideoDataset
from odevideo.data.transforms import crop as crop_box
from odevideo.data.transforms import resize
from odevideo.errors import DatasetError, InputError

__all__ = ["UCF101", "UCF101_VIDEOS_URL", "UCF101_SPLITS_URL", "read_ucf101_class_index", "read_ucf101_split"]

UCF101_VIDEOS_URL = "https://www.crcv.ucf.edu/data/UCF101/UCF101.rar"
UCF101_SPLITS_URL = "https://www.crcv.ucf.edu/data/UCF101/UCF101TrainTestSplits-RecognitionTask.zip"

_HELP = (
    f"download the videos ({UCF101_VIDEOS_URL}) and the split lists ({UCF101_SPLITS_URL}) and unpack both under "
    f"the root folder (root/UCF-101/<class>/*.avi and root/ucfTrainTestlist/*.txt), or pass splits_dir="
)


def read_ucf101_class_index(path: str | os.PathLike[str]) -> list[str]:
    """Parse ``classInd.txt`` (``"1 ApplyEyeMakeup"`` per line) into class names ordered by id (0-based index)."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise DatasetError(f"{path}: cannot read the UCF101 class index ({e}); {_HELP}") from e
    ids: dict[int, str] = {}
    for lineno, line in enumerate(lines, 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2 or not parts[0].isdigit():
            raise DatasetError(f"{path}:{lineno}: expected '<id> <ClassName>', got {line.strip()!r}")
        k = int(parts[0])
        if k in ids:
            raise DatasetError(f"{path}:{lineno}: class id {k} appears twice")
        ids[k] = parts[1]
    if sorted(ids) != list(range(1, len(ids) + 1)):
        raise DatasetError(f"{path}: class ids must be 1..N without gaps, got {sorted(ids)[:5]}...")
    return [ids[k] for k in range(1, len(ids) + 1)]


def read_ucf101_split(path: str | os.PathLike[str]) -> list[tuple[str, int | None]]:
    """Parse a ``trainlistNN.txt``/``testlistNN.txt``: ``[(relative_path, class_id_1_based_or_None), ...]``."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise DatasetError(f"{path}: cannot read the UCF101 split list ({e}); {_HELP}") from e
    out: list[tuple[str, int | None]] = []
    for lineno, line in enumerate(lines, 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) > 2 or (len(parts) == 2 and not parts[1].isdigit()):
            raise DatasetError(
                f"{path}:{lineno}: expected 'Class/v_Class_gXX_cYY.avi [class_id]', got {line.strip()!r}"
            )
        rel = parts[0].replace("\\", "/")
        if "/" not in rel:
            raise DatasetError(f"{path}:{lineno}: {rel!r} has no class folder; expected 'Class/v_Class_gXX_cYY.avi'")
        out.append((rel, int(parts[1]) if len(parts) == 2 else None))
    if not out:
        raise DatasetError(f"{path}: the split list is empty; {_HELP}")
    return out


class UCF101(PaperVideoDataset):
    """UCF101 clips of one official split with TGAN's preprocessing (see the module docstring).

    Args:
        root: folder with ``UCF-101/`` (or the class folders themselves) and usually ``ucfTrainTestlist/``.
        split: ``"train"`` or ``"test"``.
        fold: official split number 1, 2 or 3.
        num_frames: frames per item (16 for TGAN).
        size: output side (64 for TGAN); see the module docstring for other sizes.
        splits_dir: folder with ``classInd.txt`` and the list files (default: searched under ``root``).
        augment: flip + rotation (off by default: TGAN does not augment).
        **kwargs: passed on to :class:`~odevideo.data.paper_dataset.PaperVideoDataset` (``window``,
            ``resize_mode``: ``"bilinear"`` (default) or ``"nearest-exact"`` (TGAN's Pillow NEAREST),
            ``return_label`` with the 0-based class index, ``channels``, ``seed``, ``frame_stride`` ...).

    Attributes:
        class_names: the 101 class names (index = label). ``relative_paths``: list entries of the clips.
    """

    title = "UCF101"
    download_help = _HELP

    def __init__(
        self,
        root: str | os.PathLike[str],
        split: str = "train",
        fold: int = 1,
        num_frames: int = 16,
        size: int = 64,
        *,
        splits_dir: str | os.PathLike[str] | None = None,
        augment: bool = False,
        **kwargs: Any,
    ) -> None:
        if fold not in (1, 2, 3) or isinstance(fold, bool):
            raise InputError(f"fold must be 1, 2 or 3 (the official UCF101 splits), got {fold!r}")
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise InputError(f"size must be a positive int (square output), got {size!r}")
        self.fold = fold
        self.out_size = size
        self.splits_dir = None if splits_dir is None else Path(splits_dir)
        super().__init__(root, split, num_frames, size, crop=None, augment=augment, **kwargs)

    @property
    def relative_paths(self) -> list[str]:
        return [c.key for c in self.clips]

    def find_clips(self, root: Path, split: str) -> tuple[list[VideoClip], list[str]]:
        list_name = f"{split}list{self.fold:02d}.txt"
        self.splits_dir = sdir = self._find_splits_dir(root, self.splits_dir, list_name)
        class_names = read_ucf101_class_index(sdir / "classInd.txt")
        index = {name: k for k, name in enumerate(class_names)}
        index_lower = {name.lower(): k for k, name in enumerate(class_names)}
        entries = read_ucf101_split(sdir / list_name)
        self.videos_dir = videos_dir = root / "UCF-101" if (root / "UCF-101").is_dir() else root

        listing_cache: dict[Path, dict[str, Path]] = {}
        clips: list[VideoClip] = []
        missing: list[str] = []
        for rel, cid in entries:
            folder = rel.split("/", 1)[0]
            k = index.get(folder, index_lower.get(folder.lower()))
            if k is None:
                raise DatasetError(f"{sdir / list_name}: class folder {folder!r} of {rel} is not in classInd.txt")
            if cid is not None and cid != k + 1:
                raise DatasetError(
                    f"{sdir / list_name}: {rel} has class id {cid} but classInd.txt gives {folder} the id {k + 1}; "
                    f"use the list files and classInd.txt of the same download"
                )
            path = self._resolve(videos_dir, rel, listing_cache)
            if path is None:
                missing.append(rel)
            else:
                clips.append(VideoClip(path, label=k, key=rel))
        if missing:
            examples = ", ".join(missing[:3])
            raise DatasetError(
                f"{videos_dir}: {len(missing)} of the {len(entries)} videos in {list_name} are missing "
                f"(e.g. {examples}); "
                f"the download is incomplete or root points to the wrong folder -- {_HELP}"
            )
        return clips, class_names

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _find_splits_dir(root: Path, splits_dir: Path | None, list_name: str) -> Path:
        if splits_dir is not None:
            candidates = [splits_dir]
        else:
            candidates = [
                root / "ucfTrainTestlist",
                root / "UCF101TrainTestSplits-RecognitionTask" / "ucfTrainTestlist",
                root,
            ]
        for c in candidates:
            if (c / list_name).is_file():
                if not (c / "classInd.txt").is_file():
                    raise DatasetError(f"{c}: {list_name} is there but classInd.txt is missing; {_HELP}")
                return c
        where = ", ".join(str(c) for c in candidates)
        raise DatasetError(f"UCF101 split list {list_name} not found (looked in {where}); {_HELP}")

    @staticmethod
    def _resolve(videos_dir: Path, rel: str, cache: dict[Path, dict[str, Path]]) -> Path | None:
        path = videos_dir / rel
        if path.is_file():
            return path
        # case-insensitive fallback (the lists and archives disagree on case for a few names, e.g. HandStandPushups)
        cur = videos_dir
        for part in rel.split("/"):
            if cur not in cache:
                try:
                    cache[cur] = {p.name.lower(): p for p in cur.iterdir()}
                except OSError:
                    cache[cur] = {}
            nxt = cache[cur].get(part.lower())
            if nxt is None:
                return None
            cur = nxt
        return cur if cur.is_file() else None

    def _spatial(self, frames: torch.Tensor, clip: VideoClip) -> torch.Tensor:
        """TGAN: resize to ``(size, round(size * 85 / 64))``, keep ``size`` columns from ``(width - size) // 2``."""
        s = self.out_size
        w = int(round(s * 85 / 64))
        frames = resize(frames, (s, w), mode=self.resize_mode, antialias=self.antialias)
        return crop_box(frames, 0, (w - s) // 2, s, s)

    def describe(self) -> str:
        return f"fold={self.fold}"
