"""Loading trained models and asking them for frames at arbitrary times."""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import nn

from odevideo._atomic import atomic_write
from odevideo.checkpoints import checkpoint_exists, load_checkpoint
from odevideo.configio import from_dict
from odevideo.errors import CheckpointError, InputError
from odevideo.methods import get_method
from odevideo.pretrained import build_checked
from odevideo.training.config import ExperimentConfig
from odevideo.training.legacy import migrate_config


def resolve_checkpoint(path: str | Path, which: str = "best") -> Path:
    """Accept a run directory, a checkpoints directory, or a checkpoint path (with or without suffix)."""
    p = Path(path)
    candidates = []
    if p.is_dir():
        candidates = [p / "checkpoints" / which, p / which]
    else:
        candidates = [p.with_suffix("") if p.suffix in (".json", ".safetensors") else p]
    for c in candidates:
        if checkpoint_exists(c):
            return c
    raise CheckpointError(
        f"no checkpoint found at {path} (looked for {', '.join(str(c) + '.safetensors' for c in candidates)}); "
        f"pass a run directory from `odevideo train` or a checkpoint path"
    )


def load_run(path: str | Path, which: str = "best", device: str = "cpu") -> tuple[nn.Module, ExperimentConfig]:
    """Model (eval mode) and the run's resolved config from a training checkpoint (``which``: best or last) or run
    directory. For the model alone, :func:`odevideo.load_model` reads the run's saved model folder."""
    ck = load_checkpoint(resolve_checkpoint(path, which))
    if not isinstance(ck.config, dict) or not ck.config:
        raise CheckpointError(f"checkpoint {ck.path} holds no config, so its model cannot be rebuilt; it is not a "
                              f"training checkpoint of odevideo")
    cfg = from_dict(ExperimentConfig, migrate_config(ck.config))
    method = get_method(cfg.method)
    model = build_checked(lambda: method.build(cfg), {k: tuple(v.shape) for k, v in ck.model_state.items()},
                          ck.path, "the checkpoint is damaged or edited: use another one")
    model.load_state_dict(ck.model_state)
    return model.to(device).eval(), cfg


#: The most times one call may ask for (``parse_times``, ``odevideo predict`` / ``generate``): 100,000 frames of
#: 64x64 RGB are 4.9 GB of float32.
MAX_QUERY_TIMES = 100_000
#: The largest ``|t|`` accepted (time units of the clips: frame_index * frame_dt). Far beyond any clip; much further
#: and float32 times lose their fractions, and the ODE solvers take a step count proportional to ``|t|``.
MAX_ABS_TIME = 1e4


def parse_times(
    spec: str, *, name: str = "times", max_count: int = MAX_QUERY_TIMES, max_abs: float = MAX_ABS_TIME,
    increasing: bool = False,
) -> torch.Tensor:
    """``"a:b:step"`` (b inclusive, up to rounding) or a comma list ``"0,0.05,1.3"`` -> 1-D float64 tensor.

    Refused with :class:`~odevideo.errors.InputError` (the message starts with ``name``), before anything is
    allocated: text that is not numbers, NaN or infinite times, ``|t| > max_abs``, a range with ``step <= 0`` or
    ``stop < start``, more than ``max_count`` times, no time at all, and with ``increasing`` a list that is not
    strictly increasing.
    """
    text = str(spec).strip()
    usage = "use 'start:stop:step' (step > 0, stop >= start) or a list such as '0,0.1,0.25'"

    def fail(problem: str) -> InputError:
        return InputError(f"{name} {text!r}: {problem}")

    def number(x: str) -> float:
        try:
            v = float(x)
        except ValueError:
            raise fail(f"cannot parse times: {x.strip()!r} is not a number; {usage}") from None
        if not math.isfinite(v):
            raise fail(f"cannot parse times: {x.strip()} is not a finite number; ask for finite times")
        if abs(v) > max_abs:
            raise fail(f"the time {v:g} is beyond +-{max_abs:g} (time units of the clips: frame index * frame_dt); "
                       f"ask for times closer to the clip")
        return v

    if ":" in text:
        parts = text.split(":")
        if len(parts) != 3:
            raise fail(f"cannot parse times: a range has three parts; {usage}")
        a, b = number(parts[0]), number(parts[1])
        try:
            s = float(parts[2])
        except ValueError:
            raise fail(f"cannot parse times: {parts[2].strip()!r} is not a number; {usage}") from None
        if not (math.isfinite(s) and s > 0):
            raise fail(f"cannot parse times: the step {parts[2].strip()} must be a finite number > 0; {usage}")
        if b < a:
            raise fail(f"cannot parse times: stop {b:g} is before start {a:g}; {usage}")
        count = (b - a) / s + 1  # finite: |a|, |b| <= max_abs and s > 0
        if count > max_count + 0.5:
            raise fail(f"asks for {count:.3g} times, more than the limit of {max_count} per call; use a larger step "
                       f"or a shorter range")
        n = int(round(count - 1)) + 1
        return a + s * torch.arange(n, dtype=torch.float64)
    items = [x for x in text.split(",") if x.strip()]
    if not items:
        raise fail(f"no times given; {usage}")
    if len(items) > max_count:
        raise fail(f"gives {len(items)} times, more than the limit of {max_count} per call; ask for fewer")
    times = torch.tensor([number(x) for x in items], dtype=torch.float64)
    if increasing and times.numel() > 1 and not bool((times[1:] > times[:-1]).all()):
        raise fail("times must be strictly increasing; sort them and drop repeats")
    return times


