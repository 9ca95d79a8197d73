"""Typed configuration for nested dataclasses: dict <-> dataclass, YAML presets, overrides.

This module is generic: it knows nothing about the concrete config classes. A config is a
(nested) dataclass whose fields are annotated with one of the supported types:

* ``int``, ``float`` (an ``int`` is accepted and converted; so is a string that ``float()``
  accepts, because PyYAML reads ``1e-3`` as a string), ``bool``, ``str``, ``pathlib.Path``
* ``None``, ``Optional[X]``, ``X | None`` and general unions
* ``Literal[...]``
* ``list[X]``, ``tuple[X, ...]``, ``tuple[X, Y]`` (a YAML list is accepted for a tuple)
* ``dict[K, V]`` (typically ``dict[str, Any]``), ``Any``
* nested dataclasses (given as a mapping)

Precedence used by :func:`load_config`::

    dataclass defaults  <  preset (and its ``base:`` chain)  <  config file  <  overrides

Presets are YAML files ``src/odevideo/presets/<name>.yaml`` shipped with the package. A preset
or config file may contain a top-level ``base: other_preset`` (or a list of names) to inherit
from other presets; the key ``base`` is therefore reserved at the top level of config files.

The type checking and conversion (:func:`from_dict`, :func:`validate`, :func:`to_dict`) live in
:mod:`odevideo._config_types` and are importable from here.
"""

from __future__ import annotations

import functools
import importlib.resources
import os
import pathlib
import typing
from collections.abc import Iterable, Mapping
from copy import deepcopy
from typing import Any

import yaml

from odevideo._atomic import atomic_write_text
from odevideo._config_types import (
    _build,
    _convert,
    _hints,
    _init_fields,
    _is_dataclass_type,
    _is_union,
    _NoneType,
    _suggest,
    _type_name,
    _unknown_key,
    concrete_type,
    from_dict,
    short_repr,
    to_dict,
    validate,
)
from odevideo._config_yaml import (  # noqa: F401  (re-exported)
    MAX_CONFIG_BYTES,
    MAX_CONFIG_DEPTH,
    MAX_CONFIG_NODES,
    _parse_yaml_text,
    _safe_load,
    _TooBig,
    read_yaml,
)
from odevideo.errors import ConfigError

__all__ = [
    "BASE_KEY",
    "from_dict",
    "validate",
    "to_dict",
    "merge",
    "parse_override",
    "apply_overrides",
    "read_yaml",
    "list_presets",
    "load_preset",
    "load_config",
    "save_config",
]

#: Top-level key of a preset / config file that names the preset(s) it inherits from.
BASE_KEY = "base"

