"""``odevideo retime MODEL IN OUT``: a video at a new frame rate, in slow motion, or on a regular grid over dropped
frames, every new frame interpolated by MODEL (see :mod:`odevideo.interpolation.retime` for the timing).

Everything a user can get wrong is checked before the model is loaded or a file is created: the options as they are
parsed, OUT's suffix and folder, IN (a readable video with a frame rate, its size within the limits, two frames in
--start/--end), then MODEL.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from odevideo.cli.options import check_output_file


def _argtype(parser: str, name: str):
    """An argparse type from one of :mod:`odevideo.interpolation.retime`'s parsers (imported when an option is given;
    their InputError becomes argparse's one-line error)."""

    def convert(text: str):
        from odevideo.errors import InputError
        from odevideo.interpolation import retime

        try:
            return getattr(retime, parser)(text, "value")
        except InputError as e:
            raise argparse.ArgumentTypeError(str(e)) from None

    convert.__name__ = name
    return convert


def add_parser(sub) -> None:
    s = sub.add_parser(
        "retime", help="a video at a new frame rate, in slow motion or with dropped frames filled, every new frame "
        "interpolated (MODEL: repeat_previous, linear_blend, dis_flow, dis_flow_or_blend, or a trained model)",
        description="Retime IN into OUT. Output frame j shows the input at start + j * step (for times before the "
        "end), each made by MODEL from the two input frames around it; see docs/retime.md.")
    s.add_argument("model", metavar="MODEL",
                   help="a classical interpolator (repeat_previous, linear_blend, dis_flow, dis_flow_or_blend), a "
                   "model folder, a run folder or a pretrained model's name")
    s.add_argument("input", metavar="IN", help="the input video (.mp4, .mov, .mkv, .webm, .avi, .m4v, .y4m)")
    s.add_argument("output", metavar="OUT", help="the output video; its suffix picks the container")
    rate = s.add_mutually_exclusive_group(required=True)
    rate.add_argument("--fps", type=_argtype("parse_rate", "frame rate"), metavar="F",
                      help="output frames per second: 60, 59.94 (= 60000/1001), 30000/1001, ...")
    rate.add_argument("--factor", type=_argtype("parse_positive", "factor"), metavar="X",
                      help="output rate = input rate x X, same duration")
    rate.add_argument("--slowmo", type=_argtype("parse_positive", "factor"), metavar="S",
                      help="play S times slower, at the input's rate (the audio is dropped)")
    rate.add_argument("--fill-missing", action="store_true",
                      help="keep the input's nominal rate on a regular grid: dropped frames and irregular timestamps "
                      "are filled by interpolation")
    s.add_argument("--start", type=_argtype("parse_seconds", "seconds"), metavar="SEC",
                   help="begin at this time of the input (seconds from its first frame)")
    s.add_argument("--end", type=_argtype("parse_seconds", "seconds"), metavar="SEC",
                   help="end before this time of the input (default: its end)")
    s.add_argument("--device", default="cpu", help="where a trained model runs: cpu, cuda, cuda:1, ... (default cpu)")
    s.add_argument("--bf16", action="store_true",
                   help="run a trained model's networks in bfloat16 (autocast): about 1.4x faster on CPUs with bf16 "
                   "instructions, output within about 1e-3 of float32")
    s.add_argument("--no-progress", action="store_true", help="no progress bar")
    s.set_defaults(func=run)


def _device(name: str):
    import torch

    from odevideo.errors import InputError

    try:
        device = torch.device(name)
    except (RuntimeError, ValueError):
        raise InputError(f"--device {name!r} is not a device; use cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"--device {name}: no CUDA device is available here; use --device cpu")
    return device


def _load(model: str, device):
    from odevideo.errors import CheckpointError, InputError
    from odevideo.interpolation import CLASSICAL, load_interpolator

    try:
        return load_interpolator(model, device=device)
    except CheckpointError:
        if Path(model).exists():
            raise
        from odevideo import pretrained

        names = ", ".join(getattr(pretrained, "pretrained_names", list)()) or "none installed"
        raise InputError(f"MODEL {model!r} is neither a classical interpolator ({', '.join(CLASSICAL)}) nor a model "
                         f"folder, run folder or pretrained model ({names}); check the name or path") from None


def run(args: argparse.Namespace) -> int:
    from odevideo.errors import InputError
    from odevideo.interpolation.retime import MUXERS, plan_retime, probe_video, retime_video

    check_output_file(args.output, "OUT", MUXERS)
    if Path(args.input).exists() and Path(args.output).exists() and Path(args.input).resolve() == \
            Path(args.output).resolve():
        raise InputError(f"OUT {args.output} is the input file; write to another path")
    modes = {"fps": args.fps, "factor": args.factor, "slowmo": args.slowmo}
    mode = {k: v for k, v in modes.items() if v is not None}
    window = {"start": args.start, "end": args.end}
    probe = probe_video(args.input)  # a bad IN, its size and rate: refused before the model is loaded
    plan_retime(probe, **mode, **window, fill_missing=args.fill_missing)
    interpolator = _load(args.model, _device(args.device))

    def note(msg: str) -> None:
        print(f"odevideo retime: note: {msg}", file=sys.stderr)

    st = retime_video(interpolator, args.input, args.output, **mode, **window, fill_missing=args.fill_missing,
                      progress=not args.no_progress, log=note, bf16=args.bf16)
    print(f"wrote {st['output']}: {st['output_frames']} frames at {st['output_fps']:.6g} fps "
          f"({st['output_duration_s']:.3f} s) from input times {st['start_s']:.3f}..{st['end_s']:.3f} s of "
          f"{st['input_frames_in_file']} frames at {st['input_fps']:.6g} fps; {st['interpolated_frames']} interpolated "
          f"in {st['model_calls']} calls, {st['copied_frames']} copied; {st['seconds']:.1f} s, "
          f"{st['frames_per_second']:.1f} output frames/s; video {st['video_codec']} {st['size']}, audio "
          f"{st['audio']}")
    return 0
