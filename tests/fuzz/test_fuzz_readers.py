"""A few hundred seeded mutations of files odevideo writes, each read in a worker with a timeout and a memory
cap: every one reads fine or ends in a one-line project error (no foreign exception, hang, crash or
MemoryError). The long run: ``python tests/fuzz/harness.py --inputs 10000 --jobs 2 --out fuzz.json``."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location("odevideo_fuzz_harness", Path(__file__).with_name("harness.py"))
harness = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(harness)


def test_mutated_files_read_fine_or_fail_with_a_project_error():
    result = harness.run(inputs=400, jobs=1, seed=0, timeout=10.0, memory=4 << 30)
    assert result["inputs"] == 400
    lines = [f"input {f['index']} ({f['input']}): {f['status']}: {f['error']}" for f in result["failures"]]
    assert not lines, (
        f"{result['failed']} of {result['inputs']} inputs failed; reproduce one with "
        f"`python tests/fuzz/harness.py --replay INDEX --seed 0`:\n" + "\n".join(lines)
    )
    assert result["project_error"] > 0 and result["ok"] > 0


def test_every_mutation_is_deterministic(tmp_path):
    seeds = tmp_path / "seeds"
    names = sorted(harness.write_seeds(seeds))
    for index in range(30):
        a = harness.build_input(seeds, names, 0, index, tmp_path / "a")
        b = harness.build_input(seeds, names, 0, index, tmp_path / "b")
        assert a[1:] == b[1:]
        if a[0].is_file():
            assert a[0].read_bytes() == b[0].read_bytes()
