"""Regenerate the results tables in the docs from the committed JSON files.

    python docs/results/build.py           # rewrite every generated table in place
    python docs/results/build.py --check   # exit 1 if a committed table differs from what its JSON gives

A generated table sits between two marker comments in a Markdown page (``docs/**/*.md`` or ``README.md``):

    <!-- table: NAME -->
    | ... the generated lines ... |
    <!-- /table -->

NAME is a key of ``TABLES``; everything outside the markers is hand-written and left alone. Each table is a
function of the JSON files it names (paths relative to the repository root): the numbers, their rounding and
which cells are bold (a rule on the numbers, stated next to each table) all come from here, so the text cannot
drift from the data. Standard library only; no import of the package.
"""

from __future__ import annotations

import argparse
import difflib
import json
import math
import re
import sys
from collections.abc import Callable, Sequence
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VID = "docs/results/vid_ode"
GAN = "docs/results/video_gan"
BENCH = "benchmarks/results"
KANAA = "docs/results/kanaa"

MARKER = re.compile(r"^<!-- table: ([\w.-]+) -->\n(.*?)^<!-- /table -->$", re.M | re.S)

Loader = Callable[[str], object]


# --------------------------------------------------------------------------------------------- formatting


def _round(x: float, digits: int) -> Decimal:
    """``x`` rounded half up from its shortest decimal form (0.5625 -> 0.563, as a reader rounds it)."""
    return Decimal(repr(float(x))).quantize(Decimal(1).scaleb(-digits), ROUND_HALF_UP)


def fixed(x: float, digits: int) -> str:
    """``x`` with ``digits`` decimals, rounded half up; ``-0.00`` is written ``0.00``."""
    r = _round(x, digits)
    return f"{abs(r) if r == 0 else r:f}"


def signed(x: float, digits: int) -> str:
    """``x`` with its sign always written (``+0.34``, ``-2.50``, ``+0.00``)."""
    s = fixed(x, digits)
    return s if s.startswith("-") else "+" + s


def sig(x: float, figures: int = 3) -> str:
    """``x`` to ``figures`` significant figures, trailing zeros kept (19.0, 9.65, 43.8, 1.37)."""
    if x == 0:
        return fixed(0.0, figures - 1)
    digits = max(figures - 1 - math.floor(math.log10(abs(x))), 0)
    return fixed(x, digits)


def thousands(n: float) -> str:
    """An integer count with thousands separators (``3,483``)."""
    return f"{int(_round(n, 0)):,}"


def count(x: float) -> str:
    """A mean of counts: ``10`` when whole, else one decimal (``8.5``)."""
    return str(int(round(x))) if abs(x - round(x)) < 1e-9 else fixed(x, 1)


def pm(mean: float, std: float, digits: int) -> str:
    """``mean +- std`` with ``digits`` decimals each."""
    return f"{fixed(mean, digits)} +- {fixed(std, digits)}"


def times(x: float) -> str:
    """A ratio as a factor: ``0.97x``."""
    return f"{fixed(x, 2)}x"


def bold(s: str) -> str:
    return f"**{s}**" if s else s


def join_parts(parts: Sequence[str], bolds: Sequence[bool], sep: str = " / ") -> str:
    """Join ``parts`` with ``sep``; each run of consecutive bold parts is set in one bold span."""
    out: list[str] = []
    i = 0
    while i < len(parts):
        j = i
        while j < len(parts) and bolds[j] == bolds[i]:
            j += 1
        chunk = sep.join(parts[i:j])
        out.append(bold(chunk) if bolds[i] else chunk)
        i = j
    return sep.join(out)


def md_table(header: Sequence[str], rows: Sequence[Sequence[str]], align: str = "---") -> list[str]:
    """Markdown table lines (an empty cell is ``| |``); ``align`` is the separator cell (``---`` or ``---:``)."""
    for r in rows:
        if len(r) != len(header):
            raise ValueError(f"row has {len(r)} cells, header {len(header)}: {r}")

    def line(cells: Sequence[str]) -> str:
        return "|" + "|".join(f" {c} " if c else " " for c in cells) + "|"

    return [line(header), "|" + "|".join([align] * len(header)) + "|", *(line(r) for r in rows)]


def best(values: Sequence[float | None], higher: bool, digits: int) -> list[bool]:
    """Which entries are the best at the shown precision (ties all count; ``None`` never does)."""
    shown = [None if v is None else _round(v, digits) for v in values]
    present = [v for v in shown if v is not None]
    if not present:
        return [False] * len(values)
    top = max(present) if higher else min(present)
    return [v is not None and v == top for v in shown]


def strictly_better(a: float, b: float, higher: bool, digits: int) -> bool:
    """``a`` beats ``b`` at the shown precision (a tie at that precision is no win)."""
    ra, rb = _round(a, digits), _round(b, digits)
    return ra > rb if higher else ra < rb


def significant(diff: dict) -> bool:
    """A paired per-clip difference further from 0 than two standard errors."""
    return abs(diff["mean_difference"]) > 2 * diff["standard_error"]


# Higher is better for these; lower for every other score (mse, lpips, FIDs, digit_fd, pixel_fd).
HIGHER = {"psnr", "ssim"}


def diff_cell(diffs: dict, keys: Sequence[tuple[str, int, str]]) -> str:
    """Paired differences ``first - other`` as ``+0.52 +- 0.11 dB / ...``; bold where the first model is
    significantly better (``keys``: metric, decimals, unit suffix)."""
    parts, bolds = [], []
    for k, d, unit in keys:
        x = diffs[k]
        parts.append(f"{signed(x['mean_difference'], d)} +- {fixed(x['standard_error'], d)}{unit}")
        good = x["mean_difference"] > 0 if k in HIGHER else x["mean_difference"] < 0
        bolds.append(good and significant(x))
    return join_parts(parts, bolds)


# --------------------------------------------------------------------------------------------- speed.md


def speed_train_step(load: Loader) -> list[str]:
    """Seconds per training step per preset (benchmarks/train_step.py)."""
    rows = []
    for r in load(f"{BENCH}/train_step.json")["rows"]:
        up = r.get("speedup_vs_fp32_same_run")
        rows.append([
            r["preset"], str(r["batch_size"]), str(r["image_size"]), r["precision"], fixed(r["s_per_step"], 3),
            fixed(r["steps_per_s"], 2), thousands(r["nfe_per_step_fwd_plus_bwd"]), fixed(r["peak_rss_mb"], 0),
            "" if up is None else f"x{fixed(up, 2)}",
        ])
    header = ["preset", "batch", "image", "precision", "s/step", "steps/s", "NFE/step (fwd+bwd)", "peak RSS (MB)",
              "bf16 speed-up (same run)"]
    return md_table(header, rows)


