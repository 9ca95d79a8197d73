"""The command line's own checks, made before any work: number ranges as the arguments are parsed (argparse
types), output paths before a model is loaded or a file is created.

Config values (``--set train.lr=...``) are checked with the config (:func:`odevideo.training.config.check_config`).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Iterable
from pathlib import Path

from odevideo._paths import blocking_file
from odevideo.errors import InputError


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one line: the option, the problem, where to read more."""

    def error(self, message: str):  # noqa: D102 - argparse's hook
        self.exit(2, f"{self.prog}: error: {message}; see `{self.prog} --help`\n")


def whole_number(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number >= ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number; give one >= {minimum}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is too small; give a whole number >= {minimum}")
        return value

    parse.__name__ = f"whole number >= {minimum}"
    return parse


def number(minimum: float, *, inclusive: bool = True) -> Callable[[str], float]:
    """An argparse type: a finite number >= ``minimum`` (> with ``inclusive=False``)."""
    bound = f"{'>=' if inclusive else '>'} {minimum:g}"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number; give a finite number {bound}") from None
        if not math.isfinite(value) or value < minimum or (value == minimum and not inclusive):
            raise argparse.ArgumentTypeError(f"{text} is out of range; give a finite number {bound}")
        return value

    parse.__name__ = f"number {bound}"
    return parse


def check_output_folder(path: str | Path, option: str, *, folder: str | Path | None = None) -> None:
    """Refuse an output folder (``path``, or the ``folder`` of the file ``path``) that cannot be created because a
    file sits at it or above it."""
    blocker = blocking_file(path if folder is None else folder)
    if blocker is not None:
        raise InputError(f"{option} {path}: {blocker} is a file, not a folder; choose another path")


def check_output_file(path: str | Path, option: str, suffixes: Iterable[str], folder: bool = False) -> None:
    """Refuse an output file whose suffix is not one of ``suffixes`` (lower case, with the dot; ``folder``: a path
    without suffix, or an existing folder, is a folder of frames) or whose folder cannot be created."""
    p = Path(path)
    suffixes = tuple(suffixes)
    as_folder = folder and (p.suffix == "" or p.is_dir())
    if not as_folder and p.suffix.lower() not in suffixes:
        what = f"suffix '{p.suffix}'" if p.suffix else "no suffix"
        alternatives = ", ".join(suffixes) + (" or a folder path without suffix" if folder else "")
        raise InputError(f"{option} {path}: cannot write files with {what}; end the name in {alternatives}")
    if not as_folder and p.is_dir():
        raise InputError(f"{option} {path} is a folder; give a file name ending in {', '.join(suffixes)}")
    check_output_folder(p, option, folder=p if as_folder else p.parent)


def run_dir_of(path: str) -> Path:
    """The run folder of a run / checkpoints folder or of a checkpoint file."""
    p = Path(path)
    if p.is_dir():
        return p if p.name != "checkpoints" else p.parent
    return p.parent.parent if p.parent.name == "checkpoints" else p.parent
