"""docs/results/build.py: the results tables are generated from JSON, and the committed docs match their JSON."""

from __future__ import annotations

import importlib.util
import io
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("results_build", ROOT / "docs" / "results" / "build.py")
build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build)


def write(root: Path, rel: str, data) -> None:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(data))


def table(name: str, root: Path) -> list[str]:
    return build.TABLES[name](build.loader(root))


def test_committed_docs_match_their_json():
    out = io.StringIO()
    status = build.build(build.ROOT, check=True, out=out)
    assert status == 0, out.getvalue()


# --------------------------------------------------------------------------------------------- number formatting


def test_rounding_is_half_up_from_the_shown_decimal():
    assert build.fixed(0.5625, 3) == "0.563"  # exactly representable: half-even would give 0.562
    assert build.fixed(0.0375, 3) == "0.038"
    assert build.fixed(2.675, 2) == "2.68"  # 2.67499999... in binary, 2.675 as written
    assert build.fixed(-0.0004, 3) == "0.000"
    assert build.fixed(2070.6875, 0) == "2071"
    assert build.signed(0.0014, 2) == "+0.00"
    assert build.signed(-2.5045, 2) == "-2.50"
    assert build.signed(0.007043, 4) == "+0.0070"


def test_significant_figures_counts_and_ratios():
    assert [build.sig(x) for x in (19.0, 43.83, 9.653, 1.3667, 24.318, 16.57)] == [
        "19.0", "43.8", "9.65", "1.37", "24.3", "16.6"]
    assert build.thousands(3483) == "3,483"
    assert build.thousands(86.5) == "87"
    assert build.count(8.5) == "8.5"
    assert build.count(10.0) == "10"
    assert build.pm(113.82974, 4.8033, 1) == "113.8 +- 4.8"
    assert build.times(0.97013912) == "0.97x"


def test_bold_runs_are_merged_and_best_counts_ties_at_the_shown_precision():
    assert build.join_parts(["1", "2", "3"], [True, True, False]) == "**1 / 2** / 3"
    assert build.join_parts(["1", "2", "3"], [True, True, True]) == "**1 / 2 / 3**"
    assert build.join_parts(["1", "2", "3"], [False, True, False]) == "1 / **2** / 3"
    assert build.best([0.1234, 0.1231, None], higher=True, digits=3) == [True, True, False]
    assert build.best([0.1234, 0.1231], higher=False, digits=4) == [False, True]


def test_md_table_writes_empty_cells_and_checks_widths():
    assert build.md_table(["a", "b"], [["1", ""]]) == ["| a | b |", "|---|---|", "| 1 | |"]
    with pytest.raises(ValueError):
        build.md_table(["a", "b"], [["1"]])


# ---------------------------------------------------------------------------------- tables from hand-made JSON


def test_train_step_rows(tmp_path):
    row = {"preset": "default", "batch_size": 16, "image_size": 32, "s_per_step": 0.17955, "steps_per_s": 5.5693,
           "nfe_per_step_fwd_plus_bwd": 190.0, "peak_rss_mb": 513.17}
    write(tmp_path, "benchmarks/results/train_step.json", {"rows": [
        {**row, "precision": "fp32"},
        {**row, "precision": "bf16", "s_per_step": 0.12180, "steps_per_s": 8.2101, "peak_rss_mb": 2070.6875,
         "speedup_vs_fp32_same_run": 1.4742},
    ]})
    lines = table("speed_train_step", tmp_path)
    assert lines[2:] == [
        "| default | 16 | 32 | fp32 | 0.180 | 5.57 | 190 | 513 | |",
        "| default | 16 | 32 | bf16 | 0.122 | 8.21 | 190 | 2071 | x1.47 |",
    ]


