"""The protocols' figures as PNG files, drawn with matplotlib (the ``plot`` extra, imported only when drawing).

:func:`plot_sampling_rate_sweep` (figure 6) and :func:`plot_unseen_timesteps` (figure 8) draw the curves of the
result dicts; :func:`save_frame_strip` (figure 1) and :func:`plot_composition` (figure 3) draw frame tables.
Every file is written atomically.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from torch import Tensor

from odevideo._atomic import atomic_write
from odevideo.errors import InputError, OdevideoError
from odevideo.methods.vid_ode.protocols.common import check_clip_index, check_int
from odevideo.methods.vid_ode.protocols.composition import CompositionComponents
from odevideo.methods.vid_ode.protocols.frame_rate import FrameRateOutput

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["save_frame_strip", "plot_composition", "plot_sampling_rate_sweep", "plot_unseen_timesteps"]

DPI = 100
_PAD = 6  # pixels between the frames of a table


def _new_figure(width_px: float, height_px: float, **kwargs) -> Figure:
    try:
        from matplotlib.figure import Figure
    except ImportError as e:  # pragma: no cover - depends on the install
        raise OdevideoError("the experiment charts need matplotlib: pip install 'odevideo[plot]'") from e
    return Figure(figsize=(width_px / DPI, height_px / DPI), dpi=DPI, **kwargs)


def _save(fig: Figure, path: str | os.PathLike) -> Path:
    return atomic_write(Path(path), lambda tmp: fig.savefig(tmp, format="png", dpi=DPI), suffix=".tmp.png")


# ------------------------------------------------------------------------------------------------ frame tables


def _rgb(x: Tensor) -> np.ndarray:
    """``(C, H, W)`` in [0, 1] -> ``(H, W, 3)`` (1 channel repeated; C != 1, 3: the channel mean)."""
    x = x.detach().float().cpu().clamp(0, 1)
    if x.shape[0] != 3:
        x = (x if x.shape[0] == 1 else x.mean(0, keepdim=True)).expand(3, -1, -1)
    return x.permute(1, 2, 0).numpy()


def _auto_scale(h: int, scale: int | None) -> int:
    if scale is None:
        return max(1, math.ceil(64 / h))
    return check_int(scale, "scale", 1)


def _image_table(cells: list[list[np.ndarray | None]], row_labels: Sequence[str],
                 col_labels: Sequence[str] | None, scale: int) -> Figure:
    """A figure of ``cells`` (rows of ``(h, w, 3)`` images, None = a grey cell) with labelled rows and columns;
    each frame ``scale`` times its size in pixels."""
    h, w = next(c for row in cells for c in row if c is not None).shape[:2]
    ch, cw = h * scale, w * scale
    rows, cols = len(cells), max(len(r) for r in cells)
    left = 7 * max(len(s) for s in row_labels) + 3 * _PAD  # about 7 pixels a character at 8 points
    top = 22 if col_labels else _PAD
    width, height = left + cols * (cw + _PAD), top + rows * (ch + _PAD)
    fig = _new_figure(width, height)
    grid = fig.add_gridspec(rows, cols, left=left / width, right=1 - _PAD / width, top=1 - top / height,
                            bottom=_PAD / height, wspace=_PAD / cw, hspace=_PAD / ch)
    for i in range(rows):
        for j in range(cols):
            ax = fig.add_subplot(grid[i, j])
            ax.set_xticks([])
            ax.set_yticks([])
            cell = cells[i][j] if j < len(cells[i]) else None
            if cell is None:
                ax.set_facecolor("0.88")
                for spine in ax.spines.values():
                    spine.set_visible(False)
            else:
                ax.imshow(cell, interpolation="nearest", aspect="auto", vmin=0.0, vmax=1.0)
            if j == 0:
                ax.set_ylabel(row_labels[i], rotation=0, ha="right", va="center", fontsize=8)
            if i == 0 and col_labels:
                ax.set_title(col_labels[j], fontsize=7, pad=3)
    return fig


def save_frame_strip(
    path: str | os.PathLike,
    outputs: FrameRateOutput | Sequence[FrameRateOutput],
    *,
    clip: int = 0,
    labels: Sequence[str] | None = None,
    scale: int | None = None,
) -> Path:
    """Figure 1 as a PNG: the inputs on the top row, then one row per :class:`FrameRateOutput` (e.g. factors
    1, 2, 4), every frame in the column of its time so equal times line up. Returns ``path``.

    ``clip`` picks the clip of the batch; ``labels`` name the rows (default ``"x{factor}"``); ``scale`` is the
    integer upscaling of the frames (default: at least 64 pixels high).
    """
    if isinstance(outputs, FrameRateOutput):
        outputs = [outputs]
    if not outputs or not all(isinstance(o, FrameRateOutput) for o in outputs):
        raise InputError("outputs must be a FrameRateOutput or a non-empty list of them (from arbitrary_frame_rate).")
    b = outputs[0].frames.shape[0]
    check_clip_index(clip, b)
    if any(o.frames.shape[0] != b or o.frames.shape[2:] != outputs[0].frames.shape[2:] for o in outputs):
        raise InputError("all outputs must come from the same clips (same batch size and frame shape).")
    if labels is not None and len(labels) != len(outputs):
        raise InputError(f"labels has {len(labels)} entries for {len(outputs)} outputs; give one label per output.")
    labels = list(labels) if labels is not None else [f"x{o.factor}" for o in outputs]

    def key(t: Tensor) -> float:
        return round(float(t), 6)

    columns = sorted({key(t) for o in outputs for t in (*o.times[clip], *o.input_times[clip])})
    where = {t: j for j, t in enumerate(columns)}
    first = outputs[0]
    pairs = [zip(first.input_frames[clip], first.input_times[clip])]
    pairs += [zip(o.frames[clip], o.times[clip]) for o in outputs]
    rows: list[list[np.ndarray | None]] = []
    for row_pairs in pairs:
        row: list[np.ndarray | None] = [None] * len(columns)
        for f, t in row_pairs:
            row[where[key(t)]] = _rgb(f)
        rows.append(row)
    col_labels = [f"{t:g}" for t in columns] if len(columns) <= 24 else None
    fig = _image_table(rows, ["input", *labels], col_labels, _auto_scale(first.frames.shape[-2], scale))
    return _save(fig, path)


def plot_composition(
    components: CompositionComponents,
    path: str | os.PathLike,
    *,
    clip: int = 0,
    layout: str = "times",
    scale: int | None = None,
) -> Path:
    """Figure 3 as a PNG for clip ``clip``: warped image, image difference ``(D + 1) / 2``, mask, output frame,
    flow magnitude (divided by its maximum over the clip) and, when known, the ground truth.

    ``layout="times"``: one row per query time (a column per component); ``"components"``: one row per component
    (the paper's arrangement, output in the last rows). Returns ``path``.
    """
    if not isinstance(components, CompositionComponents):
        raise InputError("components must be a CompositionComponents (from composition_components).")
    if layout not in ("times", "components"):
        raise InputError(f"layout={layout!r} is not supported; use 'times' or 'components'.")
    b, q = components.output.shape[:2]
    check_clip_index(clip, b)
    mag = components.flow_magnitude[clip]
    mag = mag / mag.max() if float(mag.max()) > 0 else mag
    parts = {
        "warped": components.warped[clip], "difference": (components.difference[clip] + 1) / 2,
        "mask": components.mask[clip], "output": components.output[clip], "|flow|": mag,
    }
    if components.targets is not None:
        parts["truth"] = components.targets[clip]
    times = [f"t={float(t):g}" for t in components.query_times[clip]]
    names = list(parts)
    scale = _auto_scale(components.output.shape[-2], scale)
    if layout == "times":
        fig = _image_table([[_rgb(parts[name][k]) for name in names] for k in range(q)], times, names, scale)
    else:
        fig = _image_table([[_rgb(parts[name][k]) for k in range(q)] for name in names], names, times, scale)
    return _save(fig, path)


# ------------------------------------------------------------------------------------------------ curves


def _finite(v: object) -> bool:
    return isinstance(v, (int, float)) and math.isfinite(v)


def _line_chart(panels: list[dict], path: str | os.PathLike, title: str, dashed: Sequence[str] = ()) -> Path:
    """Panels side by side; each ``{"title", "xlabel", "xlabels", "series": {name: [y or None per x]}}``
    (categorical x; a missing value leaves a gap). The series named in ``dashed`` are drawn dashed."""
    names = list(dict.fromkeys(n for p in panels for n in p["series"]))
    fig = _new_figure(380 * len(panels), 330, layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, p in zip(axes, panels):
        drawn = False
        for name, values in p["series"].items():
            ys = [float(v) if _finite(v) else math.nan for v in values]
            drawn |= any(_finite(v) for v in values)
            ax.plot(range(len(ys)), ys, marker="o", ms=4, lw=1.5, color=f"C{names.index(name) % 10}",
                    ls="--" if name in dashed else "-", label=name)
        if not drawn:
            ax.text(0.5, 0.5, "no values", transform=ax.transAxes, ha="center", va="center", color="0.5")
        ax.set_xticks(range(len(p["xlabels"])), p["xlabels"])
        ax.set_xlabel(p.get("xlabel", ""))
        ax.set_title(p["title"], fontsize=10)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    return _save(fig, path)


def _panels(metrics: Sequence[tuple[str, str]], series_of: Callable[[str], dict[str, list]], xlabel: str,
            xlabels: list[str]) -> list[dict]:
    """One panel per ``(key, title)`` of ``metrics`` with the series ``series_of(key)``; LPIPS only when measured."""
    panels = []
    for key, title in metrics:
        series = series_of(key)
        if key == "lpips" and not any(_finite(v) for s in series.values() for v in s):
            continue
        panels.append({"title": title, "xlabel": xlabel, "xlabels": xlabels, "series": series})
    return panels


def plot_sampling_rate_sweep(result: dict, path: str | os.PathLike) -> Path:
    """Figure 6 as a PNG: MSE (x 1e-3) and, when measured, LPIPS against the sampling rate, one line per model."""
    if not isinstance(result, dict) or result.get("experiment") != "sampling_rate_sweep":
        raise InputError("result must be the dict returned by sampling_rate_sweep.")
    panels = _panels(
        (("mse_x1e3", "MSE (x 1e-3)"), ("lpips", "LPIPS")),
        lambda key: {n: [row[key] for row in rows] for n, rows in result["models"].items()},
        "sampling rate", [f"{100 * r:g}%" for r in result["rates"]],
    )
    return _line_chart(panels, path, f"{result['task']}: {result['num_clips']} clips, seed {result['seed']}")


def plot_unseen_timesteps(result: dict, path: str | os.PathLike) -> Path:
    """Figure 8's numbers as a PNG: MSE (x 1e-3), PSNR and (when measured) LPIPS per gap offset, one line per
    model and one dashed line per pixel baseline."""
    if not isinstance(result, dict) or result.get("experiment") != "unseen_timestep_interpolation":
        raise InputError("result must be the dict returned by unseen_timestep_interpolation.")
    baselines = {f"{k} (baseline)": v for k, v in result["baselines"].items()}
    methods = {**result["models"], **baselines}
    offsets = list(next(iter(methods.values()))["per_offset"])
    panels = _panels(
        (("mse_x1e3", "MSE (x 1e-3)"), ("psnr", "PSNR (dB)"), ("lpips", "LPIPS")),
        lambda key: {n: [m["per_offset"][o][key] for o in offsets] for n, m in methods.items()},
        "offset in the gap", offsets,
    )
    title = f"unseen time steps: stride {result['stride']}, {result['num_clips']} clips"
    return _line_chart(panels, path, title, dashed=list(baselines))
