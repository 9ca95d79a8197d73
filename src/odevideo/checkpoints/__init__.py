"""Checkpoints as one safetensors file, its JSON part in the file's metadata; written atomically, never unpickled.

A checkpoint named ``<name>`` is the file ``<name>.safetensors``:

tensors
    every tensor: ``model.<key>`` (model state), ``optim.state.<param_idx>.<key>`` (optimizer
    state), ``rng.torch`` / ``rng.cuda.<i>`` / ``rng.numpy.state.key`` (RNG states), and any
    tensor found inside the scheduler / extra state.
metadata ``odevideo_checkpoint``
    everything else, as JSON text: format version, odevideo / torch versions, the config, the optimizer's
    ``param_groups`` and non-tensor state entries, the scheduler state, the extra state
    (step, epoch, best metric, ...), the Python / NumPy RNG states and a manifest of every tensor
    (dtype, shape). Tensors appear in the JSON as ``{"__tensor__": "<tensor name>"}``; tuples,
    non-string dict keys and NumPy arrays are tagged so that every structure round-trips exactly
    (e.g. the integer keys of ``optimizer.state_dict()["state"]``).
metadata ``odevideo_sha256``
    the SHA-256 of the JSON text and of every tensor's bytes (in name order): editing the JSON
    (``"step": 10`` to ``12``) or any tensor byte makes :func:`load_checkpoint` refuse the file.

Atomicity
---------
The file is written to a temporary next to the target, fsync'ed and moved into place with one
``os.replace``: a kill at any moment leaves either the previous checkpoint of that name or the new
one, never a mix. Temporaries left by a killed save are named like :mod:`odevideo._atomic`'s and
are removed by :func:`odevideo._atomic.remove_stale_temporaries` (the trainer calls it on start).

Checkpoints of format version 1 (a pair ``<name>.safetensors`` + ``<name>.json``, the JSON holding
the SHA-256 of the tensor file) are still read; saving over one removes its JSON file.

Loading uses ``safetensors`` and ``json`` only; ``torch.load`` / pickle are never used.

The encoding of nested states is in :mod:`odevideo.checkpoints.codec`, the RNG snapshots in
:mod:`odevideo.checkpoints.rng` (:func:`capture_rng_state` and :func:`restore_rng_state` are importable
from here too).
"""

from __future__ import annotations

import contextlib
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
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from odevideo._atomic import fsync_dir, fsync_file, temp_file
from odevideo.checkpoints.codec import _decode, _Encoder
from odevideo.checkpoints.rng import capture_rng_state, restore_rng_state  # noqa: F401
from odevideo.errors import CheckpointError

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
#: Bump when the layout changes incompatibly; :func:`load_checkpoint` reads this version and the two-file version 1.
FORMAT_VERSION = 2
DEFAULT_NAME = "checkpoint"

_SUFFIXES = (".safetensors", ".json")
_META_DOC, _META_HASH = "odevideo_checkpoint", "odevideo_sha256"
_MAX_V1_JSON_BYTES = 256 << 20  # a version-1 JSON file holds no tensors: far smaller than this


# --------------------------------------------------------------------------------------
# paths
# --------------------------------------------------------------------------------------


def checkpoint_paths(path: str | os.PathLike) -> tuple[pathlib.Path, pathlib.Path]:
    """``(safetensors_path, json_path)`` for a checkpoint directory or name prefix.

    An existing directory means ``<dir>/checkpoint.*``; otherwise ``path`` is the prefix
    ``<name>`` (a trailing ``.json`` / ``.safetensors`` is ignored), giving ``<name>.safetensors``
    (the checkpoint) and ``<name>.json`` (the second file of a version-1 checkpoint).
    """
    p = pathlib.Path(path)
    if p.is_dir():
        p = p / DEFAULT_NAME
    elif p.suffix in _SUFFIXES:
        p = p.with_suffix("")
    return p.with_name(p.name + ".safetensors"), p.with_name(p.name + ".json")


def checkpoint_exists(path: str | os.PathLike) -> bool:
    """Whether a checkpoint file exists at ``path`` (intact or not: :func:`load_checkpoint` checks that)."""
    st_path, json_path = checkpoint_paths(path)
    return st_path.is_file() or json_path.is_file()


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


def _digest(text: str, tensors: Mapping[str, torch.Tensor]) -> str:
    """SHA-256 of the JSON text and of every tensor's name and bytes, in name order (each part length-prefixed)."""
    h = hashlib.sha256(FORMAT_NAME.encode())

    def part(data) -> None:
        h.update(len(memoryview(data).cast("B")).to_bytes(8, "little"))
        h.update(data)

    part(text.encode("utf-8"))
    for name in sorted(tensors):
        t = tensors[name]
        part(name.encode("utf-8"))
        part(t.detach().reshape(-1).contiguous().view(torch.uint8).numpy())
    return h.hexdigest()