def test_ddp_rows_name_the_backend(tmp_path):
    row = {"global_batch": 16, "per_process_batch": 16, "threads_per_process": 1}
    write(tmp_path, "benchmarks/results/ddp_scaling.json", {"backend": "gloo", "rows": [
        {**row, "processes": 1, "steps_per_s": 5.4347, "clips_per_s": 86.955},
        {**row, "processes": 2, "per_process_batch": 8, "steps_per_s": 7.8536, "clips_per_s": 125.66},
    ]})
    assert table("speed_ddp", tmp_path) == [
        "| processes x threads | clips per process | steps/s (global batch 16) | clips/s |",
        "|---|---|---|---|",
        "| 1 x 1 | 16 | 5.43 | 87 |",
        "| 2 x 1 (DDP, gloo) | 8 | 7.85 | 126 |",
    ]


def _authors_step_row(variant, solver, precision, cl, cpu, ratio, rss, nfe, opt_g):
    names = ["encoder E", "ODE-ConvGRU encoder", "decoder ODE", "Conv-Decoder G", "warping + composition", "D_img",
             "D_seq", "optimizer G", "optimizer D", "other"]
    comps = {n: {"cpu_ms": 100.0 * (i + 1) + cpu} for i, n in enumerate(names)}
    comps["optimizer G"] = {"cpu_ms": opt_g}
    comps["optimizer D"] = {"cpu_ms": 19.49}
    return {"variant": variant, "kind": "authors" if variant == "authors" else "ours", "size": 64,
            "task": "extrapolation", "solver": solver, "precision": precision, "channels_last": cl,
            "cpu_s_per_step": cpu, "nfe_decoder_fwd": nfe,
            "ratio_vs_authors": {"cpu_s_per_step": ratio, "peak_rss_mb": rss},
            "breakdown": {"components": comps, "profiled_cpu_ms": 1000.0 * cpu + 0.5}}


def test_vid_ode_against_the_authors_rows_and_breakdown(tmp_path):
    rows = [
        _authors_step_row("authors", "dopri5", "fp32", False, 4.8330, 1.0, 1.0, 14.0, 7.4),
        _authors_step_row("ours[dopri5:fp32]", "dopri5", "fp32", False, 4.0381, 0.83552, 0.84884, 14.0, 7.19),
        _authors_step_row("ours[dopri5:fp32:cl]", "dopri5", "fp32", True, 3.6767, 0.76074, 0.86639, 14.0, 7.0),
        _authors_step_row("ours[euler@0.1:bf16:ode]", "euler@0.1", "bf16", False, 1.6417, 0.33969, 0.59064, 5.0, 10.6),
    ]
    write(tmp_path, "benchmarks/results/vid_ode_step_authors.json", {"rows": rows})
    assert table("speed_vid_ode_authors", tmp_path)[2:] == [
        "| 64 | extrapolation | `dopri5:fp32` | equal | 4.83 | 4.04 | **0.84** | 0.85 | 14 / 14 |",
        "| 64 | extrapolation | `dopri5:fp32:cl` | equal | 4.83 | 3.68 | 0.76 | 0.87 | 14 / 14 |",
        "| 64 | extrapolation | `euler@0.1:bf16:ode` | preset | 4.83 | 1.64 | **0.34** | 0.59 | 5 / 14 |",
    ]
    lines = table("speed_vid_ode_breakdown", tmp_path)
    assert lines[0] == "| component | authors, 64 | ours equal, 64 | ours preset, 64 |"
    assert lines[2] == "| Conv-Encoder E | 105 | 104 | 102 |"  # the channels_last row is not a column
    # a row of two components is their sum rounded once: 7.4 + 19.49 = 26.89 -> 27, not 7 + 19
    assert lines[9] == "| optimisers (G + D) | 27 | 27 | 30 |"
    assert lines[10] == "| other (losses, windows, glue) | 1005 | 1004 | 1002 |"
    assert lines[11] == "| profiled step, CPU ms | 4834 | 4039 | 1642 |"
    write(tmp_path, "benchmarks/results/vid_ode_step_authors.json", {"rows": rows + [
        _authors_step_row("ours[dopri5:bf16]", "dopri5", "bf16", False, 2.0, 0.41, 0.65, 14.0, 7.0)]})
    with pytest.raises(ValueError, match="2 default-format rows at preset"):
        table("speed_vid_ode_breakdown", tmp_path)


