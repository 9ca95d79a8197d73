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
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import importlib.resources
import os
import pathlib
import types
import typing
from collections.abc import Iterable, Mapping
from copy import deepcopy
from typing import Any, Literal, Union

import yaml

from odevideo._atomic import atomic_write_text
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

_NoneType = type(None)


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------


class _Mismatch(ConfigError):
    """A value does not match the expected type *at* ``cfg_path`` (not deeper)."""

    def __init__(self, message: str, cfg_path: str):
        super().__init__(message)
        self.cfg_path = cfg_path


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else str(key)


def _show(path: str) -> str:
    return path if path else "<top level>"


def _suggest(word: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(str(word), [str(c) for c in candidates], n=1, cutoff=0.6)
    return close[0] if close else ""


def _hints(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls)
    except Exception as exc:  # unresolved forward reference: a bug in the config class
        raise TypeError(
            f"cannot resolve the type annotations of config class {cls.__qualname__}: {exc}; "
            "define config dataclasses at module level and import every type they name"
        ) from exc


def _init_fields(cls: type) -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(cls) if f.init]


def _is_dataclass_type(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (Union, types.UnionType)


def _type_name(tp: Any) -> str:
    if tp is Any:
        return "any value"
    if tp is _NoneType or tp is None:
        return "None"
    if _is_dataclass_type(tp):
        return f"a mapping (section {tp.__name__})"
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if _is_union(tp):
        return " | ".join(_type_name(a) for a in args)
    if origin is not None:
        name = getattr(origin, "__name__", str(origin))
        if not args:
            return name
        inner = ", ".join("..." if a is Ellipsis else _type_name(a) for a in args)
        return f"{name}[{inner}]"
    return getattr(tp, "__name__", str(tp))


def _mismatch(path: str, tp: Any, value: Any, hint: str = "") -> _Mismatch:
    msg = (
        f"config key '{_show(path)}': expected {_type_name(tp)}, "
        f"got {value!r} ({type(value).__name__})"
    )
    msg += hint or f"; set '{_show(path)}' to a value of that type"
    return _Mismatch(msg, path)


def _unknown_key(path: str, key: Any, valid: list[str]) -> ConfigError:
    full = _join(path, str(key))
    guess = _suggest(str(key), valid)
    msg = f"unknown config key '{full}'"
    msg += f"; did you mean '{_join(path, guess)}'?" if guess else "."
    section = f"section '{path}'" if path else "the top level"
    msg += f" Valid keys of {section}: {', '.join(valid) if valid else '(none)'}"
    return ConfigError(msg)


# --------------------------------------------------------------------------------------
# dict -> dataclass
# --------------------------------------------------------------------------------------


def _convert(value: Any, tp: Any, path: str, *, construct: bool, lenient: bool = True) -> Any:
    """Check ``value`` against annotation ``tp``; return the converted value.

    ``lenient`` enables coercions (int -> float, numeric str -> float); unions first try
    every member without coercion so that e.g. ``int | float`` keeps an int an int.
    """
    if tp is Any or tp is object:
        return value
    if tp is None or tp is _NoneType:
        if value is None:
            return None
        raise _mismatch(path, _NoneType, value)

    if _is_dataclass_type(tp):
        if isinstance(value, tp):
            return value if construct else to_dict(value)
        if not isinstance(value, Mapping):
            raise _mismatch(path, tp, value)
        return _build(tp, value, path, construct=construct)

    origin = typing.get_origin(tp)
    args = typing.get_args(tp)

    if _is_union(tp):
        if value is None and _NoneType in args:
            return None
        members = [a for a in args if a is not _NoneType]
        if len(members) == 1:
            try:
                return _convert(value, members[0], path, construct=construct, lenient=lenient)
            except _Mismatch as exc:
                if exc.cfg_path != path:
                    raise
                raise _mismatch(path, tp, value) from None
        for strict_pass in (True, False):
            for member in members:
                try:
                    return _convert(
                        value, member, path, construct=construct, lenient=not strict_pass
                    )
                except ConfigError:
                    continue
        raise _mismatch(path, tp, value)

    if origin is Literal:
        for allowed in args:
            if type(value) is type(allowed) and value == allowed:
                return value
        hint = ""
        if isinstance(value, str):
            guess = _suggest(value, [a for a in args if isinstance(a, str)])
            if guess:
                hint = f"; did you mean {guess!r}?"
        raise _mismatch(path, tp, value, hint)

    if tp is bool:
        if isinstance(value, bool):
            return value
        raise _mismatch(path, tp, value, "; use true or false")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        hint = ""
        number = value
        if isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                pass
        if isinstance(number, float) and number.is_integer():
            hint = f"; write it as an integer ({int(number)})"
        raise _mismatch(path, tp, value, hint)
    if tp is float:
        if isinstance(value, float):
            return value
        if lenient and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if lenient and isinstance(value, str):
            try:
                return float(value.strip())
            except ValueError:
                pass
        raise _mismatch(path, tp, value)
    if tp is str:
        if isinstance(value, str):
            return value
        raise _mismatch(path, tp, value, "; quote the value to make it a string")
    if isinstance(tp, type) and issubclass(tp, pathlib.PurePath):
        if isinstance(value, (str, os.PathLike)):
            return tp(value)
        raise _mismatch(path, tp, value)

    if tp in (list, tuple) or origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise _mismatch(path, tp, value)
        container = origin or tp
        if not args:
            items = list(value)
        elif container is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            if args == ((),):  # tuple[()]
                args = ()
            if len(value) != len(args):
                raise _mismatch(
                    path, tp, value, f"; expected exactly {len(args)} items, got {len(value)}"
                )
            items = [
                _convert(v, a, f"{path}[{i}]", construct=construct, lenient=lenient)
                for i, (v, a) in enumerate(zip(value, args))
            ]
        else:
            item_tp = args[0]
            items = [
                _convert(v, item_tp, f"{path}[{i}]", construct=construct, lenient=lenient)
                for i, v in enumerate(value)
            ]
        return tuple(items) if container is tuple else items

    if tp is dict or origin in (dict, Mapping, typing.Dict):
        if not isinstance(value, Mapping):
            raise _mismatch(path, tp, value)
        if not args:
            return dict(value)
        key_tp, val_tp = args
        out = {}
        for k, v in value.items():
            sub = _join(path, str(k))
            k2 = _convert(k, key_tp, sub, construct=construct, lenient=lenient)
            out[k2] = _convert(v, val_tp, sub, construct=construct, lenient=lenient)
        return out

    if isinstance(tp, type):
        if isinstance(value, tp):
            return value
        raise _mismatch(path, tp, value)
    raise TypeError(f"config key '{_show(path)}': unsupported annotation {tp!r}")


def concrete_type(cls: type, data: Any) -> type:
    """``cls``, or the subclass that ``cls.config_type_for(data)`` picks for these values (a config whose
    sections depend on one of its values, e.g. an experiment's ``method``)."""
    pick = getattr(cls, "config_type_for", None)
    return pick(data) if pick is not None and isinstance(data, Mapping) else cls


def _build(cls: type, data: Mapping, path: str, *, construct: bool) -> Any:
    if not isinstance(data, Mapping):
        raise _mismatch(path, cls, data)
    cls = concrete_type(cls, data)
    hints = _hints(cls)
    fields = _init_fields(cls)
    names = [f.name for f in fields]
    for key in data:
        if key not in names:
            raise _unknown_key(path, key, names)
    kwargs: dict[str, Any] = {}
    for f in fields:
        sub = _join(path, f.name)
        if f.name in data:
            kwargs[f.name] = _convert(data[f.name], hints[f.name], sub, construct=construct)
        elif (
            construct
            and f.default is dataclasses.MISSING
            and f.default_factory is dataclasses.MISSING
        ):
            raise ConfigError(
                f"missing required config key '{sub}' (it has no default); set it in the "
                f"preset / config file or with an override '{sub}=VALUE'"
            )
    if not construct:
        return kwargs
    try:
        return cls(**kwargs)
    except ConfigError:
        raise
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            f"invalid config section '{_show(path)}' ({cls.__name__}): {exc}; fix the values "
            "in that section"
        ) from exc


