"""Nested training states as tagged JSON plus a flat dict of tensors, both ways (the checkpoint's encoding).

:class:`_Encoder` turns a nested structure (model / optimizer / scheduler / extra state, config, RNG state)
into JSON-able data and collects every tensor under a dotted name, with a manifest of dtypes and shapes, for
the safetensors file. In the JSON a tensor is ``{"__tensor__": "<name>"}``; NumPy arrays, tuples, mappings with
non-string keys and non-finite floats are tagged so that :func:`_decode` rebuilds the structure exactly (e.g.
the integer keys of ``optimizer.state_dict()["state"]``). Config dataclasses are stored as plain mappings.
"""

from __future__ import annotations

import dataclasses
import math
import pathlib
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from odevideo.errors import CheckpointError

_TENSOR = "__tensor__"
_NDARRAY = "__ndarray__"
_TUPLE = "__tuple__"
_DICT = "__dict__"
_FLOAT = "__float__"
_TAGS = (_TENSOR, _NDARRAY, _TUPLE, _DICT, _FLOAT)


class _Encoder:
    def __init__(self) -> None:
        self.tensors: dict[str, torch.Tensor] = {}
        self.manifest: dict[str, dict[str, Any]] = {}

    def _name(self, wanted: str) -> str:
        name, k = wanted, 1
        while name in self.tensors:
            name, k = f"{wanted}#{k}", k + 1
        return name

    def _add(self, wanted: str, tensor: torch.Tensor, where: str) -> str:
        if tensor.is_sparse or tensor.layout != torch.strided:
            raise CheckpointError(
                f"cannot save the sparse tensor at '{where}' in a checkpoint; convert it "
                "with .to_dense() first"
            )
        if tensor.device.type == "meta":
            raise CheckpointError(
                f"cannot save the tensor at '{where}': it is on the meta device and has no data"
            )
        name = self._name(wanted)
        # safetensors needs contiguous CPU tensors that share no memory: always copy.
        self.tensors[name] = tensor.detach().to("cpu").clone(memory_format=torch.contiguous_format)
        self.manifest[name] = {"dtype": str(tensor.dtype).removeprefix("torch."),
                               "shape": list(tensor.shape)}
        return name

    def encode(self, obj: Any, name: str, where: str) -> Any:
        """Return a JSON-able version of ``obj``; tensors go to ``self.tensors``."""
        if obj is None or isinstance(obj, (bool, int, str)):
            return obj
        if isinstance(obj, float):
            # keep the JSON standard: NaN / Infinity are not JSON numbers
            return obj if math.isfinite(obj) else {_FLOAT: repr(obj)}
        if isinstance(obj, torch.Tensor):
            return {_TENSOR: self._add(name, obj, where)}
        if isinstance(obj, np.ndarray):
            arr = np.ascontiguousarray(obj)
            dtype = arr.dtype
            if dtype.kind == "u" and dtype.itemsize > 1:  # torch lacks full uint16/32/64 support
                arr = arr.view(dtype.str.replace("u", "i"))
            try:
                tensor = torch.from_numpy(arr.copy())
            except TypeError as exc:
                raise CheckpointError(
                    f"cannot save the NumPy array of dtype {dtype} at '{where}' in a checkpoint"
                ) from exc
            return {_NDARRAY: self._add(name, tensor, where), "dtype": dtype.str}
        if isinstance(obj, np.generic):
            return self.encode(obj.item(), name, where)
        if isinstance(obj, tuple):
            return {_TUPLE: [self.encode(v, f"{name}.{i}", f"{where}[{i}]")
                             for i, v in enumerate(obj)]}
        if isinstance(obj, list):
            return [self.encode(v, f"{name}.{i}", f"{where}[{i}]") for i, v in enumerate(obj)]
        if isinstance(obj, Mapping):
            plain = all(isinstance(k, str) for k in obj) and not any(k in _TAGS for k in obj)
            if plain:
                return {k: self.encode(v, f"{name}.{k}", f"{where}.{k}") for k, v in obj.items()}
            items = []
            for k, v in obj.items():
                if not (k is None or isinstance(k, (bool, int, float, str, tuple))):
                    raise CheckpointError(
                        f"cannot save the mapping key {k!r} ({type(k).__name__}) at '{where}' "
                        "in a checkpoint; use str or int keys"
                    )
                items.append([self.encode(k, f"{name}.key", f"{where}<key>"),
                              self.encode(v, f"{name}.{k}", f"{where}.{k}")])
            return {_DICT: items}
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            from odevideo.configio import to_dict

            return self.encode(to_dict(obj), name, where)
        raise CheckpointError(
            f"cannot save the value at '{where}' (type {type(obj).__name__}) in a checkpoint: "
            "only tensors, NumPy arrays, numbers, strings, booleans, None, lists, tuples and "
            "mappings can be stored; convert it to one of these"
        )


def _decode(obj: Any, tensors: Mapping[str, torch.Tensor], file: pathlib.Path) -> Any:
    if isinstance(obj, list):
        return [_decode(v, tensors, file) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if _TENSOR in obj:
        return _tensor(obj[_TENSOR], tensors, file)
    if _NDARRAY in obj:
        arr = _tensor(obj[_NDARRAY], tensors, file).numpy()
        return arr.view(np.dtype(obj["dtype"])).copy()
    if _FLOAT in obj:
        return float(obj[_FLOAT])
    if _TUPLE in obj:
        return tuple(_decode(v, tensors, file) for v in obj[_TUPLE])
    if _DICT in obj:
        return {_hashable(_decode(k, tensors, file)): _decode(v, tensors, file)
                for k, v in obj[_DICT]}
    return {k: _decode(v, tensors, file) for k, v in obj.items()}


def _hashable(key: Any) -> Any:
    return tuple(_hashable(k) for k in key) if isinstance(key, (list, tuple)) else key


def _tensor(name: Any, tensors: Mapping[str, torch.Tensor], file: pathlib.Path) -> torch.Tensor:
    try:
        return tensors[name]
    except (KeyError, TypeError):
        raise CheckpointError(
            f"checkpoint {file} refers to tensor {name!r}, which its safetensors file lacks; "
            "the checkpoint is corrupt: use another checkpoint"
        ) from None