def _is_v1_json(path: pathlib.Path) -> bool:
    """Whether ``path`` is the JSON file of a version-1 checkpoint (so that a new save may remove it)."""
    try:
        if path.stat().st_size > _MAX_V1_JSON_BYTES:
            return False
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return False
    return isinstance(doc, dict) and doc.get("format") == FORMAT_NAME


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
    """Write a checkpoint atomically (one ``os.replace``); return the path of its file.

    ``path`` is a directory (file ``checkpoint.safetensors`` inside it) or a name prefix
    (``<path>.safetensors``); parent directories are created. ``optimizer_state`` is
    ``optimizer.state_dict()``, ``scheduler_state`` a scheduler's ``state_dict()``, ``extra_state``
    JSON-able values (step, epoch, best metric, ...), ``config`` the run config (a mapping or a
    config dataclass), ``rng_state`` what :func:`capture_rng_state` returned.
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
    try:
        text = json.dumps(doc, indent=1, allow_nan=False)
    except (TypeError, ValueError) as exc:  # pragma: no cover - the encoder yields plain JSON
        raise CheckpointError(f"cannot encode checkpoint {st_path}: {exc}") from exc
    metadata = {"format": "pt", "odevideo_format": FORMAT_NAME,
                "odevideo_format_version": str(FORMAT_VERSION),
                _META_DOC: text, _META_HASH: _digest(text, enc.tensors)}

    try:
        with temp_file(st_path) as tmp:
            save_file(enc.tensors, str(tmp), metadata=metadata)
            fsync_file(tmp)
            os.replace(tmp, st_path)  # commit: the one rename
        fsync_dir(directory)
    except CheckpointError:
        raise
    except OSError as exc:
        raise CheckpointError(
            f"cannot write checkpoint {st_path}: {exc}; check free disk space and "
            "permissions of the directory"
        ) from exc
    if json_path.is_file() and _is_v1_json(json_path):  # the old format's second file: now stale
        with contextlib.suppress(OSError):
            json_path.unlink()
    return st_path


# --------------------------------------------------------------------------------------
# loading
# --------------------------------------------------------------------------------------


@dataclasses.dataclass
class Checkpoint:
    """A loaded checkpoint. Tensors are on the CPU.

    ``optimizer_state`` can be passed to ``optimizer.load_state_dict`` (integer state keys,
    ``param_groups`` with their ``params`` lists), ``scheduler_state`` to
    ``scheduler.load_state_dict``, ``rng_state`` to :func:`restore_rng_state`.
    ``metadata`` holds the format version, library versions and creation time; ``path`` is the
    checkpoint's file (the JSON file for a version-1 checkpoint).
    """

    model_state: dict[str, torch.Tensor]
    optimizer_state: dict[str, Any] | None
    scheduler_state: dict[str, Any] | None
    extra_state: dict[str, Any]
    config: Any
    rng_state: dict[str, Any] | None
    metadata: dict[str, Any]
    path: pathlib.Path


_OTHER = "use another checkpoint or restart training without resuming"


def _fail(file: pathlib.Path, problem: str, fix: str = _OTHER) -> CheckpointError:
    return CheckpointError(f"checkpoint {file}: {problem}; {fix}")


def _check_version(file: pathlib.Path, doc: Any, version_wanted: int) -> None:
    if not isinstance(doc, dict) or doc.get("format") != FORMAT_NAME:
        raise _fail(file, "is not an odevideo checkpoint (no 'format': "
                    f"'{FORMAT_NAME}' entry)", "pass a checkpoint written by save_checkpoint")
    version = doc.get("format_version")
    if version != version_wanted:
        if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
            fix = (f"it was written by a newer odevideo ({doc.get('odevideo_version')}); "
                   "upgrade odevideo to load it")
        else:
            fix = "it was written by an incompatible odevideo version; re-create it"
        raise _fail(file, f"has format version {version!r}, this odevideo reads "
                    f"version {version_wanted} here", fix)


def _read_metadata(st_path: pathlib.Path) -> dict[str, str]:
    with safe_open(str(st_path), framework="pt", device="cpu") as fh:
        return dict(fh.metadata() or {})


def _load_tensors(st_file: pathlib.Path) -> dict[str, torch.Tensor]:
    try:
        return load_file(str(st_file), device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise _fail(st_file, f"is not a readable safetensors file ({exc})") from exc


def _parse_json(file: pathlib.Path, text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        detail = exc if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
        raise _fail(file, f"{what} is not valid JSON, it is truncated or corrupt ({detail})") from None


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Load a checkpoint written by :func:`save_checkpoint` (a directory or name prefix).

    Raises :class:`CheckpointError` (one line: the file, the problem, what to do) when the file is
    missing, unreadable or corrupt, when its JSON part or tensors do not match the recorded SHA-256,
    or when the format version is not supported. Version-1 checkpoints (``<name>.json`` next to
    ``<name>.safetensors``) are read too. Never unpickles.
    """
    st_path, json_path = checkpoint_paths(path)
    if st_path.is_file():
        try:
            metadata = _read_metadata(st_path)
        except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
            if json_path.is_file():  # version 1: its JSON file checks the tensor file's hash first
                return _load_v1(json_path)
            raise _fail(st_path, f"is not a readable safetensors file ({exc})") from None
        if _META_DOC in metadata:
            return _load_v2(st_path, metadata)
        if json_path.is_file():
            return _load_v1(json_path)
        raise _fail(json_path, "not found although its tensor file exists (a version-1 save was "
                    "interrupted before it was committed)")
    if json_path.is_file():
        return _load_v1(json_path)
    raise _fail(st_path, "not found", "check the path (a checkpoint directory or the "
                "name prefix of '<name>.safetensors')")