def from_dict(cls: type, data: Mapping[str, Any], *, path: str = "") -> Any:
    """Build the (nested) dataclass ``cls`` from a plain mapping, type-checking every field.

    Missing keys take the dataclass defaults. Raises :class:`ConfigError` for unknown keys
    (with the valid keys of that section and a close-match suggestion), values of the wrong
    type, and missing required keys. ``path`` is the dotted prefix used in messages.
    """
    if not _is_dataclass_type(cls):
        raise TypeError(f"from_dict needs a dataclass type, got {cls!r}")
    return _build(cls, data if data is not None else {}, path, construct=True)


def validate(cls: type, data: Mapping[str, Any], *, path: str = "") -> None:
    """Check the keys and value types in a *partial* mapping against ``cls``.

    Like :func:`from_dict` but missing (required) keys are allowed and nothing is built.
    """
    if not _is_dataclass_type(cls):
        raise TypeError(f"validate needs a dataclass type, got {cls!r}")
    _build(cls, data if data is not None else {}, path, construct=False)


# --------------------------------------------------------------------------------------
# dataclass -> dict, merging
# --------------------------------------------------------------------------------------


def to_dict(obj: Any) -> Any:
    """Convert a (nested) dataclass into plain JSON/YAML-serialisable data.

    Tuples become lists, paths become strings; fields with ``init=False`` are left out so that
    ``from_dict(type(obj), to_dict(obj))`` round-trips.
    """
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_dict(getattr(obj, f.name)) for f in _init_fields(type(obj))}
    if isinstance(obj, Mapping):
        return {(k if isinstance(k, (str, int, float, bool)) else str(k)): to_dict(v)
                for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, pathlib.PurePath):
        return str(obj)
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if hasattr(obj, "item") and callable(obj.item):  # numpy / torch scalars
        try:
            return obj.item()
        except Exception:  # pragma: no cover - defensive
            pass
    raise ConfigError(
        f"cannot serialise config value {obj!r} of type {type(obj).__name__}; config values "
        "must be numbers, strings, booleans, None, lists or mappings"
    )


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
            f"malformed override {text!r}: expected KEY=VALUE with a dotted key, "
            "e.g. 'train.lr=1e-3' or 'model.hidden_dims=[32,64]'"
        )
    key, raw = text.split("=", 1)
    key = key.strip()
    parts = key.split(".")
    if not key or any(not p.strip() or p != p.strip() for p in parts):
        raise ConfigError(
            f"malformed override {text!r}: the key {key!r} must be a dotted name such as "
            "'train.lr' (no empty parts or spaces)"
        )
    return key, raw


