"""The retimed file: the encoder of the input's codec family where the container takes it, the pixel format,
the audio packets copied, all written to a temporary first."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from odevideo.data.video_io.formats import MUXERS, av_errors
from odevideo.errors import VideoFileError
from odevideo.interpolation.retime_input import VideoProbe, _short
from odevideo.interpolation.retime_plan import RetimePlan

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
    ".y4m": set(),  # uncompressed: frames go in as they are (FFmpeg's wrapped_avframe)
}
#: The encoders tried, in order, when the input's family cannot be written to the output container.
DEFAULT_ENCODERS = {
    ".mp4": ["libx264", "h264", "mpeg4"], ".m4v": ["libx264", "h264", "mpeg4"], ".mov": ["libx264", "h264", "mpeg4"],
    ".mkv": ["libx264", "h264", "mpeg4"], ".webm": ["libvpx-vp9", "libvpx"], ".avi": ["mpeg4", "mjpeg"],
    ".y4m": ["wrapped_avframe"],
}

# ---------------------------------------------------------------------------------------------------------------
# the output


def _encoder(av: Any, name: str) -> Any | None:
    try:
        return av.codec.Codec(name, "w")
    except Exception:  # noqa: BLE001 - unknown or unavailable encoders raise various errors
        return None


def _pix_fmts(codec: Any) -> list[str]:
    """The encoder's pixel formats to try, best first: 4:2:0 YUV (limited, then full range), then RGB."""
    names = [f.name for f in (codec.video_formats or [])]
    if not names:
        return ["yuv420p"]
    return [p for p in ("yuv420p", "yuvj420p", "rgb24") if p in names] or names[:1]


def padding(pix_fmt: str, width: int, height: int) -> tuple[int, int]:
    """``(rows, columns)`` to add so that a 4:2:0 pixel format gets even sizes."""
    return (height % 2, width % 2) if pix_fmt in ("yuv420p", "yuvj420p") else (0, 0)


def encoder_opens(av: Any, name: str, pix_fmt: str, width: int, height: int, rate: Fraction) -> bool:
    """Whether FFmpeg opens encoder ``name`` for frames of ``width x height`` (padded for 4:2:0) at ``rate``:
    some refuse a pixel format (MJPEG wants full-range YUV) or a rate (MPEG-1 takes only the standard ones)."""
    rows, cols = padding(pix_fmt, width, height)
    try:
        ctx = av.CodecContext.create(name, "w")
        ctx.width, ctx.height, ctx.pix_fmt = width + cols, height + rows, pix_fmt
        ctx.framerate, ctx.time_base = Fraction(rate), 1 / Fraction(rate)
        ctx.open()
    except Exception:  # noqa: BLE001 - FFmpeg reports a refusal as various errors
        return False
    return True


def choose_encoder(av: Any, suffix: str, input_codec: str, supported: set[str], width: int, height: int,
                   rate: Fraction) -> tuple[str, str, str]:
    """``(encoder name, pixel format, why)``: the input's codec family where the container takes it and FFmpeg
    encodes it with this size and rate, else the container's default."""
    codec_family = "h264" if input_codec.startswith("h264") else input_codec
    fits = codec_family in supported and codec_family in CONTAINER_FAMILIES[suffix]

    def first_that_opens(names: list[str]) -> tuple[str, str] | None:
        for name in names:
            codec = _encoder(av, name)
            if codec is None or codec.canonical_name not in supported:
                continue
            for pix_fmt in _pix_fmts(codec):
                if encoder_opens(av, name, pix_fmt, width, height, rate):
                    return name, pix_fmt
        return None

    if fits:
        found = first_that_opens(FAMILY_ENCODERS.get(codec_family, []))
        if found is not None:
            return (*found, f"the input's codec family ({codec_family})")
    found = first_that_opens(DEFAULT_ENCODERS[suffix])
    if found is not None and not CONTAINER_FAMILIES[suffix]:
        return (*found, f"{suffix} holds uncompressed frames")
    if found is not None:
        refused = f"has no encoder here for {width}x{height} at {float(rate):g} fps"
        why = f"the {suffix} default; the input's {codec_family} " + (refused if fits else f"does not go into {suffix}")
        return (*found, why)
    raise VideoFileError(f"none of the encoders {DEFAULT_ENCODERS[suffix]} is available in this PyAV/FFmpeg build "
                         f"for {width}x{height} at {float(rate):g} fps; write another format (.mp4, .mkv, .avi)")


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
            w, h = probe.width, probe.height
            self.encoder, self.pix_fmt, why = choose_encoder(av, suffix, probe.codec, supported, w, h, plan.rate)
            self.pad = padding(self.pix_fmt, w, h)
            if any(self.pad):
                which = " and ".join(x for x, p in (("a row", self.pad[0]), ("a column", self.pad[1])) if p)
                self.notes.append(f"{w}x{h} is odd and {self.pix_fmt} needs even sizes: padded to "
                                  f"{w + self.pad[1]}x{h + self.pad[0]} by repeating the last {which[2:]}")
            self.video = self.container.add_stream(self.encoder, rate=plan.rate)
            self.video.width, self.video.height = w + self.pad[1], h + self.pad[0]
            self.video.pix_fmt = self.pix_fmt
            if probe.sample_aspect_ratio is not None:  # anamorphic input: shown at the same shape
                self.video.codec_context.sample_aspect_ratio = probe.sample_aspect_ratio
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


