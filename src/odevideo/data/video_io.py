"""Reading and writing clips: video files, GIFs, folders of frames and ``.npy`` arrays.

Frames are float32 tensors ``(T, C, H, W)`` in ``[0, 1]`` with ``C`` = 1 (grayscale) or 3 (RGB).

Supported sources (chosen by the path):

=====================  =======================================================================
path                   handled as
=====================  =======================================================================
existing directory     a folder of frames: ``.png/.jpg/.jpeg/.bmp/.tif/.tiff/.webp`` files, sorted
                       by name with numbers compared numerically (``f2.png`` before ``f10.png``);
                       hidden files are ignored; all frames must have the same size
``.gif``               Pillow (no optional dependency)
``.mp4 .avi .mov``     PyAV (``pip install 'odevideo[video]'``), imported only when needed
``.mkv .webm .m4v``
``.npy``               numpy array, rules below
=====================  =======================================================================

``.npy`` rules: a 3-D array is ``(T, H, W)`` grayscale. A 4-D array is ``(T, C, H, W)`` if its
second dim is 1 or 3 and its last is not, ``(T, H, W, C)`` if its last dim is 1 or 3 and its second is
not; when both or neither are 1/3 the layout is ambiguous/invalid and reading fails unless
``layout="TCHW"`` or ``"THWC"`` is passed. dtype ``uint8`` is scaled by 1/255; floating point data must
be finite and in ``[0, 1]``; other dtypes are rejected.

Channels (``channels=None``): video files give 3 (RGB); GIFs give 1 if their first frame is
grayscale (Pillow mode ``L``, as written by :func:`write_video` for 1-channel clips) and 3 otherwise;
frame folders give 1 if the first image is grayscale (modes L/LA/1) and 3 otherwise (alpha is
dropped); ``.npy`` gives what it stores.
``channels=1`` converts colour to luma (ITU-R 601); ``channels=3`` repeats grayscale.

``fps`` is returned for video files and GIFs (``None`` for folders and ``.npy``).

Writing (:func:`write_video`, :func:`save_image`) is atomic: the output is written to a temporary
file (or folder) in the destination directory and moved into place with :func:`os.replace`, so an
error never leaves a half-written file behind and an existing file is only replaced on success.
Every failure to read or write a file raises :class:`odevideo.errors.VideoFileError` naming the file.
"""

from __future__ import annotations

import math
import os
import re
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import torch
from PIL import Image

from odevideo._atomic import atomic_write, atomic_write_dir
from odevideo.errors import InputError, VideoFileError

__all__ = [
    "read_video",
    "iter_video_frames",
    "write_video",
    "make_grid",
    "save_image",
    "VIDEO_EXTENSIONS",
    "IMAGE_EXTENSIONS",
]

#: Container formats handled by PyAV.
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v")
# FFmpeg demuxer names each extension may hold. FFmpeg probes content, not names, and will happily
# "decode" a few random bytes as a raw H.263 stream; a container that does not match its extension
# is refused instead of yielding garbage frames.
_CONTAINERS = {
    ".mp4": {"mov", "mp4"},
    ".mov": {"mov", "mp4"},
    ".m4v": {"mov", "mp4"},
    ".mkv": {"matroska"},
    ".webm": {"matroska", "webm"},
    ".avi": {"avi"},
}
#: Frame image formats recognised inside a folder of frames.
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")

_GIF_COMMENT_PREFIX = b"odevideo fps="
_PIL_ERRORS = (OSError, EOFError, SyntaxError, ValueError, Image.DecompressionBombError)


# ====================================================================== helpers
def _import_av(path: Path) -> Any:
    try:
        import av  # noqa: PLC0415 - optional dependency, imported lazily
    except ImportError as e:
        raise VideoFileError(
            f"{path}: reading/writing {path.suffix} files needs PyAV, which is not installed; "
            f"run `pip install 'odevideo[video]'` (or `pip install av`), or use .gif/.npy/a folder of PNGs"
        ) from e
    return av


def _av_errors(av: Any) -> tuple[type[BaseException], ...]:
    errs: list[type[BaseException]] = [OSError, ValueError, EOFError, RuntimeError]
    ff = getattr(getattr(av, "error", None), "FFmpegError", None)
    if isinstance(ff, type):
        errs.append(ff)
    return tuple(errs)


