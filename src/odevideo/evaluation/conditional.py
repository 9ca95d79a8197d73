"""Held-out evaluation with trivial baselines in the same table.

Metric conventions (data range [0, 1]):

* ``psnr``: per-frame PSNR in dB, averaged over frames and clips (a frame with zero error would be
  +inf; it is capped at 100 dB before averaging, which never happens on these datasets in practice).
* ``ssim``: per-frame SSIM (Wang et al. 2004, 11x11 Gaussian window, sigma 1.5; scikit-image's
  ``gaussian_weights=True`` setting) averaged over frames and clips.
* ``mse``: mean squared error per pixel; ``mse_frame`` / ``mae_frame``: squared / absolute error summed
  over the pixels of a frame, averaged over frames (OpenSTL's convention).

Sections: ``reconstruction`` = the observed context frames (1..n), ``extrapolation`` = frames n+1..T,
``interpolation`` = observe every ``g``-th frame of the clip (``eval.interp_gap``, default 2: every other frame)
and predict the ``g - 1`` frames between two observations. Its baselines (:func:`interpolation_baselines`) are the
classical interpolators of :mod:`odevideo.interpolation` from the two observations around a frame, at the
fraction ``tau = k / g`` of their gap: ``repeat_previous``, ``linear_blend`` and, when OpenCV is installed,
``dis_flow`` (DIS optical flow, frames of at least 8x8 pixels).

``paired``: the model minus each baseline per window (a window's score is its metric averaged over the section's
frames), as the mean difference and its standard error over the windows (:func:`~odevideo.evaluation.paired.
paired_difference`), for the extrapolation and interpolation sections.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from odevideo._atomic import atomic_write, atomic_write_text
from odevideo.data.build import build_dataset
from odevideo.errors import InputError
from odevideo.evaluation.paired import paired_difference
from odevideo.evaluation.protocols import Protocol
from odevideo.interpolation.classical import (
    dis_flow,
    flow_interpolate,
    has_opencv,
    linear_blend,
    repeat_previous,
)
from odevideo.metrics import mae_per_frame_sum, mse_per_frame_sum, mse_per_pixel, psnr, ssim
from odevideo.metrics.frame_metrics import PSNR_CAP_DB, psnr_from_mean_mse
from odevideo.metrics.lpips import LPIPS, lpips_per_frame
from odevideo.training.batches import batch_from_indices
from odevideo.training.config import ExperimentConfig
from odevideo.training.precision import autocast_context

METRICS = ("psnr", "ssim", "mse", "mse_frame", "mae_frame")
#: the metrics of the paired comparisons (model minus baseline per window; ``lpips`` too when it is computed)
PAIRED_METRICS = ("psnr", "ssim")


def frame_metrics(pred: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
    """All metrics per frame, each ``(B, T)`` float64."""
    pred = pred.float().clamp(0, 1)
    target = target.float()
    return {
        "psnr": psnr(pred, target, data_range=1.0).clamp(max=PSNR_CAP_DB),
        "ssim": ssim(pred, target, data_range=1.0),
        "mse": mse_per_pixel(pred, target),
        "mse_frame": mse_per_frame_sum(pred, target),
        "mae_frame": mae_per_frame_sum(pred, target),
    }


def load_lpips(cfg: ExperimentConfig, device="cpu") -> LPIPS:
    """LPIPS from ``eval.lpips_dir``: the cache names of :meth:`LPIPS.pretrained` there, or one
    ``alexnet*.pth`` and one ``*lin*.pth`` / ``*alex*.pth`` heads file; without a directory, the cache
    (downloaded once when allowed by ``data.download``)."""
    d = cfg.eval.lpips_dir
    if d is None:
        return LPIPS.pretrained(download=cfg.data.download).to(device)
    root = Path(d).expanduser()
    from odevideo.metrics.lpips import ALEXNET_FILENAME, LIN_FILENAME

    if (root / ALEXNET_FILENAME).is_file() and (root / LIN_FILENAME).is_file():
        return LPIPS.pretrained(cache_dir=root, download=False).to(device)
    alex = sorted(root.glob("alexnet*.pth"))
    heads = sorted(p for p in root.glob("*.pth") if p not in alex and ("lin" in p.name or "lpips" in p.name))
    if len(alex) != 1 or len(heads) != 1:
        from odevideo.errors import DatasetError

        raise DatasetError(
            f"eval.lpips_dir={root} must hold the AlexNet features ({ALEXNET_FILENAME} or one alexnet*.pth) and the "
            f"LPIPS v0.1 alex heads ({LIN_FILENAME} or one *lin*.pth); found {[p.name for p in root.glob('*.pth')]}"
        )
    return LPIPS.from_files(alex[0], heads[0]).to(device)


def extrapolation_baselines(context: torch.Tensor, num_frames: int) -> dict[str, torch.Tensor]:
    """Trivial predictions ``(B, T, C, H, W)`` from the context frames ``(B, n, C, H, W)``."""
    b, n = context.shape[:2]
    shape = (b, num_frames, *context.shape[2:])
    return {
        "all_black": torch.zeros(shape, dtype=context.dtype, device=context.device),
        "copy_last_observed": context[:, -1:].expand(shape),
        "mean_of_observed": context.mean(1, keepdim=True).expand(shape),
    }


def interpolation_frames(num_frames: int, gap: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The interpolation section's frames of a ``num_frames`` clip: the observed ``0, gap, 2 gap, ...`` and the
    predicted ones, every frame strictly between two observations (none after the last observation)."""
    _check_gap(gap)
    obs = torch.arange(0, max(int(num_frames), 0), gap)
    last = int(obs[-1]) if obs.numel() else 0
    mid = torch.tensor([j for j in range(1, last) if j % gap], dtype=torch.long)
    return obs, mid