def _scores(psnr, ssim, mse, lpips):
    return {"psnr": psnr, "ssim": ssim, "mse": mse, "lpips": lpips, "mse_frame": mse * 1024, "mae_frame": 1.0}


def test_4min_table_bolds_the_best_of_each_column_per_block(tmp_path):
    runs = []
    for data in ("bb32", "mmnist64"):
        for task, section, base in (("extrap", "extrapolation", ["all_black", "copy_last_observed",
                                                                  "mean_of_observed"]),
                                    ("interp", "interpolation", ["linear_blend"])):
            ref = {"model": _scores(14.606, 0.64684, 0.050614, 0.0361)}
            ref.update({b: _scores(9.0, 0.9, 0.2, 0.01 + i) for i, b in enumerate(base)})
            runs.append({"preset": f"vid_ode_{data}_{task}", "steps": 646, "eval": {"sections": {section: ref}}})
            runs.append({"preset": f"ode_fc_{data}_{task}", "steps": 2234,
                         "eval": {"sections": {section: {"model": _scores(16.0, 0.5, 0.04, 0.5)}}}})
    write(tmp_path, "docs/results/vid_ode/vid_ode_small_scale.json", {"runs": runs})
    lines = table("vid_ode_4min", tmp_path)
    assert lines[2:6] == [
        "| bouncing balls 32, extrapolation | Vid-ODE | 646 | 14.61 | 0.6468 | 0.05061 | 0.0361 |",
        "| | ODE-FC | 2,234 | **16.00** | 0.5000 | **0.04000** | 0.5000 |",
        "| | all black | - | 9.00 | **0.9000** | 0.20000 | **0.0100** |",
        "| | copy last observed | - | 9.00 | **0.9000** | 0.20000 | 1.0100 |",
    ]
    assert lines[7] == "| bouncing balls 32, interpolation | Vid-ODE | 646 | 14.61 | 0.6468 | 0.05061 | 0.0361 |"
    assert len(lines) == 2 + 2 * (5 + 3)


def _paired(psnr, ssim, lpips, se=0.1):
    return {k: {"mean_difference": v, "standard_error": s} for k, v, s in
            (("psnr", psnr, se), ("ssim", ssim, se / 25), ("lpips", lpips, se / 300))}


def test_vid_ode_against_convgru_bolds_significant_differences(tmp_path):
    test = lambda p, s, lp: {"psnr": p, "ssim": s, "lpips": lp}  # noqa: E731
    seed = {
        "runs": {"vid_ode": {"steps_in_20_min": 3771, "test": test(18.6219, 0.79782, 0.014562)},
                 "convgru": {"steps_in_20_min": 7341, "test": test(21.1216, 0.87195, 0.0075173)}},
        "paired_test_vid_ode_minus_convgru": _paired(-2.5046, -0.0742, 0.00704),
        "convgru_at_vid_ode_steps": {"test": test(18.6287, 0.80914, 0.010757),
                                     "paired_test_vid_ode_minus_convgru": _paired(0.34, 0.0019, 0.0038)},
    }
    write(tmp_path, "docs/results/vid_ode/vid_ode_vs_convgru_bb32_extrap_s15.json", {"seeds": {"0": seed}})
    lines = table("vid_ode_vs_convgru", tmp_path)
    assert lines[0] == "| | seed 0 |"
    assert lines[2:] == [
        "| Vid-ODE, 20 minutes | 18.62 / 0.798 / 0.0146 (3,771 steps) |",
        "| ConvGRU, 20 minutes | **21.12 / 0.872 / 0.0075** (7,341 steps) |",
        "| Vid-ODE - ConvGRU per clip (+- s.e.) | -2.50 +- 0.10 dB / -0.074 +- 0.004 / +0.0070 +- 0.0003 |",
        "| ConvGRU stopped at Vid-ODE's step count | 18.63 / 0.809 / **0.0108** |",
        "| Vid-ODE - that ConvGRU per clip | **+0.34 +- 0.10 dB** / +0.002 +- 0.004 / +0.0038 +- 0.0003 |",
    ]


