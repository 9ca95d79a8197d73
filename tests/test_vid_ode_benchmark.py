"""Smoke test of benchmarks/vid_ode_step.py (issue 3): --quick runs every variant on tiny sizes."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "vid_ode_step.py"


def _load():
    spec = importlib.util.spec_from_file_location("vid_ode_step_bench", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_quick_run_writes_json_with_timings_and_matching_shapes(tmp_path):
    bench = _load()
    out = tmp_path / "vid_ode_step.json"
    bench.main(["--quick", "--threads", "1", "--rounds", "2", "--out", str(out),
                "--ours", "euler:bf16", "midpoint:bf16:cl", "dopri5:fp32:adjoint"])
    result = json.loads(out.read_text())
    assert result["benchmark"] == "vid_ode_step" and result["quick"] is True
    assert {"torch", "threads", "machine"} <= set(result["environment"])
    rows = result["rows"]
    assert {(r["task"], r["kind"]) for r in rows} == {
        (t, k) for t in ("extrapolation", "interpolation") for k in ("authors", "ours")
    }
    assert len(rows) == 2 * 4
    for r in rows:
        assert r["rounds"] == 2 and len(r["s_per_step_all"]) == 2  # 1 timed step per round
        assert 0 < r["s_per_step_min"] <= r["s_per_step"]
        for key in ("s_per_step", "cpu_s_per_step", "peak_rss_mb"):
            assert r[key] > 0, (r["variant"], key)
        assert r["nfe_encoder_fwd"] > 0 and r["nfe_decoder_fwd"] > 0
        assert r["losses_finite"]
        assert set(r["ratio_vs_authors"]) == {"s_per_step", "s_per_step_min", "cpu_s_per_step", "peak_rss_mb"}
    for task in ("extrapolation", "interpolation"):
        group = [r for r in rows if r["task"] == task]
        ref = next(r for r in group if r["kind"] == "authors")
        assert ref["ratio_vs_authors"]["s_per_step"] == pytest.approx(1.0)
        # ours and the authors' reference predict the same frames: (B, Q, C, H, W) = (2, 5, 3, 16, 16)
        assert all(r["output_shape"] == ref["output_shape"] == [2, 5, 3, 16, 16] for r in group)
    # fixed-step decoders step one frame gap per query: 5 evaluations (extrapolation) vs the adaptive dopri5
    euler = next(r for r in rows if r["task"] == "extrapolation" and r["variant"] == "ours[euler:bf16]")
    assert euler["nfe_decoder_fwd"] == 5


def test_variant_names_parse():
    bench = _load()
    v = bench.parse_variant("ours[rk4@0.05:bf16:cl]")
    assert (v.kind, v.solver, v.bf16, v.channels_last, v.adjoint) == ("ours", "rk4@0.05", True, True, False)
    assert bench.parse_variant("authors").kind == "authors"
    assert bench.decoder_solver(bench.parse_variant("dopri5:adjoint")).adjoint
    with pytest.raises(SystemExit):
        bench.parse_variant("euler:fp16")
