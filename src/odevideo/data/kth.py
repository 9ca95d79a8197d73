"""KTH Action (Schuldt, Laptev and Caputo, ICPR 2004) with the Vid-ODE preprocessing.

The dataset: 25 persons x 6 actions x 4 scenarios (d1..d4), 599 grayscale AVI files of 160x120
pixels at 25 fps (``person13_handclapping_d3`` is missing from the official release), named like
``person01_walking_d1_uncomp.avi``.

Download (no checksums are published by the source): the official page
https://www.csc.kth.se/cvap/actions/ has one zip per action --
``walking.zip``, ``jogging.zip``, ``running.zip``, ``boxing.zip``, ``handwaving.zip``,
``handclapping.zip`` (e.g. https://www.csc.kth.se/cvap/actions/walking.zip) -- and the
sub-sequence list ``00sequences.txt``. Unzip them anywhere under one folder, e.g.::

    mkdir kth && cd kth
    for a in walking jogging running boxing handwaving handclapping; do
        wget https://www.csc.kth.se/cvap/actions/$a.zip && unzip $a.zip -d $a
    done

Accepted layouts of ``root`` (searched recursively):

* the original ``.avi`` files (any sub-folders, e.g. one per action);
* folders of frames named after the video (``person01_walking_d1/000001.png ...``; an ``_uncomp``
  suffix is allowed), or ``.npy``/``.mp4``/``.gif`` files with such names;
* the one-npy-per-video layout of the Vid-ODE authors' code: ``root/train/*.npy`` and
  ``root/test/*.npy`` (their preprocessed download). This layout is detected by the two
  sub-folders; its file names need not follow the KTH pattern and the split is the one of the
  folders. Their arrays are ``(T, H, W, C)`` uint8; pass ``npy_layout="THWC"`` when a shape is
  ambiguous.

Split (Vid-ODE, following the usual KTH video-prediction protocol): persons 1-16 train, 17-25
test (``KTH_TRAIN_PERSONS`` / ``KTH_TEST_PERSONS``); ``persons=`` overrides it.

Preprocessing (the paper: "center-crop and resize it to 128x128"; the authors' code: a centred
120x120 crop of the 160x120 frame, then a bilinear resize to 128): ``crop=120, size=128``. The
frames are grayscale, but the authors' model reads 3 channels (``opt.input_dim = 3``), so the
default ``channels=3`` repeats the gray value; ``channels=1`` gives single-channel clips.
Training items are augmented like the paper (random horizontal flip and rotation in +-10 degrees)
unless ``augment=False``.

``sequences_file``: with the official ``00sequences.txt`` every video is cut into its annotated
sub-sequences (each one clip); without it a clip is the whole video.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from odevideo.data.clip_files import VideoClip, list_video_clips
from odevideo.data.paper_dataset import PaperVideoDataset
from odevideo.data.video_io import natural_key
from odevideo.errors import DatasetError, InputError

__all__ = [
    "KTHAction",
    "KTH_ACTIONS",
    "KTH_TRAIN_PERSONS",
    "KTH_TEST_PERSONS",
    "KTH_URL",
    "parse_kth_name",
    "parse_kth_sequences",
]

#: The official page with one zip per action.
KTH_URL = "https://www.csc.kth.se/cvap/actions/"
#: The six actions, sorted; a clip's label is its action's index here.
KTH_ACTIONS = ("boxing", "handclapping", "handwaving", "jogging", "running", "walking")
KTH_TRAIN_PERSONS = tuple(range(1, 17))
KTH_TEST_PERSONS = tuple(range(17, 26))

_NAME_RE = re.compile(r"^person(\d{1,3})_([a-z]+)_d(\d)(?:_uncomp)?$", re.IGNORECASE)
_SEQ_RE = re.compile(r"^(person\d+_[a-z]+_d\d)\s+frames\s+(.*)$", re.IGNORECASE)

_DOWNLOAD_HELP = (
    f"download the six zips (walking.zip, jogging.zip, running.zip, boxing.zip, handwaving.zip, handclapping.zip) "
    f"from {KTH_URL} (e.g. {KTH_URL}walking.zip) and unzip them under this folder, or use the Vid-ODE authors' "
    f"preprocessed npy layout root/train/*.npy + root/test/*.npy"
)


def parse_kth_name(name: str) -> tuple[int, str, int] | None:
    """``"person01_walking_d1_uncomp.avi"`` -> ``(1, "walking", 1)``; ``None`` if the name is not a KTH clip name."""
    stem = name
    for suffix in (".avi", ".mp4", ".npy", ".gif", ".mkv", ".mov", ".webm", ".m4v"):
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    m = _NAME_RE.match(stem)
    if m is None or m.group(2).lower() not in KTH_ACTIONS:
        return None
    return int(m.group(1)), m.group(2).lower(), int(m.group(3))


def parse_kth_sequences(path: str | os.PathLike[str]) -> dict[str, list[tuple[int, int]]]:
    """Parse the official ``00sequences.txt``: ``{"person01_boxing_d1": [(0, 95), (95, 185), ...]}``.

    The file gives 1-based inclusive frame ranges (``1-95, 96-185``); they are returned as 0-based
    ``(start, stop)`` with ``stop`` exclusive.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="latin-1")
    except OSError as e:
        raise DatasetError(
            f"{path}: cannot read the KTH sequence file ({e}); download 00sequences.txt from {KTH_URL}"
        ) from e
    out: dict[str, list[tuple[int, int]]] = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or not line.lower().startswith("person"):
            continue
        m = _SEQ_RE.match(line)
        if m is None:
            raise DatasetError(
                f"{path}:{lineno}: cannot parse {line!r}; expected 'personXX_action_dY  frames  a-b, c-d'"
            )
        ranges = []
        for part in re.split(r"[,\s]+", m.group(2).strip()):
            if not part:
                continue
            bounds = part.split("-")
            if len(bounds) != 2 or not all(b.isdigit() for b in bounds):
                raise DatasetError(f"{path}:{lineno}: bad frame range {part!r}; expected 'a-b'")
            a, b = int(bounds[0]), int(bounds[1])
            if a < 1 or b < a:
                raise DatasetError(f"{path}:{lineno}: bad frame range {part!r}")
            ranges.append((a - 1, b))
        out[m.group(1).lower()] = ranges
    if not out:
        raise DatasetError(f"{path}: no sequences found; is this the KTH 00sequences.txt?")
    return out


