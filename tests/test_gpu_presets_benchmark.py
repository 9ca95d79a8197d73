"""Smoke test of benchmarks/gpu_presets.py: the GPU benchmark's code runs on the CPU at tiny sizes."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_presets.py"


def _load():
    spec = importlib.util.spec_from_file_location("gpu_presets_bench", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_cpu_smoke_run_measures_every_preset_and_precision(tmp_path):
    bench = _load()
    out = tmp_path / "gpu_presets.json"
    result = bench.main(["--device", "cpu", "--steps", "2", "--warmup", "1", "--tiny", "--num-workers", "1",
                         "--out", str(out)])
    saved = json.loads(out.read_text())
    assert saved == json.loads(json.dumps(result))
    assert saved["machine"]["device_name"].startswith("CPU") and saved["tiny"] is True
    rows = saved["rows"]
    assert [r.get("error") for r in rows] == [None] * 9
    assert {(r["bench"], r["precision"]) for r in rows} == {
        (b, p) for b in ("mmnist1_latent_ode", "vid_ode_bb128", "tgan_ode_mmnist32") for p in ("fp32", "bf16", "fp16")
    }
    for r in rows:
        assert r["gpus"] == 1 and r["steps_timed"] == 2 and r["steps_per_s"] > 0 and r["clips_per_s"] > 0
        assert r["peak_gpu_mem_mb_rank0"] is None  # no GPU
        assert (r["fp16_skipped_steps"] is not None) == (r["precision"] == "fp16")
