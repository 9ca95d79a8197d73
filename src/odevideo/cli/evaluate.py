"""`odevideo evaluate`: conditional runs next to trivial baselines (optionally under a named test protocol),
video-GAN runs with the generative scores (FID / FVD / IS, or the digit diagnostics on Moving MNIST)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from odevideo.cli.options import check_output_folder, run_dir_of


def cmd_evaluate(args) -> int:
    from odevideo.evaluation.conditional import format_paired_table
    from odevideo.methods import get_method
    from odevideo.training import evaluate, format_table, load_run, save_results

    if args.out:
        check_output_folder(args.out, "--out")
    model, cfg = load_run(args.checkpoint, which=args.which)
    if not get_method(cfg.method).conditional:
        return _evaluate_generator(args, model, cfg)
    if args.lpips_dir:
        cfg.eval.lpips, cfg.eval.lpips_dir = True, args.lpips_dir
    elif args.lpips:
        cfg.eval.lpips = True
    if args.interp_gap is not None:
        cfg.eval.interp_gap = args.interp_gap
    if args.test_file or args.protocol:
        return _evaluate_protocol(args, model, cfg)
    result = evaluate(model, cfg, split=args.split, num_clips=args.num_clips)
    out = Path(args.out) if args.out else run_dir_of(args.checkpoint) / f"eval_{args.split}"
    paths = save_results(result, out)
    print(format_table(result))
    paired = format_paired_table(result)
    if paired:
        print("\nmodel minus baseline per window (mean +- standard error):\n" + paired)
    if "model_beats_all_baselines_at_every_extrapolated_frame" in result:
        beats = result["model_beats_all_baselines_at_every_extrapolated_frame"]
        print(f"model beats all baselines at every extrapolated frame: {beats}")
    print(f"wrote {paths['json']}, {paths['md']}, {paths['png']}")
    return 0


def _evaluate_protocol(args, model, cfg) -> int:
    """``--test-file`` (clips from a file or folder) and/or ``--protocol`` (a published table's split and units)."""
    from odevideo.evaluation.protocols import format_protocol_table, get_protocol, load_test_clips
    from odevideo.training import evaluate, format_table, save_results

    protocol = get_protocol(args.protocol) if args.protocol else None
    dataset, split, name = None, args.split, f"eval_{args.split}"
    if protocol is not None:
        protocol.check_model(cfg)  # before reading a large file
        name = f"eval_{protocol.name}"
    if args.test_file:
        dataset = load_test_clips(args.test_file, layout=args.layout or (protocol.layout if protocol else "TNHW"),
                                  num_frames=cfg.data.num_frames, size=cfg.data.image_size,
                                  channels=cfg.data.channels, max_clips=args.num_clips)
        split = Path(args.test_file).name
        name = f"eval_{protocol.name}" if protocol else f"eval_{Path(args.test_file).stem}"
    result = evaluate(model, cfg, split=split, num_clips=args.num_clips, dataset=dataset, protocol=protocol)
    paths = save_results(result, Path(args.out) if args.out else run_dir_of(args.checkpoint) / name)
    print(format_table(result))
    if protocol is not None:
        print()
        print(format_protocol_table(result))
    print(f"wrote {paths['json']}, {paths['md']}, {paths['png']}")
    return 0


def _evaluate_generator(args, model, cfg) -> int:
    """Video GANs: the paper's protocol, mean +- std over R repeats of S generated clips, against the test
    split's clips (frame-level Inception FID, or the cheap pixel Frechet distance)."""
    import torch

    from odevideo._atomic import atomic_write_text
    from odevideo.data.build import build_dataset
    from odevideo.methods.video_gan.generation import generator_scores, pixel_frame_features
    from odevideo.training.batches import batch_from_indices

    ds = build_dataset(cfg, args.split)
    n = min(args.num_clips or cfg.eval.num_clips, len(ds))
    real = torch.cat(
        [batch_from_indices(ds, range(i, min(i + 64, n)), cfg.data.frame_dt).frames for i in range(0, n, 64)]
    )
    if args.metric == "digit_consistency":
        return _evaluate_digits(args, model, cfg, real)
    if args.metric == "frame_fid":
        from odevideo.metrics.frame_fid import InceptionFeatureExtractor

        ext = (InceptionFeatureExtractor.from_file(cfg.validation.inception_weights) if cfg.validation.inception_weights
               else InceptionFeatureExtractor.pretrained(download=cfg.data.download))
    elif args.metric == "digit_fd":  # the frame-level Frechet protocol on the digit classifier's features
        from odevideo.methods.video_gan.digit_scores import fit_digit_classifier

        ext = fit_digit_classifier(cfg, path=args.digit_classifier, log=lambda m: print(m, file=sys.stderr))[0].embed
    else:  # the same frame-level Frechet protocol on 8x8-pooled pixels
        ext = pixel_frame_features
    res = generator_scores(model, real, metric="frame_fid", repeats=args.repeats, samples=args.samples,
                           seed=args.seed, extractor=ext)
    res["metric"] = args.metric
    res.update(split=args.split, real_clips=n, repeats=args.repeats, samples=args.samples)
    out = Path(args.out) if args.out else run_dir_of(args.checkpoint) / f"eval_{args.split}"
    out.mkdir(parents=True, exist_ok=True)
    name = "eval_digit_fd.json" if args.metric == "digit_fd" else "eval_generator.json"
    atomic_write_text(out / name, json.dumps(res, indent=2, default=str))
    print(f"{res['metric']}: {res['mean']:.3f} +- {res['std']:.3f} ({args.repeats} x {args.samples} samples vs "
          f"{n} {args.split} clips); wrote {out / name}")
    return 0


def _evaluate_digits(args, model, cfg, real) -> int:
    """Video GANs on 1-digit Moving MNIST: digit identity over time (:mod:`odevideo.metrics.digit_consistency`)
    of R sets of S generated clips (mean +- std over the sets) and of the real clips, with one classifier."""
    import numpy as np

    from odevideo._atomic import atomic_write_text
    from odevideo.methods.video_gan.digit_scores import fit_digit_classifier
    from odevideo.methods.video_gan.generation import sample_videos
    from odevideo.metrics.digit_consistency import digit_consistency

    clf, info = fit_digit_classifier(cfg, path=args.digit_classifier, log=lambda m: print(m, file=sys.stderr))
    fake = sample_videos(model, args.repeats * args.samples, seed=args.seed)
    sets = [digit_consistency(fake[r * args.samples:(r + 1) * args.samples], clf) for r in range(args.repeats)]
    stats = ("confidence", "consistency", "switch_rate", "classes_covered", "class_entropy", "centroid_speed",
             "centroid_travel")
    generated = {k: {"mean": float(np.mean([s[k] for s in sets])), "std": float(np.std([s[k] for s in sets])),
                     "values": [s[k] for s in sets]} for k in stats}
    res = {"metric": "digit_consistency", "generated": generated, "real": digit_consistency(real, clf),
           "classifier": info, "split": args.split, "real_clips": int(real.shape[0]), "repeats": args.repeats,
           "samples": args.samples, "seed": args.seed,
           "std": "population (ddof=0) over the repeats"}
    out = Path(args.out) if args.out else run_dir_of(args.checkpoint) / f"eval_{args.split}"
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "eval_digits.json", json.dumps(res, indent=2, default=str))
    r = res["real"]
    for k in stats:
        g = generated[k]
        print(f"{k}: generated {g['mean']:.3f} +- {g['std']:.3f}, real {r[k]:.3f}")
    print(f"({args.repeats} x {args.samples} generated vs {real.shape[0]} {args.split} clips; classifier val accuracy "
          f"{info['val_accuracy']:.4f}); wrote {out / 'eval_digits.json'}")
    return 0
