"""Finding the clips of a folder: which files and sub-folders are clips, in which order, with which labels.

Every ``.mp4 .avi .mov .mkv .webm .m4v .y4m .gif .npy`` file and every sub-folder that holds frame images
(``.png .jpg ...``) is one clip. Hidden entries (``.name``) and other files (``.txt``, ``.mat`` ...)
are ignored. The listing is sorted by relative path with numbers compared numerically (``v2``
before ``v10``), so the clip order -- and with it every index -- is the same on every machine.
"""

from __future__ import annotations

import os
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path

from odevideo.data.video_io.formats import VIDEO_EXTENSIONS, is_frame_image, natural_key
from odevideo.errors import DatasetError

__all__ = ["CLIP_EXTENSIONS", "VideoClip", "list_video_clips", "clips_by_class_folder"]

#: File types that hold one clip each (folders of frame images are clips too).
CLIP_EXTENSIONS = VIDEO_EXTENSIONS + (".gif", ".npy")


@dataclass(frozen=True)
class VideoClip:
    """One clip of a dataset: a source (file or frame folder) and an optional frame range.

    Attributes:
        path: video file, ``.gif``, ``.npy`` or folder of frames.
        label: class index (``None`` when the dataset has no labels).
        start: first frame of the clip inside the source (0-based, inclusive).
        stop: end of the clip inside the source (exclusive); ``None`` = the end of the source.
        key: what the dataset calls the clip (a KTH ``(person, action, scenario)``, a Penn Action
            video id, a UCF101 list entry); ``None`` for plain folders.
    """

    path: Path
    label: int | None = None
    start: int = 0
    stop: int | None = None
    key: Hashable | None = None

    @property
    def name(self) -> str:
        stop = "" if self.stop is None else self.stop
        rng = "" if self.start == 0 and self.stop is None else f"[{self.start}:{stop}]"
        return f"{self.path}{rng}"


def _is_frame_folder(path: Path) -> bool:
    try:
        return any(is_frame_image(p) for p in path.iterdir())
    except OSError:
        return False


def list_video_clips(
    root: str | os.PathLike[str],
    *,
    recursive: bool = False,
    extensions: Sequence[str] | None = None,
) -> list[Path]:
    """All clip sources under ``root`` (files with a clip extension and folders of frames), sorted.

    Args:
        root: the folder to list.
        recursive: also search sub-folders that are not frame folders themselves.
        extensions: file extensions to accept (default :data:`CLIP_EXTENSIONS`), e.g. ``[".avi"]``.

    Raises:
        DatasetError: ``root`` is missing or not a folder.
    """
    root = Path(root)
    if not root.exists():
        raise DatasetError(
            f"{root}: no such folder; pass the folder that holds the videos "
            f"(one clip per file or per folder of frames)"
        )
    if not root.is_dir():
        raise DatasetError(f"{root}: not a folder; pass the folder that holds the videos, not a single file")
    exts = tuple(e.lower() if e.startswith(".") else "." + e.lower() for e in (extensions or CLIP_EXTENSIONS))
    found: list[Path] = []

    def visit(folder: Path) -> None:
        try:
            entries = list(folder.iterdir())
        except OSError as e:
            raise DatasetError(f"{folder}: cannot list the folder ({e}); check its permissions") from e
        for p in entries:
            if p.name.startswith("."):
                continue
            if p.is_dir():
                if _is_frame_folder(p):
                    found.append(p)
                elif recursive:
                    visit(p)
            elif p.is_file() and p.suffix.lower() in exts:
                found.append(p)

    visit(root)
    return sorted(found, key=lambda p: natural_key(p.relative_to(root).as_posix()))


def _has_nested_clips(root: Path, extensions: Sequence[str] | None) -> bool:
    try:
        return bool(list_video_clips(root, recursive=True, extensions=extensions))
    except DatasetError:
        return False


def clips_by_class_folder(
    root: Path, recursive: bool, extensions: Sequence[str] | None, label_from_folder: bool
) -> tuple[list[VideoClip], list[str] | None]:
    """The clips under ``root`` and, with ``label_from_folder``, the class names of their first-level
    sub-folders (sorted; a clip's label indexes them). Raises :class:`DatasetError` when there are none."""
    paths = list_video_clips(root, recursive=recursive, extensions=extensions)
    if not paths:
        hint = ""
        if not recursive and _has_nested_clips(root, extensions):
            hint = " The clips are in sub-folders: pass recursive=True."
        raise DatasetError(
            f"{root}: the folder holds no clips (video files {', '.join(CLIP_EXTENSIONS)} or folders of "
            f"frame images); put one video per file, or one folder of frames per clip, into it.{hint}"
        )
    if not label_from_folder:
        return [VideoClip(p) for p in paths], None
    groups = []
    for p in paths:
        rel = p.relative_to(root).parts
        if len(rel) < 2:
            raise DatasetError(
                f"{p}: label_from_folder=True needs every clip inside a class sub-folder of {root} "
                f"(root/<class>/<clip>); move the clip into a class folder or drop label_from_folder"
            )
        groups.append(rel[0])
    names = sorted(set(groups), key=natural_key)
    index = {n: k for k, n in enumerate(names)}
    return [VideoClip(p, label=index[g]) for p, g in zip(paths, groups)], names
