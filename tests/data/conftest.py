"""Fixtures for the data-layer tests.

* Makes ``src/`` importable when odevideo is not installed.
* Never lets a test reach the network: the MNIST downloader's opener only accepts ``file:`` URLs
  and ``ODEVIDEO_CACHE`` points to a fresh temporary directory.
* ``mnist_dir``: the real MNIST files, expected at ``<repo_root>/../shared/data/mnist``; tests that
  need them are skipped (with the reason) when they are absent.
"""

from __future__ import annotations

import importlib.util
import sys
import urllib.request
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if importlib.util.find_spec("odevideo") is None:
    sys.path.insert(0, str(REPO_ROOT / "src"))

SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
MNIST_DIR = SHARED_DATA / "mnist"
MNIST_NAMES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch, tmp_path_factory):
    import odevideo.data.mnist as mnist

    real_urlopen = urllib.request.urlopen

    def file_only(request, *args, **kwargs):
        url = request.full_url if isinstance(request, urllib.request.Request) else str(request)
        if not url.startswith("file:"):
            raise AssertionError(f"a test tried to reach the network: {url}")
        return real_urlopen(request, *args, **kwargs)

    monkeypatch.setattr(mnist, "_urlopen", file_only)
    monkeypatch.setenv("ODEVIDEO_CACHE", str(tmp_path_factory.mktemp("odevideo_cache")))


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """Directory with the four real MNIST files (``.gz`` or raw)."""
    from odevideo.data.mnist import find_mnist_file

    missing = [n for n in MNIST_NAMES if find_mnist_file(n, [MNIST_DIR]) is None]
    if missing:
        pytest.skip(
            f"real MNIST files not found in {MNIST_DIR} (missing: {', '.join(missing)}); "
            f"put them in <repo_root>/../shared/data/mnist to run this test"
        )
    return MNIST_DIR
