"""Atomic file and folder writes: write to a temporary next to the target, then ``os.replace``.

The temporary (named ``.<target name>.<random><suffix>``) lives in the target's directory, so the
final :func:`os.replace` is a rename within one file system: readers see either the old target or
the complete new one, never a half-written file. On any exception (``KeyboardInterrupt``
included) the temporary is removed and an existing target is left as it was.

Temporaries are created with the permissions a plain ``open(path, "w")`` / ``mkdir`` would give
(``0o666`` / ``0o777`` minus the process umask), unlike :mod:`tempfile`'s private ``0o600`` /
``0o700``, so the moved-in result has normal permissions. Parent directories are created.

A process killed mid-write leaves its temporary behind (and, inside :func:`atomic_write_dir`, possibly the
previous folder moved aside as ``.<name>.<random>.old``): :func:`remove_stale_temporaries` removes such leftovers
from a directory and puts a moved-aside folder back where its target is missing.

Layer 1: imports nothing from odevideo. Callers wrap ``OSError`` in their own error types.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

__all__ = [
    "temp_file",
    "atomic_write",
    "atomic_write_bytes",
    "atomic_write_text",
    "atomic_write_dir",
    "fsync_file",
    "fsync_dir",
    "remove_stale_temporaries",
]

_TRIES = 100
# the names _create_temp gives: "." + target name + "." + 8 hex digits + suffix (".tmp", ".tmp.png", ".old", ...)
_TEMP_NAME = re.compile(r"^\.(?P<target>.+)\.[0-9a-f]{8}(?P<suffix>\.tmp(\.[A-Za-z0-9]+)?|\.part|\.old)$")
_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


def _create_temp(target: Path, suffix: str, make: Callable[[Path], None]) -> Path:
    """A fresh, unused path next to ``target``, created by ``make`` (which must fail if it exists)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(_TRIES):
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}{suffix}")
        try:
            make(tmp)
        except FileExistsError:
            continue
        return tmp
    raise FileExistsError(f"no unused temporary name next to {target} after {_TRIES} tries")


def _remove(path: Path) -> None:
    """Best-effort removal of a file or folder (never raises: it runs while an error propagates)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            os.unlink(path)


@contextlib.contextmanager
def temp_file(path: str | os.PathLike[str], *, suffix: str = ".tmp") -> Iterator[Path]:
    """An empty temporary file next to ``path``, removed on exit unless it was moved away.

    For writes that commit several files together (fill every temporary, then ``os.replace`` each);
    a single file is simpler with :func:`atomic_write`.
    """

    def make(tmp: Path) -> None:
        os.close(os.open(tmp, _FILE_FLAGS, 0o666))  # the umask applies, as for open(tmp, "w")

    tmp = _create_temp(Path(path), suffix, make)
    try:
        yield tmp
    finally:
        _remove(tmp)  # a no-op once it has been moved into place


def atomic_write(
    path: str | os.PathLike[str],
    write_fn: Callable[[Path], None],
    *,
    suffix: str = ".tmp",
    fsync: bool = False,
) -> Path:
    """Have ``write_fn(tmp)`` write a temporary file next to ``path``, then move it onto ``path``.

    ``suffix`` ends the temporary's name (e.g. ``".tmp.png"`` for writers that pick the format from
    it). ``fsync=True`` flushes the file before the rename and the directory after it. Returns
    ``path`` as a :class:`Path`.
    """
    path = Path(path)
    with temp_file(path, suffix=suffix) as tmp:
        write_fn(tmp)
        if fsync:
            fsync_file(tmp)
        os.replace(tmp, path)
    if fsync:
        fsync_dir(path.parent)
    return path


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, *, fsync: bool = False) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_write`)."""
    return atomic_write(path, lambda tmp: tmp.write_bytes(data), fsync=fsync)


def atomic_write_text(
    path: str | os.PathLike[str], text: str, *, encoding: str = "utf-8", fsync: bool = False
) -> Path:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_write`)."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding=encoding), fsync=fsync)


def atomic_write_dir(
    path: str | os.PathLike[str], fill_fn: Callable[[Path], None], *, suffix: str = ".tmp"
) -> Path:
    """Have ``fill_fn(tmp_dir)`` fill a temporary folder next to ``path``, then move it onto ``path``.

    An existing ``path`` is first moved aside (``.<name>.<random>.old``), put back if the final
    rename fails, and deleted after it succeeds. Returns ``path`` as a :class:`Path`.
    """
    path = Path(path)
    tmp = _create_temp(path, suffix, lambda p: os.mkdir(p, 0o777))  # the umask applies
    old: Path | None = None
    try:
        fill_fn(tmp)
        if os.path.lexists(path):
            old = _create_temp(path, ".old", lambda p: os.mkdir(p, 0o700))
            os.rmdir(old)  # only the unused name is wanted
            os.replace(path, old)
        os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        if old is not None and os.path.lexists(old) and not os.path.lexists(path):
            os.replace(old, path)  # put the previous content back
        raise
    if old is not None:
        _remove(old)
    return path


def fsync_file(path: str | os.PathLike[str]) -> None:
    """Flush a written file's content to disk."""
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def fsync_dir(path: str | os.PathLike[str]) -> None:
    """Flush a directory's entries (after a rename) to disk; a no-op where unsupported (Windows)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def remove_stale_temporaries(directory: str | os.PathLike[str]) -> list[Path]:
    """Remove the temporaries that killed writes left in ``directory`` (names as :func:`temp_file` and
    :func:`atomic_write_dir` give them); return what was removed or restored.

    A folder moved aside by :func:`atomic_write_dir` (``.<name>.<random>.old``) whose target is missing (the
    kill came between the two renames) is moved back onto its target instead of being deleted. Only call this
    while no other process writes into ``directory``."""
    directory = Path(directory)
    try:
        entries = sorted(directory.iterdir())
    except OSError:  # missing or unreadable: nothing to clean
        return []
    handled = []
    for entry in entries:
        m = _TEMP_NAME.match(entry.name)
        if m is None:
            continue
        target = directory / m.group("target")
        if m.group("suffix") == ".old" and entry.is_dir() and not os.path.lexists(target):
            with contextlib.suppress(OSError):
                os.replace(entry, target)
                handled.append(entry)
            continue
        _remove(entry)
        handled.append(entry)
    return handled