def speed_ddp(load: Loader) -> list[str]:
    """Several processes (benchmarks/ddp_scaling.py)."""
    d = load(f"{BENCH}/ddp_scaling.json")
    rows = []
    for r in d["rows"]:
        label = f"{r['processes']} x {r['threads_per_process']}"
        if r["processes"] > 1:
            label += f" (DDP, {d['backend']})"
        rows.append([label, str(r["per_process_batch"]), fixed(r["steps_per_s"], 2), thousands(r["clips_per_s"])])
    batch = d["rows"][0]["global_batch"]
    return md_table(["processes x threads", "clips per process", f"steps/s (global batch {batch})", "clips/s"], rows)


def _authors_rows(load: Loader) -> tuple[list[dict], dict[tuple[int, str], dict]]:
    """The rows of benchmarks/vid_ode_step.py --authors-repo and the authors' row per (size, task)."""
    rows = load(f"{BENCH}/vid_ode_step_authors.json")["rows"]
    return rows, {(r["size"], r["task"]): r for r in rows if r["kind"] == "authors"}


def _numerics(r: dict, authors: dict) -> str:
    """``equal``: the authors' solver and precision (dopri5, fp32); ``preset``: anything else (our presets')."""
    return "equal" if (r["solver"], r["precision"]) == (authors["solver"], authors["precision"]) else "preset"


def _ours(r: dict) -> str:
    """``ours[dopri5:fp32:cl]`` -> ``dopri5:fp32:cl``."""
    return r["variant"][r["variant"].index("[") + 1:-1]


def speed_vid_ode_authors(load: Loader) -> list[str]:
    """Our step against the authors' code (benchmarks/vid_ode_step.py --authors-repo), CPU time per step. Bold: the
    CPU-time ratio of the rows in the default memory format (not channels_last)."""
    rows_in, authors = _authors_rows(load)
    rows = []
    for r in rows_in:
        if r["kind"] == "authors":
            continue
        a, q = authors[(r["size"], r["task"])], r["ratio_vs_authors"]
        cpu = fixed(q["cpu_s_per_step"], 2)
        rows.append([
            str(r["size"]), r["task"], f"`{_ours(r)}`", _numerics(r, a), sig(a["cpu_s_per_step"]),
            sig(r["cpu_s_per_step"]), cpu if r["channels_last"] else bold(cpu), fixed(q["peak_rss_mb"], 2),
            f"{thousands(r['nfe_decoder_fwd'])} / {thousands(a['nfe_decoder_fwd'])}",
        ])
    header = ["size", "task", "ours", "numerics", "authors CPU-s/step", "ours CPU-s/step", "x CPU", "x peak RSS",
              "decoder NFE (ours / theirs)"]
    return md_table(header, rows)


# Rows of the breakdown table: label, the --breakdown components summed into it.
VID_ODE_COMPONENTS = [
    ("Conv-Encoder E", ["encoder E"]),
    ("ODE-ConvGRU encoder", ["ODE-ConvGRU encoder"]),
    ("decoder ODE", ["decoder ODE"]),
    ("Conv-Decoder G", ["Conv-Decoder G"]),
    ("warping + composition", ["warping + composition"]),
    ("D_img", ["D_img"]),
    ("D_seq", ["D_seq"]),
    ("optimisers (G + D)", ["optimizer G", "optimizer D"]),
    ("other (losses, windows, glue)", ["other"]),
]


def speed_vid_ode_breakdown(load: Loader) -> list[str]:
    """Where the time goes, extrapolation at each size: the profiled step's CPU ms per component (``cpu_ms`` of
    --breakdown; a row of several components is their sum, rounded once) for the authors' step, ours at equal
    numerics and ours at the preset's numerics, both in the default memory format. No bold."""
    rows_in, authors = _authors_rows(load)
    header, columns = ["component"], []
    for size in sorted({s for s, task in authors if task == "extrapolation"}):
        a = authors[(size, "extrapolation")]
        ours = [r for r in rows_in if r["kind"] != "authors" and r["size"] == size and r["task"] == "extrapolation"
                and not r["channels_last"]]
        picked = [a]
        for numerics in ("equal", "preset"):
            match = [r for r in ours if _numerics(r, a) == numerics]
            if len(match) != 1:
                raise ValueError(f"{size} px extrapolation: {len(match)} default-format rows at {numerics} numerics")
            picked.append(match[0])
        header += [f"authors, {size}", f"ours equal, {size}", f"ours preset, {size}"]
        columns += [r["breakdown"] for r in picked]
    known = {c for _, parts in VID_ODE_COMPONENTS for c in parts}
    for b in columns:
        if set(b["components"]) - known:
            raise ValueError(f"breakdown components without a row: {sorted(set(b['components']) - known)}")
    rows = [[label, *(fixed(sum(b["components"][c]["cpu_ms"] for c in parts), 0) for b in columns)]
            for label, parts in VID_ODE_COMPONENTS]
    rows.append(["profiled step, CPU ms", *(fixed(b["profiled_cpu_ms"], 0) for b in columns)])
    return md_table(header, rows)


# --------------------------------------------------------------------------------------------- reliability.md


def reliability_fuzz(load: Loader) -> list[str]:
    """The fuzz harness's counts (tests/fuzz/harness.py)."""
    d = load(f"{BENCH}/fuzz_readers.json")
    keys = ["inputs", "ok", "project_error", "foreign_exception", "hang", "signal", "memory"]
    header = ["inputs", "ok", "project errors", "foreign exceptions", "hangs", "signals", "memory"]
    return md_table(header, [[thousands(d[k]) for k in keys]], align="---:")


# --------------------------------------------------------------------------------------------- kanaa.md


KANAA_RUNS = {
    # table name: (preset, the run directory its ``name`` gives under ``runs/``)
    "kanaa_demo": ("default", "runs/demo"),
    "kanaa_mmnist1_latent_ode": ("mmnist1_latent_ode", "runs/mmnist1_latent_ode"),
    "kanaa_mmnist1_encoder_ode_decoder": ("mmnist1_encoder_ode_decoder", "runs/mmnist1_encoder_ode_decoder"),
}


def eval_table(result: dict) -> list[str]:
    """An ``odevideo evaluate`` result (``eval.json``): every section and method, the model first."""
    rows = []
    for section, methods in result["sections"].items():
        for method, v in methods.items():
            rows.append([section, method, fixed(v["psnr"], 2), fixed(v["ssim"], 3), fixed(v["mse"], 4),
                         fixed(v["mse_frame"], 1), fixed(v["mae_frame"], 1)])
    return md_table(["section", "method", "PSNR (dB)", "SSIM", "MSE/pixel", "MSE/frame", "MAE/frame"], rows)


def kanaa_table(name: str) -> Callable[[Loader], list[str]]:
    """The table of one Kanaa et al. run: its ``eval.json`` once committed; until then a sentence naming the
    command that writes it (no number is shown without its file)."""
    preset, run = KANAA_RUNS[name]
    out = f"{KANAA}/{name.removeprefix('kanaa_')}"

    def table(load: Loader) -> list[str]:
        try:
            result = load(f"{out}/eval.json")
        except FileNotFoundError:
            return [
                f"No JSON is committed for this table yet, so it shows no numbers. It is produced by "
                f"`odevideo train --preset {preset} && odevideo evaluate {run} --out {out}`, which writes "
                f"`{out}/eval.json`; `python docs/results/build.py` then fills this table from it.",
            ]
        return eval_table(result)

    table.__doc__ = f"Kanaa et al., preset {preset}: {out}/eval.json."
    return table


