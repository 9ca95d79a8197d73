"""Loading trained models and asking them for frames at arbitrary times."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from odevideo._atomic import atomic_write
from odevideo.configio import from_dict
from odevideo.errors import CheckpointError, InputError
from odevideo.methods import get_method
from odevideo.pretrained import build_checked
from odevideo.training.checkpoint import checkpoint_exists, load_checkpoint
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
        raise InputError(
            f"cannot parse times {spec!r}; use 'start:stop:step' (step > 0, stop >= start) or '0,0.1,0.25'"
        ) from None


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
        atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=110), suffix=".tmp.png")
    finally:
        plt.close(fig)
    return info