def _gan_run(iterations, elapsed, fid, dfd, speed):
    mean = lambda x: {"mean": x}  # noqa: E731
    return {
        "iterations": iterations, "elapsed_s": elapsed, "best_val": {"step": 2500, "score": 0.19687},
        "frame_fid": {"mean": fid, "std": 4.8033}, "digit_fd": {"mean": dfd},
        "digit_consistency": {
            "generated": {"confidence": mean(0.68040), "consistency": mean(0.60596), "classes_covered": mean(8.5),
                          "centroid_speed": mean(speed)},
            "real": {"confidence": 0.96454, "consistency": 0.96826, "classes_covered": 10, "centroid_speed": 1.78768},
        },
    }


def test_two_core_gan_table_divides_time_by_iterations_and_bolds_the_lowest_scores(tmp_path):
    names = ["tgan_mbstd4_seed0", "tgan_ode_mbstd4_seed0_s13", "tgan_ode_mbstd4_seed1", "mocogan_mbstd4_seed0",
             "mocogan_mbstd4_seed1", "mocogan_ode_mbstd4_seed0_s13", "mocogan_ode_mbstd4_seed1_s13"]
    runs = {n: _gan_run(2475, 897.3, 70.0 + i, 700 + i, 1.37) for i, n in enumerate(names)}
    runs["tgan_mbstd4_seed0"] = _gan_run(2750, 899.47, 113.82974, 4384.15, 16.5728)
    runs["mocogan_mbstd4_seed1"] = _gan_run(2675, 896.0, 55.1, 641.2, 1.648)
    write(tmp_path, "docs/results/video_gan/gan_two_cores_mbstd_s14.json", {"runs": runs})
    lines = table("gan_mbstd", tmp_path)
    assert lines[2] == "| real test clips | | | | | | | 0.965 | 0.968 | 10 | 1.79 |"
    assert lines[3] == ("| tgan_mmnist32 (original `G_t`) | 0 | 2,750 | 0.327 | 0.197 (2,500) | 113.8 +- 4.8 | 4,384 "
                        "| 0.680 | 0.606 | 8.5 | 16.6 (jumps) |")
    assert lines[4].startswith("| tgan_ode_mmnist32 (ODE) | 0 | 2,475 | 0.363 | ")  # 897.3 / 2475 = 0.36255
    assert "| **55.1 +- 4.8** | **641** |" in lines[7]
    assert sum("**" in line for line in lines) == 1


def test_gan_iteration_ratios(tmp_path):
    write(tmp_path, "benchmarks/results/gan_iteration_readable.json", {"rows": [
        {"preset": "tgan_mmnist32", "s_per_iteration": 0.53513, "ratio_to_reference": None},
        {"preset": "tgan_ode_mmnist32", "s_per_iteration": 0.51915, "ratio_to_reference": 0.97014},
        {"preset": "tgan_sde_mmnist32", "s_per_iteration": 0.52536, "ratio_to_reference": 0.98176},
    ]})
    assert table("gan_iteration_readable", tmp_path)[2:] == [
        "| TGAN | 0.535 | |", "| TGAN-ODE | 0.519 | **0.97x** |", "| TGAN-SDE | 0.525 | 0.98x |"]