def _natural_key(name: str) -> list[Any]:
    return [(0, int(tok), tok) if tok.isdigit() else (1, 0, tok.lower()) for tok in re.split(r"(\d+)", name) if tok]


def _convert_channels(arr: np.ndarray, channels: int | None) -> np.ndarray:
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


def _check_channels(channels: int | None) -> None:
    if channels not in (None, 1, 3):
        raise InputError(f"channels must be None, 1 or 3, got {channels!r}")


def _source_kind(path: Path) -> str:
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


# ====================================================================== reading
def iter_video_frames(
    path: str | os.PathLike[str],
    *,
    channels: int | None = None,
    layout: str | None = None,
) -> Iterator[torch.Tensor]:
    """Stream the frames of a video source one at a time (see the module docstring for formats).

    Args:
        path: video file, ``.gif``, ``.npy`` or folder of frames.
        channels: ``None`` (natural channels), 1 or 3.
        layout: only for ``.npy``: ``"TCHW"`` or ``"THWC"`` to resolve an ambiguous 4-D array.

    Yields:
        float32 tensors ``(C, H, W)`` in ``[0, 1]``.

    Raises:
        VideoFileError: missing, empty, corrupt or unsupported source (possibly while iterating).
    """
    frames, _ = _open_source(Path(path), channels, layout)
    return frames


def read_video(
    path: str | os.PathLike[str],
    *,
    channels: int | None = None,
    layout: str | None = None,
    max_frames: int | None = None,
) -> tuple[torch.Tensor, float | None]:
    """Read a whole video source into memory.

    Args:
        path: video file, ``.gif``, ``.npy`` or folder of frames (see the module docstring).
        channels: ``None`` (natural channels), 1 or 3.
        layout: only for ``.npy``: ``"TCHW"`` or ``"THWC"`` to resolve an ambiguous 4-D array.
        max_frames: stop after this many frames (``None`` = all).

    Returns:
        ``(frames, fps)``: float32 ``(T, C, H, W)`` in ``[0, 1]`` and the frame rate (``None`` for
        folders and ``.npy``).

    Raises:
        VideoFileError: missing, empty, corrupt or unsupported source, or one without any frame.
    """
    path = Path(path)
    if max_frames is not None and (isinstance(max_frames, bool) or not isinstance(max_frames, int) or max_frames < 1):
        raise InputError(f"max_frames must be a positive integer or None, got {max_frames!r}")
    frames_iter, fps = _open_source(path, channels, layout)
    frames: list[torch.Tensor] = []
    try:
        for frame in frames_iter:
            if frames and frame.shape != frames[0].shape:
                raise VideoFileError(
                    f"{path}: frame {len(frames)} has shape {tuple(frame.shape)} but frame 0 has "
                    f"{tuple(frames[0].shape)}; all frames of a video must have the same size"
                )
            frames.append(frame)
            if max_frames is not None and len(frames) >= max_frames:
                break
    finally:
        close = getattr(frames_iter, "close", None)
        if close is not None:
            close()
    if not frames:
        raise VideoFileError(f"{path}: contains no decodable frames; check that the file is a complete video")
    return torch.stack(frames), fps


def _open_source(path: Path, channels: int | None, layout: str | None) -> tuple[Iterator[torch.Tensor], float | None]:
    _check_channels(channels)
    if not path.exists():
        raise VideoFileError(f"{path}: no such file or directory; check the path")
    kind = _source_kind(path)
    if kind != "folder":
        if not path.is_file():
            raise VideoFileError(f"{path}: not a regular file")
        if path.stat().st_size == 0:
            raise VideoFileError(f"{path}: the file is empty (0 bytes); re-create or re-download it")
    if layout is not None and kind != "npy":
        raise InputError("layout= only applies to .npy files")
    if kind == "folder":
        return _folder_frames(path, channels), None
    if kind == "gif":
        return _gif_frames(path, channels)
    if kind == "npy":
        return _npy_frames(path, channels, layout), None
    return _av_frames(path, channels)


def _pil_to_chw(img: Image.Image, channels: int | None, natural: int) -> torch.Tensor:
    want = natural if channels is None else channels
    arr = np.array(img.convert("L" if want == 1 else "RGB"), dtype=np.uint8)
    arr = arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)
    return torch.from_numpy(np.ascontiguousarray(arr)).float().div_(255.0)


