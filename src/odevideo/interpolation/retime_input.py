"""What retiming reads of an input before decoding a frame: its frame times (from the packets), its nominal
rate, its audio."""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from odevideo.data.video_io.formats import (
    CONTAINERS,
    VIDEO_EXTENSIONS,
    ReadLimits,
    av_errors,
    import_av,
    quarter_turns,
)
from odevideo.errors import VideoFileError

#: how many packets the probe decodes at most looking for a first frame (its display rotation); none: no rotation
ROTATION_PACKETS = 64


@dataclass(frozen=True)
class VideoProbe:
    """What retiming needs to know about an input, read from its packets (and its first decoded frame, for the
    display rotation) before any conversion."""

    path: Path
    width: int  #: the frames' size as shown (after the display rotation)
    height: int
    codec: str  #: the video codec's name (``h264``, ``mpeg4``, ...)
    fps: Fraction  #: the nominal rate (see the module docstring)
    average_rate: Fraction | None
    time_base: Fraction
    t0: Fraction  #: the first frame's presentation time in seconds (the origin of all times)
    times: tuple[Fraction, ...]  #: every frame's presentation time in seconds from ``t0``, increasing
    audio_codec: str | None  #: the first audio stream's codec, if any
    rotation: int = 0  #: the display rotation, degrees counter-clockwise (0, 90, 180 or 270), applied to each frame
    #: the pixels' width : height as shown (after the rotation); None: square or not stated
    sample_aspect_ratio: Fraction | None = None

    @property
    def coded_size(self) -> tuple[int, int]:
        """``(width, height)`` of the frames as stored, before the display rotation."""
        return (self.height, self.width) if self.rotation in (90, 270) else (self.width, self.height)

    @property
    def duration(self) -> Fraction:
        """``p_last + 1 / fps``: the last frame is shown for one nominal frame interval."""
        return self.times[-1] + 1 / self.fps

    @property
    def snap(self) -> Fraction:
        """How close an output time must be to an input frame's to be that frame: half a timestamp tick, at most
        1 % of a frame interval."""
        return min(self.time_base / 2, 1 / (100 * self.fps))


def _valid_rate(rate: Any) -> Fraction | None:
    if rate is None:
        return None
    try:
        r = Fraction(rate)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None
    return r if r > 0 else None


def nominal_rate(stream: Any) -> Fraction | None:
    """The stream's nominal frame rate: ``guessed_rate`` (FFmpeg's ``r_frame_rate``) where it lies between the
    average rate and twice it, else the average rate, else ``guessed_rate`` / ``base_rate``; ``None`` if none is a
    positive number."""
    avg, guess = _valid_rate(stream.average_rate), _valid_rate(stream.guessed_rate)
    if avg is not None and guess is not None and avg * Fraction(999, 1000) <= guess <= 2 * avg:
        return guess
    return avg or guess or _valid_rate(getattr(stream, "base_rate", None))


def _open_input(av: Any, path: Path) -> Any:
    errors = av_errors(av)
    try:
        container = av.open(str(path), mode="r")
    except errors as e:
        raise VideoFileError(f"{path}: cannot open it as a video ({_short(e)}); the file is corrupt or not a video") \
            from None
    try:
        demuxer = container.format.name
        if not set(demuxer.split(",")) & CONTAINERS[path.suffix.lower()]:
            raise VideoFileError(f"{path}: the content is not a {path.suffix} container (FFmpeg reads it as "
                                 f"{demuxer!r}); the file is corrupt or has the wrong extension")
        if not container.streams.video:
            raise VideoFileError(f"{path}: the file has no video stream; give a video file")
        if container.streams.video[0].codec_context is None:
            raise VideoFileError(f"{path}: the video stream has no decoder (unknown or damaged codec); the file is "
                                 f"corrupt or uses a codec this FFmpeg build lacks")
    except BaseException:
        container.close()
        raise
    return container


def _check_input_path(path: Path) -> None:
    if not path.exists():
        raise VideoFileError(f"{path}: no such file; check the path")
    if not path.is_file():
        raise VideoFileError(f"{path}: not a regular file; give a video file")
    if path.suffix.lower() not in VIDEO_EXTENSIONS:
        raise VideoFileError(f"{path}: retime reads video files ({', '.join(VIDEO_EXTENSIONS)}), not "
                             f"{path.suffix or 'files without extension'!r}")
    if path.stat().st_size == 0:
        raise VideoFileError(f"{path}: the file is empty (0 bytes); re-create or re-download it")


def probe_video(path: str | os.PathLike[str], limits: ReadLimits | None = None) -> VideoProbe:
    """Open ``path``, check it against ``limits`` (frame size from the header; frame count as the packets are read)
    and read its frame times from the packets, decoding only up to the first frame (for its display rotation)."""
    path = Path(path)
    limits = limits or ReadLimits()
    _check_input_path(path)
    av = import_av(path)
    container = _open_input(av, path)
    try:
        stream = container.streams.video[0]
        ctx = stream.codec_context
        width, height = int(ctx.width or 0), int(ctx.height or 0)
        limits.check_frame(path, height, width)  # the size from the header, before any frame is decoded
        fps = nominal_rate(stream)
        if fps is None:
            raise VideoFileError(f"{path}: the video stream has no valid frame rate (average rate "
                                 f"{stream.average_rate}); re-encode it with a frame rate, e.g. ffmpeg -r 25")
        tb = Fraction(stream.time_base)
        ticks = []
        rotation = None  # from the first decoded frame's display matrix (PyAV reads it per frame)
        for packet in container.demux(stream):
            ts = packet.pts if packet.pts is not None else packet.dts
            if ts is None or packet.size == 0:
                continue
            ticks.append(int(ts))
            limits.check_video(path, len(ticks), 0)
            if rotation is None and len(ticks) <= ROTATION_PACKETS:
                try:
                    decoded = packet.decode()
                except av_errors(av):  # a damaged first packet: the next frame that decodes tells
                    decoded = []
                if decoded:
                    rotation = 90 * quarter_turns(decoded[0].rotation)
        audio = container.streams.audio[0].codec_context.codec.canonical_name if container.streams.audio else None
        # read before closing: PyAV refuses a closed container's stream attributes
        sar = _valid_rate(stream.sample_aspect_ratio or ctx.sample_aspect_ratio)  # anamorphic video: non-square pixels
        codec, average_rate = ctx.name, _valid_rate(stream.average_rate)
    except av_errors(av) as e:
        raise VideoFileError(f"{path}: cannot read the video's packets ({_short(e)}); the file is corrupt") from None
    finally:
        container.close()
    if not ticks:
        raise VideoFileError(f"{path}: the video stream holds no frames; check that the file is a complete video")
    ticks.sort()  # presentation order (a repeated timestamp's second frame is skipped when decoding)
    times = tuple((t - ticks[0]) * tb for t in ticks)
    rotation = rotation or 0
    if rotation in (90, 270):
        width, height = height, width
        sar = None if sar is None else 1 / sar
    return VideoProbe(path, width, height, codec, fps, average_rate, tb, ticks[0] * tb, times, audio, rotation,
                      None if sar == 1 else sar)


def _short(e: BaseException, limit: int = 200) -> str:
    text = " ".join(str(e).split())
    return text if len(text) <= limit else text[:limit] + "..."
