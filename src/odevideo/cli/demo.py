"""``odevideo demo``: the main job in one command. Train the frame interpolator on bouncing balls (generated, no
download), score it against every classical interpolation on held-out clips, and render a clip at 2.5x its
observed frame rate next to the truth and the linear blend."""

from __future__ import annotations

import json
import time

from odevideo.cli.options import number

GIF_FACTOR = 2.5  # output frames per observed frame: a non-integer rate
GIF_OBSERVE_EVERY = 4  # the GIF observes every 4th simulated frame
FINE = 5  # the truth is simulated 5x finer than the frame interval to have frames at the output times


def add_parser(sub) -> None:
    s = sub.add_parser("demo", help="the main job: train a frame interpolator on bouncing balls, beat the classical "
                       "interpolations on held-out clips, render a 2.5x frame-rate GIF (about 6 minutes)")
    s.add_argument("--preset", default="interp_demo")
    s.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    s.add_argument("--output-dir", default="runs")
    s.add_argument("--max-minutes", type=number(0))
    s.add_argument("--resume", action="store_true")
    s.set_defaults(func=cmd_demo)


def truth_at(ds, index: int, num_frames: int, times):
    """Bouncing-balls frames of clip ``index`` of ``ds`` at fractional frame ``times`` (multiples of 1 / FINE):
    the same simulation (same substep length) recorded ``FINE`` times per frame interval."""
    import numpy as np
    import torch

    from odevideo.data.bouncing_balls import render_balls, simulate_bouncing_balls

    if ds.substeps % FINE:
        raise ValueError(f"the demo's fine truth needs substeps divisible by {FINE}, got {ds.substeps}")
    pos, vel = ds.initial_state(index)
    fine_pos, _ = simulate_bouncing_balls(pos, vel / FINE, (num_frames - 1) * FINE + 1, ds.size, ds.radius,
                                          ds.substeps // FINE)
    idx = np.rint(np.asarray(times) * FINE).astype(int)
    return torch.from_numpy(render_balls(fine_pos[idx], ds.size, ds.radius)).unsqueeze(1)


def cmd_demo(args) -> int:
    import torch

    from odevideo import load_model
    from odevideo.data import make_grid, write_video
    from odevideo.data.bouncing_balls import BouncingBalls
    from odevideo.evaluation.interpolation import compare, score_windows
    from odevideo.interpolation import ClassicalInterpolator, has_opencv, linear_blend
    from odevideo.methods import get_method
    from odevideo.training import ExperimentConfig, Trainer, build_dataset, load_config

    overrides = list(args.overrides)
    overrides.append(f"output_dir={args.output_dir}")
    if args.max_minutes is not None:
        overrides.append(f"train.max_minutes={args.max_minutes}")
    cfg = load_config(ExperimentConfig, args.preset, None, overrides)
    if not get_method(cfg.method).interpolator:
        print(f"[demo] preset {args.preset} trains {cfg.method}; the demo scores frame interpolators: use "
              f"`odevideo train --preset {args.preset} --evaluate` for it")
        return 2
    if cfg.model.start != "linear_blend" and not has_opencv():  # both flow starts need DIS
        print("[demo] OpenCV is not installed (pip install 'odevideo[flow]'): starting from the linear blend and "
              "leaving the DIS-flow baseline out")
        cfg.model.start = "linear_blend"
    cfg.check()
    t0 = time.perf_counter()
    res = Trainer(cfg, resume=args.resume).fit()
    print(f"[demo] trained {res.step} steps in {res.elapsed_s / 60:.1f} min")
    model = load_model(res.run_dir)

    # Held-out clips: every gap of the training, each clip cut into windows of gap + 1 frames.
    interps = {"model": model, "repeat_previous": ClassicalInterpolator("repeat_previous"),
               "linear_blend": ClassicalInterpolator("linear_blend")}
    if has_opencv():
        interps["dis_flow"] = ClassicalInterpolator("dis_flow")
    test = build_dataset(cfg, "test")
    n = min(len(test), cfg.eval.num_clips)
    report, lines, all_win = {}, [], True
    for gap in sorted({g for g in cfg.loss.gaps if g <= cfg.data.num_frames - 1} | {2}):
        scores: dict = {m: {} for m in interps}
        for i in range(n):
            s, _ = score_windows(test[i], gap, interps)
            for m, d in s.items():
                for k, v in d.items():
                    scores[m].setdefault(k, []).extend(v)
        c = compare(scores)
        report[f"gap{gap}"] = c
        all_win &= c["beats"]
        for m, v in c["means"].items():
            diff = "" if m == "model" else \
                f" | {c['paired'][m]['psnr']['mean_diff']:+.2f} ± {c['paired'][m]['psnr']['se']:.2f}"
            lines.append(f"| {gap} | {m} | {v['psnr']:.2f} | {v['ssim']:.4f}{diff or ' | '} |")
    print(f"\nHeld-out clips ({n} test clips of {cfg.data.num_frames} frames; observe frames 0 and g, predict the "
          f"g - 1 between; PSNR in dB):\n")
    print("| gap g | method | PSNR | SSIM | model - method PSNR (± s.e., paired over windows) |")
    print("|---|---|---|---|---|")
    print("\n".join(lines))
    verdict = "beats" if all_win else "does NOT beat"
    print(f"\n[demo] the model {verdict} every baseline on every metric at every gap")
    out = res.run_dir / "demo_eval.json"
    out.write_text(json.dumps({"test_clips": n, "gaps": report, "model_beats_every_baseline": all_win}, indent=1))

    # A clip at 2.5x its observed frame rate: observe every 4th frame, render at 2.5 frames per observed one.
    gif_ds = BouncingBalls(num_clips=4, num_frames=3 * GIF_OBSERVE_EVERY + 1, size=cfg.data.image_size,
                           num_balls=cfg.data.num_balls, seed=cfg.data.seed + 7919, frame_dt=cfg.data.frame_dt)
    obs_idx = torch.arange(0, gif_ds.num_frames, GIF_OBSERVE_EVERY)
    step = GIF_OBSERVE_EVERY / GIF_FACTOR  # frames between two output frames (1.6)
    q = torch.arange(0, float(obs_idx[-1]) + 1e-9, step, dtype=torch.float64)
    rows = {"truth": [], "linear blend": [], "model": []}
    for i in range(len(gif_ds)):
        clip = gif_ds[i]
        obs = clip[obs_idx][None]
        times = (obs_idx.to(torch.float64) * cfg.data.frame_dt)[None]
        with torch.no_grad():
            pred = model(obs, times, None, (q * cfg.data.frame_dt)[None]).frames[0].clamp(0, 1)
        k = torch.clamp((q // GIF_OBSERVE_EVERY).long(), max=len(obs_idx) - 2)
        tau = (q - k * GIF_OBSERVE_EVERY) / GIF_OBSERVE_EVERY
        blend = linear_blend(obs[0, k], obs[0, k + 1], tau.float())
        rows["truth"].append(truth_at(gif_ds, i, gif_ds.num_frames, q.numpy()))
        rows["linear blend"].append(blend)
        rows["model"].append(pred)
    frames = []
    for j in range(q.numel()):
        tiles = [rows[r][i][j] for r in rows for i in range(len(gif_ds))]
        frames.append(make_grid(torch.stack(tiles), nrow=len(gif_ds)))
    gif = res.run_dir / "demo_2.5x_truth_blend_model.gif"
    write_video(gif, torch.stack(frames), fps=8)
    print(f"[demo] wrote {gif}: {q.numel()} frames at 2.5x the observed rate (one observed frame every "
          f"{GIF_OBSERVE_EVERY} simulated ones); rows: truth, linear blend, model")
    print(f"[demo] scores: {out}; total {(time.perf_counter() - t0) / 60:.1f} min")
    return 0
