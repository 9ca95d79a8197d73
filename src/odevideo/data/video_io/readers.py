"""Reading clips, one reader per format: folders of frames, GIFs, ``.npy`` arrays and video files.

See :mod:`odevideo.data.video_io` for the formats, the ``.npy`` layout rules and channel conversion.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from odevideo.data.video_io.formats import (
    CONTAINERS,
    GIF_COMMENT_PREFIX,
    IMAGE_EXTENSIONS,
    PIL_ERRORS,
    ReadLimits,
    av_errors,
    check_channels,
    convert_channels,
    import_av,
    is_frame_image,
    natural_key,
    read_npy_header,
    source_kind,
    upright,
)
from odevideo.errors import InputError, VideoFileError

__all__ = ["read_video", "iter_video_frames", "probe_frame_count", "ReadLimits"]


def iter_video_frames(
    path: str | os.PathLike[str],
    *,
    channels: int | None = None,
    layout: str | None = None,
    limits: ReadLimits | None = None,
) -> Iterator[torch.Tensor]:
    """Stream the frames of a video source one at a time (see the module docstring for formats).

    Args:
        path: video file, ``.gif``, ``.npy`` or folder of frames.
        channels: ``None`` (natural channels), 1 or 3.
        layout: only for ``.npy``: ``"TCHW"`` or ``"THWC"`` to resolve an ambiguous 4-D array.
        limits: the size limits (default :class:`ReadLimits`: frames, pixels per frame, values per video),
            checked from the header or metadata before decoding where the format allows, else frame by frame.

    Yields:
        float32 tensors ``(C, H, W)`` in ``[0, 1]``.

    Raises:
        VideoFileError: missing, empty, corrupt or unsupported source (possibly while iterating).
    """
    frames, _ = _open_source(Path(path), channels, layout, limits or ReadLimits(), None)
    return frames


def read_video(
    path: str | os.PathLike[str],
    *,
    channels: int | None = None,
    layout: str | None = None,
    max_frames: int | None = None,
    limits: ReadLimits | None = None,
) -> tuple[torch.Tensor, float | None]:
    """Read a whole video source into memory.

    Args:
        path: video file, ``.gif``, ``.npy`` or folder of frames (see the module docstring).
        channels: ``None`` (natural channels), 1 or 3.
        layout: only for ``.npy``: ``"TCHW"`` or ``"THWC"`` to resolve an ambiguous 4-D array.
        max_frames: stop after this many frames (``None`` = all).
        limits: the size limits (default :class:`ReadLimits`: at most 100,000 frames, 2**25 pixels per frame and
            2**31 values per video), checked from the header or metadata before decoding where the format
            allows (``.npy`` header, GIF screen, stream size, number of frame files), else frame by frame.

    Returns:
        ``(frames, fps)``: float32 ``(T, C, H, W)`` in ``[0, 1]`` and the frame rate (``None`` for
        folders and ``.npy``).

    Raises:
        VideoFileError: missing, empty, corrupt or unsupported source, one without any frame, or one beyond
            the limits.
    """
    path = Path(path)
    if max_frames is not None and (isinstance(max_frames, bool) or not isinstance(max_frames, int) or max_frames < 1):
        raise InputError(f"max_frames must be a positive integer or None, got {max_frames!r}")
    frames_iter, fps = _open_source(path, channels, layout, limits or ReadLimits(), max_frames)
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


def _open_source(
    path: Path, channels: int | None, layout: str | None, limits: ReadLimits, max_frames: int | None
) -> tuple[Iterator[torch.Tensor], float | None]:
    check_channels(channels)
    if not isinstance(limits, ReadLimits):
        raise InputError(f"limits must be a ReadLimits or None, got {type(limits).__name__}")
    if not path.exists():
        raise VideoFileError(f"{path}: no such file or directory; check the path")
    kind = source_kind(path)
    if kind != "folder":
        if not path.is_file():
            raise VideoFileError(f"{path}: not a regular file")
        if path.stat().st_size == 0:
            raise VideoFileError(f"{path}: the file is empty (0 bytes); re-create or re-download it")
    if layout is not None and kind != "npy":
        raise InputError("layout= only applies to .npy files")
    if kind == "folder":
        frames, fps = _folder_frames(path, channels, limits, max_frames), None
    elif kind == "gif":
        frames, fps = _gif_frames(path, channels, limits)
    elif kind == "npy":
        frames, fps = _npy_frames(path, channels, layout, limits, max_frames), None
    else:
        frames, fps = _av_frames(path, channels, limits, max_frames)
    return _counted(path, frames, limits), fps


def _counted(path: Path, frames: Iterator[torch.Tensor], limits: ReadLimits) -> Iterator[torch.Tensor]:
    """Check every frame against the limits before it is handed on (for formats whose length is unknown
    up front, a video beyond the limits stops at the first frame too many)."""
    n = 0
    try:
        for frame in frames:
            n += 1
            limits.check_video(path, n, frame.numel())
            yield frame
    finally:
        close = getattr(frames, "close", None)
        if close is not None:
            close()


def _pil_to_chw(img: Image.Image, channels: int | None, natural: int) -> torch.Tensor:
    want = natural if channels is None else channels
    arr = np.array(img.convert("L" if want == 1 else "RGB"), dtype=np.uint8)
    arr = arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)
    return torch.from_numpy(np.ascontiguousarray(arr)).float().div_(255.0)


def _folder_frames(
    path: Path, channels: int | None, limits: ReadLimits, max_frames: int | None
) -> Iterator[torch.Tensor]:
    try:
        files = sorted((p for p in path.iterdir() if is_frame_image(p)), key=lambda p: natural_key(p.name))
    except OSError as e:
        raise VideoFileError(f"{path}: cannot list the folder ({e}); check its permissions") from None
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
                    limits.check_frame(f, img.size[1], img.size[0])
                    if natural is None:
                        count = len(files) if max_frames is None else min(len(files), max_frames)
                        want = (1 if img.mode in ("L", "LA", "1") else 3) if channels is None else channels
                        limits.check_video(path, count, want * img.size[0] * img.size[1])
                    img.load()
                    if img.mode.startswith(("I", "F")):
                        raise VideoFileError(
                            f"{f}: {img.mode} images (16-bit/float) are not supported; save 8-bit frames"
                        )
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
            except PIL_ERRORS as e:
                raise VideoFileError(f"{f}: cannot read frame image ({e}); the file is corrupt or not an image") from e

    return gen()


# A GIF stores frame durations in hundredths of a second.
_GIF_TICK_MS = 10.0


def _gif_screen(path: Path) -> tuple[int, int]:
    """The logical screen size ``(width, height)`` from the 13-byte GIF header, before Pillow reads anything."""
    try:
        with open(path, "rb") as f:
            head = f.read(10)
    except OSError as e:
        raise VideoFileError(f"{path}: cannot read the file ({e}); check its permissions") from None
    if len(head) < 10 or head[:6] not in (b"GIF87a", b"GIF89a"):
        raise VideoFileError(f"{path}: not a GIF (no GIF87a/GIF89a header); the file is corrupt or misnamed")
    return int.from_bytes(head[6:8], "little"), int.from_bytes(head[8:10], "little")


def _comment_fps(comment: object) -> float | None:
    if not isinstance(comment, bytes) or not comment.startswith(GIF_COMMENT_PREFIX):
        return None
    try:
        fps = float(comment[len(GIF_COMMENT_PREFIX) :].decode("ascii"))
    except (ValueError, UnicodeDecodeError):
        return None
    return fps if math.isfinite(fps) and fps > 0 else None


def _repeat(duration: float, nominal_ms: float) -> int | None:
    """How many nominal frames a frame of ``duration`` ms stands for (Pillow merges identical consecutive
    frames into one longer frame), or ``None`` when the duration is no whole multiple of the nominal one
    (GIF durations are whole hundredths of a second, so a nominal frame may be stored up to 10 ms short)."""
    if not duration or duration <= 0:
        return None
    k = max(1, round(duration / nominal_ms))
    return k if abs(duration - k * nominal_ms) < _GIF_TICK_MS * k else None


def _gif_frames(path: Path, channels: int | None, limits: ReadLimits) -> tuple[Iterator[torch.Tensor], float | None]:
    width, height = _gif_screen(path)
    limits.check_frame(path, height, width)
    try:
        img = Image.open(path)
    except PIL_ERRORS as e:
        raise VideoFileError(f"{path}: cannot read GIF ({e}); the file is corrupt or not a GIF") from None
    if img.format != "GIF":
        img.close()
        raise VideoFileError(f"{path}: the file is a {img.format} image, not a GIF; rename it or convert it")
    first = img.info.get("duration")
    first = float(first) if isinstance(first, (int, float)) and first > 0 else None
    # The frame rate comes from the frame durations; the comment written by write_video (exact, where
    # durations are rounded to 10 ms) is trusted only if it agrees with them.
    nominal_ms = None
    fps_out = 1000.0 / first if first else None
    fps = _comment_fps(img.info.get("comment", b""))
    if fps is not None and first is not None and 1000.0 / fps >= _GIF_TICK_MS and _repeat(first, 1000.0 / fps):
        fps_out, nominal_ms = fps, 1000.0 / fps

    natural = 1 if img.mode in ("L", "LA", "1") else 3
    values = (natural if channels is None else channels) * width * height

    def gen() -> Iterator[torch.Tensor]:
        try:
            k = n = 0
            while True:
                try:
                    img.seek(k)
                except EOFError:
                    break
                except PIL_ERRORS as e:
                    raise VideoFileError(f"{path}: cannot decode GIF frame {k} ({e}); the file is corrupt") from None
                if img.size != (width, height):  # a frame reaching past the screen enlarges the image
                    limits.check_frame(path, img.size[1], img.size[0])
                repeat = 1
                if nominal_ms is not None:
                    repeat = _repeat(float(img.info.get("duration") or 0), nominal_ms) or 1
                limits.check_video(path, n + repeat, max(values, natural * img.size[0] * img.size[1]))
                try:
                    frame = _pil_to_chw(img, channels, natural)
                except PIL_ERRORS as e:
                    raise VideoFileError(
                        f"{path}: cannot decode GIF frame {k} ({e}); the file is corrupt or truncated"
                    ) from None
                for _ in range(repeat):
                    yield frame
                n += repeat
                k += 1
        finally:
            img.close()

    return gen(), fps_out


def _npy_frames(
    path: Path, channels: int | None, layout: str | None, limits: ReadLimits, max_frames: int | None
) -> Iterator[torch.Tensor]:
    if layout not in (None, "TCHW", "THWC"):
        raise InputError(f"layout must be None, 'TCHW' or 'THWC', got {layout!r}")
    header = read_npy_header(path)
    shape = header.shape
    if len(shape) == 3:
        chw = "THW"
    elif len(shape) == 4:
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
    if min(shape) == 0:
        raise VideoFileError(f"{path}: the array is empty (shape {shape})")
    dtype = header.dtype
    if dtype == np.uint8:
        scale = 1.0 / 255.0
    elif dtype.kind == "f" and dtype.itemsize in (2, 4, 8):
        scale = None
    else:
        raise VideoFileError(
            f"{path}: unsupported dtype {dtype}; store frames as uint8 (0..255) or float in [0, 1]"
        )
    h, w = (shape[1], shape[2]) if chw in ("THW", "THWC") else (shape[2], shape[3])
    c_in = 1 if chw == "THW" else c
    limits.check_frame(path, h, w)
    n_frames = shape[0] if max_frames is None else min(shape[0], max_frames)
    limits.check_video(path, n_frames, (c_in if channels is None else channels) * h * w)
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError, OverflowError, MemoryError) as e:
        raise VideoFileError(f"{path}: not a readable .npy file ({e}); re-save it with numpy.save") from None
    if not isinstance(arr, np.ndarray) or arr.shape != shape:
        raise VideoFileError(f"{path}: expected a single array in the .npy file")

    def gen() -> Iterator[torch.Tensor]:
        for t in range(shape[0]):
            try:
                f = np.asarray(arr[t])
            except OSError as e:  # the file changed or vanished under the memory map
                raise VideoFileError(f"{path}: cannot read frame {t} ({e})") from None
            if chw == "THW":
                f = f[None]
            elif chw == "THWC":
                f = f.transpose(2, 0, 1)
            if scale is not None:
                f = f.astype(np.float32) * np.float32(scale)
            else:
                with np.errstate(over="ignore", invalid="ignore"):
                    f = f.astype(np.float32)
                if not np.isfinite(f).all() or f.min() < 0.0 or f.max() > 1.0:
                    raise VideoFileError(
                        f"{path}: frame {t} has values outside [0, 1] or non-finite values; "
                        f"float frames must be in [0, 1] (scale uint8 data by 1/255 or save it as uint8)"
                    )
            yield torch.from_numpy(np.ascontiguousarray(convert_channels(f, channels)))

    return gen()


def _av_frames(
    path: Path, channels: int | None, limits: ReadLimits, max_frames: int | None
) -> tuple[Iterator[torch.Tensor], float | None]:
    av = import_av(path)
    errors = av_errors(av)
    try:
        container = av.open(str(path), mode="r")
    except errors as e:
        raise VideoFileError(f"{path}: cannot open video ({e}); the file is corrupt or not a video") from None
    try:
        demuxer = container.format.name
        if not set(demuxer.split(",")) & CONTAINERS[path.suffix.lower()]:
            raise VideoFileError(
                f"{path}: the content is not a {path.suffix} container (FFmpeg reads it as {demuxer!r}); "
                "the file is corrupt or has the wrong extension"
            )
        if not container.streams.video:
            raise VideoFileError(f"{path}: the file has no video stream")
        stream = container.streams.video[0]
        ctx = stream.codec_context
        if ctx is None:
            raise VideoFileError(f"{path}: the video stream has no decoder (unknown or damaged codec); "
                                 "the file is corrupt or uses a codec this FFmpeg build lacks")
        width, height = int(ctx.width or 0), int(ctx.height or 0)
        if width or height:  # the stream's size from the container, before any frame is decoded
            limits.check_frame(path, height, width)
        declared = int(stream.frames or 0)
        want = 1 if channels == 1 else 3
        if declared > 0 and width and height:
            limits.check_video(path, declared if max_frames is None else min(declared, max_frames),
                               want * width * height)
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        fps = float(rate) if rate else None
        if fps is not None and not (math.isfinite(fps) and fps > 0):
            fps = None
    except errors as e:
        container.close()
        raise VideoFileError(f"{path}: cannot read the video's header ({e}); the file is corrupt") from None
    except BaseException:
        container.close()
        raise
    fmt = "gray" if channels == 1 else "rgb24"

    def gen() -> Iterator[torch.Tensor]:
        k = 0
        try:
            for frame in container.decode(stream):
                limits.check_frame(path, int(frame.height), int(frame.width))
                limits.check_video(path, k + 1, want * int(frame.height) * int(frame.width))
                arr = upright(frame.to_ndarray(format=fmt), frame.rotation)
                arr = arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)
                yield torch.from_numpy(np.ascontiguousarray(arr)).float().div_(255.0)
                k += 1
        except errors as e:
            raise VideoFileError(
                f"{path}: cannot decode video frame {k} ({e}); the file is corrupt or truncated"
            ) from None
        finally:
            container.close()

    return gen(), fps


def probe_frame_count(path: str | os.PathLike[str]) -> int | None:
    """Frame count of a source without decoding it, where the format allows: the length of a ``.npy``
    array (read from its header) or the number of images in a frame folder; ``None`` otherwise
    (video files and GIFs, or a ``.npy`` file that :func:`read_video` will report as broken)."""
    path = Path(path)
    try:
        if path.is_dir():
            return sum(1 for p in path.iterdir() if is_frame_image(p))
        if path.suffix.lower() == ".npy" and path.is_file():
            try:
                shape = read_npy_header(path).shape
            except VideoFileError:
                return None
            return int(shape[0]) if len(shape) >= 3 else None
    except OSError:
        return None
    return None