# --------------------------------------------------------------------------------------------- vid_ode.md


def _triple(v: dict) -> list[str]:
    """PSNR / SSIM / LPIPS at the precision of the Vid-ODE tables."""
    return [fixed(v["psnr"], 2), fixed(v["ssim"], 3), fixed(v["lpips"], 3)]


TRIPLE_KEYS = (("psnr", 2), ("ssim", 3), ("lpips", 3))


def vid_ode_20min(load: Loader) -> list[str]:
    """20 minutes per model. Bold: a cell best (or tied) on all three scores of its row."""
    runs = load(f"{VID}/vid_ode_20min.json")["runs"]
    fpt = load(f"{VID}/vid_ode_flow_per_time_20min.json")["runs"]

    def cell(source: dict, key: str, section: str) -> tuple[dict, int]:
        r = source[key]
        return (r["eval"]["sections"] if "eval" in r else r["test"])[section]["model"], r["steps"]

    spec = [
        ("bouncing balls 32, extrapolation", "extrapolation", "copy_last_observed",
         [(runs, "vid_ode_bb32_extrap"), (runs, "ode_conv_bb32_extrap"), (runs, "ode_fc_bb32_extrap"),
          (runs, "convgru_bb32_extrap")]),
        ("bouncing balls 32, interpolation", "interpolation", "linear_blend",
         [(fpt, "bb32i_fpt"), (runs, "ode_conv_bb32_interp"), (runs, "ode_fc_bb32_interp"), None]),
        ("Moving MNIST 64, extrapolation", "extrapolation", "copy_last_observed",
         [(runs, "vid_ode_mmnist64_extrap"), (runs, "ode_conv_mmnist64_extrap"), (runs, "ode_fc_mmnist64_extrap"),
          (runs, "convgru_mmnist64_extrap")]),
        ("Moving MNIST 64, interpolation", "interpolation", "linear_blend",
         [(fpt, "mm64i_fpt"), (runs, "ode_conv_mmnist64_interp"), (runs, "ode_fc_mmnist64_interp"), None]),
    ]
    rows = []
    for label, section, baseline, cells in spec:
        scores: list[dict | None] = []
        steps: list[int | None] = []
        for c in cells:
            s, n = cell(c[0], c[1], section) if c else (None, None)
            scores.append(s)
            steps.append(n)
        src, key = cells[0]
        secs = src[key]["eval"]["sections"] if "eval" in src[key] else src[key]["test"]
        scores.append(secs[section][baseline])
        steps.append(None)
        wins = [True] * len(scores)
        for k, d in TRIPLE_KEYS:
            b = best([s[k] if s else None for s in scores], k in HIGHER, d)
            wins = [w and x for w, x in zip(wins, b)]
        row = [label]
        for s, n, w in zip(scores, steps, wins):
            if s is None:
                row.append("-")
                continue
            text = " / ".join(_triple(s))
            row.append((bold(text) if w else text) + ("" if n is None else f" ({thousands(n)})"))
        rows.append(row)
    header = ["data, task", "Vid-ODE", "ODE-Conv (A)", "ODE-FC", "ConvGRU", "copy last / linear blend"]
    return md_table(header, rows)


def vid_ode_vs_convgru(load: Loader) -> list[str]:
    """Bouncing-balls extrapolation, Vid-ODE against ConvGRU, two seeds. Bold: a ConvGRU score whose paired
    per-clip difference from the Vid-ODE row favours ConvGRU by more than two standard errors; a difference
    that favours Vid-ODE that much."""
    d = load(f"{VID}/vid_ode_vs_convgru_bb32_extrap_s15.json")["seeds"]
    keys = [("psnr", 2, " dB"), ("ssim", 3, ""), ("lpips", 4, "")]
    seeds = sorted(d, key=int)

    def scores(test: dict, diffs: dict | None) -> str:
        parts = [fixed(test["psnr"], 2), fixed(test["ssim"], 3), fixed(test["lpips"], 4)]
        bolds = [False] * 3
        if diffs is not None:  # the ConvGRU row: bold where Vid-ODE - ConvGRU is significantly in its favour
            for i, (k, _, _) in enumerate(keys):
                x = diffs[k]
                bad = x["mean_difference"] < 0 if k in HIGHER else x["mean_difference"] > 0
                bolds[i] = bad and significant(x)
        return join_parts(parts, bolds)

    rows = [["Vid-ODE, 20 minutes"], ["ConvGRU, 20 minutes"], ["Vid-ODE - ConvGRU per clip (+- s.e.)"],
            ["ConvGRU stopped at Vid-ODE's step count"], ["Vid-ODE - that ConvGRU per clip"]]
    for s in seeds:
        e = d[s]
        vo, cg, eq = e["runs"]["vid_ode"], e["runs"]["convgru"], e["convgru_at_vid_ode_steps"]
        rows[0].append(f"{scores(vo['test'], None)} ({thousands(vo['steps_in_20_min'])} steps)")
        rows[1].append(f"{scores(cg['test'], e['paired_test_vid_ode_minus_convgru'])} "
                       f"({thousands(cg['steps_in_20_min'])} steps)")
        rows[2].append(diff_cell(e["paired_test_vid_ode_minus_convgru"], keys))
        rows[3].append(scores(eq["test"], eq["paired_test_vid_ode_minus_convgru"]))
        rows[4].append(diff_cell(eq["paired_test_vid_ode_minus_convgru"], keys))
    return md_table([""] + [f"seed {s}" for s in seeds], rows)


def _paired_models(first: dict, other: dict, diffs: dict) -> tuple[str, str]:
    """Two models' PSNR / SSIM / LPIPS; bold the better where the paired difference is significant."""
    a, b = _triple(first), _triple(other)
    ba, bb = [], []
    for k, _ in TRIPLE_KEYS:
        x = diffs[k]
        first_wins = x["mean_difference"] > 0 if k in HIGHER else x["mean_difference"] < 0
        ba.append(significant(x) and first_wins)
        bb.append(significant(x) and not first_wins)
    return join_parts(a, ba), join_parts(b, bb)


def _plain(v: dict) -> str:
    return " / ".join(_triple(v))


