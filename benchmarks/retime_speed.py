"""`odevideo retime` speed: output frames per wall-clock second, CPU time and peak memory, one interpolator after
another on the same input and in the same run, so that the rows compare.

Each interpolator runs in its own process (`odevideo retime NAME IN OUT --fps ...`), measured from outside: wall
time, user CPU time and peak resident memory of that process (``getrusage`` of the finished child); the output's
frame count is read back with PyAV.

    python benchmarks/retime_speed.py --input ../shared/data/video/Megamind.avi --fps 60 --end 3 \\
        --models linear_blend dis_flow dis_flow_or_blend interp-real-full --bf16-models interp-real-full \\
        --out benchmarks/results/retime_speed.json

Prints one line per interpolator; ``--out`` writes the JSON that docs/retime.md's table is generated from.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _frames(path: Path) -> int:
    import av

    with av.open(str(path)) as c:
        return sum(1 for _ in c.decode(video=0))


def _load() -> str:
    one, _, _ = os.getloadavg()
    return f"{os.cpu_count()} CPU cores, load average {one:.1f} at the start"


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--input", required=True)
    ap.add_argument("--fps", default="60")
    ap.add_argument("--end", default=None, help="seconds of the input to convert (default: all of it)")
    ap.add_argument("--models", nargs="+", default=["linear_blend", "dis_flow", "interp-real-full"])
    ap.add_argument("--bf16-models", nargs="*", default=[],
                    help="trained models to run a second time with --bf16 (bf16 autocast of their networks)")
    ap.add_argument("--suffix", default=".mp4", help="the output container")
    ap.add_argument("--out", default=None, help="JSON to write")
    args = ap.parse_args(argv)
    exe = shutil.which("odevideo") or sys.exit("odevideo is not installed in this environment")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        runs = [(m, False) for m in args.models] + [(m, True) for m in args.bf16_models]
        for model, bf16 in runs:
            out = Path(tmp) / f"out{args.suffix}"
            cmd = [exe, "retime", model, args.input, str(out), "--fps", str(args.fps)]
            if args.end is not None:
                cmd += ["--end", str(args.end)]
            if bf16:
                cmd += ["--bf16"]
            load = _load()
            log = Path(tmp) / "stderr.txt"
            t0 = time.perf_counter()
            with open(log, "w") as errf:
                proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=errf)
                _, status, usage = os.wait4(proc.pid, 0)  # this child's own CPU time and peak memory
            wall = time.perf_counter() - t0
            if os.waitstatus_to_exitcode(status) != 0:
                lines = log.read_text().strip().splitlines()
                sys.exit(f"{' '.join(cmd)} failed: {lines[-1] if lines else status}")
            shown = ["odevideo", *cmd[1:4], "OUT" + args.suffix, *cmd[5:]]
            row = {"command": " ".join(shown), "output_frames": _frames(out), "wall_s": round(wall, 1),
                   "cpu_user_s": round(usage.ru_utime, 1), "peak_rss_gb": round(usage.ru_maxrss / 2**20, 2),
                   "load": load}
            rows.append(row)
            print(f"{model}{' --bf16' if bf16 else ''}: {row['output_frames']} frames in {row['wall_s']} s = "
                  f"{row['output_frames'] / row['wall_s']:.1f} output frames/s; CPU {row['cpu_user_s']} s; "
                  f"peak RSS {row['peak_rss_gb']} GB", flush=True)
    if args.out:
        what = (f"odevideo retime, {Path(args.input).name} to {args.fps} fps"
                + (f", its first {args.end} s" if args.end else "") + f", written as {args.suffix}")
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"what": what, "command": " ".join(["python", *sys.argv]),
                                              "rows": rows}, indent=1) + "\n")
    return rows


if __name__ == "__main__":
    main()
