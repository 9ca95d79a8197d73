"""Digit identity over time: do generated Moving MNIST clips show *one* digit that moves, or a digit that turns
into others?

Frame FID scores each frame alone, so a clip whose '4' morphs into a '9' halfway scores as well as a clip of a
moving '4'. Here a small translation-invariant digit classifier (:class:`DigitClassifier`, trained on real
Moving MNIST frames with :func:`train_digit_classifier`) labels every frame, and :func:`digit_consistency`
reports, over clips ``(B, T, C, H, W)`` in ``[0, 1]``:

* ``confidence``: mean over frames of the top class probability (how digit-like single frames look);
* ``consistency``: mean over clips of the fraction of frames whose top class is the clip's most frequent one
  (1 = one identity all along; ``1/T`` to ``1``);
* ``switch_rate``: mean over clips of the fraction of consecutive frame pairs whose top class differs;
* ``classes_covered`` and ``class_entropy`` (nats, at most ``ln 10``): how many digit classes the clips' majority
  labels cover, and the entropy of their histogram (diversity across clips);
* ``centroid_speed`` and ``centroid_travel`` (:func:`centroid_motion`, pixels, no classifier): how far the
  intensity-weighted centre of each frame moves per frame, and at most from its first-frame position, so that
  "one identity" is not bought with a still clip.

The same classifier scores real clips, which calibrates the numbers (real 1-digit clips: consistency near 1,
up to the classifier's own errors). The classifier's held-out accuracy belongs next to any reported value.
This is our diagnostic for the GAN experiments, not a published metric.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from odevideo.errors import InputError

__all__ = ["DigitClassifier", "train_digit_classifier", "classifier_accuracy", "digit_consistency",
           "centroid_motion"]


class DigitClassifier(nn.Module):
    """``(N, 1, H, W)`` frames in ``[0, 1]`` -> ``(N, 10)`` logits; any ``H, W >= 8``.

    Four 3x3 conv + ReLU layers (two of stride 2), widths ``w, 2w, 4w, 4w``, a global max-pool (a digit
    anywhere in the frame gives the same features) and a linear layer.
    """

    def __init__(self, width: int = 16, num_classes: int = 10):
        super().__init__()
        if isinstance(width, bool) or not isinstance(width, int) or width < 1:
            raise InputError(f"DigitClassifier: width must be a positive integer, got {width!r}.")
        w = width
        self.features = nn.Sequential(
            nn.Conv2d(1, w, 3, 1, 1), nn.ReLU(),
            nn.Conv2d(w, 2 * w, 3, 2, 1), nn.ReLU(),
            nn.Conv2d(2 * w, 4 * w, 3, 2, 1), nn.ReLU(),
            nn.Conv2d(4 * w, 4 * w, 3, 1, 1), nn.ReLU(),
        )
        self.head = nn.Linear(4 * w, num_classes)
        self.num_classes = num_classes

    def forward(self, frames: Tensor) -> Tensor:
        return self.head(self.embed(frames))

    def embed(self, frames: Tensor) -> Tensor:
        """``(N, 1, H, W)`` frames in ``[0, 1]`` -> ``(N, 4 w)``: the max-pooled features the head classifies.
        Their Frechet distance between generated and real frames (``digit_fd``) is a frame FID in the feature
        space of a Moving MNIST digit classifier: it sees the digits' shapes, cheaply, but is comparable only
        between scores made with the same classifier (never with published FIDs)."""
        _check_frames(frames, "DigitClassifier")
        return self.features(frames).amax(dim=(-2, -1))


def _check_frames(frames: object, owner: str) -> Tensor:
    if not isinstance(frames, Tensor) or not frames.is_floating_point() or frames.dim() != 4 or frames.shape[1] != 1 \
            or min(frames.shape[-2:]) < 8:
        shape = tuple(frames.shape) if isinstance(frames, Tensor) else type(frames).__name__
        raise InputError(f"{owner}: frames must be a floating (N, 1, H, W) tensor with H, W >= 8, got {shape}.")
    return frames


def _check_labels(frames: Tensor, labels: object, owner: str) -> Tensor:
    if not isinstance(labels, Tensor) or labels.dim() != 1 or labels.shape[0] != frames.shape[0] \
            or labels.is_floating_point():
        raise InputError(f"{owner}: labels must be an integer (N,) tensor with one label per frame "
                         f"({frames.shape[0]} frames), got {getattr(labels, 'shape', type(labels).__name__)}.")
    if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) > 9):
        raise InputError(f"{owner}: labels must be digit classes 0-9, got values in "
                         f"[{int(labels.min())}, {int(labels.max())}].")
    return labels


def train_digit_classifier(
    frames: Tensor,
    labels: Tensor,
    *,
    steps: int = 1500,
    batch_size: int = 128,
    lr: float = 2e-3,
    width: int = 16,
    seed: int = 0,
) -> DigitClassifier:
    """A :class:`DigitClassifier` trained with Adam (cross-entropy, cosine-decayed ``lr``) on ``frames``
    ``(N, 1, H, W)`` in ``[0, 1]`` with digit ``labels`` ``(N,)``; batches drawn with ``seed`` (deterministic
    on the CPU). Returned in eval mode."""
    frames = _check_frames(frames, "train_digit_classifier")
    labels = _check_labels(frames, labels, "train_digit_classifier")
    if frames.shape[0] < 2:
        raise InputError(f"train_digit_classifier needs at least 2 labelled frames, got {frames.shape[0]}.")
    for name, value in (("steps", steps), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InputError(f"train_digit_classifier: {name} must be a positive integer, got {value!r}.")
    g = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = DigitClassifier(width)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    model.train()
    for _ in range(steps):
        idx = torch.randint(0, frames.shape[0], (min(batch_size, frames.shape[0]),), generator=g)
        loss = F.cross_entropy(model(frames[idx].float()), labels[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    return model.eval()


@torch.no_grad()
def _predict(classifier: nn.Module, frames: Tensor, batch_size: int) -> Tensor:
    """Class probabilities ``(N, K)`` in float64."""
    out = []
    for i in range(0, frames.shape[0], batch_size):
        out.append(torch.softmax(classifier(frames[i:i + batch_size].float()).double(), dim=-1))
    return torch.cat(out)  # callers pass at least one frame


def classifier_accuracy(classifier: nn.Module, frames: Tensor, labels: Tensor, batch_size: int = 256) -> float:
    """Top-1 accuracy of ``classifier`` on ``frames`` ``(N, 1, H, W)`` with ``labels`` ``(N,)``."""
    frames = _check_frames(frames, "classifier_accuracy")
    labels = _check_labels(frames, labels, "classifier_accuracy")
    if frames.shape[0] == 0:
        raise InputError("classifier_accuracy needs at least one frame.")
    probs = _predict(classifier, frames, batch_size)
    return float((probs.argmax(-1) == labels.to(probs.device)).double().mean())


def digit_consistency(videos: Tensor, classifier: nn.Module, batch_size: int = 256) -> dict:
    """Identity statistics of clips ``videos`` ``(B, T, 1, H, W)`` in ``[0, 1]`` (see the module docstring).

    Returns floats ``confidence``, ``consistency``, ``switch_rate`` (``nan`` for ``T = 1``), ``class_entropy``,
    ``centroid_speed`` and ``centroid_travel`` (:func:`centroid_motion`), the int ``classes_covered``, ``clips``
    and ``frames``, and ``majority_histogram`` (10 counts). Ties for the most frequent class go to the lowest class
    index.
    """
    if not isinstance(videos, Tensor) or not videos.is_floating_point() or videos.dim() != 5 or videos.shape[2] != 1 \
            or videos.shape[0] == 0 or videos.shape[1] == 0:
        shape = tuple(videos.shape) if isinstance(videos, Tensor) else type(videos).__name__
        raise InputError(f"digit_consistency: videos must be a floating (B, T, 1, H, W) tensor of one-channel clips "
                         f"with B, T >= 1, got {shape}.")
    lo, hi = float(videos.min()), float(videos.max())
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo < -1e-3 or hi > 1 + 1e-3:
        raise InputError(f"digit_consistency: videos must be finite and in [0, 1] (map [-1, 1] GAN outputs first), "
                         f"got values in [{lo:.3g}, {hi:.3g}].")
    b, t = videos.shape[:2]
    probs = _predict(classifier, _check_frames(videos.reshape(b * t, *videos.shape[2:]), "digit_consistency"),
                     batch_size)
    k = probs.shape[-1]
    top = probs.argmax(-1).view(b, t).cpu()
    counts = F.one_hot(top, k).sum(1)  # (B, K)
    majority = counts.argmax(-1)  # first maximum: lowest class on ties
    consistency = counts.max(-1).values.double() / t
    switch = (top[:, 1:] != top[:, :-1]).double().mean(1) if t > 1 else torch.full((b,), float("nan"))
    hist = np.bincount(majority.numpy(), minlength=k)
    p = hist / hist.sum()
    entropy = float(-(p[p > 0] * np.log(p[p > 0])).sum())
    return {
        **centroid_motion(videos),
        "confidence": float(probs.max(-1).values.mean()),
        "consistency": float(consistency.mean()),
        "switch_rate": float(switch.mean()),
        "classes_covered": int((hist > 0).sum()),
        "class_entropy": entropy,
        "majority_histogram": hist.tolist(),
        "clips": int(b),
        "frames": int(t),
    }


def centroid_motion(videos: Tensor, eps: float = 1e-6) -> dict:
    """Motion of the intensity-weighted centre ``(x, y)`` of each frame of ``videos`` ``(B, T, C, H, W)`` in
    ``[0, 1]`` (channels summed), in pixels: ``centroid_speed`` = mean over clips and consecutive frame pairs of
    the centre's displacement (px / frame; ``nan`` for ``T = 1``), ``centroid_travel`` = mean over clips of the
    largest distance of the centre from its first-frame position (px). A frame with no intensity (below ``eps``
    in total) has its centre in the middle of the frame. For one object on a black background this is the
    object's motion; a still clip gives 0 for both.
    """
    if not isinstance(videos, Tensor) or videos.dim() != 5 or not videos.is_floating_point():
        raise InputError(f"centroid_motion: videos must be a floating (B, T, C, H, W) tensor, got "
                         f"{tuple(videos.shape) if isinstance(videos, Tensor) else type(videos).__name__}.")
    b, t, _, h, w = videos.shape
    mass = videos.double().sum(2)  # (B, T, H, W)
    total = mass.sum((-2, -1))
    ys = torch.arange(h, dtype=torch.float64, device=videos.device)
    xs = torch.arange(w, dtype=torch.float64, device=videos.device)
    cx = (mass.sum(-2) * xs).sum(-1) / total.clamp_min(eps)
    cy = (mass.sum(-1) * ys).sum(-1) / total.clamp_min(eps)
    empty = total < eps
    centre = torch.stack([torch.where(empty, (w - 1) / 2, cx), torch.where(empty, (h - 1) / 2, cy)], -1)  # (B, T, 2)
    speed = (centre[:, 1:] - centre[:, :-1]).norm(dim=-1).mean() if t > 1 else torch.tensor(float("nan"))
    travel = (centre - centre[:, :1]).norm(dim=-1).amax(1).mean()
    return {"centroid_speed": float(speed), "centroid_travel": float(travel)}