def vid_ode_unseen_times(load: Loader) -> list[str]:
    """Unseen in-between times (figure 8) and the stride-2 scores of the same runs. Bold: the better model where
    the paired per-clip difference exceeds two standard errors, and a difference in Vid-ODE's favour that large;
    nothing at stride 2, which has no paired comparison."""
    fpt = load(f"{VID}/vid_ode_flow_per_time_20min.json")["runs"]
    keys = [("psnr", 2, " dB"), ("ssim", 3, ""), ("lpips", 3, "")]
    rows = []
    for label, name in [("bouncing balls 32", "bb32"), ("Moving MNIST 64", "mm64")]:
        e = load(f"{VID}/vid_ode_unseen_times_flow_per_time_{name}.json")
        diffs = e["paired_with_first_model"]["versus"]["Vid-RNN"]
        a, b = _paired_models(e["models"]["Vid-ODE"]["overall"], e["models"]["Vid-RNN"]["overall"], diffs)
        blend = " / ".join(_triple(e["baselines"]["linear_blend"]["overall"]))
        rows.append([f"{label}, stride {e['stride']} (unseen)", a, b, diff_cell(diffs, keys), blend])
    for label, ode, rnn in [("bouncing balls 32", "bb32i_fpt", "rnn_bb32i_fpt"),
                            ("Moving MNIST 64", "mm64i_fpt", "rnn_mm64i_fpt")]:
        o, r = fpt[ode], fpt[rnn]
        a, b = _plain(o["test"]["interpolation"]["model"]), _plain(r["test"]["interpolation"]["model"])
        blend = " / ".join(_triple(o["test"]["interpolation"]["linear_blend"]))
        rows.append([f"{label}, stride 2 (`odevideo evaluate`)", f"{a} ({thousands(o['steps'])} steps)",
                     f"{b} ({thousands(r['steps'])} steps)", "", blend])
    header = ["data", "Vid-ODE", "Vid-RNN", "Vid-ODE - Vid-RNN, per clip: PSNR / SSIM / LPIPS", "linear blend"]
    return md_table(header, rows)


def vid_ode_irregular(load: Loader) -> list[str]:
    """Unseen times after training on irregular clips (data.drop_prob=0.3). Bold as in vid_ode_unseen_times."""
    fpt = load(f"{VID}/vid_ode_flow_per_time_20min.json")["runs"]
    keys = [("psnr", 2, " dB"), ("ssim", 3, ""), ("lpips", 3, "")]
    rows = []
    # Training minutes: the JSON's note (the Moving MNIST pair ran --max-minutes 18 at the end of its session).
    for label, name, minutes, ode, rnn in [("bouncing balls 32", "bb32", 20, "bb32i_drop", "rnn_bb32i_drop"),
                                           ("Moving MNIST 64", "mm64", 18, "mm64i_drop", "rnn_mm64i_drop")]:
        test = load(f"{VID}/vid_ode_unseen_times_irregular_{name}.json")
        val = load(f"{VID}/vid_ode_unseen_times_irregular_{name}_val.json")
        diffs = test["paired_with_first_model"]["versus"]["Vid-RNN"]
        a, b = _paired_models(test["models"]["Vid-ODE"]["overall"], test["models"]["Vid-RNN"]["overall"], diffs)
        o, r = fpt[ode], fpt[rnn]
        a2, b2 = _plain(o["test"]["interpolation"]["model"]), _plain(r["test"]["interpolation"]["model"])
        rows.append([
            f"{label} ({minutes} min, {thousands(o['steps'])} / {thousands(r['steps'])})", a, b, diff_cell(diffs, keys),
            diff_cell(val["paired_with_first_model"]["versus"]["Vid-RNN"], keys[:1]), a2, b2,
        ])
    header = ["data (training time, steps Vid-ODE / Vid-RNN)", "stride 4: Vid-ODE", "stride 4: Vid-RNN",
              "per clip (test)", "per clip PSNR (64 val clips)", "stride 2: Vid-ODE", "stride 2: Vid-RNN"]
    return md_table(header, rows)


SMALL_MODELS = [("vid_ode", "Vid-ODE"), ("ode_conv", "ODE-Conv (A)"), ("ode_fc", "ODE-FC"), ("convgru", "ConvGRU"),
                ("vid_rnn", "Vid-RNN"), ("latent_ode", "Latent ODE"), ("ode2vae", "ODE2VAE-style")]
SMALL_BASELINES = {"extrapolation": [("all_black", "all black"), ("copy_last_observed", "copy last observed"),
                                     ("mean_of_observed", "mean of observed")],
                   "interpolation": [("linear_blend", "linear blend")]}


def vid_ode_4min(load: Loader) -> list[str]:
    """4 minutes per model, every baseline. Bold: the best value of each score column within a data/task block
    (trivial baselines included)."""
    runs = {r["preset"]: r for r in load(f"{VID}/vid_ode_small_scale.json")["runs"]}
    cols = [("psnr", 2, True), ("ssim", 4, True), ("mse", 5, False), ("lpips", 4, False)]
    rows = []
    for data, dlabel in [("bb32", "bouncing balls 32"), ("mmnist64", "Moving MNIST 64")]:
        for task, section in [("extrap", "extrapolation"), ("interp", "interpolation")]:
            block: list[tuple[str, str, dict]] = []
            for key, label in SMALL_MODELS:
                r = runs.get(f"{key}_{data}_{task}")
                if r is not None:
                    block.append((label, thousands(r["steps"]), r["eval"]["sections"][section]["model"]))
            ref = runs[f"vid_ode_{data}_{task}"]["eval"]["sections"][section]
            block += [(label, "-", ref[key]) for key, label in SMALL_BASELINES[section]]
            marks = [best([s[k] for _, _, s in block], hi, d) for k, d, hi in cols]
            for i, (label, steps, s) in enumerate(block):
                cells = [fixed(s[k], d) for k, d, _ in cols]
                cells = [bold(c) if marks[j][i] else c for j, c in enumerate(cells)]
                rows.append([f"{dlabel}, {section}" if i == 0 else "", label, steps, *cells])
    return md_table(["data, task", "model", "steps", "PSNR", "SSIM", "MSE/pixel", "LPIPS"], rows)


def vid_ode_step(load: Loader) -> list[str]:
    """Training step against a reconstruction of the authors' step (benchmarks/vid_ode_step.py). Bold: the CPU-time
    ratio of the rows with the ODE nets in bf16 and an Euler decoder (the configuration the CPU presets use)."""
    rows_in = load(f"{BENCH}/vid_ode_step.json")["rows"]
    authors = {(r["size"], r["task"]): r for r in rows_in if r["kind"] == "authors"}
    rows = []
    for r in rows_in:
        if r["kind"] == "authors":
            continue
        a, q = authors[(r["size"], r["task"])], r["ratio_vs_authors"]
        ours = r["variant"][r["variant"].index("[") + 1:-1].replace(":", ", ")
        cpu = fixed(q["cpu_s_per_step"], 2)
        rows.append([
            str(r["size"]), r["task"], ours, sig(a["cpu_s_per_step"]), sig(r["cpu_s_per_step"]),
            bold(cpu) if r["ode_autocast"] and r["solver"] == "euler" else cpu, fixed(q["s_per_step"], 2),
            fixed(q["peak_rss_mb"], 2), thousands(r["nfe_decoder_fwd"]),
        ])
    header = ["size", "task", "ours", "reconstructed authors' step, CPU-s", "ours CPU-s/step", "x CPU-s", "x wall",
              "x peak memory", "decoder NFE"]
    return md_table(header, rows)


