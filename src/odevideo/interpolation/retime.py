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

import contextlib
import os
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import torch

from odevideo._atomic import temp_file
from odevideo.data.video_io.formats import ReadLimits, av_errors, import_av, upright
from odevideo.errors import InputError, OdevideoError, VideoFileError
from odevideo.interpolation.retime_input import VideoProbe, _open_input, _short, probe_video
from odevideo.interpolation.retime_output import MUXERS, _AudioRefused, _Writer
from odevideo.interpolation.retime_plan import RetimePlan, parse_positive, parse_rate, parse_seconds, plan_retime

__all__ = ["retime_video", "probe_video", "plan_retime", "parse_rate", "parse_seconds", "VideoProbe", "RetimePlan",
           "MAX_BATCH", "parse_positive"]

#: Most output times given to one ``interpolate`` call (a gap with more is split), bounding memory in slow motion.
MAX_BATCH = 16

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
    bf16: bool = False,
) -> dict[str, Any]:
    """Write ``in_path`` retimed to ``out_path`` (see the module docstring for the timing and the output format).

    Args:
        interpolator: anything with ``interpolate(frame0, frame1, taus)`` (:func:`load_interpolator`).
        in_path: a video file (.mp4, .mov, .mkv, .webm, .avi, .m4v, .y4m).
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
        bf16: run a trained model (a ``torch.nn.Module``) under bf16 autocast: its convolutions in bfloat16, the
            warps and the output frame in float32 (about 1.4x faster on a CPU with bf16 instructions; output
            within about 1e-3 of float32). No effect on the classical interpolators.

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
                stats = _run(av, interpolator, probe, plan, tmp, suffix, trim, with_audio, progress, note, bf16)
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
         with_audio: bool, progress: bool, log: Callable[[str], None], bf16: bool = False) -> dict[str, Any]:
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
        use_bf16 = bf16 and isinstance(interpolator, torch.nn.Module)
        if bf16 and not use_bf16:
            log(f"bf16 has no effect on {type(interpolator).__name__} (only trained models run under autocast)")

        def precision() -> contextlib.AbstractContextManager:
            return torch.autocast(device.type, dtype=torch.bfloat16) if use_bf16 else contextlib.nullcontext()
        out_tb = 1 / plan.rate
        snap = probe.snap
        bar = tqdm(total=plan.count, unit="frame", desc="retime", disable=not progress, dynamic_ncols=True,
                   leave=True)
        st = {"output_frames": 0, "interpolated_frames": 0, "copied_frames": 0, "model_calls": 0,
              "input_frames_decoded": 0, "audio_packets": 0}
        j = 0  # the next output frame
        k = 0  # the next input frame (its time is probe.times[k])
        prev: list[Any] = [None, None, None, None]  # time, av frame, rgb array, tensor (made when first needed)

        coded_w, coded_h = probe.coded_size

        def rgb_of(slot: list[Any]) -> np.ndarray:
            if slot[2] is None:
                frame = slot[1]
                same_size = frame.width == coded_w and frame.height == coded_h
                rgb = frame.to_ndarray(format="rgb24") if same_size else \
                    frame.reformat(width=coded_w, height=coded_h, format="rgb24").to_ndarray()
                slot[2] = np.ascontiguousarray(upright(rgb, probe.rotation))
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
                with torch.no_grad(), precision():
                    out = interpolator.interpolate(f0, f1, torch.tensor(run, dtype=torch.float32, device=device))
                out = out.float()
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
        size = f"{writer.video.width}x{writer.video.height}"  # before finish() closes the output container
        writer.finish()
        bar.close()
        st.update(video_codec=writer.encoder, video_encoding=writer.description, pix_fmt=writer.pix_fmt,
                  size=size, input_size=f"{w}x{h}",
                  audio=("copied (" + in_audio.codec_context.codec.canonical_name + ")") if writer.audio is not None
                  else ("none" if not container.streams.audio else "dropped"))
        return st
    finally:
        if bar is not None:
            bar.close()
        if writer is not None:
            writer.close()
        container.close()
