"""The package layout changed, the behaviour did not: for one tiny config of every method, the initial parameters
(model and critics) and the metrics of the first 5 seeded training steps equal the fixture recorded before the
reorganisation (``record_fixture.py``), bit for bit."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from cases import CASES, build_config  # noqa: E402
from record_fixture import run_case  # noqa: E402

FIXTURE = json.loads((HERE / "fixture.json").read_text())


@pytest.mark.parametrize("name", sorted(CASES))
def test_first_steps_match_the_recorded_fixture(tmp_path, name):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the fixture was recorded on one thread (the reduction order of a sum)
    try:
        got = run_case(build_config(name, str(tmp_path)))
    finally:
        torch.set_num_threads(threads)
    want = FIXTURE[name]
    assert got["model_hash"] == want["model_hash"]
    assert got["critics_hash"] == want["critics_hash"]
    assert got["steps"] == want["steps"]