@torch.no_grad()
def predict_clip(
    model: nn.Module, frames: torch.Tensor, times: torch.Tensor, query_times: torch.Tensor
) -> torch.Tensor:
    """Frames ``(T, C, H, W)`` observed at ``times`` ``(T,)`` -> frames ``(Q, C, H, W)`` at ``query_times`` ``(Q,)``."""
    model.eval()
    pred = model(frames.unsqueeze(0).float(), times.unsqueeze(0).float(), None, query_times.unsqueeze(0).float())
    return pred.frames[0].float().clamp(0, 1)


@torch.no_grad()
def latent_trajectories(
    model: nn.Module, frames: torch.Tensor, times: torch.Tensor, query_times: torch.Tensor
) -> torch.Tensor:
    """Latent trajectories ``(B, Q, D)`` for clips ``(B, T, C, H, W)`` at ``query_times`` ``(Q,)``."""
    model.eval()
    b = frames.shape[0]
    return model(frames.float(), times.float(), None, query_times.float().unsqueeze(0).expand(b, -1)).latents


def project_2d(x: torch.Tensor, method: str = "pca", seed: int = 0) -> tuple[torch.Tensor, dict]:
    """Project points ``(N, D)`` to ``(N, 2)``: ``pca`` (built in), ``tsne`` (scikit-learn) or ``umap`` (umap-learn).

    Returns the projection and a dict of diagnostics (PCA: ``explained_variance_ratio``).
    """
    x = x.double()
    if method == "pca":
        xc = x - x.mean(0)
        _, s, v = torch.linalg.svd(xc, full_matrices=False)
        return xc @ v[:2].T, {"explained_variance_ratio": (s[:2] ** 2 / (s**2).sum()).tolist()}
    if method == "tsne":
        try:
            from sklearn.manifold import TSNE
        except ImportError as e:
            raise InputError("t-SNE needs scikit-learn: pip install scikit-learn (or use --method pca)") from e
        perplexity = float(min(30.0, max(2.0, (x.shape[0] - 1) / 3)))
        y = TSNE(n_components=2, perplexity=perplexity, random_state=seed, init="pca").fit_transform(x.cpu().numpy())
        return torch.from_numpy(y), {"perplexity": perplexity}
    if method == "umap":
        try:
            import umap
        except ImportError as e:
            raise InputError("UMAP needs umap-learn: pip install umap-learn (or use --method pca)") from e
        y = umap.UMAP(n_components=2, random_state=seed).fit_transform(x.cpu().numpy())
        return torch.from_numpy(y), {}
    raise InputError(f"unknown projection {method!r}; use 'pca', 'tsne' or 'umap'")


def figure_format(path: str | Path, name: str = "path") -> str:
    """The matplotlib format that the suffix of ``path`` names (``png``, ``pdf``, ``svg``, ...); InputError for a
    suffix matplotlib cannot write (the file would otherwise be a PNG under another name)."""
    from matplotlib.backend_bases import FigureCanvasBase

    formats = sorted(set(FigureCanvasBase.get_supported_filetypes()) - {"pgf"})  # pgf needs a LaTeX install
    fmt = Path(path).suffix.lower().lstrip(".")
    if fmt not in formats:
        what = f"the suffix '.{fmt}' is not an image format matplotlib writes" if fmt else "no suffix"
        raise InputError(f"{name} {path}: {what}; end the name in one of "
                         f"{', '.join('.' + f for f in formats)}, e.g. .png")
    return fmt


def plot_latent_trajectories(
    latents: torch.Tensor, query_times: torch.Tensor, path: str | Path, num_observed_time: float | None = None,
    method: str = "pca",
) -> dict:
    """Project latents ``(B, Q, D)`` to 2-D (see :func:`project_2d`) and draw each clip's path coloured by time.

    Returns the projection's diagnostics (for PCA the explained variance ratio of the two components).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fmt = figure_format(path)
    b, q, d = latents.shape
    flat, info = project_2d(latents.reshape(b * q, d), method)
    proj = flat.view(b, q, 2)
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    tq = query_times.double().cpu().numpy()
    for i in range(b):
        ax.plot(proj[i, :, 0], proj[i, :, 1], color="0.8", lw=0.7, zorder=1)
        sc = ax.scatter(proj[i, :, 0], proj[i, :, 1], c=tq, cmap="viridis", s=10, zorder=2)
    fig.colorbar(sc, ax=ax, label="time")
    if method == "pca":
        ratio = info["explained_variance_ratio"]
        ax.set_xlabel(f"PC1 ({ratio[0]:.0%} var.)")
        ax.set_ylabel(f"PC2 ({ratio[1]:.0%} var.)")
    title = f"latent trajectories ({method.upper() if method == 'pca' else method})"
    if num_observed_time is not None:
        title += f"; observed until t={num_observed_time:g}"
    ax.set_title(title)
    fig.tight_layout()
    try:
        atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=110, format=fmt), suffix=f".tmp.{fmt}")
    finally:
        plt.close(fig)
    return info