def _folder_frames(path: Path, channels: int | None) -> Iterator[torch.Tensor]:
    files = sorted(
        (p for p in path.iterdir() if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_EXTENSIONS),
        key=lambda p: _natural_key(p.name),
    )
    if not files:
        raise VideoFileError(
            f"{path}: the folder contains no frame images ({', '.join(IMAGE_EXTENSIONS)}); "
            f"pass a folder of frames, a video file, a .gif or a .npy"
        )

    def gen() -> Iterator[torch.Tensor]:
        natural = None
        size = None
        for f in files:
            try:
                with Image.open(f) as img:
                    img.load()
                    if img.mode.startswith(("I", "F")):
                        raise VideoFileError(f"{f}: {img.mode} images (16-bit/float) are not supported; save 8-bit frames")
                    if natural is None:
                        natural = 1 if img.mode in ("L", "LA", "1") else 3
                        size = img.size
                    elif img.size != size:
                        raise VideoFileError(
                            f"{f}: frame size {img.size[0]}x{img.size[1]} differs from the first frame's "
                            f"{size[0]}x{size[1]}; all frames in {path} must have the same size"
                        )
                    yield _pil_to_chw(img, channels, natural)
            except VideoFileError:
                raise
            except _PIL_ERRORS as e:
                raise VideoFileError(f"{f}: cannot read frame image ({e}); the file is corrupt or not an image") from e

    return gen()


def _gif_frames(path: Path, channels: int | None) -> tuple[Iterator[torch.Tensor], float | None]:
    try:
        img = Image.open(path)
    except _PIL_ERRORS as e:
        raise VideoFileError(f"{path}: cannot read GIF ({e}); the file is corrupt or not a GIF") from e
    if img.format != "GIF":
        img.close()
        raise VideoFileError(f"{path}: the file is a {img.format} image, not a GIF; rename it or convert it")
    nominal_ms = None
    fps_out: float | None = None
    comment = img.info.get("comment", b"")
    if isinstance(comment, bytes) and comment.startswith(_GIF_COMMENT_PREFIX):
        try:
            fps = float(comment[len(_GIF_COMMENT_PREFIX) :].decode("ascii"))
            if fps > 0 and math.isfinite(fps):
                fps_out, nominal_ms = fps, 1000.0 / fps
        except (ValueError, UnicodeDecodeError):
            pass
    if fps_out is None:
        first = img.info.get("duration")
        fps_out = 1000.0 / float(first) if first else None

    natural = 1 if img.mode in ("L", "LA", "1") else 3

    def gen() -> Iterator[torch.Tensor]:
        try:
            k = 0
            while True:
                try:
                    img.seek(k)
                except EOFError:
                    break
                except _PIL_ERRORS as e:
                    raise VideoFileError(f"{path}: cannot decode GIF frame {k} ({e}); the file is corrupt") from e
                try:
                    frame = _pil_to_chw(img, channels, natural)
                except _PIL_ERRORS as e:
                    raise VideoFileError(f"{path}: cannot decode GIF frame {k} ({e}); the file is corrupt or truncated") from e
                repeat = 1
                if nominal_ms is not None:
                    # Pillow merges identical consecutive frames into one longer frame; undo that for
                    # GIFs written by write_video (they carry their nominal frame rate in a comment).
                    repeat = max(1, int(round(float(img.info.get("duration", nominal_ms)) / nominal_ms)))
                for _ in range(repeat):
                    yield frame
                k += 1
        finally:
            img.close()

    return gen(), fps_out


