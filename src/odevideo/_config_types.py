"""Type conversion between plain mappings and nested config dataclasses (the typed half of :mod:`odevideo.configio`).

:func:`from_dict` builds a (nested) dataclass from a mapping, checking every value against its field's
annotation and converting where that is safe (int -> float, a numeric string -> float); :func:`validate` checks
a partial mapping without building anything; :func:`to_dict` turns a config back into plain YAML/JSON data.
Unknown keys, wrong types and missing required keys raise :class:`~odevideo.errors.ConfigError` naming the
dotted key, with the valid keys of its section and a close-match suggestion. :func:`concrete_type` picks the
subclass of a config whose sections depend on one of its values. The supported annotations are listed in
:mod:`odevideo.configio`, which re-exports the public names.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import pathlib
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any, Literal, Union

from odevideo.errors import ConfigError

__all__ = ["from_dict", "validate", "to_dict", "concrete_type"]

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


#: Longest shown value in an error message; a longer repr is cut with "...".
MAX_SHOWN = 200


def short_repr(value: Any, limit: int = MAX_SHOWN) -> str:
    """``repr(value)`` cut to ``limit`` characters; a huge value is never formatted in full (a value with a
    ``len`` above ``limit`` is shown by its type and length)."""
    try:
        if isinstance(value, (list, tuple, dict, set)) and len(value) > limit:
            return f"<{type(value).__name__} of {len(value)} items>"
        if isinstance(value, str) and len(value) > limit:
            return repr(value[:limit]) + "..."
        text = repr(value)
    except RecursionError:
        return f"<{type(value).__name__} nested too deeply>"
    return text if len(text) <= limit else text[:limit] + "..."


def _mismatch(path: str, tp: Any, value: Any, hint: str = "") -> _Mismatch:
    msg = (
        f"config key '{_show(path)}': expected {_type_name(tp)}, "
        f"got {short_repr(value)} ({type(value).__name__})"
    )
    msg += hint or f"; set '{_show(path)}' to a value of that type"
    return _Mismatch(msg, path)


def _unknown_key(path: str, key: Any, valid: list[str]) -> ConfigError:
    full = _join(path, short_repr(key) if not isinstance(key, str) or len(key) > MAX_SHOWN else key)
    guess = _suggest(str(key)[:MAX_SHOWN], valid)
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

    if tp is dict or origin in (dict, Mapping, dict):
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
# dataclass -> dict
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
