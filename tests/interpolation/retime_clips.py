"""Tiny synthetic videos for the retime tests, written with PyAV, and a reader of what was written.

A clip's frame ``i`` has a white bar at ``x = 2 i`` (wrapping) on a background whose green level is ``5 i``, so every
frame differs from its neighbours and a linear blend of two frames is easy to predict.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

av = pytest.importorskip("av")


def frame_image(i: int, w: int = 64, h: int = 48) -> np.ndarray:
    img = np.zeros((h, w, 3), np.uint8)
    img[..., 1] = (5 * i) % 256
    x = (2 * i) % w
    img[:, x:x + 6] = 255
    return img


def write_clip(path: Path, n: int = 48, fps: int = 24, *, codec: str = "ffv1", skip: tuple[int, ...] = (),
               audio: bool = False, w: int = 64, h: int = 48, pix_fmt: str = "yuv420p", rotation: int = 0,
               sample_aspect_ratio: Fraction | None = None) -> Path:
    """``n`` frames at ``fps`` (frames in ``skip`` left out: a gap in the timestamps), optionally with a 440 Hz mono
    AAC sine as long as the video, a display rotation (degrees counter-clockwise, as a phone records) and non-square
    pixels (anamorphic video)."""
    c = av.open(str(path), "w")
    s = c.add_stream(codec, rate=fps)
    s.width, s.height, s.pix_fmt = w, h, pix_fmt
    if rotation:
        s.set_display_rotation(rotation)
    if sample_aspect_ratio is not None:
        s.codec_context.sample_aspect_ratio = sample_aspect_ratio
    a = None
    if audio:
        a = c.add_stream("aac", rate=48000)
        a.layout = "mono"
    for i in range(n):
        if i in skip:
            continue
        f = av.VideoFrame.from_ndarray(frame_image(i, w, h), format="rgb24")
        f.pts, f.time_base = i, Fraction(1, fps)
        for p in s.encode(f):
            c.mux(p)
    for p in s.encode():
        c.mux(p)
    if a is not None:
        sr = 48000
        t = np.arange(int(sr * n / fps)) / sr
        x = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        for k in range(0, len(x), 1024):
            fr = av.AudioFrame.from_ndarray(x[None, k:k + 1024], format="flt", layout="mono")
            fr.sample_rate, fr.pts = sr, k
            for p in a.encode(fr):
                c.mux(p)
        for p in a.encode():
            c.mux(p)
    c.close()
    return path


def read_back(path: Path) -> dict:
    """The video's frames ``(T, H, W, 3)`` uint8 in presentation order, their times in seconds (sorted packet
    timestamps), the time base, and per audio stream its codec and packet times."""
    with av.open(str(path)) as c:
        vs = c.streams.video[0]
        tb = Fraction(vs.time_base)
        pts = sorted(p.pts for p in c.demux(vs) if p.size)
    with av.open(str(path)) as c:
        frames = np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)])
        audio = []
        for st in c.streams.audio:
            audio.append({"codec": st.codec_context.codec.canonical_name, "time_base": Fraction(st.time_base)})
    with av.open(str(path)) as c:
        for st, info in zip(c.streams.audio, audio):
            pk = [p for p in c.demux(st) if p.size]
            info["times"] = [p.pts * info["time_base"] for p in pk]
            info["durations"] = [p.duration * info["time_base"] for p in pk]
    return {"frames": frames, "times": [p * tb for p in pts], "time_base": tb, "audio": audio}


def audio_packets(path: Path) -> int:
    with av.open(str(path)) as c:
        return sum(1 for p in c.demux(c.streams.audio[0]) if p.size)