def _npy_frames(path: Path, channels: int | None, layout: str | None) -> Iterator[torch.Tensor]:
    if layout not in (None, "TCHW", "THWC"):
        raise InputError(f"layout must be None, 'TCHW' or 'THWC', got {layout!r}")
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise VideoFileError(f"{path}: not a readable .npy file ({e}); re-save it with numpy.save") from e
    if not isinstance(arr, np.ndarray):
        raise VideoFileError(f"{path}: expected a single array in the .npy file")
    shape = arr.shape
    if arr.ndim == 3:
        chw = "THW"
    elif arr.ndim == 4:
        if layout is not None:
            chw = layout
        else:
            second, last = shape[1] in (1, 3), shape[3] in (1, 3)
            if second and not last:
                chw = "TCHW"
            elif last and not second:
                chw = "THWC"
            elif second and last:
                raise VideoFileError(
                    f"{path}: ambiguous layout for shape {shape}: both (T, C, H, W) and (T, H, W, C) fit; "
                    f"pass layout='TCHW' or layout='THWC'"
                )
            else:
                raise VideoFileError(
                    f"{path}: shape {shape} is neither (T, C, H, W) nor (T, H, W, C) with C in {{1, 3}}; "
                    f"save frames as (T, H, W), (T, H, W, C) or (T, C, H, W)"
                )
        c = shape[1] if chw == "TCHW" else shape[3]
        if c not in (1, 3):
            raise VideoFileError(f"{path}: {c} channels in layout {chw}; frames need 1 or 3 channels")
    else:
        raise VideoFileError(
            f"{path}: expected a 3-D (T, H, W) or 4-D (T, C, H, W)/(T, H, W, C) array, got shape {shape}"
        )
    if arr.size == 0:
        raise VideoFileError(f"{path}: the array is empty (shape {shape})")
    if arr.dtype == np.uint8:
        scale = 1.0 / 255.0
    elif np.issubdtype(arr.dtype, np.floating):
        scale = None
    else:
        raise VideoFileError(
            f"{path}: unsupported dtype {arr.dtype}; store frames as uint8 (0..255) or float in [0, 1]"
        )

    def gen() -> Iterator[torch.Tensor]:
        for t in range(shape[0]):
            f = np.asarray(arr[t])
            if chw == "THW":
                f = f[None]
            elif chw == "THWC":
                f = f.transpose(2, 0, 1)
            if scale is not None:
                f = f.astype(np.float32) * np.float32(scale)
            else:
                f = f.astype(np.float32)
                if not np.isfinite(f).all() or f.min() < 0.0 or f.max() > 1.0:
                    raise VideoFileError(
                        f"{path}: frame {t} has values outside [0, 1] or non-finite values; "
                        f"float frames must be in [0, 1] (scale uint8 data by 1/255 or save it as uint8)"
                    )
            yield torch.from_numpy(np.ascontiguousarray(_convert_channels(f, channels)))

    return gen()


def _av_frames(path: Path, channels: int | None) -> tuple[Iterator[torch.Tensor], float | None]:
    av = _import_av(path)
    errors = _av_errors(av)
    try:
        container = av.open(str(path), mode="r")
    except errors as e:
        raise VideoFileError(f"{path}: cannot open video ({e}); the file is corrupt or not a video") from e
    try:
        demuxer = container.format.name
        if not set(demuxer.split(",")) & _CONTAINERS[path.suffix.lower()]:
            raise VideoFileError(
                f"{path}: the content is not a {path.suffix} container (FFmpeg reads it as {demuxer!r}); "
                "the file is corrupt or has the wrong extension"
            )
        if not container.streams.video:
            raise VideoFileError(f"{path}: the file has no video stream")
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        fps = float(rate) if rate else None
    except BaseException:
        container.close()
        raise
    fmt = "gray" if channels == 1 else "rgb24"

    def gen() -> Iterator[torch.Tensor]:
        k = 0
        try:
            for frame in container.decode(stream):
                arr = frame.to_ndarray(format=fmt)
                arr = arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)
                yield torch.from_numpy(np.ascontiguousarray(arr)).float().div_(255.0)
                k += 1
        except errors as e:
            raise VideoFileError(f"{path}: cannot decode video frame {k} ({e}); the file is corrupt or truncated") from e
        finally:
            container.close()

    return gen(), fps


# ====================================================================== writing
def _frames_to_uint8(frames: Any, what: str = "frames") -> np.ndarray:
    """Validate ``(T, C, H, W)`` frames (float in [0, 1] or uint8) and return uint8 ``(T, C, H, W)``."""
    arr = _as_numpy(frames, what)
    if arr.ndim != 4:
        raise InputError(f"{what} must have shape (T, C, H, W), got {arr.shape}; use frames.unsqueeze(1) for grayscale")
    if arr.shape[1] not in (1, 3):
        raise InputError(f"{what} must have 1 or 3 channels (T, C, H, W), got shape {arr.shape}")
    if min(arr.shape) < 1:
        raise InputError(f"{what} is empty (shape {arr.shape}); write at least one frame")
    return _to_uint8(arr, what)