# --------------------------------------------------------------------------------------------- video_gan.md


def _mean(x: object) -> float:
    """A score stored as a number, ``{"mean": ...}`` or ``[mean, std]``."""
    if isinstance(x, dict):
        return x["mean"]
    if isinstance(x, list):
        return x[0]
    return x  # type: ignore[return-value]


def _fid(x: object, digits: int = 1) -> str:
    if isinstance(x, dict):
        return pm(x["mean"], x["std"], digits)
    return pm(x[0], x[1], digits)  # type: ignore[index]


def _speed(speed: float, real: float, digits: int | None = None) -> str:
    """Centroid speed (px/frame); ``(jumps)`` where it is over three times the real clips'."""
    s = sig(speed) if digits is None else fixed(speed, digits)
    return s + " (jumps)" if speed > 3 * real else s


def _bold_best(rows: list[list[str]], values: list[list[float | None]], cols: Sequence[tuple[int, int]]) -> None:
    """Bold, in place, the lowest value of each column ``(cell index, decimals)``; ``values[row][k]`` is the value
    of the k-th listed column (``None``: not a candidate)."""
    for k, (ci, d) in enumerate(cols):
        marks = best([v[k] for v in values], False, d)
        for r, m in zip(rows, marks):
            if m:
                r[ci] = bold(r[ci])


def _two_core_row(label: str, seed: int, r: dict, real_speed: float) -> tuple[list[str], list[float]]:
    g = r["digit_consistency"]["generated"]
    cells = [
        label, str(seed), thousands(r["iterations"]), fixed(r["elapsed_s"] / r["iterations"], 3),
        f"{fixed(r['best_val']['score'], 3)} ({thousands(r['best_val']['step'])})", _fid(r["frame_fid"]),
        thousands(r["digit_fd"]["mean"]), fixed(g["confidence"]["mean"], 3), fixed(g["consistency"]["mean"], 3),
        count(g["classes_covered"]["mean"]), _speed(g["centroid_speed"]["mean"], real_speed),
    ]
    return cells, [r["frame_fid"]["mean"], r["digit_fd"]["mean"]]


TWO_CORE_HEADER = ["seed", "iterations (last logged)", "s / iteration", "best val pixel_fd (step)", "frame FID",
                   "digit_fd", "confidence", "consistency", "classes", "centroid speed"]


def _two_core_table(first: str, spec: list[tuple[str, int, dict]], real_row: bool) -> list[str]:
    real = spec[0][2]["digit_consistency"]["real"]
    rows, values = [], []
    for label, seed, r in spec:
        cells, v = _two_core_row(label, seed, r, real["centroid_speed"])
        rows.append(cells)
        values.append(v)
    _bold_best(rows, values, [(5, 1), (6, 0)])
    if real_row:
        rows.insert(0, ["real test clips", "", "", "", "", "", "", fixed(real["confidence"], 3),
                        fixed(real["consistency"], 3), count(real["classes_covered"]), sig(real["centroid_speed"])])
    return md_table([first, *TWO_CORE_HEADER], rows)


def gan_mbstd(load: Loader) -> list[str]:
    """The presets on two cores, two seeds, with the minibatch standard deviation. Bold: the lowest frame FID and
    digit_fd."""
    runs = load(f"{GAN}/gan_two_cores_mbstd_s14.json")["runs"]
    spec = [
        ("tgan_mmnist32 (original `G_t`)", 0, runs["tgan_mbstd4_seed0"]),
        ("tgan_ode_mmnist32 (ODE)", 0, runs["tgan_ode_mbstd4_seed0_s13"]),
        ("tgan_ode_mmnist32 (ODE)", 1, runs["tgan_ode_mbstd4_seed1"]),
        ("mocogan_mmnist32 (GRU)", 0, runs["mocogan_mbstd4_seed0"]),
        ("mocogan_mmnist32 (GRU)", 1, runs["mocogan_mbstd4_seed1"]),
        ("mocogan_ode_mmnist32 (ODE)", 0, runs["mocogan_ode_mbstd4_seed0_s13"]),
        ("mocogan_ode_mmnist32 (ODE)", 1, runs["mocogan_ode_mbstd4_seed1_s13"]),
    ]
    return _two_core_table("preset + `loss.minibatch_std=4`", spec, real_row=True)


def gan_no_mbstd(load: Loader) -> list[str]:
    """The presets on two cores without the minibatch standard deviation. Bold: the lowest frame FID and
    digit_fd."""
    s0 = load(f"{GAN}/gan_two_cores_15min.json")["runs"]
    s1 = load(f"{GAN}/gan_two_cores_mbstd_s14.json")["runs"]
    spec = [
        ("tgan_mmnist32 (original `G_t`)", 0, s0["tgan_mmnist32"]),
        ("tgan_ode_mmnist32 (ODE)", 0, s0["tgan_ode_mmnist32"]),
        ("tgan_ode_mmnist32 (ODE)", 1, s1["tgan_ode_nombstd_seed1"]),
        ("mocogan_mmnist32 (GRU)", 0, s0["mocogan_mmnist32"]),
        ("mocogan_mmnist32 (GRU)", 1, s1["mocogan_nombstd_seed1"]),
        ("mocogan_ode_mmnist32 (ODE)", 0, s0["mocogan_ode_mmnist32"]),
        ("mocogan_ode_mmnist32 (ODE)", 1, s1["mocogan_ode_nombstd_seed1"]),
    ]
    return _two_core_table("preset", spec, real_row=False)


def gan_per_frame(load: Loader) -> list[str]:
    """The per-frame presets (one core each). Bold: the lowest frame FID."""
    small = {r["preset"]: r for r in load(f"{GAN}/gan_small_scale_15min.json") if not r.get("superseded")}
    digits = load(f"{GAN}/gan_digit_consistency_15min.json")["runs"]
    spec = [
        ("tgan_mmnist32 (original 1-D deconv `G_t`)", "tgan_mmnist32",
         "tgan_mmnist32 + gan.video_disc_channels=32 (15 min, 2026-12-02)"),
        ("tgan_ode_mmnist32 (order 1, single f, FCN)", "tgan_ode_mmnist32",
         "tgan_ode_mmnist32 + gan.video_disc_channels=32 (15 min, 2026-12-02)"),
        ("mocogan_mmnist32 (GRU motion)", "mocogan_mmnist32", "mocogan_mmnist32 (15 min, 2026-12-02 preset)"),
        ("mocogan_ode_mmnist32 (ODE, equal params)", "mocogan_ode_mmnist32",
         "mocogan_ode_mmnist32 (15 min, 2026-12-02 preset)"),
    ]
    rows, values = [], []
    for label, preset, dkey in spec:
        r, g = small[preset], digits[dkey]["generated"]
        rows.append([
            label, thousands(r["iterations"]), f"{fixed(r['best_val_pixel_fd'], 3)} ({thousands(r['best_step'])})",
            _fid(r["frame_fid"]), fixed(g["confidence"]["mean"], 3), fixed(g["consistency"]["mean"], 3),
            fixed(g["switch_rate"]["mean"], 3), count(g["classes_covered"]["mean"]),
        ])
        values.append([r["frame_fid"]["mean"]])
    _bold_best(rows, values, [(3, 1)])
    real = digits[spec[0][2]]["real"]
    rows.insert(0, ["real test clips", "", "", "", fixed(real["confidence"], 3), fixed(real["consistency"], 3),
                    fixed(real["switch_rate"], 3), count(real["classes_covered"])])
    header = ["preset (temporal generator)", "iterations", "best val pixel_fd (step)", "frame FID", "confidence",
              "consistency", "switch rate", "classes"]
    return md_table(header, rows)


