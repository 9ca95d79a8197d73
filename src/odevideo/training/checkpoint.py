"""Checkpoints as a safetensors file plus a JSON file; written atomically, never unpickled.

A checkpoint named ``<name>`` is a pair of files in one directory:

``<name>.safetensors``
    every tensor: ``model.<key>`` (model state), ``optim.state.<param_idx>.<key>`` (optimizer
    state), ``rng.torch`` / ``rng.cuda.<i>`` / ``rng.numpy.state.key`` (RNG states), and any
    tensor found inside the scheduler / extra state.
``<name>.json``
    everything else: format version, odevideo / torch versions, the config, the optimizer's
    ``param_groups`` and non-tensor state entries, the scheduler state, the extra state
    (step, epoch, best metric, ...), the Python / NumPy RNG states, a manifest of every tensor
    (dtype, shape), and the SHA-256 of the safetensors file. Tensors appear in the JSON as
    ``{"__tensor__": "<name in the safetensors file>"}``; tuples, non-string dict keys and
    NumPy arrays are tagged so that every structure round-trips exactly (e.g. the integer keys
    of ``optimizer.state_dict()["state"]``).

Atomicity and the commit marker
-------------------------------
Both files are first written to temporary files in the target directory and fsync'ed; then
the safetensors file is moved into place with ``os.replace`` and the JSON file **last**. The
JSON file is the commit marker: a checkpoint exists once its JSON exists. A failure before
the first ``os.replace`` leaves an older checkpoint of the same name untouched (and the
temporary files are removed). A crash between the two renames leaves the new safetensors
next to the old JSON; the SHA-256 recorded in the JSON then no longer matches and
:func:`load_checkpoint` reports the torn pair instead of loading mismatched data.

Loading uses ``safetensors`` and ``json`` only; ``torch.load`` / pickle are never used.

The encoding of nested states is in :mod:`odevideo.training.state_codec`, the RNG snapshots in
:mod:`odevideo.training.rng_state` (:func:`capture_rng_state` and :func:`restore_rng_state` are importable
from here too).
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import os
import pathlib
import platform
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from odevideo._atomic import fsync_dir, fsync_file, temp_file
from odevideo.errors import CheckpointError
from odevideo.training.rng_state import capture_rng_state, restore_rng_state  # noqa: F401
from odevideo.training.state_codec import _decode, _Encoder

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "Checkpoint",
    "checkpoint_paths",
    "checkpoint_exists",
    "save_checkpoint",
    "load_checkpoint",
    "capture_rng_state",
    "restore_rng_state",
]

FORMAT_NAME = "odevideo-checkpoint"
#: Bump when the layout changes incompatibly; :func:`load_checkpoint` refuses other versions.
FORMAT_VERSION = 1
DEFAULT_NAME = "checkpoint"

_SUFFIXES = (".safetensors", ".json")


# --------------------------------------------------------------------------------------
# paths
# --------------------------------------------------------------------------------------


def checkpoint_paths(path: str | os.PathLike) -> tuple[pathlib.Path, pathlib.Path]:
    """``(safetensors_path, json_path)`` for a checkpoint directory or name prefix.

    An existing directory means ``<dir>/checkpoint.*``; otherwise ``path`` is the prefix
    ``<name>`` (a trailing ``.json`` / ``.safetensors`` is ignored), giving ``<name>.safetensors``
    and ``<name>.json``.
    """
    p = pathlib.Path(path)
    if p.is_dir():
        p = p / DEFAULT_NAME
    elif p.suffix in _SUFFIXES:
        p = p.with_suffix("")
    return p.with_name(p.name + ".safetensors"), p.with_name(p.name + ".json")


def checkpoint_exists(path: str | os.PathLike) -> bool:
    """Whether a committed checkpoint (its JSON file) exists at ``path``."""
    return checkpoint_paths(path)[1].is_file()


def _odevideo_version() -> str:
    try:
        from importlib.metadata import version

        return version("odevideo")
    except Exception:  # PackageNotFoundError or a broken installation
        try:
            import odevideo

            return str(getattr(odevideo, "__version__", "unknown"))
        except Exception:  # pragma: no cover - defensive
            return "unknown"


# --------------------------------------------------------------------------------------
# saving
# --------------------------------------------------------------------------------------


def _sha256(path: pathlib.Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _write_json(path: pathlib.Path, obj: Any) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(obj, fh, indent=1, allow_nan=False)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())


def save_checkpoint(
    path: str | os.PathLike,
    *,
    model_state: Mapping[str, torch.Tensor],
    optimizer_state: Mapping[str, Any] | None = None,
    scheduler_state: Mapping[str, Any] | None = None,
    extra_state: Mapping[str, Any] | None = None,
    config: Mapping[str, Any] | Any | None = None,
    rng_state: Mapping[str, Any] | None = None,
) -> pathlib.Path:
    """Write a checkpoint atomically; return the path of its JSON file (the commit marker).

    ``path`` is a directory (files ``checkpoint.safetensors`` / ``checkpoint.json`` inside it)
    or a name prefix (``<path>.safetensors`` / ``<path>.json``); parent directories are
    created. ``optimizer_state`` is ``optimizer.state_dict()``, ``scheduler_state`` a
    scheduler's ``state_dict()``, ``extra_state`` JSON-able values (step, epoch, best
    metric, ...), ``config`` the run config (a mapping or a config dataclass), ``rng_state``
    what :func:`capture_rng_state` returned.
    """
    st_path, json_path = checkpoint_paths(path)
    directory = st_path.parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CheckpointError(
            f"cannot create checkpoint directory {directory}: {exc}; choose a writable location"
        ) from exc

    if not isinstance(model_state, Mapping):
        raise CheckpointError(
            f"model_state must be a mapping of names to tensors (model.state_dict()), got "
            f"{type(model_state).__name__}"
        )
    enc = _Encoder()
    doc: dict[str, Any] = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "odevideo_version": _odevideo_version(),
        "torch_version": torch.__version__,
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "safetensors_file": st_path.name,
        "safetensors_sha256": None,
        "safetensors_size": None,
        "config": enc.encode(config, "config", "config"),
        "extra_state": enc.encode(dict(extra_state or {}), "extra", "extra_state"),
        "scheduler_state": enc.encode(scheduler_state, "sched", "scheduler_state"),
        "optimizer_state": enc.encode(optimizer_state, "optim", "optimizer_state"),
        "rng_state": enc.encode(rng_state, "rng", "rng_state"),
        "model_state": enc.encode(model_state, "model", "model_state"),
        # torch's per-module state-dict versions (state_dict()._metadata), used by
        # load_state_dict to upgrade old layouts; kept as torch.save would keep them
        "model_state_metadata": enc.encode(
            getattr(model_state, "_metadata", None), "model_metadata", "model_state._metadata"),
        "tensors": enc.manifest,
    }
    metadata = {"format": "pt", "odevideo_format": FORMAT_NAME,
                "odevideo_format_version": str(FORMAT_VERSION)}

    try:
        with temp_file(st_path) as tmp_st, temp_file(json_path) as tmp_json:
            save_file(enc.tensors, str(tmp_st), metadata=metadata)
            fsync_file(tmp_st)
            doc["safetensors_sha256"] = _sha256(tmp_st)
            doc["safetensors_size"] = tmp_st.stat().st_size
            _write_json(tmp_json, doc)
            os.replace(tmp_st, st_path)
            os.replace(tmp_json, json_path)  # commit
        fsync_dir(directory)
    except CheckpointError:
        raise
    except OSError as exc:
        raise CheckpointError(
            f"cannot write checkpoint {json_path}: {exc}; check free disk space and "
            "permissions of the directory"
        ) from exc
    return json_path


# --------------------------------------------------------------------------------------
# loading
# --------------------------------------------------------------------------------------


@dataclasses.dataclass
class Checkpoint:
    """A loaded checkpoint. Tensors are on the CPU.

    ``optimizer_state`` can be passed to ``optimizer.load_state_dict`` (integer state keys,
    ``param_groups`` with their ``params`` lists), ``scheduler_state`` to
    ``scheduler.load_state_dict``, ``rng_state`` to :func:`restore_rng_state`.
    ``metadata`` holds the format version, library versions and creation time.
    """

    model_state: dict[str, torch.Tensor]
    optimizer_state: dict[str, Any] | None
    scheduler_state: dict[str, Any] | None
    extra_state: dict[str, Any]
    config: Any
    rng_state: dict[str, Any] | None
    metadata: dict[str, Any]
    path: pathlib.Path


def _fail(file: pathlib.Path, problem: str, fix: str) -> CheckpointError:
    return CheckpointError(f"checkpoint {file}: {problem}; {fix}")


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Load a checkpoint written by :func:`save_checkpoint` (a directory or name prefix).

    Raises :class:`CheckpointError` when a file is missing, unreadable or corrupt, when the
    safetensors file does not match the SHA-256 recorded in the JSON file (a torn or
    modified pair), or when the format version is not supported. Never unpickles.
    """
    st_path, json_path = checkpoint_paths(path)
    other = "use another checkpoint or restart training without resuming"
    if not json_path.is_file():
        if st_path.is_file():
            raise _fail(json_path, "not found although its tensor file exists (the save was "
                        "interrupted before it was committed)", other)
        raise _fail(json_path, "not found", "check the path (a checkpoint directory or the "
                    "name prefix of '<name>.json' / '<name>.safetensors')")
    try:
        text = json_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(json_path, f"cannot be read ({exc})", other) from exc
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _fail(json_path, f"is not valid JSON, it is truncated or corrupt ({exc})",
                    other) from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT_NAME:
        raise _fail(json_path, "is not an odevideo checkpoint (no 'format': "
                    f"'{FORMAT_NAME}' entry)", "pass the JSON file written by save_checkpoint")
    version = doc.get("format_version")
    if version != FORMAT_VERSION:
        if isinstance(version, int) and version > FORMAT_VERSION:
            fix = (f"it was written by a newer odevideo ({doc.get('odevideo_version')}); "
                   "upgrade odevideo to load it")
        else:
            fix = "it was written by an incompatible odevideo version; re-create it"
        raise _fail(json_path, f"has format version {version!r}, this odevideo reads "
                    f"version {FORMAT_VERSION}", fix)

    st_name = doc.get("safetensors_file")
    if not isinstance(st_name, str) or pathlib.Path(st_name).name != st_name:
        raise _fail(json_path, f"names an invalid tensor file {st_name!r}", other)
    st_file = json_path.parent / st_name
    if not st_file.is_file():
        raise _fail(st_file, "not found (the tensor file of this checkpoint is missing)", other)
    try:
        digest = _sha256(st_file)
    except OSError as exc:
        raise _fail(st_file, f"cannot be read ({exc})", other) from exc
    if digest != doc.get("safetensors_sha256"):
        raise _fail(st_file, f"does not match the SHA-256 recorded in {json_path.name} (the "
                    "pair is torn by an interrupted save, or a file was modified)", other)
    try:
        tensors = load_file(str(st_file), device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise _fail(st_file, f"is not a readable safetensors file ({exc})", other) from exc

    manifest = doc.get("tensors")
    if not isinstance(manifest, dict) or set(manifest) != set(tensors):
        raise _fail(st_file, "holds other tensors than its JSON file lists", other)
    for name, info in manifest.items():
        t = tensors[name]
        if (not isinstance(info, dict) or str(t.dtype).removeprefix("torch.") != info.get("dtype")
                or list(t.shape) != info.get("shape")):
            raise _fail(st_file, f"tensor {name!r} has dtype {t.dtype} and shape "
                        f"{tuple(t.shape)}, which disagree with its JSON file", other)

    try:
        parts = {key: _decode(doc.get(key), tensors, json_path)
                 for key in ("model_state", "optimizer_state", "scheduler_state",
                             "extra_state", "config", "rng_state")}
    except CheckpointError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise _fail(json_path, f"has a malformed entry ({exc!r})", other) from exc
    if not isinstance(parts["model_state"], dict):
        raise _fail(json_path, "has no model state", other)
    model_state = OrderedDict(parts["model_state"])
    module_versions = doc.get("model_state_metadata")
    if isinstance(module_versions, dict):
        model_state._metadata = _decode(module_versions, tensors, json_path)  # type: ignore[attr-defined]
    metadata = {k: v for k, v in doc.items()
                if k not in parts and k not in ("tensors", "model_state_metadata")}
    return Checkpoint(
        model_state=model_state,
        optimizer_state=parts["optimizer_state"],
        scheduler_state=parts["scheduler_state"],
        extra_state=parts["extra_state"] if isinstance(parts["extra_state"], dict) else {},
        config=parts["config"],
        rng_state=parts["rng_state"],
        metadata=metadata,
        path=json_path,
    )