def _check_gap(gap) -> None:
    if isinstance(gap, bool) or not isinstance(gap, int) or gap < 2:
        raise InputError(f"eval.interp_gap={gap!r} must be a whole number >= 2 (2: observe every other frame)")


def interpolation_baselines(frames: torch.Tensor, gap: int, flow: bool | None = None) -> dict[str, torch.Tensor]:
    """The classical interpolators' predictions ``(B, M, C, H, W)`` of the frames :func:`interpolation_frames`
    predicts in clips ``frames`` ``(B, T, C, H, W)``: frame ``j`` from the observations ``p = gap * (j // gap)``
    and ``p + gap`` at ``tau = (j - p) / gap``. ``repeat_previous`` and ``linear_blend`` always; ``dis_flow``
    (one DIS flow estimate per pair of observations, both ways) when ``flow`` is true, or by default when OpenCV
    is installed and the frames have at least 8x8 pixels."""
    b, t = frames.shape[:2]
    _, mid = interpolation_frames(t, gap)
    mid = mid.to(frames.device)
    m = mid.numel()
    if m == 0:
        return {}
    prev = torch.div(mid, gap, rounding_mode="floor") * gap
    tau = ((mid - prev).to(frames.dtype) / gap).repeat(b)
    f0, f1 = frames[:, prev].flatten(0, 1), frames[:, prev + gap].flatten(0, 1)
    out = {"repeat_previous": repeat_previous(f0, f1, tau), "linear_blend": linear_blend(f0, f1, tau)}
    if flow is None:
        flow = has_opencv() and min(frames.shape[-2:]) >= 8
    if flow:
        pairs = (t - 1) // gap  # pairs of consecutive observations
        starts = torch.arange(pairs, device=frames.device) * gap
        f01, f10 = dis_flow(frames[:, starts].flatten(0, 1), frames[:, starts + gap].flatten(0, 1))
        # frame j of clip i uses pair j // gap of clip i
        idx = (torch.arange(b, device=frames.device)[:, None] * pairs + (prev // gap)[None]).flatten()
        out["dis_flow"] = flow_interpolate(f0, f1, tau, f01[idx].to(frames.dtype), f10[idx].to(frames.dtype))
    return {k: v.reshape(b, m, *frames.shape[2:]) for k, v in out.items()}


class _Accumulator:
    def __init__(self):
        self.parts: dict[str, dict[str, list[torch.Tensor]]] = {}

    def add(self, method: str, values: dict[str, torch.Tensor]) -> None:
        d = self.parts.setdefault(method, {})
        for k, v in values.items():
            d.setdefault(k, []).append(v.cpu())

    def get(self, method: str) -> dict[str, torch.Tensor]:
        return {k: torch.cat(v) for k, v in self.parts[method].items()}

    def methods(self) -> list[str]:
        return list(self.parts)


def _summary(values: dict[str, torch.Tensor], cols: slice | None = None) -> dict[str, float]:
    out = {k: float((v[:, cols] if cols is not None else v).nanmean()) for k, v in values.items()}
    # The Vid-ODE authors' PSNR: from the MSE averaged over the whole set (reported beside, never instead
    # of, the per-frame mean ``psnr``; it is higher whenever the per-frame errors vary).
    out["psnr_of_mean_mse"] = float(psnr_from_mean_mse(out["mse"]))
    return out


def _paired(acc: _Accumulator, cols: slice | None) -> dict:
    """``{baseline: {metric: {"mean", "se", "n"}}}``: the model minus the baseline per window (clip)."""
    model = acc.get("model")
    out = {}
    for m in acc.methods():
        if m == "model":
            continue
        base = acc.get(m)
        out[m] = {}
        for k in (*PAIRED_METRICS, "lpips"):
            if k not in model:
                continue
            a, b = (v[k] if cols is None else v[k][:, cols] for v in (model, base))
            out[m][k] = paired_difference(a.nanmean(1), b.nanmean(1)).as_dict()
    return out


@torch.no_grad()
def evaluate(
    model: nn.Module,
    cfg: ExperimentConfig,
    split: str | None = None,
    num_clips: int | None = None,
    batch_size: int | None = None,
    interpolation: bool | None = None,
    device: str | torch.device = "cpu",
    dataset=None,
    protocol: Protocol | None = None,
    interp_gap: int | None = None,
) -> dict:
    """Evaluate ``model`` with the posterior mean / deterministic path. Returns a JSON-able dict.

    ``dataset``: clips to evaluate on instead of the config's ``split`` (anything with ``len`` and
    ``dataset[i]`` -> a ``(T, C, H, W)`` clip, e.g. :func:`~odevideo.evaluation.protocols.load_test_clips`);
    without ``num_clips`` all of its clips are used. ``protocol``: a named test protocol
    (:mod:`odevideo.evaluation.protocols`): checks that the model fits it and adds ``protocol`` and
    ``protocol_scores`` (its metrics on the target frames, in its units) to the result. ``interp_gap``: the
    interpolation section's gap (``None``: ``cfg.eval.interp_gap``).
    """
    bs = batch_size or cfg.eval.batch_size
    interpolation = cfg.eval.interpolation if interpolation is None else interpolation
    gap = cfg.eval.interp_gap if interp_gap is None else interp_gap
    _check_gap(gap)  # before any work
    for key, value in (("num_clips", num_clips), ("batch_size", batch_size)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise InputError(f"{key}={value!r} must be a whole number >= 1 (or None: cfg.eval.{key})")
    if isinstance(bs, bool) or not isinstance(bs, int) or bs < 1:
        raise InputError(f"eval.batch_size={bs!r} must be a whole number >= 1")
    if protocol is not None:
        protocol.check_model(cfg)
    if dataset is None:
        split = split or cfg.eval.split
        dataset = build_dataset(cfg, split)
        n = min(num_clips or cfg.eval.num_clips, len(dataset))
    else:
        split = split or "file"
        n = min(num_clips or len(dataset), len(dataset))
    if n < 1:
        raise InputError(f"nothing to evaluate: {n} clips of the {split} split (it has {len(dataset)}, "
                         f"eval.num_clips={cfg.eval.num_clips}); ask for at least one clip")
    n_obs = cfg.task.num_observed
    # Models that only extrapolate (ConvGRU) are asked for the future frames only and skip interpolation.
    future_only = cfg.task.formulation == "extrapolation" or not getattr(model, "interpolates", True)
    interpolation = interpolation and getattr(model, "interpolates", True)
    lp = load_lpips(cfg, device) if cfg.eval.lpips else None
    model.eval()
    ext, interp, proto = _Accumulator(), _Accumulator(), _Accumulator()
    num_frames = None
    autocast = autocast_context(cfg, device)

    def scores(pred, target, first=0):
        m = frame_metrics(pred, target)
        if lp is not None:
            m["lpips"] = lpips_per_frame(lp, pred.float().clamp(0, 1), target.float())
        if first:  # frames that were not asked for: NaN, left out of the section means
            m = {
                k: torch.cat([torch.full((v.shape[0], first), float("nan"), dtype=v.dtype), v], 1)
                for k, v in m.items()
            }
        return m

    for start in range(0, n, bs):
        batch = batch_from_indices(dataset, range(start, min(start + bs, n)), cfg.data.frame_dt).to(device)
        t = num_frames = batch.num_frames
        if protocol is not None:
            protocol.check_clips(t)
        ctx = batch.frames[:, :n_obs]
        first = n_obs if future_only else 0
        with autocast:
            pred = model(ctx, batch.times[:, :n_obs], None, batch.times[:, first:]).frames
        ext.add("model", scores(pred, batch.frames[:, first:], first))
        baselines = extrapolation_baselines(ctx, t)
        for name, base in baselines.items():
            ext.add(name, scores(base[:, first:], batch.frames[:, first:], first))
        if protocol is not None:  # the protocol's metrics on the target frames n+1..T
            target = batch.frames[:, n_obs:]
            proto.add("model", protocol.frame_scores(pred[:, n_obs - first:], target, lp))
            for name, base in baselines.items():
                proto.add(name, protocol.frame_scores(base[:, n_obs:], target, lp))
        if interpolation and t > gap:
            obs, mid = (i.to(batch.frames.device) for i in interpolation_frames(t, gap))
            with autocast:
                pred_mid = model(batch.frames[:, obs], batch.times[:, obs], None, batch.times[:, mid]).frames
            target = batch.frames[:, mid]
            interp.add("model", scores(pred_mid, target))
            for name, base in interpolation_baselines(batch.frames, gap).items():
                interp.add(name, scores(base, target))
    model.train()

    t = num_frames if num_frames is not None else cfg.data.num_frames
    result: dict = {
        "split": split, "num_clips": n, "num_observed": n_obs, "num_frames": t,
        "metric_conventions": "data range [0,1]; psnr/ssim per frame then averaged; mse per pixel; "
        "mse_frame/mae_frame summed over a frame's pixels then averaged (OpenSTL)",
        "sections": {}, "per_timestep": {},
    }
    recon = slice(0, n_obs)
    extra = slice(n_obs, t)
    if not future_only:
        result["sections"]["reconstruction"] = {m: _summary(ext.get(m), recon) for m in ext.methods()}
    if n_obs < t:
        result["sections"]["extrapolation"] = {m: _summary(ext.get(m), extra) for m in ext.methods()}
    result["per_timestep"] = {
        m: {k: ext.get(m)[k].mean(0).tolist() for k in ("psnr", "ssim", "mse")} for m in ext.methods()
    }
    if lp is not None:
        result["metric_conventions"] += "; lpips: AlexNet v0.1 heads, frames mapped to [-1,1]"
    if interp.parts:
        result["sections"]["interpolation"] = {m: _summary(interp.get(m)) for m in interp.methods()}
        result["interp_gap"] = gap
    paired = {}
    if n_obs < t:
        paired["extrapolation"] = _paired(ext, extra)
    if interp.parts:
        paired["interpolation"] = _paired(interp, None)
    result["paired"] = paired
    if protocol is not None:
        result["protocol"] = protocol.describe()
        result["protocol_scores"] = {
            m: {k: float(v.nanmean()) for k, v in proto.get(m).items()} for m in proto.methods()
        }
    if n_obs < t:
        model_curve = torch.tensor(result["per_timestep"]["model"]["psnr"][n_obs:])
        base_best = torch.stack(
            [torch.tensor(result["per_timestep"][m]["psnr"][n_obs:]) for m in ext.methods() if m != "model"]
        ).max(0).values
        result["model_beats_all_baselines_at_every_extrapolated_frame"] = bool((model_curve > base_best).all())
    return result


def format_table(result: dict) -> str:
    """Markdown table of the sections of :func:`evaluate`'s result."""
    has_lpips = any("lpips" in v for methods in result["sections"].values() for v in methods.values())
    head = "| section | method | PSNR (dB) | SSIM | MSE/pixel | MSE/frame | MAE/frame |"
    head += " LPIPS |" if has_lpips else ""
    head += " PSNR of mean MSE (dB) |"
    lines = [head, "|---" * (head.count("|") - 1) + "|"]
    for sec, methods in result["sections"].items():
        for m, v in methods.items():
            row = (
                f"| {sec} | {m} | {v['psnr']:.2f} | {v['ssim']:.4f} | {v['mse']:.5f} "
                f"| {v['mse_frame']:.2f} | {v['mae_frame']:.2f} |"
            )
            if has_lpips:
                row += f" {v.get('lpips', float('nan')):.4f} |"
            lines.append(row + f" {v['psnr_of_mean_mse']:.2f} |")
    return "\n".join(lines)


def format_paired_table(result: dict) -> str:
    """Markdown table of :func:`evaluate`'s ``paired`` comparisons: model minus baseline, mean +- standard error
    over the windows (empty string without any)."""
    rows = [(sec, base, v) for sec, bases in result.get("paired", {}).items() for base, v in bases.items()]
    if not rows:
        return ""
    metrics = [k for k in (*PAIRED_METRICS, "lpips") if any(k in v for _, _, v in rows)]
    names = {"psnr": "PSNR (dB)", "ssim": "SSIM", "lpips": "LPIPS"}
    head = "| section | model minus | " + " | ".join(names[k] for k in metrics) + " | windows |"
    lines = [head, "|---" * (head.count("|") - 1) + "|"]

    def cell(d):
        if d is None or d["mean"] is None:
            return "-"
        return f"{d['mean']:+.4f}" + ("" if d["se"] is None else f" +- {d['se']:.4f}")

    for sec, base, v in rows:
        n = next((d["n"] for d in v.values()), 0)
        lines.append(f"| {sec} | {base} | " + " | ".join(cell(v.get(k)) for k in metrics) + f" | {n} |")
    return "\n".join(lines)


def save_results(result: dict, out_dir: str | Path) -> dict[str, Path]:
    """Write ``eval.json``, ``eval.md`` and the per-time-step curves ``eval_curves.png`` (atomically)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "eval.json", "md": out / "eval.md", "png": out / "eval_curves.png"}
    atomic_write_text(paths["json"], json.dumps(result, indent=2))
    md = format_table(result)
    paired = format_paired_table(result)
    if paired:
        md += "\n\nModel minus baseline per window (mean +- standard error over the windows):\n\n" + paired
    if "protocol" in result:
        from odevideo.evaluation.protocols import format_protocol_table

        md += "\n\n" + format_protocol_table(result)
    atomic_write_text(paths["md"], md + "\n")
    plot_curves(result, paths["png"])
    return paths


def plot_curves(result: dict, path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:  # pragma: no cover - depends on the install
        from odevideo.errors import OdevideoError

        raise OdevideoError("plotting needs matplotlib: pip install 'odevideo[plot]'") from e
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    frames = None
    for m, curves in result["per_timestep"].items():
        frames = list(range(1, len(curves["psnr"]) + 1))
        style = "-" if m == "model" else "--"
        axes[0].plot(frames, curves["psnr"], style, marker="o", ms=3, label=m)
        axes[1].plot(frames, curves["ssim"], style, marker="o", ms=3, label=m)
    # Zero-error frames (copying the last observed frame onto itself) sit at the cap: keep them off-scale.
    finite = [v for c in result["per_timestep"].values() for v in c["psnr"] if v < PSNR_CAP_DB]
    if finite:
        axes[0].set_ylim(min(finite) - 1.0, max(finite) + 1.0)
    for ax, name in zip(axes, ("PSNR (dB)", "SSIM")):
        ax.axvline(result["num_observed"] + 0.5, color="gray", lw=0.8)
        ax.set_xlabel("frame")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        if frames:
            ax.set_xticks(frames[::2])
    axes[0].legend(fontsize=8)
    fig.suptitle(f"{result['split']} split, {result['num_clips']} clips: observed frames 1-{result['num_observed']}")
    fig.tight_layout()
    try:
        atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=110), suffix=".tmp.png")
    finally:
        plt.close(fig)
