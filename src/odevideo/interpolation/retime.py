"""Retiming a video file: a new frame rate, slow motion or a regular grid over dropped frames, every output frame
made by an interpolator (:func:`~odevideo.interpolation.load_interpolator`) from the two input frames around it.

Timing. Input frame ``i`` is shown at ``p_i`` seconds: its presentation timestamp times the stream's time base,
counted from the first frame (``p_0 = 0``; frames are taken in presentation order, the sorted timestamps of the
stream's packets). The input lasts ``D = p_last + 1 / fps_in`` (the last frame is shown for one nominal frame
interval). ``fps_in`` is the stream's nominal rate: FFmpeg's ``r_frame_rate`` where it is between the average rate and
twice it (dropped frames lower the average below the nominal rate), else the average rate.

Output frame ``j`` shows the input at ``t_j = start + j * step`` for every ``t_j < end`` (``start`` defaults to 0,
``end`` to ``D``), so there are ``ceil((end - start) / step)`` of them, written ``j / rate`` seconds into the file:

=====================  ===================  ==========================================
mode                   ``step``             ``rate`` (frames per second of the file)
=====================  ===================  ==========================================
``fps=F``              ``1 / F``            ``F``
``factor=X``           ``1 / (fps_in X)``   ``fps_in X`` (same duration)
``slowmo=S``           ``1 / (fps_in S)``   ``fps_in`` (S times longer)
``fill_missing=True``  ``1 / fps_in``       ``fps_in`` (a regular grid at the input's rate)
=====================  ===================  ==========================================

Times are exact fractions (``59.94`` and ``29.97`` are read as NTSC's ``60000/1001`` and ``30000/1001``; see
:func:`parse_rate`), so frame counts do not suffer from rounding. For ``p_i <= t < p_{i+1}`` the frame is
``interpolate(frame_i, frame_{i+1}, tau)`` with ``tau = (t - p_i) / (p_{i+1} - p_i)``; a time within half a timestamp
tick (at most 1 % of a frame interval) of an input frame is that frame, copied without a model call. Past the last
input frame (``p_last < t < D``) the last frame is held. Every mode places its frames on a regular grid, so dropped
frames and irregular timestamps are always filled by interpolation; ``fill_missing`` is the mode that keeps the rate.

Streaming: frames are decoded one at a time and only the two around the current gap are kept; all output times of a
gap go to one ``interpolate`` call (at most :data:`MAX_BATCH` at a time), and frames are encoded as they come. Before
decoding, the packets are read once (no decoding) for the frame times, which gives the exact output count.

Output: the input's resolution (an odd size is padded by one row / column, repeating the last, where the pixel
format is ``yuv420p``); the input's codec family where the output container takes it and this FFmpeg build
encodes it (h264, hevc, mpeg4, mjpeg, vp8, vp9, ffv1, ...), else the container's default (H.264 for .mp4 / .mov /
.mkv, VP9 for .webm, MPEG-4 for .avi). The first audio stream is copied packet by packet (no re-encoding) where the
container takes its codec; with ``start`` / ``end`` only the packets that start in that range are kept, so the cut is
at packet boundaries (typically 20 to 40 ms). Slow motion drops the audio. The file is written to a temporary next
to the output and renamed when complete.
"""

from __future__ import annotations

import math
import os
import re
import time
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import torch

from odevideo._atomic import temp_file
from odevideo.data.video_io.formats import CONTAINERS, VIDEO_EXTENSIONS, ReadLimits, av_errors, import_av
from odevideo.errors import InputError, OdevideoError, VideoFileError

__all__ = ["retime_video", "probe_video", "plan_retime", "parse_rate", "parse_seconds", "VideoProbe", "RetimePlan",
           "MAX_BATCH", "parse_positive"]

