"""Digit identity of generated Moving MNIST clips (:mod:`odevideo.metrics.digit_consistency`) for a run's config:
the classifier is trained on the run's own kind of frames (the ``train`` split of its Moving MNIST, same size and
digit size), checked on the ``val`` split (disjoint MNIST digits), and then scores generated and real clips."""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

import torch

from odevideo.checkpoints import checkpoint_exists, load_checkpoint, save_checkpoint
from odevideo.data import MovingMNIST
from odevideo.data.mnist import load_mnist
from odevideo.errors import ConfigError
from odevideo.metrics.digit_consistency import DigitClassifier, classifier_accuracy, train_digit_classifier

if TYPE_CHECKING:  # annotations only: the experiment config is defined by the training layer
    from odevideo.training.config import ExperimentConfig

__all__ = ["labelled_moving_mnist_frames", "fit_digit_classifier"]


def labelled_moving_mnist_frames(cfg: ExperimentConfig, split: str, num_clips: int, frames_per_clip: int = 4,
                                 seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``(frames (N, 1, H, W) in [0, 1], labels (N,))``: ``frames_per_clip`` evenly spaced frames of each of
    ``num_clips`` 1-digit Moving MNIST clips of ``split`` rendered as the run's data (size, digit pools),
    labelled with their digit's MNIST class."""
    d = _check_digit_run(cfg)
    ds = MovingMNIST(split=split, num_digits=1, num_frames=d.num_frames, size=d.image_size, num_clips=num_clips,
                     seed=d.seed + 7919 * (seed + 1), data_dir=d.data_dir, download=d.download, frame_dt=d.frame_dt)
    _, labels = load_mnist("test" if split == "test" else "train", d.data_dir, d.download)
    picks = torch.linspace(0, d.num_frames - 1, frames_per_clip).round().long()
    frames, ys = [], []
    for i in range(num_clips):
        frames.append(ds[i][picks])
        ys.append(labels[int(ds.clip_info(i)["digit_indices"][0])].repeat(frames_per_clip))
    return torch.cat(frames), torch.cat(ys)


def _check_digit_run(cfg: ExperimentConfig):
    d = cfg.data
    if d.dataset != "moving_mnist" or d.num_digits != 1:
        raise ConfigError(
            f"digit scores need a 1-digit Moving MNIST run (data.dataset=moving_mnist, data.num_digits=1); this run "
            f"has data.dataset={d.dataset}, data.num_digits={d.num_digits}."
        )
    return d


def _frames_key(cfg: ExperimentConfig) -> dict:
    d = _check_digit_run(cfg)
    return {"dataset": "moving_mnist", "num_digits": 1, "image_size": d.image_size}


def fit_digit_classifier(cfg: ExperimentConfig, *, path: str | os.PathLike | None = None, train_clips: int = 3000,
                         val_clips: int = 500, steps: int = 1500, width: int = 16, seed: int = 0, log=print):
    """The digit classifier for the run's frames and ``info`` (its ``val`` accuracy on held-out MNIST digits,
    the settings): loaded from the checkpoint at ``path`` if there is one (it must have been trained for the
    same frame size), else trained on the run's ``train`` frames (a few minutes on one CPU core) and, with a
    ``path``, saved there (one safetensors checkpoint, atomically) for the next evaluation."""
    key = _frames_key(cfg)
    if path is not None and checkpoint_exists(path):
        ckpt = load_checkpoint(path)
        info = dict(ckpt.extra_state)
        if info.get("kind") != "digit_classifier" or info.get("frames") != key:
            raise ConfigError(
                f"{path} holds {info.get('kind', 'something else')} for frames {info.get('frames')}, not a digit "
                f"classifier for {key}; give another --digit-classifier path (a new one is trained and saved there)."
            )
        clf = DigitClassifier(int(info["width"]))
        clf.load_state_dict(ckpt.model_state)
        log(f"digit classifier: loaded {path} (val accuracy {info['val_accuracy']:.4f})")
        return clf.eval(), info
    t0 = time.perf_counter()
    x, y = labelled_moving_mnist_frames(cfg, "train", train_clips, seed=seed)
    xv, yv = labelled_moving_mnist_frames(cfg, "val", val_clips, seed=seed)
    clf = train_digit_classifier(x, y, steps=steps, width=width, seed=seed)
    acc = classifier_accuracy(clf, xv, yv)
    info = {"kind": "digit_classifier", "frames": key, "val_accuracy": acc, "train_frames": int(x.shape[0]),
            "val_frames": int(xv.shape[0]), "steps": steps, "width": width, "seed": seed,
            "seconds": round(time.perf_counter() - t0, 1)}
    log(f"digit classifier: val accuracy {acc:.4f} on {xv.shape[0]} frames of held-out digits "
        f"({info['seconds']} s to train)")
    if path is not None:
        save_checkpoint(path, model_state=clf.state_dict(), extra_state=info)
        log(f"digit classifier: saved to {path}")
    return clf, info