def _as_numpy(value: Any, what: str) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu()
        if value.dtype in (torch.bfloat16, torch.float16):
            value = value.float()
        return value.numpy()
    if isinstance(value, np.ndarray):
        return value
    raise InputError(f"{what} must be a torch.Tensor or numpy array, got {type(value).__name__}")


def _to_uint8(arr: np.ndarray, what: str) -> np.ndarray:
    if arr.dtype == np.uint8:
        return np.ascontiguousarray(arr)
    if not np.issubdtype(arr.dtype, np.floating):
        raise InputError(f"{what} must be float in [0, 1] or uint8, got dtype {arr.dtype}")
    if not np.isfinite(arr).all():
        raise InputError(f"{what} contains NaN or infinite values; frames must be finite and in [0, 1]")
    lo, hi = float(arr.min()), float(arr.max())
    if lo < 0.0 or hi > 1.0:
        raise InputError(f"{what} must lie in [0, 1], got values in [{lo:g}, {hi:g}]; clamp with frames.clamp(0, 1)")
    return np.rint(arr.astype(np.float32) * 255.0).astype(np.uint8)


def _atomic_file(path: Path, write: Callable[[str], None]) -> None:
    """Run ``write(tmp_path)`` on a temporary file next to ``path``, then move it into place."""

    def write_checked(tmp: Path) -> None:
        write(str(tmp))
        if tmp.stat().st_size == 0:
            raise VideoFileError(f"{path}: the encoder produced an empty file")

    atomic_write(path, write_checked, suffix=".tmp" + path.suffix)


def write_video(
    path: str | os.PathLike[str],
    frames: torch.Tensor | np.ndarray,
    fps: float = 10.0,
    *,
    codec: str | None = None,
    crf: int = 17,
) -> Path:
    """Write frames ``(T, C, H, W)`` (float in ``[0, 1]`` or uint8; C = 1 or 3) atomically.

    The format follows ``path``:

    * ``.gif``: Pillow, looping, frame duration ``1000 / fps`` ms (GIF stores hundredths of a second).
      Grayscale frames use a gray palette and round-trip exactly; RGB frames are quantised to 256
      colours per frame. Pillow merges identical consecutive frames; the nominal fps is stored in a
      comment so that :func:`read_video` restores the original frame count.
    * ``.mp4`` / ``.mov`` / ``.mkv``: PyAV, H.264 (``libx264``, ``crf``; ``mpeg4`` if libx264 is
      missing), ``yuv420p`` (lossy; ``.webm`` uses VP9 where available).
      ``yuv420p`` needs even sizes: an odd height/width is padded by repeating the last row/column,
      so the file is one pixel taller/wider than ``frames``.
    * ``.avi``: PyAV, lossless PNG codec (``rgb24``), any size.
    * ``.npy``: the array ``(T, C, H, W)`` as given (float32 for floating point input, uint8 for uint8).
    * a path without extension, or an existing directory: a folder with one PNG per frame,
      ``frame_000000.png``, ... An existing folder is replaced only if it holds nothing but frame images.

    Grayscale is written as RGB (R = G = B) for video files.

    Args:
        path: destination; parent directories are created.
        frames: the clip.
        fps: frames per second (> 0).
        codec: override the PyAV codec for video files.
        crf: libx264 constant rate factor (0 = lossless, 17 ~ visually lossless, 23 = default).

    Returns:
        The written path.

    Raises:
        InputError: bad frames or fps. VideoFileError: the file cannot be written.
    """
    path = Path(path)
    fps = float(fps)
    if not math.isfinite(fps) or fps <= 0:
        raise InputError(f"fps must be a finite number > 0, got {fps!r}")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        arr = _as_numpy(frames, "frames")
        if arr.ndim != 4 or arr.shape[1] not in (1, 3) or min(arr.shape) < 1:
            raise InputError(f"frames must have shape (T, C, H, W) with C in {{1, 3}}, got {arr.shape}")
        if arr.dtype != np.uint8:
            _to_uint8(arr, "frames")  # validation only
            arr = arr.astype(np.float32)
        data = np.ascontiguousarray(arr)

        def write_npy(tmp: str) -> None:
            with open(tmp, "wb") as f:
                np.save(f, data, allow_pickle=False)

        _guard(path, lambda: _atomic_file(path, write_npy))
        return path
    u8 = _frames_to_uint8(frames)
    if path.is_dir() or suffix == "":
        _guard(path, lambda: _write_folder(path, u8))
    elif suffix == ".gif":
        _guard(path, lambda: _atomic_file(path, lambda tmp: _write_gif(tmp, u8, fps)))
    elif suffix in VIDEO_EXTENSIONS:
        av = _import_av(path)
        _guard(path, lambda: _atomic_file(path, lambda tmp: _write_av(av, tmp, suffix, u8, fps, codec, crf)), _av_errors(av))
    else:
        raise VideoFileError(
            f"{path}: cannot write {suffix!r} files; use .gif, .npy, {', '.join(VIDEO_EXTENSIONS)} or a folder path "
            f"(no extension)"
        )
    return path