#: Most output times given to one ``interpolate`` call (a gap with more is split), bounding memory in slow motion.
MAX_BATCH = 16
#: Largest rate, factor or slow-motion factor accepted (a bigger one is a typo; the output-frame limit also applies).
MAX_RATE = 100_000
#: FFmpeg muxer names by output suffix.
MUXERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm", ".avi": "avi"}
#: Encoders of an input codec's family, best first (the input's decoder / codec name -> encoder names).
FAMILY_ENCODERS = {
    "h264": ["libx264", "h264"], "hevc": ["libx265", "hevc"], "mpeg4": ["mpeg4"], "mjpeg": ["mjpeg"],
    "vp8": ["libvpx"], "vp9": ["libvpx-vp9"], "av1": ["libsvtav1", "libaom-av1"], "ffv1": ["ffv1"], "png": ["png"],
    "prores": ["prores_ks", "prores"], "mpeg2video": ["mpeg2video"], "mpeg1video": ["mpeg1video"],
    "msmpeg4v3": ["msmpeg4"], "msmpeg4v2": ["msmpeg4v2"], "huffyuv": ["huffyuv"], "ffvhuff": ["ffvhuff"],
    "utvideo": ["utvideo"],
}
#: The codec families each container takes for a copy of the input's family (FFmpeg accepts more, e.g. FFV1 in
#: .mp4, that common players do not); anything else gets the container's default.
CONTAINER_FAMILIES = {
    ".mp4": {"h264", "hevc", "mpeg4", "av1", "vp9"}, ".m4v": {"h264", "hevc", "mpeg4"},
    ".mov": {"h264", "hevc", "mpeg4", "mjpeg", "prores", "png"},
    ".mkv": {"h264", "hevc", "mpeg4", "mjpeg", "vp8", "vp9", "av1", "ffv1", "prores", "mpeg2video", "mpeg1video",
             "msmpeg4v3", "msmpeg4v2", "huffyuv", "ffvhuff", "utvideo"},
    ".webm": {"vp8", "vp9", "av1"},
    ".avi": {"h264", "mpeg4", "mjpeg", "ffv1", "png", "msmpeg4v3", "msmpeg4v2", "huffyuv", "ffvhuff", "utvideo",
             "mpeg2video", "mpeg1video"},
}
#: The encoders tried, in order, when the input's family cannot be written to the output container.
DEFAULT_ENCODERS = {
    ".mp4": ["libx264", "h264", "mpeg4"], ".m4v": ["libx264", "h264", "mpeg4"], ".mov": ["libx264", "h264", "mpeg4"],
    ".mkv": ["libx264", "h264", "mpeg4"], ".webm": ["libvpx-vp9", "libvpx"], ".avi": ["mpeg4", "mjpeg"],
}
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{1,3})?")


# ---------------------------------------------------------------------------------------------------------------
# numbers


def _fraction(value: Any, what: str, fix: str) -> Fraction:
    """A finite number (int, float, Fraction, or a decimal / ``a/b`` string) as an exact Fraction."""
    if isinstance(value, bool):
        raise InputError(f"{what} {value!r} is not a number; {fix}")
    if isinstance(value, Fraction):
        return value
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InputError(f"{what} {value} is not finite; {fix}")
        return Fraction(repr(value))  # the decimal the user typed (0.1 -> 1/10), not the binary float
    if isinstance(value, str):
        text = value.strip()
        parts = [p.strip() for p in text.split("/")]
        if len(parts) in (1, 2) and all(_NUMBER.fullmatch(p) for p in parts):
            num = Fraction(parts[0])
            den = Fraction(parts[1]) if len(parts) == 2 else Fraction(1)
            if den == 0:
                raise InputError(f"{what} {text}: division by zero; {fix}")
            return num / den
        raise InputError(f"{what} {value!r} is not a number (e.g. 60, 59.94 or 30000/1001); {fix}")
    raise InputError(f"{what} must be a number, got {type(value).__name__}; {fix}")


def parse_positive(value: Any, what: str) -> Fraction:
    fix = f"give a number > 0 and <= {MAX_RATE}"
    r = _fraction(value, what, fix)
    if not 0 < r <= MAX_RATE:
        raise InputError(f"{what} {float(r):g} is out of range; {fix}")
    return r


