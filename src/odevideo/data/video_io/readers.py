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
    av_errors,
    check_channels,
    convert_channels,
    import_av,
    is_frame_image,
    natural_key,
    source_kind,
)
from odevideo.errors import InputError, VideoFileError

__all__ = ["read_video", "iter_video_frames", "probe_frame_count"]


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
    check_channels(channels)
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
    files = sorted((p for p in path.iterdir() if is_frame_image(p)), key=lambda p: natural_key(p.name))
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


def _gif_frames(path: Path, channels: int | None) -> tuple[Iterator[torch.Tensor], float | None]:
    try:
        img = Image.open(path)
    except PIL_ERRORS as e:
        raise VideoFileError(f"{path}: cannot read GIF ({e}); the file is corrupt or not a GIF") from e
    if img.format != "GIF":
        img.close()
        raise VideoFileError(f"{path}: the file is a {img.format} image, not a GIF; rename it or convert it")
    nominal_ms = None
    fps_out: float | None = None
    comment = img.info.get("comment", b"")
    if isinstance(comment, bytes) and comment.startswith(GIF_COMMENT_PREFIX):
        try:
            fps = float(comment[len(GIF_COMMENT_PREFIX) :].decode("ascii"))
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
                except PIL_ERRORS as e:
                    raise VideoFileError(f"{path}: cannot decode GIF frame {k} ({e}); the file is corrupt") from e
                try:
                    frame = _pil_to_chw(img, channels, natural)
                except PIL_ERRORS as e:
                    raise VideoFileError(
                        f"{path}: cannot decode GIF frame {k} ({e}); the file is corrupt or truncated"
                    ) from e
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
            yield torch.from_numpy(np.ascontiguousarray(convert_channels(f, channels)))

    return gen()


def _av_frames(path: Path, channels: int | None) -> tuple[Iterator[torch.Tensor], float | None]:
    av = import_av(path)
    errors = av_errors(av)
    try:
        container = av.open(str(path), mode="r")
    except errors as e:
        raise VideoFileError(f"{path}: cannot open video ({e}); the file is corrupt or not a video") from e
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
            raise VideoFileError(
                f"{path}: cannot decode video frame {k} ({e}); the file is corrupt or truncated"
            ) from e
        finally:
            container.close()

    return gen(), fps


def probe_frame_count(path: str | os.PathLike[str]) -> int | None:
    """Frame count of a source without decoding it, where the format allows: the length of a ``.npy``
    array (read from its header) or the number of images in a frame folder; ``None`` otherwise
    (video files and GIFs, or a ``.npy`` file that :func:`read_video` will report as broken)."""
    path = Path(path)
    if path.is_dir():
        return sum(1 for p in path.iterdir() if is_frame_image(p))
    if path.suffix.lower() == ".npy" and path.is_file():
        try:
            arr = np.load(path, mmap_mode="r", allow_pickle=False)
            return int(arr.shape[0]) if isinstance(arr, np.ndarray) and arr.ndim >= 3 else None
        except (ValueError, OSError, EOFError):
            return None
    return None
