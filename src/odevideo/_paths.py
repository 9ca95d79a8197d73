"""Checks on output paths made before any work: is there a file where a folder has to be created?

Layer 1: imports nothing from odevideo. Callers turn the answer into their own error types.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["blocking_file"]


def blocking_file(folder: str | os.PathLike[str]) -> Path | None:
    """The existing non-folder at ``folder`` or above it that keeps ``folder`` from being created (``mkdir -p``),
    or None when nothing does (``folder`` exists as a folder, or its nearest existing ancestor is one)."""
    p = Path(folder)
    for q in (p, *p.parents):
        if os.path.lexists(q):
            return None if q.is_dir() else q
    return None