def _load_v2(st_path: pathlib.Path, metadata: Mapping[str, str]) -> Checkpoint:
    text = metadata[_META_DOC]
    doc = _parse_json(st_path, text, "its JSON part")
    _check_version(st_path, doc, FORMAT_VERSION)
    manifest = doc.get("tensors")
    if not isinstance(manifest, dict):
        raise _fail(st_path, "has no tensor manifest")
    tensors = _load_tensors(st_path)
    if metadata.get(_META_HASH) != _digest(text, tensors):
        raise _fail(st_path, "does not match its recorded SHA-256 (the JSON part or a tensor was modified "
                    "or damaged)")
    return _assemble(st_path, doc, manifest, tensors)


def _load_v1(json_path: pathlib.Path) -> Checkpoint:
    try:
        if json_path.stat().st_size > _MAX_V1_JSON_BYTES:
            raise _fail(json_path, f"is larger than {_MAX_V1_JSON_BYTES} bytes: not a checkpoint JSON file")
        text = json_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(json_path, f"cannot be read ({exc})") from exc
    doc = _parse_json(json_path, text, "the file")
    _check_version(json_path, doc, 1)
    st_name = doc.get("safetensors_file")
    if not isinstance(st_name, str) or pathlib.Path(st_name).name != st_name:
        raise _fail(json_path, f"names an invalid tensor file {st_name!r}")
    st_file = json_path.parent / st_name
    if not st_file.is_file():
        raise _fail(st_file, "not found (the tensor file of this checkpoint is missing)")
    try:
        digest = _sha256(st_file)
    except OSError as exc:
        raise _fail(st_file, f"cannot be read ({exc})") from exc
    if digest != doc.get("safetensors_sha256"):
        raise _fail(st_file, f"does not match the SHA-256 recorded in {json_path.name} (the "
                    "pair is torn by an interrupted save, or a file was modified)")
    tensors = _load_tensors(st_file)
    manifest = doc.get("tensors")
    if not isinstance(manifest, dict):
        raise _fail(st_file, "holds other tensors than its JSON file lists")
    return _assemble(json_path, doc, manifest, tensors)


def _assemble(file: pathlib.Path, doc: dict, manifest: dict, tensors: dict[str, torch.Tensor]) -> Checkpoint:
    if set(manifest) != set(tensors):
        raise _fail(file, "holds other tensors than its manifest lists")
    for name, info in manifest.items():
        t = tensors[name]
        if (not isinstance(info, dict) or str(t.dtype).removeprefix("torch.") != info.get("dtype")
                or list(t.shape) != info.get("shape")):
            raise _fail(file, f"tensor {name!r} has dtype {t.dtype} and shape "
                        f"{tuple(t.shape)}, which disagree with its manifest")
    try:
        parts = {key: _decode(doc.get(key), tensors, file)
                 for key in ("model_state", "optimizer_state", "scheduler_state",
                             "extra_state", "config", "rng_state")}
        module_versions = doc.get("model_state_metadata")
        module_versions = (_decode(module_versions, tensors, file)
                           if isinstance(module_versions, dict) else None)
    except CheckpointError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as exc:
        raise _fail(file, f"has a malformed entry ({exc!r})") from None
    if not isinstance(parts["model_state"], dict):
        raise _fail(file, "has no model state")
    model_state = OrderedDict(parts["model_state"])
    if module_versions is not None:
        model_state._metadata = module_versions  # type: ignore[attr-defined]
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
        path=file,
    )