def test_kanaa_table_names_its_command_until_its_json_exists(tmp_path):
    [line] = table("kanaa_mmnist1_latent_ode", tmp_path)
    assert "No JSON is committed" in line
    assert ("`odevideo train --preset mmnist1_latent_ode && odevideo evaluate runs/mmnist1_latent_ode "
            "--out docs/results/kanaa/mmnist1_latent_ode`") in line
    s = {"psnr": 19.5449, "ssim": 0.82951, "mse": 0.011949, "mse_frame": 48.634, "mae_frame": 109.55}
    write(tmp_path, "docs/results/kanaa/mmnist1_latent_ode/eval.json",
          {"sections": {"reconstruction": {"model": s, "all_black": {**s, "psnr": 16.85}}}})
    assert table("kanaa_mmnist1_latent_ode", tmp_path)[2:] == [
        "| reconstruction | model | 19.54 | 0.830 | 0.0119 | 48.6 | 109.6 |",
        "| reconstruction | all_black | 16.85 | 0.830 | 0.0119 | 48.6 | 109.6 |",
    ]


# --------------------------------------------------------------------------------------------- pages


def test_render_replaces_only_the_marked_block_and_check_reports_drift(tmp_path):
    write(tmp_path, "benchmarks/results/fuzz_readers.json", {
        "inputs": 10000, "ok": 1961, "project_error": 8039, "foreign_exception": 0, "hang": 0, "signal": 0,
        "memory": 0})
    page = tmp_path / "docs" / "reliability.md"
    page.parent.mkdir(exist_ok=True)
    text = "Prose 12 s.\n\n<!-- table: reliability_fuzz -->\n| stale |\n<!-- /table -->\n\nMore prose.\n"
    page.write_text(text, encoding="utf-8")
    out = io.StringIO()
    assert build.build(tmp_path, check=True, out=out) == 1
    assert "-| stale |" in out.getvalue() and page.read_text(encoding="utf-8") == text
    assert build.build(tmp_path, out=io.StringIO()) == 0
    assert page.read_text(encoding="utf-8") == (
        "Prose 12 s.\n\n<!-- table: reliability_fuzz -->\n"
        "| inputs | ok | project errors | foreign exceptions | hangs | signals | memory |\n"
        "|---:|---:|---:|---:|---:|---:|---:|\n"
        "| 10,000 | 1,961 | 8,039 | 0 | 0 | 0 | 0 |\n"
        "<!-- /table -->\n\nMore prose.\n")
    assert build.build(tmp_path, check=True, out=io.StringIO()) == 0
    # a complete build also wants every known table placed
    assert build.build(tmp_path, check=True, complete=True, out=io.StringIO()) == 1


def test_unknown_table_name_is_an_error():
    with pytest.raises(KeyError, match="unknown table 'nope'"):
        build.render("<!-- table: nope -->\n<!-- /table -->\n", build.loader(ROOT))


# --------------------------------------------------------------------------------------------- frame interpolation


def _pair(d, se):
    return {"mean_diff": d, "se": se, "windows": 4}


def test_frame_interp_dev_rows_and_wins_by_two_standard_errors(tmp_path):
    means = {"repeat_previous": {"psnr": 30.0, "ssim": 0.9, "lpips": 0.05},
             "linear_blend": {"psnr": 33.004, "ssim": 0.95, "lpips": 0.04},
             "dis_flow": {"psnr": 34.0, "ssim": 0.96, "lpips": 0.03},
             "model": {"psnr": 34.5, "ssim": 0.97, "lpips": 0.02}}
    good = {k: _pair(0.5 if k != "lpips" else -0.01, 0.1 if k == "psnr" else 0.001) for k in ("psnr", "ssim", "lpips")}
    weak = {**good, "psnr": _pair(0.5, 0.3)}  # 0.5 dB is less than two standard errors of 0.3
    cell = {"size": "full", "gap": 2, "windows": 4, "means": means, "model_beats_every_baseline_on_every_metric": True}
    start = {"psnr": 34.1, "ssim": 0.96, "lpips": 0.03}  # reported only: never a baseline of "wins"
    for part, paired, size, m in (("64", weak, "64", means), ("full", good, "full", {**means, "start": start})):
        clip = {"full_size": [480, 640], "cells": {"x": {**cell, "size": size, "means": m, "paired": {
            "repeat_previous": good, "linear_blend": good, "dis_flow": paired}}}}
        write(tmp_path, f"docs/results/frame_interp/dev_clips_{part}.json", {"clips": {"cup.mp4": clip}})
    lines = table("frame_interp_dev", tmp_path)
    assert lines[2].startswith("| cup.mp4 | 64x64 | 2 | 4 | 30.00 / 33.00 / 34.00 / **34.50** |")
    assert lines[2].endswith("| DIS: +0.50 +- 0.30 dB / **+0.5000 +- 0.0010 / -0.0100 +- 0.0010** | no | - |")
    assert lines[3].startswith("| cup.mp4 | 640x480 | 2 | 4 | 30.00 / 33.00 / 34.00 / **34.50** |")
    assert lines[3].endswith("| yes | 34.10 / 0.9600 / 0.0300 |")


