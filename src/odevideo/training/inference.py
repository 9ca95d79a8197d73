"""Loading trained models and asking them for frames at arbitrary times."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from odevideo._atomic import atomic_write
from odevideo.errors import CheckpointError, InputError
from odevideo.training.checkpoint import load_checkpoint
from odevideo.training.config import ExperimentConfig
from odevideo.training.configio import from_dict
from odevideo.training.factory import build_model


def resolve_checkpoint(path: str | Path, which: str = "best") -> Path:
    """Accept a run directory, a checkpoints directory, or a checkpoint path (with or without suffix)."""
    p = Path(path)
    candidates = []
    if p.is_dir():
        candidates = [p / "checkpoints" / which, p / which]
    else:
        candidates = [p.with_suffix("") if p.suffix in (".json", ".safetensors") else p]
    for c in candidates:
        if c.with_name(c.name + ".json").exists():
            return c
    raise CheckpointError(
        f"no checkpoint found at {path} (looked for {', '.join(str(c) + '.json' for c in candidates)}); "
        f"pass a run directory from `odevideo train` or a checkpoint path"
    )


def load_model(path: str | Path, which: str = "best", device: str = "cpu") -> tuple[nn.Module, ExperimentConfig]:
    """Model (eval mode) and its resolved config from a checkpoint or run directory."""
    ck = load_checkpoint(resolve_checkpoint(path, which))
    cfg = from_dict(ExperimentConfig, ck.config)
    model = build_model(cfg)
    try:
        model.load_state_dict(ck.model_state)
    except RuntimeError as e:
        raise CheckpointError(f"checkpoint {path} does not match the model its config describes: {e}") from e
    return model.to(device).eval(), cfg


def parse_times(spec: str) -> torch.Tensor:
    """``"a:b:step"`` (b inclusive, up to rounding) or a comma list ``"0,0.05,1.3"`` -> 1-D float tensor."""
    spec = spec.strip()
    try:
        if ":" in spec:
            a, b, s = (float(x) for x in spec.split(":"))
            if s <= 0:
                raise ValueError
            n = int(round((b - a) / s)) + 1
            if n < 1:
                raise ValueError
            return a + s * torch.arange(n, dtype=torch.float64)
        return torch.tensor([float(x) for x in spec.split(",") if x.strip()], dtype=torch.float64)
    except ValueError:
        raise InputError(f"cannot parse times {spec!r}; use 'start:stop:step' (step > 0, stop >= start) or '0,0.1,0.25'") from None


@torch.no_grad()
def predict_clip(model: nn.Module, frames: torch.Tensor, times: torch.Tensor, query_times: torch.Tensor) -> torch.Tensor:
    """Frames ``(T, C, H, W)`` observed at ``times`` ``(T,)`` -> frames ``(Q, C, H, W)`` at ``query_times`` ``(Q,)``."""
    model.eval()
    pred = model(frames.unsqueeze(0).float(), times.unsqueeze(0).float(), None, query_times.unsqueeze(0).float())
    return pred.frames[0].float().clamp(0, 1)


@torch.no_grad()
def latent_trajectories(model: nn.Module, frames: torch.Tensor, times: torch.Tensor, query_times: torch.Tensor) -> torch.Tensor:
    """Latent trajectories ``(B, Q, D)`` for clips ``(B, T, C, H, W)`` at ``query_times`` ``(Q,)``."""
    model.eval()
    b = frames.shape[0]
    return model(frames.float(), times.float(), None, query_times.float().unsqueeze(0).expand(b, -1)).latents


def plot_latent_trajectories(latents: torch.Tensor, query_times: torch.Tensor, path: str | Path, num_observed_time: float | None = None) -> dict:
    """Project latents ``(B, Q, D)`` to 2-D with PCA and draw each clip's path coloured by time.

    Returns the explained variance ratio of the two components.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    b, q, d = latents.shape
    x = latents.reshape(b * q, d).double()
    x = x - x.mean(0)
    _, s, v = torch.linalg.svd(x, full_matrices=False)
    proj = (x @ v[:2].T).view(b, q, 2)
    ratio = (s[:2] ** 2 / (s**2).sum()).tolist()
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    tq = query_times.double().cpu().numpy()
    for i in range(b):
        ax.plot(proj[i, :, 0], proj[i, :, 1], color="0.8", lw=0.7, zorder=1)
        sc = ax.scatter(proj[i, :, 0], proj[i, :, 1], c=tq, cmap="viridis", s=10, zorder=2)
    fig.colorbar(sc, ax=ax, label="time")
    ax.set_xlabel(f"PC1 ({ratio[0]:.0%} var.)")
    ax.set_ylabel(f"PC2 ({ratio[1]:.0%} var.)")
    title = "latent trajectories (PCA)"
    if num_observed_time is not None:
        title += f"; observed until t={num_observed_time:g}"
    ax.set_title(title)
    fig.tight_layout()
    try:
        atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=110), suffix=".tmp.png")
    finally:
        plt.close(fig)
    return {"explained_variance_ratio": ratio}