def parse_rate(value: Any, what: str = "fps") -> Fraction:
    """A frame rate as an exact fraction: ``60``, ``59.94``, ``"30000/1001"``, ``"2997/50"``.

    A decimal within 0.0005 of an NTSC rate ``N * 1000 / 1001`` (23.976, 29.97, 59.94, 119.88, ...) is read as that
    rate; write the fraction (``2997/50``) for the decimal itself."""
    r = parse_positive(value, what)
    is_decimal = not isinstance(value, Fraction) and not (isinstance(value, str) and "/" in value)
    if is_decimal and r.denominator != 1:
        n = round(r * Fraction(1001, 1000))
        ntsc = Fraction(n * 1000, 1001)
        if n >= 1 and abs(r - ntsc) < Fraction(1, 2000):
            return ntsc
    return r


def parse_seconds(value: Any, what: str) -> Fraction:
    """A time in seconds >= 0 (decimal, fraction or number) as an exact fraction."""
    fix = "give seconds >= 0, e.g. 1.5"
    r = _fraction(value, what, fix)
    if r < 0 or r > 10**9:
        raise InputError(f"{what} {float(r):g} s is out of range; {fix}")
    return r


# ---------------------------------------------------------------------------------------------------------------
# the input


@dataclass(frozen=True)
class VideoProbe:
    """What retiming needs to know about an input, read without decoding a frame."""

    path: Path
    width: int
    height: int
    codec: str  #: the video codec's name (``h264``, ``mpeg4``, ...)
    fps: Fraction  #: the nominal rate (see the module docstring)
    average_rate: Fraction | None
    time_base: Fraction
    t0: Fraction  #: the first frame's presentation time in seconds (the origin of all times)
    times: tuple[Fraction, ...]  #: every frame's presentation time in seconds from ``t0``, increasing
    audio_codec: str | None  #: the first audio stream's codec, if any

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
    and read its frame times from the packets, decoding nothing."""
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
        for packet in container.demux(stream):
            ts = packet.pts if packet.pts is not None else packet.dts
            if ts is None or packet.size == 0:
                continue
            ticks.append(int(ts))
            limits.check_video(path, len(ticks), 0)
        audio = container.streams.audio[0].codec_context.codec.canonical_name if container.streams.audio else None
    except av_errors(av) as e:
        raise VideoFileError(f"{path}: cannot read the video's packets ({_short(e)}); the file is corrupt") from None
    finally:
        container.close()
    if not ticks:
        raise VideoFileError(f"{path}: the video stream holds no frames; check that the file is a complete video")
    ticks.sort()  # presentation order (a repeated timestamp's second frame is skipped when decoding)
    times = tuple((t - ticks[0]) * tb for t in ticks)
    return VideoProbe(path, width, height, ctx.name, fps, _valid_rate(stream.average_rate), tb, ticks[0] * tb,
                      times, audio)


# ---------------------------------------------------------------------------------------------------------------
# the plan


@dataclass(frozen=True)
class RetimePlan:
    """The output grid: frame ``j`` shows the input at ``start + j * step`` and is written at ``j / rate``."""

    mode: str
    step: Fraction
    rate: Fraction
    start: Fraction
    end: Fraction
    count: int

    def time(self, j: int) -> Fraction:
        return self.start + j * self.step


def plan_retime(probe: VideoProbe, *, fps: Any = None, factor: Any = None, slowmo: Any = None, start: Any = None,
                end: Any = None, fill_missing: bool = False, limits: ReadLimits | None = None) -> RetimePlan:
    """The output grid for one of ``fps``, ``factor``, ``slowmo``, ``fill_missing`` (see the module docstring)."""
    limits = limits or ReadLimits()
    given = [name for name, v in (("fps", fps), ("factor", factor), ("slowmo", slowmo)) if v is not None]
    if fill_missing:
        given.append("fill_missing")
    if len(given) != 1:
        raise InputError(f"give exactly one of fps, factor, slowmo, fill_missing (got {', '.join(given) or 'none'}); "
                         f"fill_missing keeps the input's rate, and the others fill gaps on their own grid anyway")
    mode = given[0]
    if fps is not None:
        rate = parse_rate(fps, "fps")
        step = 1 / rate
    elif factor is not None:
        rate = probe.fps * parse_positive(factor, "factor")
        step = 1 / rate
    elif slowmo is not None:
        rate = probe.fps
        step = 1 / (probe.fps * parse_positive(slowmo, "slowmo"))
    else:
        rate = probe.fps
        step = 1 / rate
    if mode != "slowmo" and (rate.denominator > 1001 or rate.numerator > 1 << 20):
        rate = rate.limit_denominator(1001)  # encoders need a small time base; the grid follows the written rate
        step = 1 / rate
    duration = probe.duration
    t_start = Fraction(0) if start is None else parse_seconds(start, "start")
    t_end = duration if end is None else parse_seconds(end, "end")
    if end is not None and t_end <= t_start:
        raise InputError(f"start {float(t_start):g} s is not before end {float(t_end):g} s; give start < end")
    if t_start >= duration:
        raise InputError(f"start {float(t_start):g} s is at or after the end of {probe.path} "
                         f"({float(duration):.3f} s); give an earlier start")
    t_end = min(t_end, duration)
    in_range = bisect_left(probe.times, t_end) - bisect_left(probe.times, t_start)
    if in_range < 2:
        what = "is only one frame" if in_range == 1 else "are no frames"
        raise InputError(f"there {what} of {probe.path} in [{float(t_start):g}, {float(t_end):g}) s "
                         f"({len(probe.times)} in all); retiming needs two or more; widen start / end or use a longer "
                         f"video")
    count = math.ceil((t_end - t_start) / step)
    if count > limits.frames:
        raise InputError(f"the output would have {count} frames, more than the limit of {limits.frames}; ask for a "
                         f"lower rate or a shorter range, or pass limits=ReadLimits(frames=...)")
    return RetimePlan(mode, step, rate, t_start, t_end, count)


# ---------------------------------------------------------------------------------------------------------------
# the output


def _short(e: BaseException, limit: int = 200) -> str:
    text = " ".join(str(e).split())
    return text if len(text) <= limit else text[:limit] + "..."


def _encoder(av: Any, name: str) -> Any | None:
    try:
        return av.codec.Codec(name, "w")
    except Exception:  # noqa: BLE001 - unknown or unavailable encoders raise various errors
        return None


def choose_encoder(av: Any, suffix: str, input_codec: str, supported: set[str]) -> tuple[str, str]:
    """``(encoder name, why)``: the input's codec family where the container takes it and FFmpeg encodes it, else the
    container's default."""
    family = "h264" if input_codec.startswith("h264") else input_codec
    if family in supported and family in CONTAINER_FAMILIES[suffix]:
        for name in FAMILY_ENCODERS.get(family, []):
            if _encoder(av, name) is not None:
                return name, f"the input's codec family ({family})"
    for name in DEFAULT_ENCODERS[suffix]:
        codec = _encoder(av, name)
        if codec is not None and codec.canonical_name in supported:
            fits = family in supported and family in CONTAINER_FAMILIES[suffix]
            why = f"the {suffix} default; the input's {family} " + ("has no encoder here" if fits else
                                                                    f"does not go into {suffix}")
            return name, why
    raise VideoFileError(f"none of the encoders {DEFAULT_ENCODERS[suffix]} is available in this PyAV/FFmpeg build; "
                         f"write another format (.mp4, .mkv, .avi)")


