"""Snapshots of the global random number generators (torch CPU and CUDA, NumPy, Python) for checkpoints.

:func:`capture_rng_state` copies the states into a mapping that a checkpoint can store (tensors, NumPy arrays,
tuples), and :func:`restore_rng_state` sets them again, tolerating missing entries, a machine without CUDA and
the lists that JSON makes of tuples.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from odevideo.errors import CheckpointError

__all__ = ["capture_rng_state", "restore_rng_state"]


def capture_rng_state() -> dict[str, Any]:
    """Snapshot of the global RNGs: torch CPU (and CUDA when available), NumPy, Python.

    ``{"torch": ByteTensor, "cuda": [ByteTensor, ...] (only with CUDA), "numpy": dict,
    "python": tuple}``; restore with :func:`restore_rng_state`.
    """
    state: dict[str, Any] = {
        "torch": torch.get_rng_state().clone(),
        "numpy": _copy_numpy_state(np.random.get_state(legacy=False)),
        "python": random.getstate(),
    }
    if torch.cuda.is_available():
        state["cuda"] = [s.clone() for s in torch.cuda.get_rng_state_all()]
    return state


def _copy_numpy_state(state: Any) -> Any:
    if isinstance(state, dict):
        return {k: _copy_numpy_state(v) for k, v in state.items()}
    if isinstance(state, np.ndarray):
        return state.copy()
    return state


def _as_tuple(x: Any) -> Any:
    return tuple(_as_tuple(v) for v in x) if isinstance(x, (list, tuple)) else x


def restore_rng_state(state: Mapping[str, Any]) -> None:
    """Restore the RNG states captured by :func:`capture_rng_state` (entries may be missing).

    A CUDA state is ignored when CUDA is not available; with fewer GPUs than were recorded,
    the first ones are restored.
    """
    if not isinstance(state, Mapping):
        raise CheckpointError(
            f"RNG state must be a mapping as returned by capture_rng_state(), got "
            f"{type(state).__name__}"
        )
    try:
        if state.get("torch") is not None:
            torch.set_rng_state(torch.as_tensor(state["torch"], dtype=torch.uint8).cpu())
        if state.get("numpy") is not None:
            np_state = state["numpy"]
            if isinstance(np_state, (list, tuple)):
                np_state = tuple(np_state)
            np.random.set_state(np_state)
        if state.get("python") is not None:
            random.setstate(_as_tuple(state["python"]))
        if state.get("cuda") is not None and torch.cuda.is_available():
            cuda_states = list(state["cuda"])[: torch.cuda.device_count()]
            for i, s in enumerate(cuda_states):
                torch.cuda.set_rng_state(torch.as_tensor(s, dtype=torch.uint8).cpu(), i)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise CheckpointError(
            f"cannot restore the RNG state: {exc}; the state is corrupt or comes from an "
            "incompatible version, resume without it"
        ) from exc