def gan_identity(load: Loader) -> list[str]:
    """Where the identity lives (experiments/gan_identity_source.py). Bold: the larger of the two shares."""
    rows = []
    for label, name in [("TGAN-ODE, video discriminator 16", "tgan_ode"),
                        ("TGAN-ODE, video discriminator 32", "tgan_ode_vd32"), ("TGAN, original `G_t`", "tgan")]:
        d = load(f"{GAN}/gan_identity_source_{name}.json")
        c, f = d["mixed_matches_content_source"], d["mixed_matches_frame_code_source"]
        cells = [fixed(c, 3), fixed(f, 3)]
        if strictly_better(c, f, True, 3):
            cells[0] = bold(cells[0])
        elif strictly_better(f, c, True, 3):
            cells[1] = bold(cells[1])
        rows.append([label, *cells, fixed(d["chance_i_equals_j"], 3)])
    header = ["run", "mixed frames labelled as i (content)", "as j (frame codes)", "chance (i's label = j's)"]
    return md_table(header, rows)


def gan_one_image(load: Loader) -> list[str]:
    """One image per clip, moved by the temporal generator. Bold: the lowest best-validation pixel_fd and frame
    FID."""
    runs = load(f"{GAN}/gan_one_image_per_clip_15min.json")["runs"]
    spec = [
        ("tgan_mmnist32 (original `G_t`)", "tgan_orig_sp16_init"), ("tgan_ode_mmnist32 (ODE)", "tgan_ode_sp16_init"),
        ("mocogan_mmnist32 (GRU)", "moco_gru_sp16"), ("mocogan_ode_mmnist32 (ODE)", "moco_ode_sp16"),
        ("tgan_ode_mmnist32, seed 1 (`--set train.seed=1`)", "tgan_ode_preset_s1"),
        ("tgan_mmnist32 (original `G_t`), seed 1", "tgan_orig_preset_s1"),
        ("mocogan_mmnist32 (GRU), seed 1", "moco_gru_preset_s1"), ("mocogan_ode_mmnist32, seed 1", "moco_ode_sp16_s1"),
    ]
    real = runs[spec[0][1]]["digits_real"]
    rows, values = [], []
    for label, key in spec:
        r = runs[key]
        g = {k: _mean(v) for k, v in r["digits_generated"].items()}
        rows.append([
            label, thousands(r["iterations"]), fixed(r["best_val_pixel_fd"], 3), _fid(r["frame_fid"]),
            fixed(g["confidence"], 3), fixed(g["consistency"], 3), fixed(g["switch_rate"], 3),
            count(g["classes_covered"]), _speed(g["centroid_speed"], real["centroid_speed"], 2),
            fixed(g["centroid_travel"], 1),
        ])
        values.append([r["best_val_pixel_fd"], _mean(r["frame_fid"])])
    _bold_best(rows, values, [(2, 3), (3, 1)])
    rows.insert(0, ["real test clips", "", "", "", fixed(real["confidence"], 3), fixed(real["consistency"], 3),
                    fixed(real["switch_rate"], 3), count(real["classes_covered"]), fixed(real["centroid_speed"], 2),
                    fixed(real["centroid_travel"], 1)])
    header = ["preset (run)", "iterations", "best val pixel_fd", "frame FID", "confidence", "consistency",
              "switch rate", "classes", "centroid speed (px/frame)", "travel (px)"]
    return md_table(header, rows)


def gan_readable(load: Loader) -> list[str]:
    """Cleaner strokes: the four presets, two seeds. Bold: the lowest frame FID and digit_fd."""
    runs = load(f"{GAN}/gan_readable_glyphs_15min.json")["runs"]
    spec = [
        ("tgan_mmnist32 (original `G_t`)", "tgan_orig_in0_vb"), ("tgan_mmnist32, seed 1", "tgan_orig_p10_s1"),
        ("tgan_ode_mmnist32 (ODE)", "tgan_ode_in0_vb"), ("tgan_ode_mmnist32, seed 1", "tgan_ode_in0_vb_s1"),
        ("mocogan_mmnist32 (GRU)", "moco_gru_p10"), ("mocogan_mmnist32, seed 1", "moco_gru_p10_s1"),
        ("mocogan_ode_mmnist32 (ODE)", "moco_ode_rec"), ("mocogan_ode_mmnist32, seed 1", "moco_ode_p10_s1"),
    ]
    real = runs[spec[0][1]]["digits_real"]
    rows, values = [], []
    for label, key in spec:
        r = runs[key]
        g = {k: _mean(v) for k, v in r["digits_generated"].items()}
        rows.append([
            label, thousands(r["iterations"]), f"{fixed(r['best_val_pixel_fd'], 3)} ({thousands(r['best_step'])})",
            _fid(r["frame_fid"]), thousands(_mean(r["digit_fd"])), fixed(g["confidence"], 3),
            fixed(g["consistency"], 3), count(g["classes_covered"]),
            _speed(g["centroid_speed"], real["centroid_speed"], 2),
        ])
        values.append([_mean(r["frame_fid"]), _mean(r["digit_fd"])])
    _bold_best(rows, values, [(3, 1), (4, 0)])
    rows.insert(0, ["real test clips", "", "", "", "", fixed(real["confidence"], 3), fixed(real["consistency"], 3),
                    count(real["classes_covered"]), fixed(real["centroid_speed"], 2)])
    header = ["preset (run)", "iterations", "best val pixel_fd (step)", "frame FID", "digit_fd", "confidence",
              "consistency", "classes", "centroid speed"]
    return md_table(header, rows)