def _pix_fmt(codec: Any) -> str:
    names = [f.name for f in (codec.video_formats or [])]
    for want in ("yuv420p", "yuvj420p", "rgb24"):
        if want in names or not names:
            return want
    return names[0]


def _configure(stream: Any, encoder: str) -> None:
    """Quality settings: visually lossless for H.264 / HEVC / VP9, fixed quantiser 2 for MPEG-4 / MJPEG."""
    if encoder == "libx264":
        stream.options = {"crf": "17", "preset": "medium"}
    elif encoder == "libx265":
        stream.options = {"crf": "20", "preset": "medium", "x265-params": "log-level=error"}
    elif encoder in ("libvpx-vp9", "libvpx"):
        stream.options = {"crf": "24", "b": "0"}
    elif encoder in ("mpeg4", "mjpeg", "msmpeg4", "msmpeg4v2", "mpeg2video", "mpeg1video"):
        ctx = stream.codec_context
        ctx.qscale = True  # a fixed quantiser (FFmpeg's -q:v 2)
        ctx.global_quality = 2 * 118  # FF_QP2LAMBDA


class _Writer:
    """The output container: the video stream and, optionally, the first audio stream copied packet by packet."""

    def __init__(self, av: Any, tmp: Path, suffix: str, probe: VideoProbe, plan: RetimePlan, in_audio: Any,
                 log: Callable[[str], None]):
        self.av = av
        self.notes: list[str] = []
        self.audio = None
        self.container = av.open(str(tmp), mode="w", format=MUXERS[suffix])
        try:
            supported = set(self.container.supported_codecs)
            self.encoder, why = choose_encoder(av, suffix, probe.codec, supported)
            self.pix_fmt = _pix_fmt(_encoder(av, self.encoder))
            w, h = probe.width, probe.height
            self.pad = (h % 2, w % 2) if self.pix_fmt in ("yuv420p", "yuvj420p") else (0, 0)
            if any(self.pad):
                which = " and ".join(x for x, p in (("a row", self.pad[0]), ("a column", self.pad[1])) if p)
                self.notes.append(f"{w}x{h} is odd and {self.pix_fmt} needs even sizes: padded to "
                                  f"{w + self.pad[1]}x{h + self.pad[0]} by repeating the last {which[2:]}")
            self.video = self.container.add_stream(self.encoder, rate=plan.rate)
            self.video.width, self.video.height = w + self.pad[1], h + self.pad[0]
            self.video.pix_fmt = self.pix_fmt
            _configure(self.video, self.encoder)
            self.description = f"{self.encoder} {self.pix_fmt} ({why})"
            if in_audio is not None:
                name = in_audio.codec_context.codec.canonical_name
                if plan.mode == "slowmo":
                    self.notes.append(f"slow motion: the audio ({name}) is dropped")
                elif name not in supported:
                    self.notes.append(f"the audio ({name}) is dropped: {suffix} files cannot hold it; write .mkv to "
                                      f"keep it")
                else:
                    self.audio = self.container.add_stream_from_template(in_audio)
            try:
                self.container.start_encoding()  # the header now, so that a refused audio stream can be left out
            except av_errors(av) as e:
                if self.audio is None:
                    raise
                self.container.close()
                self.container = None
                raise _AudioRefused(f"the audio ({in_audio.codec_context.codec.canonical_name}) is dropped: the "
                                    f"{suffix} muxer refused it ({_short(e)})") from None
        except BaseException:
            self.close()
            raise
        for note in self.notes:
            log(note)

    def write(self, rgb: np.ndarray, index: int, time_base: Fraction) -> None:
        if any(self.pad):
            rgb = np.pad(rgb, ((0, self.pad[0]), (0, self.pad[1]), (0, 0)), mode="edge")
        frame = self.av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        frame.pts, frame.time_base = index, time_base
        for packet in self.video.encode(frame):
            self.container.mux(packet)

    def mux_audio(self, packet: Any) -> None:
        packet.stream = self.audio
        self.container.mux(packet)

    def finish(self) -> None:
        for packet in self.video.encode():
            self.container.mux(packet)
        self.container.close()
        self.container = None

    def close(self) -> None:
        if self.container is not None:
            try:
                self.container.close()
            except Exception:  # noqa: BLE001 - closing a failed output; the error that brought us here matters
                pass
            self.container = None


