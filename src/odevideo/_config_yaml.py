"""Reading config YAML safely: a size limit, a nesting limit while composing, and a budget on the values that
aliases expand to (a "billion laughs" file is refused before it is built); errors on one line."""

from __future__ import annotations

import os
import pathlib
from collections.abc import Mapping
from typing import Any

import yaml

from odevideo.errors import ConfigError

#: Largest config file read (a config is a few KB).
MAX_CONFIG_BYTES = 1 << 20
#: Deepest nesting of lists and mappings in a config file or override value.
MAX_CONFIG_DEPTH = 64
#: Most values (scalars, lists, mappings) a config may hold once its YAML aliases are expanded: a few KB of
#: nested aliases ("billion laughs") would otherwise expand to billions.
MAX_CONFIG_NODES = 100_000


class _TooBig(Exception):
    pass


class _ConfigLoader(yaml.SafeLoader):
    """PyYAML's safe loader with a nesting limit while composing (PyYAML's composer recurses)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_CONFIG_DEPTH:
                raise _TooBig(f"nested more than {MAX_CONFIG_DEPTH} levels deep")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _check_expanded_size(root: yaml.Node) -> None:
    """Count the nodes of ``root`` with aliases expanded, stopping at :data:`MAX_CONFIG_NODES`."""
    count, stack = 0, [root]
    while stack:
        node = stack.pop()
        count += 1
        if count > MAX_CONFIG_NODES:
            raise _TooBig(f"more than {MAX_CONFIG_NODES} values once its aliases (*name) are expanded")
        if isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.append(key)
                stack.append(value)


def _safe_load(text: str) -> Any:
    """``yaml.safe_load`` within :data:`MAX_CONFIG_DEPTH` and :data:`MAX_CONFIG_NODES` (raises ``_TooBig``)."""
    loader = _ConfigLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_expanded_size(node)
        return loader.construct_document(node)
    except RecursionError:
        raise _TooBig("nested too deeply") from None
    finally:
        loader.dispose()


def _parse_yaml_text(text: str, source: str) -> dict[str, Any]:
    if len(text) > MAX_CONFIG_BYTES:
        raise ConfigError(f"config {source} is larger than {MAX_CONFIG_BYTES} bytes; a config file is a few KB: "
                          "check that this is the right file")
    try:
        data = _safe_load(text)
    except _TooBig as exc:
        raise ConfigError(f"config {source} is {exc}; write the values out plainly") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"cannot parse YAML config {source}: {_short_error(exc)}; fix the syntax") from None
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"config {source} must contain a mapping of keys to values at the top level, "
            f"got {type(data).__name__}"
        )
    return dict(data)

def _short_error(exc: BaseException, limit: int = 500) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[:limit] + "..."

def read_yaml(path: str | os.PathLike) -> dict[str, Any]:
    """Read a YAML file holding a mapping; ConfigError if missing, unreadable, too large or not a mapping
    (see :data:`MAX_CONFIG_BYTES`, :data:`MAX_CONFIG_DEPTH`, :data:`MAX_CONFIG_NODES`)."""
    p = pathlib.Path(path)
    try:
        if p.is_file() and p.stat().st_size > MAX_CONFIG_BYTES:
            raise ConfigError(f"config file {p} is larger than {MAX_CONFIG_BYTES} bytes; a config file is a few KB: "
                              "check that this is the right file")
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"config file {p} not found; check the path") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {p}: {exc}") from exc
    return _parse_yaml_text(text, str(p))