def test_frame_interp_starts_rows_in_file_order_with_the_best_start_bold(tmp_path):
    psnr = {"linear_blend": 30.0, "dis": 33.004, "dis_own_res": 33.5, "dis_or_blend": 33.499,
            "dis_own_res_or_blend": 31.0}
    cell = {"windows": 5, "means": {m: {"psnr": v, "ssim": 0.9} for m, v in psnr.items()}}
    for name, part, key in (("starts_64_train", "train", "64/gap2"), ("starts_64_heldout", "test", "64/gap4"),
                            ("starts_full_train", "train", "full/gap2")):
        write(tmp_path, f"docs/results/frame_interp/{name}.json",
              {"part": part, "sampling": "bicubic", "clips": {"cup.mp4": {"cells": {key: cell}}}})
    lines = table("frame_interp_starts", tmp_path)
    scores = "30.00 / 33.00 / **33.50 / 33.50** / 31.00"  # 33.499 shows as 33.50: a tie at the shown precision
    assert lines[2:] == [f"| cup.mp4 | train | 64x64 | 2 | 5 | bicubic | {scores} |",
                         f"| cup.mp4 | test | 64x64 | 4 | 5 | bicubic | {scores} |",
                         f"| cup.mp4 | train | full | 2 | 5 | bicubic | {scores} |"]


def test_openstl_rows_label_the_budget_and_the_baselines(tmp_path):
    write(tmp_path, "docs/results/openstl/mmnist_reference.json", {"rows": [
        {"method": "PredRNN", "setting": "200 epochs", "mse": 23.97, "mae": 72.82, "ssim": 0.9462, "psnr": 23.28}]})
    write(tmp_path, "docs/results/openstl/mmnist2_latent_ode/budget.json", {"label": "20 min"})
    scores = {"mse": 137.66244, "mae": 320.5381, "ssim": 0.46285, "psnr": 14.88049}
    write(tmp_path, "docs/results/openstl/mmnist2_latent_ode/eval.json",
          {"protocol_scores": {"model": scores, "all_black": scores}})
    assert table("openstl_mmnist", tmp_path)[2:] == [
        "| PredRNN | OpenSTL, 200 epochs, V100 | 23.97 | 72.82 | 0.9462 | 23.28 |",
        "| latent-ODE VAE (`mmnist2_latent_ode`) | 20 min | 137.66 | 320.54 | 0.4629 | 14.88 |",
        "| all black | no training (trivial baseline), the same test clips | 137.66 | 320.54 | 0.4629 | 14.88 |",
    ]


def test_retime_speed_is_output_frames_per_wall_second(tmp_path):
    write(tmp_path, "benchmarks/results/retime_speed.json", {"rows": [
        {"command": "odevideo retime a b c --fps 60", "output_frames": 676, "wall_s": 132.0, "cpu_user_s": 83.0,
         "load": "busy"}]})
    row = table("retime_speed", tmp_path)[2]
    assert row == "| `odevideo retime a b c --fps 60` | 676 | 132.0 s | 83.0 s | 5.1 | busy |"
