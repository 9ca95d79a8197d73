"""The formats a clip can come in: extension tables, the kind of a path, file-name order, channels.

Shared by the readers and writers of :mod:`odevideo.data.video_io` and by the folder datasets that
list clips (:mod:`odevideo.data.clip_files`).
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from odevideo.errors import InputError, VideoFileError

__all__ = ["VIDEO_EXTENSIONS", "IMAGE_EXTENSIONS", "natural_key", "ReadLimits", "NpyHeader", "read_npy_header"]

#: Most frames one video may hold (about an hour at 25 fps).
MAX_VIDEO_FRAMES = 100_000
#: Most pixels (height x width) one frame may have: 2**25, a little over 8K UHD (7680 x 4320).
MAX_FRAME_PIXELS = 1 << 25
#: Most values (frames x channels x height x width) one video may hold: 2**31, 8 GiB as float32, so that
#: reading it (frames plus the stacked copy) fits a 24 GiB machine.
MAX_VIDEO_VALUES = 1 << 31


@dataclass(frozen=True)
class ReadLimits:
    """Size limits a reader checks from the file's header or metadata *before* decoding or allocating.

    The defaults are the module constants :data:`MAX_VIDEO_FRAMES`, :data:`MAX_FRAME_PIXELS` and
    :data:`MAX_VIDEO_VALUES` as they are when the instance is made; pass ``limits=ReadLimits(...)`` to a
    reader to raise or lower them.
    """

    frames: int | None = None
    frame_pixels: int | None = None
    values: int | None = None

    def __post_init__(self) -> None:
        for name, default in (("frames", MAX_VIDEO_FRAMES), ("frame_pixels", MAX_FRAME_PIXELS),
                              ("values", MAX_VIDEO_VALUES)):
            value = getattr(self, name)
            if value is None:
                object.__setattr__(self, name, default)
            elif isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError(f"ReadLimits.{name} must be a positive integer, got {value!r}")

    def check_frame(self, path: Path, height: int, width: int) -> None:
        """Refuse a frame of ``height x width`` pixels larger than :attr:`frame_pixels`."""
        if height < 1 or width < 1:
            raise VideoFileError(f"{path}: the frame size {width}x{height} is empty; the file is corrupt")
        if height * width > self.frame_pixels:
            raise VideoFileError(
                f"{path}: a frame of {width}x{height} pixels is larger than the limit of {self.frame_pixels} pixels; "
                f"resize the video, or pass limits=ReadLimits(frame_pixels=...) if it is genuine"
            )

    def check_video(self, path: Path, frames: int, values_per_frame: int) -> None:
        """Refuse ``frames`` frames of ``values_per_frame`` values each beyond :attr:`frames` or :attr:`values`."""
        if frames > self.frames:
            raise VideoFileError(
                f"{path}: more than {self.frames} frames (the limit); cut the video into shorter clips, "
                f"or pass limits=ReadLimits(frames=...) if it is genuine"
            )
        if frames * values_per_frame > self.values:
            raise VideoFileError(
                f"{path}: {frames} frames of {values_per_frame} values exceed the limit of {self.values} values per "
                f"video; cut or resize the video, or pass limits=ReadLimits(values=...) if it is genuine"
            )


@dataclass(frozen=True)
class NpyHeader:
    """What a ``.npy`` header says: the array's shape, dtype and order, and where its data starts."""

    shape: tuple[int, ...]
    dtype: np.dtype
    fortran_order: bool
    offset: int


def read_npy_header(path: Path, error: type[Exception] = VideoFileError) -> NpyHeader:
    """Read and check the header of the ``.npy`` file ``path`` without touching its data.

    Refuses (with ``error``) a bad magic string or header, object or structured dtypes, negative
    dimensions and a file shorter than the data its header announces.
    """
    fix = "re-save it with numpy.save"
    try:
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
            else:
                raise ValueError(f"unsupported .npy format version {version[0]}.{version[1]}")
            offset = f.tell()
    except OSError as e:
        raise error(f"{path}: cannot read the file ({e}); check the path and its permissions") from None
    except Exception as e:  # noqa: BLE001 - numpy's header parser raises many types on a damaged header
        raise error(f"{path}: not a readable .npy file ({type(e).__name__}: {_short(e)}); {fix}") from None
    if not isinstance(shape, tuple) or any(isinstance(d, bool) or not isinstance(d, int) or d < 0 for d in shape):
        raise error(f"{path}: the .npy header has an invalid shape {_short(shape)}; {fix}")
    if not isinstance(dtype, np.dtype) or dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
        raise error(f"{path}: the .npy header has an unsupported dtype {_short(dtype)}; store plain uint8 or float")
    count = 1
    for d in shape:
        count *= d
    need = offset + count * dtype.itemsize
    size = path.stat().st_size
    if size < need:
        raise error(f"{path}: the file has {size} bytes but its header announces {need} (shape {shape}, {dtype}); "
                    f"the file is truncated: {fix}")
    return NpyHeader(shape, dtype, bool(fortran), offset)


def _short(value: Any, limit: int = 200) -> str:
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "..."

#: Container formats handled by PyAV (``.y4m``: YUV4MPEG2, uncompressed, the usual format of test sequences).
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".y4m")
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
    ".y4m": {"yuv4mpegpipe"},
}
#: The FFmpeg muxer that writes each extension.
MUXERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm", ".avi": "avi",
          ".y4m": "yuv4mpegpipe"}
#: Frame image formats recognised inside a folder of frames.
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")

#: GIFs written by :func:`~odevideo.data.video_io.write_video` carry their nominal frame rate in a comment.
GIF_COMMENT_PREFIX = b"odevideo fps="
#: What Pillow raises on a corrupt or unreadable image (truncated GIFs and PNGs end in IndexError or struct.error
#: deep inside its decoders).
PIL_ERRORS = (OSError, EOFError, SyntaxError, ValueError, IndexError, KeyError, struct.error,
              Image.DecompressionBombError)


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


def quarter_turns(degrees: float) -> int:
    """A display rotation (degrees counter-clockwise, FFmpeg's display matrix as PyAV's ``VideoFrame.rotation``
    reads it: phones store portrait video as landscape frames with -90 or 90) as quarter turns in {0, 1, 2, 3}."""
    return int(round(float(degrees) / 90.0)) % 4


def upright(arr: np.ndarray, degrees: float) -> np.ndarray:
    """A decoded frame ``(H, W)`` or ``(H, W, C)`` as players show it: turned by its display rotation, as FFmpeg's
    autorotate does (a phone's portrait video comes out portrait). Mirroring flags are not applied."""
    k = quarter_turns(degrees)
    return np.rot90(arr, k) if k else arr


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