class _AudioRefused(Exception):
    """The muxer refused the copied audio stream when writing the header (retried without audio)."""


# ---------------------------------------------------------------------------------------------------------------
# retiming


def _device_of(interpolator: Any) -> torch.device:
    params = getattr(interpolator, "parameters", None)
    if callable(params):
        for p in params():
            return p.device
    return torch.device("cpu")


def _audio_filter(probe: VideoProbe, plan: RetimePlan, audio_stream: Any, trim: tuple[bool, bool], suffix: str):
    """``keep(packet) -> bool`` and the shift in audio ticks: the packets that start in ``[start, end)``, where
    ``trim`` says which of start / end was given (an open side keeps everything); times move by ``t0 + start`` so
    that they stay in step with the video. Packets before the video's first frame (e.g. AAC's priming packet) are
    kept only in .mp4 / .mov / .m4v, whose edit lists hold them; other muxers would move every stream later."""
    tb = Fraction(audio_stream.time_base)
    lo, hi = probe.t0 + plan.start, probe.t0 + plan.end
    shift = round(lo / tb)
    negative_ok = suffix in (".mp4", ".mov", ".m4v")

    def keep(packet: Any) -> bool:
        ts = packet.pts if packet.pts is not None else packet.dts
        if ts is None or packet.size == 0:
            return False
        if ts * tb < lo and (trim[0] or not negative_ok):
            return False
        return not trim[1] or ts * tb < hi

    return keep, shift