def gan_tganv2(load: Loader) -> list[str]:
    """TGANv2 with the ConvLSTM and the conv ODE. Bold: the lowest best-validation pixel_fd and frame FID."""
    labels = {"tganv2_mmnist32": "TGANv2, ConvLSTM", "tganv2_ode_mmnist32": "TGANv2-ODE, order 1"}
    rows, values = [], []
    for r in load(f"{GAN}/gan_tganv2_15min.json"):
        g = r["digits"]
        rows.append([
            labels[r["run"].rsplit("/", 1)[-1]], thousands(r["iterations"]),
            f"{fixed(r['best_val_pixel_fd'], 3)} ({thousands(r['best_step'])})", _fid(r["frame_fid"]),
            fixed(g["confidence"], 3), fixed(g["consistency"], 3), fixed(g["switch_rate"], 3),
            count(g["classes_covered"]),
        ])
        values.append([r["best_val_pixel_fd"], r["frame_fid"]["mean"]])
    _bold_best(rows, values, [(2, 3), (3, 1)])
    header = ["run", "iterations (last logged)", "best validation pixel_fd (step)", "frame FID", "confidence",
              "consistency", "switch rate", "classes"]
    return md_table(header, rows)


GAN_LABELS = {"tgan_mmnist32": "TGAN", "tgan_ode_mmnist32": "TGAN-ODE", "tgan_sde_mmnist32": "TGAN-SDE",
              "mocogan_mmnist32": "MoCoGAN", "mocogan_ode_mmnist32": "MoCoGAN-ODE"}


def gan_iteration_readable(load: Loader) -> list[str]:
    """Per-iteration time, ODE / SDE against the original (benchmarks/gan_iteration.py). Bold: the ODE rows'
    ratio."""
    rows = []
    for r in load(f"{BENCH}/gan_iteration_readable.json")["rows"]:
        ratio = "" if r["ratio_to_reference"] is None else times(r["ratio_to_reference"])
        rows.append([GAN_LABELS[r["preset"]], fixed(r["s_per_iteration"], 3),
                     bold(ratio) if "_ode" in r["preset"] else ratio])
    return md_table(["preset", "s / iteration", "ODE/SDE against the original"], rows)


# --------------------------------------------------------------------------------------------- the builder


# --------------------------------------------------------------------------------------------- frame_interpolation.md

FRAME_INTERP = "docs/results/frame_interp"
INTERP_METHODS = (("repeat_previous", "repeat"), ("linear_blend", "blend"), ("dis_flow", "DIS"), ("model", "model"))


def _interp_diffs(paired: dict, keys: Sequence[tuple[str, int, str]]) -> str:
    """``model - DIS-flow`` paired over windows, in the ``diff_cell`` layout."""
    return diff_cell({k: {"mean_difference": paired[k]["mean_diff"], "standard_error": paired[k]["se"]}
                      for k, _, _ in keys}, keys)


def frame_interp_clips(prefix: str) -> Callable[[Loader], list[str]]:
    """In-between frames of real clips' held-out ends (experiments/frame_interp_dev_clips.py): 64x64 cells from
    ``<prefix>_64.json`` (model interp-real-64), full-resolution cells from ``<prefix>_full.json``
    (interp-real-full); ``dev_clips``: the four development clips, ``heldout``: clips used in no design choice.
    Each score cell:
    repeat-previous / linear blend / DIS flow / model; bold: the best at the shown precision. Last columns: the
    model minus the best classical method (DIS or blend) per window, +- its standard error, bold where the model is
    better by more than two standard errors; "wins by 2 s.e.": the model is better than every baseline on all
    three scores by more than two standard errors of the paired difference; last: the same model untrained (its
    classical start), where the JSON has it."""

    def table(load: Loader) -> list[str]:
        return _frame_interp_cells([load(f"{FRAME_INTERP}/{prefix}_{part}.json") for part in ("64", "full")])

    return table


def _frame_interp_cells(results: list[dict]) -> list[str]:
    keys = (("psnr", 2, " dB"), ("ssim", 4, ""), ("lpips", 4, ""))
    rows = []
    cells = [(clip, cell, c) for r in results for clip, c in r["clips"].items() for cell in c["cells"].values()]
    cells.sort(key=lambda x: (x[0], x[1]["size"] == "full", x[1]["gap"]))  # per clip: 64x64 first, then full size
    for clip, cell, c in cells:
        means = cell["means"]
        size = "x".join(map(str, c["full_size"][::-1])) if cell["size"] == "full" else f"{cell['size']}x{cell['size']}"
        row = [clip, size, str(cell["gap"]), str(cell["windows"])]
        for k, d, _ in keys:
            vals = [means[m][k] for m, _ in INTERP_METHODS]
            row.append(join_parts([fixed(v, d) for v in vals], best(vals, k in HIGHER, d)))
        strongest = max(("dis_flow", "linear_blend"), key=lambda m: means[m]["psnr"])
        row.append(f"{dict(INTERP_METHODS)[strongest]}: {_interp_diffs(cell['paired'][strongest], keys)}")
        wins = all((p["mean_diff"] > 0) == (k in HIGHER) and abs(p["mean_diff"]) > 2 * p["se"]
                   for base in cell["paired"].values() for k, p in base.items())
        row.append("yes" if wins else "no")
        row.append(" / ".join(fixed(means["start"][k], d) for k, d, _ in keys) if "start" in means else "-")
        rows.append(row)
    head = ["clip", "size", "gap", "windows", "PSNR (dB) repeat / blend / DIS / model", "SSIM", "LPIPS",
            "model - strongest classical (PSNR / SSIM / LPIPS)", "wins by 2 s.e.",
            "untrained start (PSNR / SSIM / LPIPS)"]
    return md_table(head, rows)


STARTS = (("linear_blend", "blend"), ("dis", "DIS"), ("dis_own_res", "DIS own res."),
          ("dis_or_blend", "DIS or blend"), ("dis_own_res_or_blend", "DIS own res. or blend"))


def frame_interp_starts(load: Loader) -> list[str]:
    """Training-free starts of ``ode_flow_interp`` (experiments/frame_interp_starts.py): DIS flow matched at the
    preset's half resolution or the frames' own, without or with the fallback to the blend, and the blend; 64x64
    on the dev clips' training parts and on a held-out clip's test part, full size on the training parts' first 41
    frames. PSNR (dB), bold: the best at the shown precision."""
    rows = []
    for name in ("starts_64_train", "starts_64_heldout", "starts_full_train"):
        r = load(f"{FRAME_INTERP}/{name}.json")
        for clip, c in r["clips"].items():
            for key, cell in c["cells"].items():
                size, gap = key.split("/gap")
                vals = [cell["means"][m]["psnr"] for m, _ in STARTS]
                rows.append([clip, r["part"], size if size == "full" else f"{size}x{size}", gap,
                             str(cell["windows"]), r["sampling"], join_parts([fixed(v, 2) for v in vals],
                                                                             best(vals, True, 2))])
    head = ["clip", "part", "size", "gap", "windows", "warps", "PSNR (dB) " + " / ".join(n for _, n in STARTS)]
    return md_table(head, rows)


