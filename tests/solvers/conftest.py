"""Fixtures for the solver tests."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parents[2]

# Use the installed package when there is one, else the source tree (find_spec does not import it).
if importlib.util.find_spec("odevideo") is None:  # pragma: no cover - depends on the environment
    sys.path.insert(0, str(REPO_ROOT / "src"))


@pytest.fixture(autouse=True)
def _seeded():
    """Every test starts from the same global RNG state, so statistical tests are repeatable."""
    torch.manual_seed(0)