def retime_video(
    interpolator: Any,
    in_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    fps: Any = None,
    factor: Any = None,
    slowmo: Any = None,
    start: Any = None,
    end: Any = None,
    fill_missing: bool = False,
    progress: bool = True,
    *,
    limits: ReadLimits | None = None,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Write ``in_path`` retimed to ``out_path`` (see the module docstring for the timing and the output format).

    Args:
        interpolator: anything with ``interpolate(frame0, frame1, taus)`` (:func:`load_interpolator`).
        in_path: a video file (.mp4, .mov, .mkv, .webm, .avi, .m4v).
        out_path: the output video; its suffix picks the container. Written to a temporary next to it, then renamed.
        fps: output frames per second (``60``, ``59.94``, ``"30000/1001"``).
        factor: output rate = input rate x ``factor``, same duration.
        slowmo: play ``slowmo`` times slower, written at the input's rate (audio dropped).
        start, end: the input range in seconds from its first frame (default: all of it).
        fill_missing: a regular grid at the input's nominal rate (fills dropped frames).
        progress: a tqdm bar (output frames/s, ETA) on stderr.
        limits: frame size and frame count limits (:class:`ReadLimits`), checked before decoding; the frame count
            limit also bounds the output.
        log: called with each note (audio dropped, padding); default: none.

    Returns:
        Statistics: input / output fps, frames, duration, the model calls, seconds and output frames per second.

    Raises:
        InputError: bad options or a range without two frames. VideoFileError: an unreadable input, an unwritable
        output.
    """
    t_begin = time.perf_counter()
    log = log or (lambda _msg: None)
    in_path, out_path = Path(in_path), Path(out_path)
    limits = limits or ReadLimits()
    if not hasattr(interpolator, "interpolate"):
        raise InputError(f"interpolator must have an interpolate(frame0, frame1, taus) method, got "
                         f"{type(interpolator).__name__}; use load_interpolator(NAME)")
    suffix = out_path.suffix.lower()
    if suffix not in MUXERS:
        raise InputError(f"{out_path}: cannot write {out_path.suffix or 'files without extension'!r}; end the name in "
                         f"{', '.join(MUXERS)}")
    if out_path.is_dir():
        raise InputError(f"{out_path} is a folder; give a file name ending in {', '.join(MUXERS)}")
    if out_path.exists() and in_path.exists() and os.path.samefile(out_path, in_path):
        raise InputError(f"{out_path} is the input file; write to another path")
    probe = probe_video(in_path, limits)
    plan = plan_retime(probe, fps=fps, factor=factor, slowmo=slowmo, start=start, end=end,
                       fill_missing=fill_missing, limits=limits)
    trim = (start is not None, end is not None)
    av = import_av(in_path)
    errors = av_errors(av)
    notes: list[str] = []
    with_audio = True

    def note(msg: str) -> None:
        if msg not in notes:  # a retry without audio makes the same notes again
            notes.append(msg)
            log(msg)
    while True:
        try:
            with temp_file(out_path, suffix=".tmp" + suffix) as tmp:
                stats = _run(av, interpolator, probe, plan, tmp, suffix, trim, with_audio, progress, note)
                os.replace(tmp, out_path)
            break
        except _AudioRefused as e:
            note(str(e))
            with_audio = False
        except OdevideoError:
            raise
        except errors as e:
            raise VideoFileError(f"{out_path}: cannot retime {in_path} ({type(e).__name__}: {_short(e)})") from e
    seconds = time.perf_counter() - t_begin
    stats.update(
        input=str(in_path), output=str(out_path), mode=plan.mode, input_fps=float(probe.fps),
        input_frames_in_file=len(probe.times), input_duration_s=float(probe.duration),
        output_fps=float(plan.rate), output_fps_exact=str(plan.rate), step_s=float(plan.step),
        start_s=float(plan.start), end_s=float(plan.end), output_duration_s=float(stats["output_frames"] / plan.rate),
        seconds=seconds, frames_per_second=stats["output_frames"] / max(seconds, 1e-9), notes=notes,
    )
    return stats


def _to_tensor(rgb: np.ndarray, device: torch.device) -> torch.Tensor:
    """``(H, W, 3)`` uint8 -> ``(3, H, W)`` float in [0, 1] on ``device``."""
    return torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1))).to(device).float().mul_(1 / 255.0)


def _to_rgb(frames: torch.Tensor) -> np.ndarray:
    """``(K, C, H, W)`` float (C = 1 or 3) -> ``(K, H, W, 3)`` uint8, rounded, in one pass per step."""
    frames = frames.detach().float()
    if frames.shape[1] == 1:
        frames = frames.expand(-1, 3, -1, -1)
    u8 = frames.mul(255.0).add_(0.5).clamp_(0, 255).to(torch.uint8)  # + 0.5 and truncation: rounding
    return u8.permute(0, 2, 3, 1).contiguous().cpu().numpy()


def _run(av: Any, interpolator: Any, probe: VideoProbe, plan: RetimePlan, tmp: Path, suffix: str,
         trim: tuple[bool, bool],
         with_audio: bool, progress: bool, log: Callable[[str], None]) -> dict[str, Any]:
    from tqdm.auto import tqdm

    container = _open_input(av, probe.path)
    writer = None
    bar = None
    try:
        vs = container.streams.video[0]
        vs.thread_type = "AUTO"
        in_audio = container.streams.audio[0] if (with_audio and container.streams.audio) else None
        writer = _Writer(av, tmp, suffix, probe, plan, in_audio, log)
        streams = [vs] + ([in_audio] if writer.audio is not None else [])
        keep_audio, shift = (_audio_filter(probe, plan, in_audio, trim, suffix) if writer.audio is not None
                             else (None, 0))
        w, h = probe.width, probe.height
        device = _device_of(interpolator)
        out_tb = 1 / plan.rate
        snap = probe.snap
        bar = tqdm(total=plan.count, unit="frame", desc="retime", disable=not progress, dynamic_ncols=True,
                   leave=True)
        st = {"output_frames": 0, "interpolated_frames": 0, "copied_frames": 0, "model_calls": 0,
              "input_frames_decoded": 0, "audio_packets": 0}
        j = 0  # the next output frame
        k = 0  # the next input frame (its time is probe.times[k])
        prev: list[Any] = [None, None, None, None]  # time, av frame, rgb array, tensor (made when first needed)

        def rgb_of(slot: list[Any]) -> np.ndarray:
            if slot[2] is None:
                frame = slot[1]
                same_size = frame.width == w and frame.height == h
                slot[2] = frame.to_ndarray(format="rgb24") if same_size else \
                    frame.reformat(width=w, height=h, format="rgb24").to_ndarray()
                slot[1] = None
            return slot[2]

        def tensor_of(slot: list[Any]) -> torch.Tensor:
            if slot[3] is None:
                slot[3] = _to_tensor(rgb_of(slot), device)
            return slot[3]

        def emit(rgb: np.ndarray) -> None:
            nonlocal j
            writer.write(rgb, j, out_tb)
            j += 1
            st["output_frames"] += 1
            bar.update(1)

        def gap(t1: Fraction, cur: list[Any]) -> None:
            """Every output time before ``t1`` (the time of ``cur``) from the gap that starts at ``prev``."""
            t0 = prev[0]
            pending: list[tuple[float, bool]] = []  # (tau, copy: at the gap's first frame)
            while j + len(pending) < plan.count and plan.time(j + len(pending)) < t1 - snap:
                tau = (plan.time(j + len(pending)) - t0) / (t1 - t0)
                pending.append((min(max(float(tau), 0.0), 1.0), abs(plan.time(j + len(pending)) - t0) <= snap))
            i = 0
            while i < len(pending):
                if pending[i][1]:
                    emit(rgb_of(prev))
                    st["copied_frames"] += 1
                    i += 1
                    continue
                run = []
                while i < len(pending) and not pending[i][1] and len(run) < MAX_BATCH:
                    run.append(pending[i][0])
                    i += 1
                f0, f1 = tensor_of(prev), tensor_of(cur)
                with torch.no_grad():
                    out = interpolator.interpolate(f0, f1, torch.tensor(run, dtype=torch.float32, device=device))
                if out.dim() != 4 or out.shape[0] != len(run) or out.shape[1] not in (1, 3) or \
                        tuple(out.shape[-2:]) != (h, w):
                    raise InputError(f"{interpolator!r}.interpolate returned shape {tuple(out.shape)} for "
                                     f"{len(run)} times of {w}x{h} RGB frames; it must return (K, 3, H, W)")
                st["model_calls"] += 1
                for rgb in _to_rgb(out):
                    emit(rgb)
                    st["interpolated_frames"] += 1

        for packet in container.demux(*streams):
            if packet.stream.type == "audio":
                if keep_audio(packet):
                    if packet.pts is not None:
                        packet.pts -= shift
                    if packet.dts is not None:
                        packet.dts -= shift
                    writer.mux_audio(packet)
                    st["audio_packets"] += 1
                continue
            if j >= plan.count:  # the video is done; read on for the audio only
                if writer.audio is None:
                    break
                continue
            for frame in packet.decode():
                st["input_frames_decoded"] += 1
                if k >= len(probe.times):  # more frames than packets: the decoder's own; no time for them
                    continue
                t, k = probe.times[k], k + 1
                if prev[0] is not None and t <= prev[0]:
                    continue
                cur = [t, frame, None, None]
                if prev[0] is None:
                    while j < plan.count and plan.time(j) < t - snap:  # before the first frame: hold it
                        emit(rgb_of(cur))
                        st["copied_frames"] += 1
                elif j < plan.count and plan.time(j) < t - snap:
                    gap(t, cur)
                prev[:] = cur  # the previous frame (decoded or converted) is released here
                if j >= plan.count:
                    break
        while j < plan.count and prev[0] is not None:  # past the last frame: hold it
            emit(rgb_of(prev))
            st["copied_frames"] += 1
        if j < plan.count:
            raise VideoFileError(f"{probe.path}: no frame could be decoded; the file is corrupt")
        writer.finish()
        bar.close()
        st.update(video_codec=writer.encoder, video_encoding=writer.description, pix_fmt=writer.pix_fmt,
                  size=f"{writer.video.width}x{writer.video.height}", input_size=f"{w}x{h}",
                  audio=("copied (" + in_audio.codec_context.codec.canonical_name + ")") if writer.audio is not None
                  else ("none" if not container.streams.audio else "dropped"))
        return st
    finally:
        if bar is not None:
            bar.close()
        if writer is not None:
            writer.close()
        container.close()