def frame_interp_demo(load: Loader) -> list[str]:
    """``odevideo demo``'s held-out table (its demo_eval.json): every method per gap; the last column is the model
    minus the method, paired over windows, bold where the model is better by more than two standard errors."""
    r = load(f"{FRAME_INTERP}/demo_eval.json")
    keys = (("psnr", 2, " dB"), ("ssim", 4, ""))
    rows = []
    for gap, c in r["gaps"].items():
        for m, v in c["means"].items():
            diff = "" if m == "model" else _interp_diffs(c["paired"][m], keys)
            rows.append([gap.removeprefix("gap"), m.replace("_", " "), str(c["windows"]), fixed(v["psnr"], 2),
                         fixed(v["ssim"], 4), diff])
    return md_table(["gap", "method", "windows", "PSNR (dB)", "SSIM", "model - method (PSNR / SSIM)"], rows)


def retime_speed(load: Loader) -> list[str]:
    """``odevideo retime`` speed (benchmarks/results/retime_speed.json): output frames per wall-clock second."""
    d = load(f"{BENCH}/retime_speed.json")
    rows = [[f"`{r['command']}`", thousands(r["output_frames"]), f"{fixed(r['wall_s'], 1)} s",
             "-" if r.get("cpu_user_s") is None else f"{fixed(r['cpu_user_s'], 1)} s",
             fixed(r["output_frames"] / r["wall_s"], 1), r["load"]] for r in d["rows"]]
    return md_table(["command", "output frames", "wall", "CPU (user)", "output frames/s (wall)", "machine"], rows)


# --------------------------------------------------------------------------------------------- evaluation.md

OPENSTL = "docs/results/openstl"


def openstl_mmnist(load: Loader) -> list[str]:
    """The openstl-mmnist protocol: our run (``odevideo evaluate --protocol openstl-mmnist``, its eval.json and
    the budget.json beside it) under OpenSTL's published rows (mmnist_reference.json, with its source)."""
    ref = load(f"{OPENSTL}/mmnist_reference.json")
    ours = load(f"{OPENSTL}/mmnist2_latent_ode/eval.json")
    budget = load(f"{OPENSTL}/mmnist2_latent_ode/budget.json")
    rows = [[r["method"], f"OpenSTL, {r['setting']}, V100", fixed(r["mse"], 2), fixed(r["mae"], 2),
             fixed(r["ssim"], 4), fixed(r["psnr"], 2)] for r in ref["rows"]]
    for name, v in ours["protocol_scores"].items():
        label = "latent-ODE VAE (`mmnist2_latent_ode`)" if name == "model" else name.replace("_", " ")
        setting = budget["label"] if name == "model" else "no training (trivial baseline), the same test clips"
        rows.append([label, setting, fixed(v["mse"], 2), fixed(v["mae"], 2), fixed(v["ssim"], 4),
                     fixed(v["psnr"], 2)])
    return md_table(["method", "training / test set", "MSE", "MAE", "SSIM", "PSNR (dB)"], rows)


TABLES: dict[str, Callable[[Loader], list[str]]] = {
    "speed_train_step": speed_train_step,
    "speed_ddp": speed_ddp,
    "speed_vid_ode_authors": speed_vid_ode_authors,
    "speed_vid_ode_breakdown": speed_vid_ode_breakdown,
    "reliability_fuzz": reliability_fuzz,
    **{name: kanaa_table(name) for name in KANAA_RUNS},
    "vid_ode_20min": vid_ode_20min,
    "vid_ode_vs_convgru": vid_ode_vs_convgru,
    "vid_ode_unseen_times": vid_ode_unseen_times,
    "vid_ode_irregular": vid_ode_irregular,
    "vid_ode_4min": vid_ode_4min,
    "vid_ode_step": vid_ode_step,
    "gan_mbstd": gan_mbstd,
    "gan_no_mbstd": gan_no_mbstd,
    "gan_per_frame": gan_per_frame,
    "gan_identity": gan_identity,
    "gan_one_image": gan_one_image,
    "gan_readable": gan_readable,
    "gan_tganv2": gan_tganv2,
    "gan_iteration_readable": gan_iteration_readable,
    "frame_interp_dev": frame_interp_clips("dev_clips"),
    "frame_interp_heldout": frame_interp_clips("heldout"),
    "frame_interp_demo": frame_interp_demo,
    "frame_interp_starts": frame_interp_starts,
    "openstl_mmnist": openstl_mmnist,
    "retime_speed": retime_speed,
}


def loader(root: Path) -> Loader:
    """Read a JSON file relative to ``root`` (``NaN`` allowed, as ``odevideo evaluate`` writes it)."""
    cache: dict[str, object] = {}

    def load(rel: str) -> object:
        if rel not in cache:
            cache[rel] = json.loads((root / rel).read_text(encoding="utf-8"))
        return cache[rel]

    return load


def render(text: str, load: Loader, tables: dict[str, Callable[[Loader], list[str]]] = TABLES) -> tuple[str, list[str]]:
    """``text`` with every marked table regenerated; also the names of the tables found."""
    found: list[str] = []

    def replace(m: re.Match) -> str:
        name = m.group(1)
        if name not in tables:
            raise KeyError(f"unknown table {name!r}; known: {', '.join(sorted(tables))}")
        found.append(name)
        return f"<!-- table: {name} -->\n" + "\n".join(tables[name](load)) + "\n<!-- /table -->"

    return MARKER.sub(replace, text), found


def pages(root: Path) -> list[Path]:
    """The Markdown pages that may hold generated tables."""
    return sorted((root / "docs").rglob("*.md")) + [p for p in [root / "README.md"] if p.is_file()]


def build(root: Path = ROOT, check: bool = False, complete: bool | None = None, out=sys.stdout) -> int:
    """Regenerate (``check``: only compare) every marked table under ``root`` and return the exit status.
    ``complete`` (default: ``root`` is this repository) also requires every table of ``TABLES`` to be placed exactly
    once, so that no table can fall back to hand-written text."""
    load = loader(root)
    status, used = 0, []
    for page in pages(root):
        old = page.read_text(encoding="utf-8")
        new, found = render(old, load)
        used += found
        if new == old:
            continue
        rel = page.relative_to(root).as_posix()
        if check:
            status = 1
            out.writelines(difflib.unified_diff(old.splitlines(True), new.splitlines(True), rel, rel + " (from JSON)"))
            print(f"{rel} differs from its JSON; run `python docs/results/build.py`", file=out)
        else:
            page.write_text(new, encoding="utf-8")
            print(f"rewrote {rel}", file=out)
    if complete if complete is not None else root == ROOT:
        missing = sorted(set(TABLES) - set(used))
        twice = sorted({n for n in used if used.count(n) > 1})
        if missing or twice:
            print(f"tables placed nowhere: {missing or 'none'}; placed more than once: {twice or 'none'}", file=out)
            status = 1
    return status


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--check", action="store_true", help="change nothing; exit 1 if a table differs from its JSON")
    p.add_argument("--root", type=Path, default=ROOT, help="repository root (default: this file's)")
    args = p.parse_args(argv)
    return build(args.root.resolve(), check=args.check)


if __name__ == "__main__":
    sys.exit(main())
