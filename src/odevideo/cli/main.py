"""The ``odevideo`` command line: parse, build from config, call the layers below.

Subcommands: ``train``, ``evaluate``, ``predict``, ``latents``, ``experiment``, ``generate``, ``retime``, ``demo``,
``presets``.

Bad input ends in one line on stderr that names the option or file, the problem and the fix, with exit status 2 and
no traceback (``--debug`` shows it): argument values are checked as they are parsed (:mod:`odevideo.cli.options`),
config values by :func:`odevideo.training.config.check_config`, output paths before a model is loaded; any
:class:`odevideo.errors.OdevideoError` or ``OSError`` later on is reported the same way. Any other exception is a
bug: one line, exit status 1, the traceback with ``--debug``. A closed stdout (``odevideo presets | head -1``) ends
the command quietly.
"""

from __future__ import annotations

import argparse
import os
import select
import stat
import sys
from pathlib import Path

from odevideo.cli.evaluate import cmd_evaluate
from odevideo.cli.options import Parser, check_output_file, number, whole_number
from odevideo.errors import InputError, OdevideoError

#: Suffixes ``predict --output`` writes (besides a folder of PNGs): :func:`odevideo.data.write_video`'s.
VIDEO_SUFFIXES = (".gif", ".npy", ".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".y4m")


def _add_config_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--preset", help="preset name (see `odevideo presets`)")
    p.add_argument("--config", help="YAML config file (applied after the preset)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set train.steps=500 (repeatable; wins over files)")
    p.add_argument("--output-dir", help="parent directory of the run directory (= --set output_dir=...)")
    p.add_argument("--max-minutes", type=number(0), help="training wall-clock budget (= --set train.max_minutes=...); "
                   "0 saves a checkpoint at once")


def _config_from_args(args):
    from odevideo.training import ExperimentConfig, load_config

    overrides = list(args.overrides)
    if getattr(args, "output_dir", None):
        overrides.append(f"output_dir={args.output_dir}")
    if getattr(args, "max_minutes", None) is not None:
        overrides.append(f"train.max_minutes={args.max_minutes}")
    data = getattr(args, "data", None)
    path = None if data is None else _data_path(data)  # refused before anything is loaded
    cfg = load_config(ExperimentConfig, args.preset, args.config, overrides)
    if path is not None:
        has_splits = path.is_dir() and all((path / s).is_dir() for s in ("train", "val", "test"))
        cfg.data.dataset = "video_folder" if has_splits else "video_file"
        cfg.data.data_dir = str(path)
    cfg.check()
    return cfg


def _data_path(data: str) -> Path:
    """``train --data PATH``: an existing video file or folder (an :class:`InputError` naming the option otherwise)."""
    path = Path(data).expanduser()
    if not path.exists():
        raise InputError(f"--data {data}: no such file or folder; give a video file or a folder of videos")
    return path.resolve()


def cmd_presets(args) -> int:
    from odevideo.training import ExperimentConfig, list_presets, load_config

    for name in list_presets():
        cfg = load_config(ExperimentConfig, name, None, [])
        print(f"{name:28s} {cfg.description}")
    return 0


def cmd_methods(args) -> int:
    from odevideo.methods import METHODS

    for name, m in METHODS.items():
        kind = "conditional" if m.conditional else "generative"
        doc = (type(m).__doc__ or "").strip().splitlines()[0].replace("``", "`")
        print(f"{name:20s} {m.family:11s} {kind:12s} {doc}")
    return 0


def cmd_train(args) -> int:
    """Train in this process, or as one rank of ``torchrun --nproc-per-node N -m odevideo train ...`` (the
    Trainer starts the process group from torchrun's environment; it is torn down here)."""
    from odevideo.training import Trainer, distributed, evaluate, format_table, save_results

    cfg = _config_from_args(args)
    try:
        trainer = Trainer(cfg, resume=args.resume)
        res = trainer.fit()
        is_main, world, conditional = trainer.is_main, trainer.dist.world_size, trainer.method.conditional
        # Every rank leaves the process group here, together (fit ends with a barrier) and while the interpreter
        # is fully alive: the DDP wrapper holds the group, so it goes first. A group torn down by one rank while
        # another still works in it, or at interpreter exit, can abort the process in gloo's threads.
        del trainer
        distributed.shutdown()
        if not is_main:  # rank 0 reports and evaluates
            return 0
        procs = f" on {world} processes" if world > 1 else ""
        what = "validation MSE" if conditional else f"validation {cfg.validation.metric}"
        print(f"trained {res.step} steps{procs} in {res.elapsed_s / 60:.1f} min; best {what} "
              f"{res.best_val_mse:.5f}; run: {res.run_dir}")
        if args.evaluate:
            from odevideo.training import load_run

            model, cfg = load_run(res.run_dir)
            result = evaluate(model, cfg)
            paths = save_results(result, res.run_dir / "eval")
            print(format_table(result))
            print(f"wrote {paths['json']}")
        return 0
    finally:
        distributed.shutdown()


def fit_to_model(frames, size: int, resize: bool, name: str):
    """``--input`` frames ``(T, C, H, W)`` at the model's ``size`` x ``size``: unchanged when they are already, else
    (with ``resize``) as the training data pipeline does it (:class:`~odevideo.data.VideoWindowDataset`, the own-video
    datasets): the largest centred square cropped, then resized bilinearly with antialiasing; never squashed."""
    from odevideo.data.transforms import center_crop_square
    from odevideo.data.transforms import resize as resize_frames

    if tuple(frames.shape[-2:]) == (size, size):
        return frames
    if not resize:
        raise InputError(f"{name} is {frames.shape[-1]}x{frames.shape[-2]} but the model takes {size}x{size}; "
                         f"pass --resize to centre-crop it to a square and resize it, as training does")
    return resize_frames(center_crop_square(frames), size, mode="bilinear", antialias=True).clamp(0, 1)


def input_interval(times, fallback: float) -> float:
    """The input's frame interval in time units: the mean spacing of ``times`` (``fallback`` for one frame)."""
    n = times.numel()
    return float(times[-1] - times[0]) / (n - 1) if n > 1 else fallback


def default_query_times(times, interval: float, fps_factor: int, future: int):
    """``predict`` without ``--times``: from the first input time to ``future`` input intervals after the last,
    every ``interval / fps_factor`` (``fps_factor`` frames per input interval)."""
    import torch

    from odevideo.evaluation.inference import MAX_QUERY_TIMES

    step = interval / fps_factor
    end = float(times[-1]) + future * interval
    n = int(round((end - float(times[0])) / step)) + 1
    if n > MAX_QUERY_TIMES:
        raise InputError(f"--fps-factor {fps_factor} --future {future} asks for {n} frames, more than the limit of "
                         f"{MAX_QUERY_TIMES} per call; ask for fewer")
    return float(times[0]) + step * torch.arange(n, dtype=torch.float64)


def output_fps(query, interval: float, source_fps: float | None) -> float:
    """The written file's frame rate, so that it plays at the input's speed. One input ``interval`` (time units)
    lasts one source frame, ``1 / source_fps`` seconds, for a video input with a frame rate; otherwise one time
    unit lasts a second (the config's rate: ``1 / data.frame_dt`` frames per second for frames ``frame_dt`` apart).
    Output frames are ``query``'s mean spacing apart (``interval`` for a single time)."""
    seconds_per_unit = 1.0 / (source_fps * interval) if source_fps else 1.0
    n = query.numel()
    step = float(query.max() - query.min()) / (n - 1) if n > 1 else 0.0
    return 1.0 / ((step if step > 0 else interval) * seconds_per_unit)


def _load_input_clip(args, cfg):
    """(frames (T,C,H,W), times (T,), source fps or None) from --input or --sample."""
    import torch

    from odevideo.evaluation.inference import parse_times
    from odevideo.training import build_dataset

    fps = None
    if args.input:
        from odevideo.data import read_video

        frames, fps = read_video(args.input, channels=1 if args.grayscale else None)
        c = cfg.data.channels
        if frames.shape[1] != c:
            raise InputError(f"{args.input} has {frames.shape[1]} channels but the model takes {c}; "
                             f"pass --grayscale to convert RGB to gray")
        frames = fit_to_model(frames, cfg.data.image_size, args.resize, args.input)
        if args.max_input_frames:
            frames = frames[: args.max_input_frames]
    else:
        ds = build_dataset(cfg, args.split)
        if not 0 <= args.sample < len(ds):
            raise InputError(f"--sample {args.sample} is out of range for the {args.split} split (0..{len(ds) - 1})")
        frames = ds[args.sample][: args.max_input_frames or cfg.task.num_observed]
    if args.input_times:
        times = parse_times(args.input_times, name="--input-times", increasing=True)
        if times.numel() != frames.shape[0]:
            raise InputError(f"--input-times gives {times.numel()} times for {frames.shape[0]} frames")
    else:
        times = torch.arange(frames.shape[0], dtype=torch.float64) * (args.input_spacing * cfg.data.frame_dt)
    return frames, times, fps


def cmd_predict(args) -> int:
    from odevideo.data import write_video
    from odevideo.evaluation.inference import parse_times, predict_clip
    from odevideo.training import load_run

    check_output_file(args.output, "--output", VIDEO_SUFFIXES, folder=True)
    query = parse_times(args.times, name="--times") if args.times else None
    if args.input_times:
        parse_times(args.input_times, name="--input-times", increasing=True)  # refused before the model is loaded
        if args.input_spacing != 1:
            raise InputError("--input-spacing and --input-times both give the input frames' times; use one")
    model, cfg = load_run(args.checkpoint, which=args.which)
    frames, times, source_fps = _load_input_clip(args, cfg)
    interval = input_interval(times, args.input_spacing * cfg.data.frame_dt)
    if query is None:
        query = default_query_times(times, interval, args.fps_factor, args.future)
    out = predict_clip(model, frames, times, query)
    fps = args.fps or output_fps(query, interval, source_fps)
    write_video(args.output, out, fps=fps)
    print(f"wrote {out.shape[0]} frames at times {float(query.min()):g}..{float(query.max()):g} "
          f"(input every {interval:g} time units) at {fps:.4g} fps to {args.output}")
    return 0


def cmd_latents(args) -> int:
    from odevideo.evaluation.inference import figure_format, latent_trajectories, plot_latent_trajectories
    from odevideo.training import build_dataset, load_run
    from odevideo.training.batches import batch_from_indices

    figure_format(args.out, "--out")
    check_output_file(args.out, "--out", [Path(args.out).suffix.lower()])
    model, cfg = load_run(args.checkpoint, which=args.which)
    ds = build_dataset(cfg, args.split)
    batch = batch_from_indices(ds, range(min(args.num_clips, len(ds))), cfg.data.frame_dt)
    n_obs = cfg.task.num_observed
    query = batch.times[0]
    lat = latent_trajectories(model, batch.frames[:, :n_obs], batch.times[:, :n_obs], query)
    info = plot_latent_trajectories(lat, query, args.out, num_observed_time=float(batch.times[0, n_obs - 1]),
                                    method=args.method)
    print(f"wrote {args.out} ({args.method}); {info}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="odevideo", description="Continuous-time video models with neural ODEs")
    p.add_argument("--debug", action="store_true",
                   help="show the traceback of an error (also accepted after the subcommand)")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("presets", help="list the bundled presets")
    s.set_defaults(func=cmd_presets)
    s = sub.add_parser("methods", help="list the methods (the values of `method`), their family and kind")
    s.set_defaults(func=cmd_methods)

    s = sub.add_parser(
        "train",
        help="train a model from a preset/config "
        "(several processes: torchrun --nproc-per-node N -m odevideo train ...)",
    )
    _add_config_args(s)
    s.add_argument("--resume", action="store_true",
                   help="continue the run in <output_dir>/<name> from its last checkpoint")
    s.add_argument("--evaluate", action="store_true", help="evaluate the best checkpoint on the test split afterwards")
    s.add_argument("--data", metavar="PATH",
                   help="train on your own video: a file, or a folder of files, each split in time by data.split "
                   "(data.dataset=video_file); a folder with train/ val/ test/ sub-folders is used as they are "
                   "(video_folder). Sets data.dataset and data.data_dir; every other value stays the preset's")
    s.set_defaults(func=cmd_train)

    s = sub.add_parser("evaluate", help="metrics on held-out clips, next to trivial baselines")
    s.add_argument("checkpoint", help="run directory or checkpoint path")
    s.add_argument("--which", default="best", choices=["best", "last"])
    s.add_argument("--split", default="test", choices=["val", "test"])
    s.add_argument("--num-clips", type=whole_number(1))
    s.add_argument("--out", help="output directory (default: <run>/eval_<split>)")
    s.add_argument("--lpips", action="store_true", help="add LPIPS (weights from the cache, downloaded once)")
    s.add_argument("--interp-gap", type=whole_number(2), metavar="G",
                   help="interpolation section: observe every G-th frame and predict the G-1 between "
                   "(default: the run's eval.interp_gap, 2)")
    s.add_argument("--lpips-dir", help="add LPIPS with the AlexNet + v0.1 head weights from this directory")
    s.add_argument("--test-file", help="evaluate on these clips instead of the run's split: a .npy array "
                   "(e.g. Moving MNIST's mnist_test_seq.npy) or a folder of videos; all its clips unless --num-clips")
    s.add_argument("--layout", choices=["TNHW", "NTHW"],
                   help="--test-file .npy layout (default: the protocol's, else TNHW as mnist_test_seq.npy)")
    s.add_argument("--protocol", choices=["openstl-mmnist", "kth-10-20", "kth-10-40"],
                   help="a published table's context/target split and metric units (docs/evaluation.md)")
    s.add_argument("--metric", default="frame_fid", choices=["frame_fid", "pixel_fd", "digit_fd", "digit_consistency"],
                   help="video GAN runs: the score (digit_consistency: 1-digit Moving MNIST, digit identity over time; "
                   "digit_fd: frame Frechet distance on a Moving MNIST digit classifier's features)")
    s.add_argument("--digit-classifier",
                   help="digit_consistency / digit_fd: load the classifier from this checkpoint path, "
                   "or train one (a few minutes) and save it there")
    s.add_argument("--repeats", type=whole_number(1), default=10, help="video GAN runs: R repeats (the paper: 10)")
    s.add_argument("--samples", type=whole_number(1), default=2048,
                   help="video GAN runs: S generated clips per repeat (the paper: 2048)")
    s.add_argument("--seed", type=int, default=0, help="video GAN runs: sampling seed")
    s.set_defaults(func=cmd_evaluate)

    s = sub.add_parser("predict", help="frames at any times from an input clip, written as GIF/MP4/NPY")
    s.add_argument("checkpoint")
    s.add_argument("--which", default="best", choices=["best", "last"])
    src = s.add_mutually_exclusive_group(required=True)
    src.add_argument("--input", help="video file (mp4/avi/gif/npy) or folder of frames")
    src.add_argument("--sample", type=whole_number(0), help="index of a clip of the dataset split")
    s.add_argument("--split", default="test", choices=["train", "val", "test"])
    s.add_argument("--max-input-frames", type=whole_number(1), help="use only the first N input frames as context")
    s.add_argument("--input-spacing", type=number(0, inclusive=False), default=1.0, metavar="K",
                   help="the input frames are K of the model's frame intervals apart (K * data.frame_dt time units): "
                   "1 (default) = the frame rate the model was trained at, 2 = half that rate (every other frame), "
                   "0.5 = twice it. Input frame k is at time k * K * data.frame_dt")
    s.add_argument("--input-times",
                   help="instead of --input-spacing: the time of every input frame, in the model's time units "
                   "(frame index * data.frame_dt), 'start:stop:step' or a comma list, increasing")
    s.add_argument("--times", help="query times in the model's time units ('start:stop:step' or comma list); "
                   "overrides --fps-factor/--future")
    s.add_argument("--fps-factor", type=whole_number(1), default=1,
                   help="render this many frames per input frame interval (the input's spacing, --input-spacing / "
                   "--input-times), from the first input frame on")
    s.add_argument("--future", type=whole_number(0), default=0,
                   help="also predict this many input frame intervals after the last input frame")
    s.add_argument("--resize", action="store_true", help="input frames of another size than the model's: crop the "
                   "largest centred square and resize it (bilinear, antialiased), as the training data pipeline does")
    s.add_argument("--grayscale", action="store_true", help="convert RGB input to gray for 1-channel models")
    s.add_argument("--fps", type=number(0, inclusive=False),
                   help="frame rate of the written file; default: it plays at the input's speed, i.e. a video "
                   "input's own frame rate x --fps-factor, otherwise one time unit per second (1 / data.frame_dt "
                   "x --fps-factor / --input-spacing fps; with --times, by their mean spacing)")
    s.add_argument("--output", required=True, help="output .gif, .mp4, .avi, .npy, or a directory of PNGs")
    s.set_defaults(func=cmd_predict)

    s = sub.add_parser(
        "latents", help="2-D map (PCA, t-SNE, UMAP) of latent trajectories of test clips, coloured by time"
    )
    s.add_argument("checkpoint")
    s.add_argument("--which", default="best", choices=["best", "last"])
    s.add_argument("--split", default="test", choices=["val", "test"])
    s.add_argument("--num-clips", type=whole_number(1), default=32)
    s.add_argument("--method", default="pca", choices=["pca", "tsne", "umap"],
                   help="2-D projection: pca (built in), tsne (scikit-learn), umap (umap-learn)")
    s.add_argument("--out", required=True, help="output image: .png, or another format matplotlib writes (.pdf, .svg)")
    s.set_defaults(func=cmd_latents)

    from odevideo.cli import experiments

    experiments.add_parser(sub)
    from odevideo.cli import generate

    generate.add_parser(sub)
    from odevideo.cli import retime

    retime.add_parser(sub)

    from odevideo.cli import demo

    demo.add_parser(sub)
    for s in sub.choices.values():  # the global --debug, also after the subcommand
        s.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return p


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _stdout_closed() -> bool:
    """Whether stdout is a pipe whose reader has gone (``odevideo presets | head -1``); if so, stdout is pointed at
    the null device so that the interpreter's last flush stays quiet too."""
    try:
        fd = sys.stdout.fileno()
        if not stat.S_ISFIFO(os.fstat(fd).st_mode):
            return False
        if hasattr(select, "poll"):  # a pipe without a reader polls as an error (Linux, macOS)
            poller = select.poll()
            poller.register(fd, select.POLLOUT)
            if not any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0)):
                return False
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
        os.close(devnull)
        return True
    except (OSError, ValueError, AttributeError):  # no file descriptor (e.g. captured in tests)
        return False


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as e:  # --help, or a usage error already reported in one line
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
    debug = getattr(args, "debug", False)
    prefix = f"odevideo {args.command}: error:"
    try:
        status = args.func(args)
        sys.stdout.flush()
        return status
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        if _stdout_closed():
            return 141  # as a process ended by SIGPIPE
        if debug:
            raise
        print(f"{prefix} broken pipe; rerun with --debug for the traceback", file=sys.stderr)
        return 1
    except OdevideoError as e:
        if debug:
            raise
        print(f"{prefix} {_one_line(e)}", file=sys.stderr)
        return 2
    except OSError as e:  # a path that cannot be read or written: a full disk, permissions, a file in the way
        if debug:
            raise
        where = f"{e.filename}: " if e.filename else ""
        print(f"{prefix} {where}{_one_line(e.strerror or e)}; check the path and its permissions", file=sys.stderr)
        return 2
    except Exception as e:  # noqa: BLE001 - a bug, not bad input: one line unless --debug
        if debug:
            raise
        print(f"{prefix} internal error {type(e).__name__}: {_one_line(e)}; rerun with --debug for the traceback "
              f"and please report it", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
