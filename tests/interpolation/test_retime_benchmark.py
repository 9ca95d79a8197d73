"""benchmarks/retime_speed.py on a tiny clip: one row per interpolator with the output's real frame count, and the
JSON the docs table is generated from."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

from .retime_clips import write_clip

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "retime_speed.py"


def test_rows_count_the_written_frames_and_time_each_process(tmp_path):
    spec = importlib.util.spec_from_file_location("retime_speed_bench", SCRIPT)
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench
    spec.loader.exec_module(bench)
    clip = write_clip(tmp_path / "in.mkv", n=24, fps=24)  # 1 s at 24 fps
    out = tmp_path / "speed.json"
    rows = bench.main(["--input", str(clip), "--fps", "60", "--models", "repeat_previous", "linear_blend",
                       "--suffix", ".mkv", "--out", str(out)])
    assert [r["output_frames"] for r in rows] == [60, 60]
    assert all(r["wall_s"] > 0 and r["cpu_user_s"] > 0 and 0.01 < r["peak_rss_gb"] < 8 for r in rows)
    assert rows[1]["command"] == f"odevideo retime linear_blend {clip} OUT.mkv --fps 60"
    saved = json.loads(out.read_text())
    assert saved["rows"] == rows and "to 60 fps" in saved["what"]
