"""Trained models as folders anyone can load: ``config.json`` (the method, its model config and the data's
:class:`~odevideo.methods.base.ModelSpec`) next to ``model.safetensors`` (the weights), the convention of
diffusers' ``save_pretrained`` / ``from_pretrained``. Loading needs no training code: the method registry
rebuilds the model from its config. The tensor shapes a config implies are compared with the saved ones on
PyTorch's ``meta`` device first (:func:`build_checked`), so a config that does not fit its weights (e.g. an edited
``ode_hidden`` that would need terabytes) is refused in one line before any memory is allocated.

A run folder holds its best model in ``RUN/model/`` (the moving average of the weights when the run keeps one).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from odevideo._atomic import atomic_write_dir
from odevideo.errors import CheckpointError, OdevideoError

FORMAT = "odevideo-model"
VERSION = 1
CONFIG_NAME, WEIGHTS_NAME = "config.json", "model.safetensors"
MAX_CONFIG_BYTES = 1 << 20  # a model's config.json is a few KB; anything far larger is not one


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def save_pretrained(folder: str | os.PathLike, model: nn.Module, method: str, model_config: Any, spec: Any) -> Path:
    """Write ``folder`` (``config.json`` + ``model.safetensors``) atomically: a reader sees the old folder or the
    new one, never a mix."""
    import dataclasses

    from safetensors.torch import save_file

    from odevideo.configio import to_dict

    def fill(tmp: Path) -> None:
        state = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
        save_file(state, str(tmp / WEIGHTS_NAME))
        config = {"format": FORMAT, "version": VERSION, "method": method, "model_class": type(model).__name__,
                  "model": to_dict(model_config), "spec": dataclasses.asdict(spec),
                  "weights_sha256": _sha256(tmp / WEIGHTS_NAME)}
        (tmp / CONFIG_NAME).write_text(json.dumps(config, indent=1) + "\n")

    return atomic_write_dir(folder, fill)


def check_shapes(model: nn.Module, shapes: Mapping[str, tuple[int, ...]], source: Any, fix: str) -> None:
    """Raise :class:`CheckpointError` unless ``model``'s state-dict names and shapes are ``shapes`` (those of
    the tensors saved in ``source``)."""
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    got = {k: tuple(v) for k, v in shapes.items()}
    if expected == got:
        return
    missing, extra = sorted(set(expected) - set(got)), sorted(set(got) - set(expected))
    if missing or extra:
        what = f"names differ (the config's model has {missing[:3]} not saved, the file has {extra[:3]} not used)"
    else:
        k = next(k for k in expected if expected[k] != got[k])
        n_expected, n_got = (sum(math.prod(v) for v in d.values()) for d in (expected, got))
        what = (f"shapes differ, e.g. {k}: the config's model needs {expected[k]}, the file holds {got[k]} "
                f"({n_expected:,} vs {n_got:,} values in all)")
    raise CheckpointError(f"the tensors in {source} do not fit the model its config describes: {what}; {fix}")


def build_checked(build: Callable[[], nn.Module], shapes: Mapping[str, tuple[int, ...]], source: Any,
                  fix: str) -> nn.Module:
    """``build()`` once on the ``meta`` device (no memory) to compare its tensor shapes with ``shapes``
    (:func:`check_shapes`), then for real."""
    with torch.device("meta"):
        check_shapes(build(), shapes, source, fix)
    return build()


#: models shipped with the package, by name: ``load_model(NAME)``; their recipes and scores are in docs/pretrained.md
PRETRAINED_DIR = Path(__file__).parent / "pretrained_models"


def pretrained_names() -> list[str]:
    """Names of the models shipped with the package (folders of :data:`PRETRAINED_DIR`)."""
    if not PRETRAINED_DIR.is_dir():
        return []
    return sorted(p.name for p in PRETRAINED_DIR.iterdir() if (p / CONFIG_NAME).is_file())


def _model_folder(path: Path) -> Path:
    if not path.exists() and len(path.parts) == 1 and path.name in pretrained_names():
        return PRETRAINED_DIR / path.name
    if (path / CONFIG_NAME).is_file():
        return path
    if (path / "model" / CONFIG_NAME).is_file():  # a run folder
        return path / "model"
    if (path / "checkpoints").is_dir():
        raise CheckpointError(f"{path} is a run written before models were saved apart; load its best checkpoint with "
                              f"odevideo.training.load_run({str(path)!r}) (model and config)")
    if not path.exists():
        names = ", ".join(pretrained_names()) or "none installed"
        raise CheckpointError(f"{path} does not exist: give a model folder, a run folder or a pretrained name "
                              f"({names})")
    raise CheckpointError(f"{path} holds no model: expected {CONFIG_NAME} and {WEIGHTS_NAME} there or in {path}/model")


def load_model(path: str | os.PathLike, device: str | torch.device = "cpu") -> nn.Module:
    """The model saved in ``path`` (a model folder, or a run folder's best model), in eval mode on ``device``.

    The returned module carries ``model.spec`` (:class:`~odevideo.methods.base.ModelSpec`: channels, frame size,
    clip length, frames observed, frame interval) and ``model.method`` (the method's name)."""
    from safetensors import SafetensorError, safe_open
    from safetensors.torch import load_file

    from odevideo.configio import from_dict
    from odevideo.methods import get_method
    from odevideo.methods.base import ModelSpec

    folder = _model_folder(Path(path))
    cfg_path, weights = folder / CONFIG_NAME, folder / WEIGHTS_NAME
    try:
        if cfg_path.stat().st_size > MAX_CONFIG_BYTES:
            raise CheckpointError(f"{cfg_path} is larger than {MAX_CONFIG_BYTES} bytes: not a model config")
        config = json.loads(cfg_path.read_text())
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise CheckpointError(f"cannot read {cfg_path}: {exc}; save the model again") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise CheckpointError(f"{cfg_path} is not an odevideo model config (no format: {FORMAT})")
    if not weights.is_file():
        raise CheckpointError(f"{weights} is missing; save the model again")
    if config.get("weights_sha256") != _sha256(weights):
        raise CheckpointError(f"{weights} does not match the hash in {cfg_path}: the folder is damaged or mixed; "
                              f"save the model again")
    try:
        method = get_method(config["method"])
        spec = ModelSpec(**config["spec"])
        model_config = from_dict(method.model_config, config["model"], path="model")
        with safe_open(str(weights), framework="pt") as fh:  # the header only: names and shapes
            shapes = {k: tuple(fh.get_slice(k).get_shape()) for k in fh.keys()}
        model = build_checked(lambda: method.build_model(model_config, spec), shapes, weights,
                              f"{cfg_path} and the weights must come from one save_pretrained; save the model again")
        state = load_file(str(weights))
    except OdevideoError:
        raise
    except (KeyError, TypeError, ValueError, ArithmeticError, SafetensorError, OSError, RuntimeError,
            RecursionError) as exc:
        # RuntimeError, ArithmeticError: torch refuses the sizes a damaged config asks for (negative, zero, huge)
        detail = " ".join(str(exc).split())[:300]
        raise CheckpointError(f"cannot rebuild the model of {folder}: {detail}; save the model again") from None
    model.load_state_dict(state)
    model.spec, model.method = spec, method.name
    return model.to(device).eval()