# --------------------------------------------------------------------------------------
# merging
# --------------------------------------------------------------------------------------


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge two mappings: nested mappings are merged, any other value is replaced.

    Neither input is modified; the result shares no mutable state with them.
    """
    out: dict[str, Any] = {k: deepcopy(v) for k, v in base.items()}
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = deepcopy(dict(value) if isinstance(value, Mapping) else value)
    return out


# --------------------------------------------------------------------------------------
# overrides
# --------------------------------------------------------------------------------------


def _split_override(text: str) -> tuple[str, str]:
    if not isinstance(text, str) or "=" not in text:
        raise ConfigError(
            f"malformed override {short_repr(text)}: expected KEY=VALUE with a dotted key, "
            "e.g. 'train.lr=1e-3' or 'model.hidden_dims=[32,64]'"
        )
    key, raw = text.split("=", 1)
    key = key.strip()
    parts = key.split(".")
    if not key or any(not p.strip() or p != p.strip() for p in parts):
        raise ConfigError(
            f"malformed override {short_repr(text)}: the key {short_repr(key)} must be a dotted name such as "
            "'train.lr' (no empty parts or spaces)"
        )
    return key, raw


def _yaml_value(key: str, raw: str) -> Any:
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"the value of override '{key}' is longer than {MAX_CONFIG_BYTES} characters; "
                          "put large settings in a config file")
    try:
        return _safe_load(raw)
    except _TooBig as exc:
        raise ConfigError(f"the value of override '{key}' is {exc}; give a plain value") from None
    except yaml.YAMLError as exc:
        raise ConfigError(
            f"cannot parse the value {short_repr(raw)} of override '{key}': {exc}; quote strings that "
            "contain ':', '#', brackets or braces (e.g. key='\"a: b\"')"
        ) from exc


def parse_override(text: str) -> tuple[str, Any]:
    """Parse ``"a.b.c=value"`` into ``("a.b.c", value)``; the value is read as YAML.

    So ``true``/``false``, ``null``, numbers and ``[1, 2]`` work. (PyYAML reads ``1e-3`` as
    the string ``'1e-3'``; :func:`apply_overrides` converts it when the field is a float.)
    """
    key, raw = _split_override(text)
    return key, _yaml_value(key, raw)


def _unwrap_section(tp: Any) -> Any:
    """The dataclass / dict type behind ``tp`` (through ``Optional``), or None."""
    if _is_union(tp):
        inner = [a for a in typing.get_args(tp) if a is not _NoneType]
        if len(inner) == 1:
            return _unwrap_section(inner[0])
        return None
    if _is_dataclass_type(tp):
        return tp
    if tp is dict or typing.get_origin(tp) in (dict, Mapping, dict):
        return tp
    if tp is Any:
        return tp
    return None


def _set_path(data: dict, parts: list[str], value: Any, *, merge_mapping: bool) -> None:
    node = data
    for part in parts[:-1]:
        nxt = node.get(part)
        if not isinstance(nxt, dict):
            nxt = dict(nxt) if isinstance(nxt, Mapping) else {}
            node[part] = nxt
        node = nxt
    last = parts[-1]
    if merge_mapping and isinstance(value, Mapping) and isinstance(node.get(last), Mapping):
        node[last] = merge(node[last], value)
    else:
        node[last] = value


def apply_overrides(
    data: Mapping[str, Any], overrides: Iterable[str], cls: type | None = None
) -> dict[str, Any]:
    """Apply ``KEY=VALUE`` overrides to a plain config mapping; return a new mapping.

    With ``cls`` (the config dataclass) each dotted key is walked through the schema, so an
    unknown key fails at once with a suggestion, and the value is type-checked and converted
    (e.g. ``'1e-3'`` -> ``0.001`` for a float field). If the YAML-parsed value does not fit a
    field that accepts strings, the raw text is used (``name=yes`` gives ``'yes'``). A mapping
    assigned to a nested section is merged into it.
    """
    result = merge({}, data or {})
    if isinstance(overrides, str):
        overrides = [overrides]
    overrides = list(overrides)
    if cls is not None and hasattr(cls, "config_type_for"):
        # the values that pick the concrete type (e.g. ``method=``) first, then every key against that type
        picked = apply_overrides(result, [o for o in overrides if "." not in _split_override(o)[0]])
        cls = concrete_type(cls, picked)
    for text in overrides:
        key, raw = _split_override(text)
        parts = key.split(".")
        if cls is None:
            _set_path(result, parts, _yaml_value(key, raw), merge_mapping=False)
            continue

        # walk the schema
        tp: Any = cls
        for i, part in enumerate(parts):
            prefix = ".".join(parts[:i])
            section = _unwrap_section(tp)
            if section is None:
                raise ConfigError(
                    f"cannot set '{key}': '{prefix}' is a value of type {_type_name(tp)}, not a "
                    f"section; use '{prefix}=VALUE'"
                )
            if section is Any:
                tp = Any
            elif _is_dataclass_type(section):
                names = [f.name for f in _init_fields(section)]
                if part not in names:
                    raise _unknown_key(prefix, part, names)
                tp = _hints(section)[part]
            else:  # dict[K, V]
                args = typing.get_args(section)
                tp = args[1] if args else Any

        try:
            parsed = _yaml_value(key, raw)
            parse_error = None
        except ConfigError as exc:
            parsed, parse_error = None, exc
        section = _unwrap_section(tp)
        is_section = section is not None and _is_dataclass_type(section)
        try:
            if parse_error is not None:
                raise parse_error
            if is_section and isinstance(parsed, Mapping):
                # partial section: checked here, merged into the values already present
                value = to_dict(_build(section, parsed, key, construct=False))
            else:
                value = to_dict(_convert(parsed, tp, key, construct=False))
        except ConfigError as exc:
            # the YAML reading did not fit (e.g. name=123, mode=on): try the raw text
            try:
                value = to_dict(_convert(raw.strip(), tp, key, construct=False))
            except ConfigError:
                raise exc from None
        _set_path(result, parts, value, merge_mapping=is_section)
    return result


# --------------------------------------------------------------------------------------
# YAML files, presets
# --------------------------------------------------------------------------------------


def _presets_root(presets_dir: str | os.PathLike | None) -> Any:
    if presets_dir is not None:
        return pathlib.Path(presets_dir)
    return importlib.resources.files("odevideo").joinpath("presets")


def _preset_files(presets_dir: str | os.PathLike | None) -> dict[str, Any]:
    """``{name: file}`` of the presets: ``<name>.yaml`` in the presets folder or in one of its family folders
    (``presets/<family>/<name>.yaml``); names are unique across families."""
    root = _presets_root(presets_dir)
    found: dict[str, Any] = {}
    try:
        if not root.is_dir():
            return {}
        entries = list(root.iterdir())
        for e in entries:
            if e.is_dir() and not e.name.startswith((".", "_")):
                entries += [f for f in e.iterdir() if f.is_file()]
    except OSError:
        return {}
    for e in entries:
        if e.name.endswith(".yaml") and not e.name.startswith(".") and e.is_file():
            found.setdefault(e.name[: -len(".yaml")], e)
    return found


def preset_family(name: str, *, presets_dir: str | os.PathLike | None = None) -> str:
    """The family folder of preset ``name`` ("" for a preset at the top of the presets folder)."""
    entry = _preset_files(presets_dir).get(name)
    root = _presets_root(presets_dir)
    if entry is None:
        return ""
    return "" if str(entry.parent) == str(root) else entry.parent.name


def list_presets(*, presets_dir: str | os.PathLike | None = None) -> list[str]:
    """Sorted names of the available presets (``<name>.yaml`` files in the presets folder and its family
    folders)."""
    return sorted(_preset_files(presets_dir))


def _read_preset(name: str, presets_dir: str | os.PathLike | None) -> dict[str, Any]:
    name = str(name)
    stem = name[: -len(".yaml")] if name.endswith(".yaml") else name
    available = list_presets(presets_dir=presets_dir)
    if stem not in available or "/" in stem or "\\" in stem:
        guess = _suggest(stem, available)
        msg = f"unknown preset '{stem}'"
        msg += f"; did you mean '{guess}'?" if guess else "."
        msg += f" Available presets: {', '.join(available) if available else '(none)'}"
        raise ConfigError(msg)
    entry = _preset_files(presets_dir)[stem]
    try:
        text = entry.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read preset '{stem}' ({entry}): {exc}") from exc
    return _parse_yaml_text(text, f"preset '{stem}' ({entry})")


def _base_names(value: Any, source: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise ConfigError(
        f"'{BASE_KEY}' in {source} must be a preset name or a list of preset names, "
        f"got {short_repr(value)}"
    )


def _resolve_bases(
    data: dict[str, Any], source: str, chain: tuple[str, ...],
    presets_dir: str | os.PathLike | None,
) -> dict[str, Any]:
    data = dict(data)
    bases = _base_names(data.pop(BASE_KEY, None), source)
    merged: dict[str, Any] = {}
    for base in bases:
        merged = merge(merged, _load_preset(base, chain, presets_dir))
    return merge(merged, data)


def _load_preset(
    name: str, chain: tuple[str, ...], presets_dir: str | os.PathLike | None
) -> dict[str, Any]:
    stem = name[: -len(".yaml")] if name.endswith(".yaml") else name
    if stem in chain:
        cycle = " -> ".join(chain[chain.index(stem):] + (stem,))
        raise ConfigError(
            f"preset inheritance cycle: {cycle}; remove one of the '{BASE_KEY}:' entries"
        )
    data = _read_preset(stem, presets_dir)
    folder = preset_family(stem, presets_dir=presets_dir)
    for base in _base_names(data.get(BASE_KEY), f"preset '{stem}'"):
        base_folder = preset_family(base, presets_dir=presets_dir) if base in list_presets(presets_dir=presets_dir) \
            else folder
        if base_folder != folder:
            raise ConfigError(f"preset '{stem}' ({folder or 'top level'}) inherits from '{base}' of another family "
                              f"({base_folder or 'top level'}); presets inherit only within their family")
    return _resolve_bases(data, f"preset '{stem}'", chain + (stem,), presets_dir)


def load_preset(name: str, *, presets_dir: str | os.PathLike | None = None) -> dict[str, Any]:
    """The plain mapping of preset ``name`` with its ``base:`` chain resolved (cycle-safe)."""
    return _load_preset(name, (), presets_dir)


def load_config(
    cls: type,
    preset: str | None = None,
    file: str | os.PathLike | None = None,
    overrides: Iterable[str] = (),
    *,
    presets_dir: str | os.PathLike | None = None,
) -> Any:
    """Build config ``cls`` from defaults < ``preset`` < ``file`` < ``overrides``.

    ``preset`` names a shipped preset (see :func:`list_presets`); ``file`` is a YAML file,
    which may itself say ``base: <preset>``; ``overrides`` are ``KEY=VALUE`` strings.
    ``presets_dir`` replaces the package's presets folder (tests, user preset collections).
    """
    data: dict[str, Any] = {}
    overrides = list(overrides or ())
    layers: list[tuple[str, dict[str, Any]]] = []
    if preset is not None:
        layers.append((f"preset '{preset}'", load_preset(preset, presets_dir=presets_dir)))
    if file is not None:
        layers.append((f"config file {file}", _resolve_bases(read_yaml(file), f"config file {file}", (), presets_dir)))
    picked = apply_overrides(functools.reduce(merge, (layer for _, layer in layers), {}),
                             [o for o in overrides if "." not in _split_override(o)[0]])
    final = concrete_type(cls, picked)
    for i, (source, layer) in enumerate(layers):
        layers[i] = (source, _sections_of(final, concrete_type(final, layer), layer))
    cls = final
    for source, layer in layers:
        try:
            validate(cls, layer)
        except ConfigError as exc:
            raise ConfigError(f"in {source}: {exc}") from exc
        data = merge(data, layer)
    data = apply_overrides(data, overrides, cls)
    return from_dict(cls, data)


def _sections_of(final: type, own: type, layer: dict[str, Any]) -> dict[str, Any]:
    """``layer`` (a preset or file written for the concrete type ``own``) for the concrete type ``final``: when an
    override picked another type (e.g. ``method=convgru`` on a Vid-ODE preset), the sections whose types differ
    (the method's ``model``, ``loss``, ...) are left out and take ``final``'s defaults; the shared ones stay."""
    if own is final:
        return layer
    own_types, final_types = _hints(own), _hints(final)
    return {k: v for k, v in layer.items() if k not in final_types or own_types.get(k) == final_types[k]
            or not (_is_dataclass_type(own_types.get(k)) or _is_dataclass_type(final_types[k]))}


def save_config(obj: Any, path: str | os.PathLike) -> pathlib.Path:
    """Write a config (dataclass or mapping) as YAML, atomically (temp file + ``os.replace``)."""
    p = pathlib.Path(path)
    text = yaml.safe_dump(to_dict(obj), sort_keys=False, default_flow_style=False,
                          allow_unicode=True)
    atomic_write_text(p, text, fsync=True)
    return p


def has_key(cls: type, key: str) -> bool:
    """Whether the dotted ``key`` names a field of the config dataclass ``cls`` (through nested sections)."""
    tp: Any = cls
    for part in key.split("."):
        section = _unwrap_section(tp)
        if section is None or not _is_dataclass_type(section):
            return section is Any or (section is not None and part != "")
        names = [f.name for f in _init_fields(section)]
        if part not in names:
            return False
        tp = _hints(section)[part]
    return True