def _yaml_value(key: str, raw: str) -> Any:
    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise ConfigError(
            f"cannot parse the value {raw!r} of override '{key}': {exc}; quote strings that "
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
    if tp is dict or typing.get_origin(tp) in (dict, Mapping, typing.Dict):
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


def _parse_yaml_text(text: str, source: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"cannot parse YAML config {source}: {exc}; fix the syntax") from exc
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"config {source} must contain a mapping of keys to values at the top level, "
            f"got {type(data).__name__}"
        )
    return dict(data)


def read_yaml(path: str | os.PathLike) -> dict[str, Any]:
    """Read a YAML file holding a mapping; ConfigError if missing, unreadable or not a mapping."""
    p = pathlib.Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"config file {p} not found; check the path") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {p}: {exc}") from exc
    return _parse_yaml_text(text, str(p))


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
        f"got {value!r}"
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
    family = preset_family(stem, presets_dir=presets_dir)
    for base in _base_names(data.get(BASE_KEY), f"preset '{stem}'"):
        base_family = preset_family(base, presets_dir=presets_dir) if base in list_presets(presets_dir=presets_dir) \
            else family
        if base_family != family:
            raise ConfigError(f"preset '{stem}' ({family or 'top level'}) inherits from '{base}' of another family "
                              f"({base_family or 'top level'}); presets inherit only within their family")
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
    cls = concrete_type(cls, picked)
    for source, layer in layers:
        try:
            validate(cls, layer)
        except ConfigError as exc:
            raise ConfigError(f"in {source}: {exc}") from exc
        data = merge(data, layer)
    data = apply_overrides(data, overrides, cls)
    return from_dict(cls, data)


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
