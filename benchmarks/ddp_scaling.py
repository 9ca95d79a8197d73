"""Multi-process (DDP) scaling on the CPU: training throughput for 1 and 2 processes.

Every configuration runs the real training loop (``Trainer``; DDP over gloo with several processes) under
PyTorch's launcher, ``torchrun --standalone --nproc-per-node N``, in a fresh temporary run directory, with
the preset's own global batch (``train.batch_size``, split over the processes). Throughput is optimizer
steps per second of the global batch (x batch size = clips/s), read from the trainer's log between the end
of the warm-up steps and the last timed step; validation and checkpoints happen only after the timed steps.

Configurations (C = CPU cores): 1 process x 1 thread, 1 process x C threads, N processes x 1 thread.
Scaling efficiency = steps/s(N processes) / (N x steps/s(1 process x 1 thread)) (1.0 = linear per core);
``speedup_vs_1proc_all_threads`` compares N single-threaded processes with one process using every core.

Control (what the machine allows): N *independent* single-process runs started at the same time, each
with batch_size / N clips and no communication at all. Their steps/s is the ceiling for the N-process DDP
run on this machine (shared or hyper-threaded cores, memory bandwidth); ``ddp_vs_independent`` = DDP
steps/s / that ceiling isolates the cost of DDP itself (gradient all-reduce, synchronisation).

    python benchmarks/ddp_scaling.py                          # default preset, 1 and 2 processes
    python benchmarks/ddp_scaling.py --preset default --steps 40 --warmup 5 --procs 1 2

Writes ``benchmarks/results/ddp_scaling.json`` (atomically) and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _worker(preset: str, steps: int, warmup: int, threads: int, result_path: str, out_dir: str, batch: int) -> None:
    import resource

    from odevideo.training import ExperimentConfig, Trainer, distributed, load_config

    total = warmup + steps
    overrides = [
        "name=bench", f"output_dir={out_dir}", f"train.steps={total}", "train.log_every=1",
        f"train.eval_every={total}", f"train.checkpoint_every={total}", "train.max_minutes=null",
        "train.progress=false", f"train.threads={threads}", "train.device=cpu",
    ] + ([f"train.batch_size={batch}"] if batch > 0 else [])
    cfg = load_config(ExperimentConfig, preset, None, overrides)
    if os.environ.get("ODEVIDEO_MNIST_DIR"):  # Moving MNIST presets need the MNIST files
        cfg.data.data_dir = os.environ["ODEVIDEO_MNIST_DIR"]
    try:
        trainer = Trainer(cfg)
        trainer.fit()
        if trainer.is_main:
            log = [json.loads(ln) for ln in (trainer.run_dir / "metrics.jsonl").read_text().splitlines()]
            at = {r["step"]: r["elapsed_s"] for r in log if r["kind"] == "train"}
            seconds = at[total] - at[warmup]
            row = {
                "preset": preset, "processes": trainer.dist.world_size, "threads_per_process": threads,
                "global_batch": cfg.train.batch_size, "per_process_batch": trainer.micro_batch_size,
                "bf16": cfg.train.bf16, "steps_timed": steps, "s_per_step": seconds / steps,
                "steps_per_s": steps / seconds, "clips_per_s": steps * cfg.train.batch_size / seconds,
                "peak_rss_mb_rank0": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
            Path(result_path).write_text(json.dumps(row))
    finally:
        distributed.shutdown()


def _run(preset: str, procs: int, threads: int, steps: int, warmup: int, batch: int = 0) -> dict:
    with tempfile.TemporaryDirectory(prefix="odevideo_ddp_bench_") as tmp:
        result = Path(tmp) / "row.json"
        env = dict(os.environ, OMP_NUM_THREADS=str(threads))
        env.pop("WORLD_SIZE", None)
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(procs),
               __file__, "--_worker", preset, str(steps), str(warmup), str(threads), str(result), tmp, str(batch)]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if proc.returncode != 0 or not result.exists():
            raise SystemExit(f"benchmark run failed ({' '.join(cmd)}):\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
        return json.loads(result.read_text())


def _run_independent(preset: str, procs: int, batch: int, steps: int, warmup: int) -> list[dict]:
    """``procs`` single-process runs of ``batch`` clips per step at the same time, 1 thread each."""
    with tempfile.TemporaryDirectory(prefix="odevideo_ddp_bench_") as tmp:
        env = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK", "LOCAL_RANK")}
        env["OMP_NUM_THREADS"] = "1"
        running = []
        for i in range(procs):
            out = Path(tmp) / f"run{i}"
            out.mkdir()
            cmd = [sys.executable, __file__, "--_worker", preset, str(steps), str(warmup), "1",
                   str(out / "row.json"), str(out), str(batch)]
            running.append(
                (subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env), out)
            )
        rows = []
        for proc, out in running:
            _, err = proc.communicate()
            if proc.returncode != 0:
                raise SystemExit(f"independent benchmark run failed:\n{err[-4000:]}")
            rows.append(json.loads((out / "row.json").read_text()))
        return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="default")
    ap.add_argument("--procs", type=int, nargs="+", default=[1, 2], help="process counts to measure")
    ap.add_argument("--steps", type=int, default=40, help="timed optimizer steps per configuration")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "ddp_scaling.json"))
    ap.add_argument("--_worker", nargs=7, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._worker:
        preset, steps, warmup, threads, result, out_dir, batch = args._worker
        _worker(preset, int(steps), int(warmup), int(threads), result, out_dir, int(batch))
        return

    cores = os.cpu_count() or 1
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    configs = [(1, 1)] + ([(1, cores)] if cores > 1 else []) + [(n, 1) for n in args.procs if n > 1]
    rows = []
    for procs, threads in configs:
        row = _run(args.preset, procs, threads, args.steps, args.warmup)
        rows.append(row)
        print(f"{args.preset:10s} {procs} process(es) x {threads} thread(s): {row['steps_per_s']:6.3f} steps/s "
              f"({row['clips_per_s']:6.1f} clips/s, global batch {row['global_batch']}, "
              f"{row['per_process_batch']} clips per process)", flush=True)
    base = rows[0]["steps_per_s"]
    all_threads = next(
        (r["steps_per_s"] for r in rows if r["processes"] == 1 and r["threads_per_process"] == cores), base
    )
    controls = []
    for r in rows:
        if r["processes"] > 1:
            n = r["processes"]
            r["scaling_efficiency"] = r["steps_per_s"] / (n * base)
            r["speedup_vs_1proc_1thread"] = r["steps_per_s"] / base
            r["speedup_vs_1proc_all_threads"] = r["steps_per_s"] / all_threads
            share = r["global_batch"] // n
            alone = _run(args.preset, 1, 1, args.steps, args.warmup, batch=share)["steps_per_s"]
            ind = _run_independent(args.preset, n, share, args.steps, args.warmup)
            ceiling = min(x["steps_per_s"] for x in ind)  # a DDP step waits for the slowest rank
            controls.append({"processes": n, "per_process_batch": share, "alone_steps_per_s": alone,
                             "concurrent_steps_per_s_each": [x["steps_per_s"] for x in ind],
                             "ceiling_steps_per_s": ceiling, "concurrency_slowdown": ceiling / alone})
            r["independent_ceiling_steps_per_s"] = ceiling
            r["ddp_vs_independent"] = r["steps_per_s"] / ceiling
            print(f"{n} processes: scaling efficiency {r['scaling_efficiency']:.2f} "
                  f"(speed-up x{r['speedup_vs_1proc_1thread']:.2f} vs 1 process x 1 thread, "
                  f"x{r['speedup_vs_1proc_all_threads']:.2f} vs 1 process x {cores} threads)")
            print(f"  control: one 1-thread process of {share} clips alone: {alone:.3f} steps/s; {n} of them at once "
                  f"(no communication): {', '.join(f'{x:.3f}' for x in controls[-1]['concurrent_steps_per_s_each'])} "
                  f"steps/s each (x{ceiling / alone:.2f}); DDP reaches {r['ddp_vs_independent']:.2f} of that ceiling")
    import torch

    result = {
        "benchmark": "ddp_scaling", "preset": args.preset, "backend": "gloo", "device": "cpu",
        "machine": platform.processor() or platform.machine(), "cpu_count": cores, "torch": torch.__version__,
        "date": time.strftime("%Y-%m-%d %H:%M"), "steps_timed": args.steps, "warmup_steps": args.warmup,
        "load_average_1min_before": load_before,
        "load_average_1min_after": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "definition": "scaling_efficiency = steps/s(N processes x 1 thread) / (N * steps/s(1 process x 1 thread)); "
                      "steps of the same global batch (train.batch_size)",
        "rows": rows,
        "independent_controls": controls,
    }
    from odevideo._atomic import atomic_write_text

    out = Path(args.out)
    atomic_write_text(out, json.dumps(result, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