def _guard(path: Path, fn: Callable[[], None], extra: tuple[type[BaseException], ...] = ()) -> None:
    try:
        fn()
    except (VideoFileError, InputError):
        raise
    except (OSError, ValueError, RuntimeError, *extra) as e:
        raise VideoFileError(f"{path}: cannot write ({type(e).__name__}: {e})") from e


def _write_gif(tmp: str, u8: np.ndarray, fps: float) -> None:
    mode = "L" if u8.shape[1] == 1 else "RGB"
    images = [Image.fromarray(f[0] if mode == "L" else f.transpose(1, 2, 0), mode=mode) for f in u8]
    images[0].save(
        tmp,
        format="GIF",
        save_all=True,
        append_images=images[1:],
        duration=1000.0 / fps,
        loop=0,
        optimize=False,
        comment=_GIF_COMMENT_PREFIX + repr(fps).encode("ascii"),
    )


def _pick_codec(av: Any, names: list[str]) -> str:
    for name in names:
        try:
            av.codec.Codec(name, "w")
            return name
        except Exception:  # noqa: BLE001 - codec lookup raises various errors when unavailable
            continue
    raise VideoFileError(f"none of the video encoders {names} is available in this PyAV/FFmpeg build")


def _write_av(av: Any, tmp: str, suffix: str, u8: np.ndarray, fps: float, codec: str | None, crf: int) -> None:
    if codec is None:
        if suffix == ".avi":
            codec = "png"
        elif suffix == ".webm":
            codec = _pick_codec(av, ["libvpx-vp9", "libvpx"])
        else:
            codec = _pick_codec(av, ["libx264", "h264", "mpeg4"])
    pix_fmt = "rgb24" if codec in ("png", "ffv1", "rawvideo", "libx264rgb") else "yuv420p"
    rgb = np.repeat(u8, 3, axis=1) if u8.shape[1] == 1 else u8
    rgb = rgb.transpose(0, 2, 3, 1)  # (T, H, W, 3)
    if pix_fmt == "yuv420p":
        pad_h, pad_w = rgb.shape[1] % 2, rgb.shape[2] % 2
        if pad_h or pad_w:
            rgb = np.pad(rgb, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode="edge")
    rgb = np.ascontiguousarray(rgb)
    fmt = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm", ".avi": "avi"}[suffix]
    container = av.open(tmp, mode="w", format=fmt)
    try:
        stream = container.add_stream(codec, rate=Fraction(fps).limit_denominator(1001))
        stream.width, stream.height = rgb.shape[2], rgb.shape[1]
        stream.pix_fmt = pix_fmt
        if codec in ("libx264", "h264"):
            stream.options = {"crf": str(int(crf)), "preset": "medium"}
        elif codec == "mpeg4":
            stream.options = {"qscale": "2"}
        for frame in rgb:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    finally:
        container.close()