class KTHAction(PaperVideoDataset):
    """KTH Action clips with the Vid-ODE person split and preprocessing (see the module docstring).

    Args:
        root: folder holding the KTH videos in one of the accepted layouts.
        split: ``"train"`` (persons 1-16) or ``"test"`` (persons 17-25).
        *args: ``num_frames`` (10) and ``size`` (128, as the paper), as in
            :class:`~odevideo.data.paper_dataset.PaperVideoDataset`.
        crop: centred crop before resizing (120 as the authors; ``None`` to skip, ``"center"`` = square).
        persons: explicit person ids to use instead of the split's (not for the npy train/test layout).
        actions: restrict to these actions (names from :data:`KTH_ACTIONS`).
        sequences_file: the official ``00sequences.txt`` to cut videos into annotated sub-sequences.
        **kwargs: passed on to :class:`~odevideo.data.paper_dataset.PaperVideoDataset` (``channels``: 3,
            gray repeated as the authors' model input, or 1; ``window``, ``augment``, ``return_label``
            with the action index, ``seed``, ``frame_stride``, ``short_clips``, ``npy_layout``, ``frame_dt`` ...).

    Attributes:
        layout: ``"kth"`` (files named by person) or ``"npy-split"`` (authors' train/test folders).
        persons: the person ids in use (``None`` for the npy layout). ``actions``: as given (``None`` = all).
        keys: ``(person, action, scenario)`` of every clip (``None`` entries where names do not parse).
    """

    title = "KTH Action"
    download_help = _DOWNLOAD_HELP
    split_choices = "'train' (persons 1-16) or 'test' (persons 17-25)"
    labels_help = (
        "the action is read from file names like personXX_action_dY, and the authors' train/test npy files "
        "carry no labels -- use return_label=False"
    )

    def __init__(
        self,
        root: str | os.PathLike[str],
        split: str = "train",
        *args: Any,
        crop: str | int | Sequence[int] | None = 120,
        persons: Sequence[int] | None = None,
        actions: Sequence[str] | None = None,
        sequences_file: str | os.PathLike[str] | None = None,
        **kwargs: Any,
    ) -> None:
        if actions is not None:
            bad = [a for a in actions if a not in KTH_ACTIONS]
            if bad:
                raise InputError(f"unknown KTH actions {bad}; choose from {', '.join(KTH_ACTIONS)}")
        self.actions = None if actions is None else tuple(actions)
        if persons is not None:
            persons = tuple(sorted({int(p) for p in persons}))
            if not persons or any(p < 1 for p in persons):
                raise InputError(f"persons must be a non-empty list of positive person ids, got {persons!r}")
        self.persons = persons
        self._sequences_file = sequences_file
        super().__init__(root, split, *args, crop=crop, **kwargs)

    @property
    def keys(self) -> list[tuple[int, str, int] | None]:
        return [c.key for c in self.clips]

    def find_clips(self, root: Path, split: str) -> tuple[list[VideoClip], Sequence[str]]:
        wanted = set(KTH_ACTIONS if self.actions is None else self.actions)
        if (root / "train").is_dir() and (root / "test").is_dir():
            self.layout = "npy-split"
            if self.persons is not None:
                raise InputError(
                    f"{root} uses the train/test folder layout, whose split is fixed; persons= needs the original "
                    f"person-named files"
                )
            named = [(p, parse_kth_name(p.name)) for p in self.split_folder_clips(root, split)]
            if self.actions is not None:
                named = [(p, k) for p, k in named if k is not None and k[1] in wanted]
        else:
            self.layout = "kth"
            if self.persons is None:
                self.persons = KTH_TRAIN_PERSONS if split == "train" else KTH_TEST_PERSONS
            named = self._person_clips(root, split, wanted)
        return self._cut_sequences(named), KTH_ACTIONS

    def _person_clips(self, root: Path, split: str, wanted: set[str]) -> list[tuple[Path, tuple[int, str, int]]]:
        by_key: dict[tuple[int, str, int], Path] = {}
        for p in list_video_clips(root, recursive=True):
            key = parse_kth_name(p.name)
            if key is None:
                continue
            if key in by_key:
                raise DatasetError(
                    f"KTH clip person{key[0]:02d}_{key[1]}_d{key[2]} is present twice: {by_key[key]} and {p}; "
                    f"keep one copy (e.g. the .avi or the extracted frames) under {root}"
                )
            by_key[key] = p
        if not by_key:
            raise DatasetError(
                f"{root}: no KTH clips found (files or frame folders named like person01_walking_d1_uncomp.avi); "
                f"{_DOWNLOAD_HELP}"
            )
        chosen = sorted(
            (k for k in by_key if k[0] in self.persons and k[1] in wanted),
            key=lambda k: natural_key(by_key[k].name),
        )
        if not chosen:
            raise DatasetError(
                f"{root}: none of the {len(by_key)} KTH clips found belongs to persons {list(self.persons)} "
                f"(split {split!r}) with actions {sorted(wanted)}; the download is incomplete -- {_DOWNLOAD_HELP}"
            )
        return [(by_key[k], k) for k in chosen]

    def _cut_sequences(self, named: list[tuple[Path, tuple[int, str, int] | None]]) -> list[VideoClip]:
        """One clip per video, or per annotated sub-sequence with ``sequences_file``."""
        sequences = parse_kth_sequences(self._sequences_file) if self._sequences_file is not None else None
        clips: list[VideoClip] = []
        unsequenced = 0
        for p, key in named:
            label = KTH_ACTIONS.index(key[1]) if key is not None else None
            name = f"person{key[0]:02d}_{key[1]}_d{key[2]}" if key is not None else None
            if sequences is not None and name is not None and name in sequences:
                clips.extend(VideoClip(p, label=label, start=a, stop=b, key=key) for a, b in sequences[name])
            else:
                unsequenced += sequences is not None
                clips.append(VideoClip(p, label=label, key=key))
        if unsequenced:
            warnings.warn(
                f"KTHAction: {unsequenced} videos have no entry in {self._sequences_file}; they are used whole",
                stacklevel=5,
            )
        return clips

    def describe(self) -> str:
        return f"layout={self.layout!r}"
