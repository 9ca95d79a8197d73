"""Fixtures for the metrics tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

try:  # use the installed package when there is one, else the source tree
    import odevideo  # noqa: F401
except ImportError:  # pragma: no cover - depends on the environment
    sys.path.insert(0, str(REPO_ROOT / "src"))


@pytest.fixture(scope="session")
def lpips_data_dir() -> Path:
    """Real LPIPS weights and the reference example images (shared, read-only)."""
    path = REPO_ROOT.parent / "shared" / "data" / "lpips"
    needed = ["alexnet_features.pth", "lpips_v0.1_alex_lin.pth", "ex_ref.png", "ex_p0.png", "ex_p1.png"]
    missing = [name for name in needed if not (path / name).is_file()]
    if missing:
        pytest.skip(f"LPIPS reference files not found in {path} (missing {missing})")
    return path
