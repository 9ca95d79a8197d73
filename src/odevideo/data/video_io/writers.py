"""Writing clips atomically: ``.npy`` arrays, GIFs, video files (PyAV) and folders of PNG frames.

The output is written to a temporary file (or folder) in the destination directory and moved into
place with :func:`os.replace`, so an error never leaves a half-written file behind and an existing
file is only replaced on success. Every failure raises :class:`odevideo.errors.VideoFileError`
naming the file.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from odevideo._atomic import atomic_write, atomic_write_dir
from odevideo.data.video_io.formats import (
    GIF_COMMENT_PREFIX,
    IMAGE_EXTENSIONS,
    MUXERS,
    VIDEO_EXTENSIONS,
    av_errors,
    import_av,
)
from odevideo.errors import InputError, VideoFileError

__all__ = ["write_video"]


def _frames_to_uint8(frames: Any, what: str = "frames") -> np.ndarray:
    """Validate ``(T, C, H, W)`` frames (float in [0, 1] or uint8) and return uint8 ``(T, C, H, W)``."""
    arr = as_numpy(frames, what)
    if arr.ndim != 4:
        raise InputError(f"{what} must have shape (T, C, H, W), got {arr.shape}; use frames.unsqueeze(1) for grayscale")
    if arr.shape[1] not in (1, 3):
        raise InputError(f"{what} must have 1 or 3 channels (T, C, H, W), got shape {arr.shape}")
    if min(arr.shape) < 1:
        raise InputError(f"{what} is empty (shape {arr.shape}); write at least one frame")
    return to_uint8(arr, what)


def as_numpy(value: Any, what: str) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu()
        if value.dtype in (torch.bfloat16, torch.float16):
            value = value.float()
        return value.numpy()
    if isinstance(value, np.ndarray):
        return value
    raise InputError(f"{what} must be a torch.Tensor or numpy array, got {type(value).__name__}")


def to_uint8(arr: np.ndarray, what: str) -> np.ndarray:
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


def atomic_file(path: Path, write: Callable[[str], None]) -> None:
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
    * ``.y4m``: YUV4MPEG2, uncompressed ``yuv420p`` (even sizes, padded as above).
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
        arr = as_numpy(frames, "frames")
        if arr.ndim != 4 or arr.shape[1] not in (1, 3) or min(arr.shape) < 1:
            raise InputError(f"frames must have shape (T, C, H, W) with C in {{1, 3}}, got {arr.shape}")
        if arr.dtype != np.uint8:
            to_uint8(arr, "frames")  # validation only
            arr = arr.astype(np.float32)
        data = np.ascontiguousarray(arr)

        def write_npy(tmp: str) -> None:
            with open(tmp, "wb") as f:
                np.save(f, data, allow_pickle=False)

        guard(path, lambda: atomic_file(path, write_npy))
        return path
    u8 = _frames_to_uint8(frames)
    if path.is_dir() or suffix == "":
        guard(path, lambda: _write_folder(path, u8))
    elif suffix == ".gif":
        guard(path, lambda: atomic_file(path, lambda tmp: _write_gif(tmp, u8, fps)))
    elif suffix in VIDEO_EXTENSIONS:
        av = import_av(path)
        guard(
            path, lambda: atomic_file(path, lambda tmp: _write_av(av, tmp, suffix, u8, fps, codec, crf)), av_errors(av)
        )
    else:
        raise VideoFileError(
            f"{path}: cannot write {suffix!r} files; use .gif, .npy, {', '.join(VIDEO_EXTENSIONS)} or a folder path "
            f"(no extension)"
        )
    return path


def guard(path: Path, fn: Callable[[], None], extra: tuple[type[BaseException], ...] = ()) -> None:
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
        comment=GIF_COMMENT_PREFIX + repr(fps).encode("ascii"),
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
        elif suffix == ".y4m":
            codec = "wrapped_avframe"  # the YUV4MPEG2 muxer takes decoded frames as they are
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
    container = av.open(tmp, mode="w", format=MUXERS[suffix])
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
            if f.shape[0] == 1:
                img = Image.fromarray(f[0], mode="L")
            else:
                img = Image.fromarray(f.transpose(1, 2, 0), mode="RGB")
            img.save(tmp / f"frame_{t:0{width}d}.png", format="PNG")

    atomic_write_dir(path, fill)
