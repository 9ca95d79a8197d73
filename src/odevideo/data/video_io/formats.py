"""The formats a clip can come in: extension tables, the kind of a path, file-name order, channels.

Shared by the readers and writers of :mod:`odevideo.data.video_io` and by the folder datasets that
list clips (:mod:`odevideo.data.clip_files`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from odevideo.errors import InputError, VideoFileError

__all__ = ["VIDEO_EXTENSIONS", "IMAGE_EXTENSIONS", "natural_key"]

#: Container formats handled by PyAV.
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v")
# FFmpeg demuxer names each extension may hold. FFmpeg probes content, not names, and will happily
# "decode" a few random bytes as a raw H.263 stream; a container that does not match its extension
# is refused instead of yielding garbage frames.
CONTAINERS = {
    ".mp4": {"mov", "mp4"},
    ".mov": {"mov", "mp4"},
    ".m4v": {"mov", "mp4"},
    ".mkv": {"matroska"},
    ".webm": {"matroska", "webm"},
    ".avi": {"avi"},
}
#: Frame image formats recognised inside a folder of frames.
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")

#: GIFs written by :func:`~odevideo.data.video_io.write_video` carry their nominal frame rate in a comment.
GIF_COMMENT_PREFIX = b"odevideo fps="
#: What Pillow raises on a corrupt or unreadable image.
PIL_ERRORS = (OSError, EOFError, SyntaxError, ValueError, Image.DecompressionBombError)


def natural_key(text: str) -> list[Any]:
    """Sort key comparing digit runs as numbers (``v2`` < ``v10``), case-insensitively, ties by the raw text."""
    parts = [(0, int(tok), "") if tok.isdigit() else (1, 0, tok.lower()) for tok in re.split(r"(\d+)", text) if tok]
    return [parts, text]


def import_av(path: Path) -> Any:
    """PyAV, imported only when a video file is read or written."""
    try:
        import av  # noqa: PLC0415 - optional dependency, imported lazily
    except ImportError as e:
        raise VideoFileError(
            f"{path}: reading/writing {path.suffix} files needs PyAV, which is not installed; "
            f"run `pip install 'odevideo[video]'` (or `pip install av`), or use .gif/.npy/a folder of PNGs"
        ) from e
    return av


def av_errors(av: Any) -> tuple[type[BaseException], ...]:
    """The exception types PyAV/FFmpeg raise on a bad file."""
    errs: list[type[BaseException]] = [OSError, ValueError, EOFError, RuntimeError]
    ff = getattr(getattr(av, "error", None), "FFmpegError", None)
    if isinstance(ff, type):
        errs.append(ff)
    return tuple(errs)


def check_channels(channels: int | None) -> None:
    if channels not in (None, 1, 3):
        raise InputError(f"channels must be None, 1 or 3, got {channels!r}")


def convert_channels(arr: np.ndarray, channels: int | None) -> np.ndarray:
    """``arr`` (..., C, H, W) float32 -> requested channel count (1: ITU-R 601 luma, 3: repeat gray)."""
    c = arr.shape[-3]
    if channels is None or channels == c:
        return arr
    if channels == 3 and c == 1:
        return np.repeat(arr, 3, axis=-3)
    if channels == 1 and c == 3:
        w = np.array([0.299, 0.587, 0.114], dtype=np.float32).reshape(3, 1, 1)
        return np.clip((arr * w).sum(axis=-3, keepdims=True), 0.0, 1.0).astype(np.float32)
    raise InputError(f"cannot convert {c} channels to {channels}")


def source_kind(path: Path) -> str:
    """``"folder"``, ``"gif"``, ``"video"`` or ``"npy"``; raises :class:`VideoFileError` for anything else."""
    if path.is_dir():
        return "folder"
    suffix = path.suffix.lower()
    if suffix == ".gif":
        return "gif"
    if suffix in VIDEO_EXTENSIONS:
        return "video"
    if suffix == ".npy":
        return "npy"
    raise VideoFileError(
        f"{path}: unsupported file type {suffix or '(no extension)'!r}; supported: a folder of frames, .gif, .npy, "
        f"{', '.join(VIDEO_EXTENSIONS)}"
    )


def is_frame_image(path: Path) -> bool:
    """A visible file with an image extension: one frame of a folder of frames."""
    return path.suffix.lower() in IMAGE_EXTENSIONS and not path.name.startswith(".") and path.is_file()