def _write_folder(path: Path, u8: np.ndarray) -> None:
    if path.exists() and not path.is_dir():
        raise VideoFileError(f"{path}: exists and is not a directory; choose another output path")
    if path.is_dir():
        foreign = [p.name for p in path.iterdir() if not (p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)]
        if foreign:
            raise VideoFileError(
                f"{path}: refusing to replace a folder that holds more than frame images "
                f"(e.g. {foreign[0]!r}); choose an empty or new folder"
            )
    width = max(6, len(str(u8.shape[0] - 1)))

    def fill(tmp: Path) -> None:
        for t, f in enumerate(u8):
            img = Image.fromarray(f[0], mode="L") if f.shape[0] == 1 else Image.fromarray(f.transpose(1, 2, 0), mode="RGB")
            img.save(tmp / f"frame_{t:0{width}d}.png", format="PNG")

    atomic_write_dir(path, fill)


# ====================================================================== grids and images
def make_grid(
    frames: torch.Tensor | np.ndarray,
    nrow: int = 8,
    padding: int = 2,
    pad_value: float = 0.0,
) -> torch.Tensor:
    """Tile images ``(N, C, H, W)`` (or ``(N, H, W)``) into one image ``(C, H', W')``.

    Args:
        frames: the images, float (any range is kept as is) or uint8 (scaled to ``[0, 1]``).
        nrow: images per row (the last row may be partial).
        padding: pixels between images and around the border.
        pad_value: value of the padding pixels.

    Returns:
        ``(C, rows * (H + padding) + padding, cols * (W + padding) + padding)`` float tensor with
        ``cols = min(nrow, N)`` and ``rows = ceil(N / nrow)``.
    """
    x = torch.from_numpy(np.asarray(frames)) if isinstance(frames, np.ndarray) else frames
    if not isinstance(x, torch.Tensor):
        raise InputError(f"make_grid needs a tensor or array, got {type(frames).__name__}")
    if x.ndim == 3:
        x = x.unsqueeze(1)
    if x.ndim != 4 or x.shape[0] < 1:
        raise InputError(f"make_grid needs images (N, C, H, W) with N >= 1, got shape {tuple(x.shape)}")
    if isinstance(nrow, bool) or not isinstance(nrow, int) or nrow < 1:
        raise InputError(f"nrow must be a positive integer, got {nrow!r}")
    if isinstance(padding, bool) or not isinstance(padding, int) or padding < 0:
        raise InputError(f"padding must be a non-negative integer, got {padding!r}")
    x = x.detach()
    x = x.float() / 255.0 if x.dtype == torch.uint8 else x.float()
    n, c, h, w = x.shape
    cols = min(nrow, n)
    rows = math.ceil(n / nrow)
    grid = torch.full((c, rows * (h + padding) + padding, cols * (w + padding) + padding), float(pad_value), device=x.device)
    for k in range(n):
        r, q = divmod(k, nrow)
        top, left = padding + r * (h + padding), padding + q * (w + padding)
        grid[:, top : top + h, left : left + w] = x[k]
    return grid


def save_image(
    path: str | os.PathLike[str],
    image: torch.Tensor | np.ndarray,
    *,
    nrow: int = 8,
    padding: int = 2,
) -> Path:
    """Save an image atomically (PNG unless the extension says otherwise, e.g. ``.jpg``).

    Args:
        path: destination file; parent directories are created.
        image: ``(H, W)``, ``(C, H, W)`` with C = 1 or 3, or a batch ``(N, C, H, W)`` which is tiled with
            :func:`make_grid` (``nrow``, ``padding``). Float in ``[0, 1]`` or uint8.
        nrow: images per row for a batch.
        padding: grid padding for a batch.

    Returns:
        The written path.
    """
    path = Path(path)
    if isinstance(image, (torch.Tensor, np.ndarray)) and image.ndim == 4:
        image = make_grid(image, nrow=nrow, padding=padding)
    arr = _as_numpy(image, "image")
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[0] not in (1, 3) or min(arr.shape) < 1:
        raise InputError(f"image must be (H, W), (C, H, W) with C in {{1, 3}} or (N, C, H, W), got shape {arr.shape}")
    u8 = _to_uint8(arr, "image")
    img = Image.fromarray(u8[0], mode="L") if u8.shape[0] == 1 else Image.fromarray(u8.transpose(1, 2, 0), mode="RGB")
    ext = path.suffix.lower()
    fmt = Image.registered_extensions().get(ext, "PNG") if ext else "PNG"
    _guard(path, lambda: _atomic_file(path, lambda tmp: img.save(tmp, format=fmt)))
    return path
