"""GPU benchmark of three presets: training steps/s and peak GPU memory in fp32 / bf16 / fp16, on 1 and N GPUs.

Configurations (each the real training loop, ``Trainer.fit``, in a fresh temporary run directory):

* ``mmnist1_latent_ode`` -- latent-ODE VAE, Moving MNIST 64x64, batch 16;
* ``vid_ode_bb128`` -- the ``vid_ode_bb32_extrap`` preset (Vid-ODE with both discriminators, dopri5) at
  ``data.image_size=128`` on bouncing balls: Vid-ODE at the paper's 128x128 without any download;
* ``tgan_ode_mmnist32`` -- TGAN-ODE, Moving MNIST 32x32, 16 frames, batch 16;

each in fp32, bf16 (``train.bf16``) and fp16 (``train.fp16``, with the gradient scaler), on 1 GPU (in this
process) and on N GPUs (``torchrun --standalone --nproc-per-node N``, DDP over nccl) when N > 1 GPUs are
visible. The global batch is the preset's (split over the GPUs: strong scaling); ``--scale-batch`` multiplies
it by N instead (the same clips per GPU).

Measured: optimizer steps/s between the end of ``--warmup`` steps and the last timed step (from the trainer's
log, so data loading, the all-reduce and the optimizer are included; validation and checkpoints happen only
after the timed steps), clips/s, NFE per step, and the peak GPU memory of rank 0
(``torch.cuda.max_memory_allocated`` after the last timed step; reset before each configuration).

Moving MNIST presets need the MNIST files: ``--mnist-dir DIR`` (or ``ODEVIDEO_MNIST_DIR``); without them (a
GPU machine without internet) they run on bouncing balls of the same size and channel count, and the row says
``"data": "bouncing_balls (substituted)"``: same network, same tensor sizes, different pixels.

    python benchmarks/gpu_presets.py                                  # on a GPU machine: everything
    python benchmarks/gpu_presets.py --steps 30 --warmup 5 --gpus 1 2 --precisions bf16 fp16
    python benchmarks/gpu_presets.py --device cpu --steps 2 --warmup 1 --tiny --out /tmp/smoke.json   # CPU smoke

Writes ``benchmarks/results/gpu_presets_<device name>.json`` (atomically; ``--out`` to choose) and prints a table.
A configuration that fails (e.g. out of memory) is recorded with its error and the others still run.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PRESETS = {  # benchmark name -> (preset, overrides)
    "mmnist1_latent_ode": ("mmnist1_latent_ode", []),
    "vid_ode_bb128": ("vid_ode_bb32_extrap", ["data.image_size=128"]),
    "tgan_ode_mmnist32": ("tgan_ode_mmnist32", []),
}
# --tiny: the same code paths at a size that runs in about a second per configuration on a CPU core
TINY = {
    "mmnist1_latent_ode": ["data.image_size=16", "data.num_frames=8", "task.num_observed=4", "model.channels=[8,16]",
                           "model.latent_dim=8", "model.embed_dim=16", "model.rnn_hidden=16", "model.ode_hidden=16",
                           "train.batch_size=4"],
    "vid_ode_bb128": ["data.image_size=16", "data.num_frames=6", "task.num_observed=3", "model.hidden_channels=16",
                      "model.ode_hidden=8", "model.decoder_solver={method: euler, step_size: 0.1}",
                      "loss.disc_channels=8",
                      "loss.disc_downs=2", "train.batch_size=4"],
    "tgan_ode_mmnist32": ["data.image_size=16", "model.gen_channels=16", "loss.disc_channels=8", "train.batch_size=4"],
}
PRECISIONS = {"fp32": ["train.bf16=false", "train.fp16=false"], "bf16": ["train.bf16=true", "train.fp16=false"],
              "fp16": ["train.bf16=false", "train.fp16=true"]}


def _mnist_dir(arg: str | None) -> str | None:
    from odevideo.data import find_mnist_file

    for d in (arg, os.environ.get("ODEVIDEO_MNIST_DIR")):
        if d and find_mnist_file("train-images-idx3-ubyte", [Path(d)]) is not None:
            return d
    return None


def _overrides(spec: dict) -> tuple[str, list[str], str]:
    """(preset, overrides, data description) of one configuration."""
    preset, extra = PRESETS[spec["bench"]]
    total = spec["warmup"] + spec["steps"]
    over = [*extra, *(TINY[spec["bench"]] if spec["tiny"] else []), *PRECISIONS[spec["precision"]],
            "name=bench", f"output_dir={spec['out_dir']}", f"train.steps={total}", "train.log_every=1",
            f"train.eval_every={total}", f"train.checkpoint_every={total}", "train.max_minutes=null",
            "train.progress=false", f"train.device={spec['device']}", f"train.num_workers={spec['num_workers']}",
            # keep the one validation at the end small
            "data.val_clips=8", "eval.batch_size=8", "eval.num_sample_clips=2", "validation.samples=8"]
    data = "moving_mnist" if "mmnist" in preset else "bouncing_balls"
    if data == "moving_mnist":
        if spec["mnist_dir"]:
            over.append(f"data.data_dir={spec['mnist_dir']}")
            over.append("data.download=false")
        else:
            over.append("data.dataset=bouncing_balls")
            data = "bouncing_balls (substituted)"
    if spec["scale_batch"] and spec["gpus"] > 1:
        over.append(f"train.batch_size={spec['batch_size'] * spec['gpus']}")
    return preset, over, data


def _measure(spec: dict) -> dict | None:
    """Run one configuration in this process (one rank of it under torchrun); the row on rank 0."""
    import torch

    from odevideo.training import ExperimentConfig, Trainer, load_config
    from odevideo.training.config import applicable_overrides

    preset, over, data = _overrides(spec)
    cfg = load_config(ExperimentConfig, preset, None, applicable_overrides(preset, over))
    cuda = spec["device"] != "cpu" and torch.cuda.is_available()
    trainer = Trainer(cfg)
    total = cfg.train.steps
    peak = {}
    real_step = trainer._train_step

    def step():
        out = real_step()
        if trainer.step + 1 == spec["warmup"] and cuda:
            torch.cuda.synchronize(trainer.device)
        if trainer.step + 1 == total and cuda:  # after the last timed step, before validation
            torch.cuda.synchronize(trainer.device)
            peak["bytes"] = torch.cuda.max_memory_allocated(trainer.device)
        return out

    trainer._train_step = step
    if cuda:
        torch.cuda.reset_peak_memory_stats(trainer.device)
    trainer.fit()
    if not trainer.is_main:
        return None
    log = [json.loads(ln) for ln in (trainer.run_dir / "metrics.jsonl").read_text().splitlines()]
    train = {r["step"]: r for r in log if r["kind"] == "train"}
    seconds = train[total]["elapsed_s"] - train[spec["warmup"]]["elapsed_s"]
    timed = [train[s] for s in range(spec["warmup"] + 1, total + 1)]
    return {
        "bench": spec["bench"], "preset": preset, "precision": spec["precision"], "gpus": trainer.dist.world_size,
        "device": str(trainer.device), "data": data, "image_size": cfg.data.image_size,
        "global_batch": cfg.train.batch_size, "per_gpu_batch": trainer.micro_batch_size * cfg.train.grad_accum_steps,
        "num_workers": cfg.train.num_workers, "steps_timed": spec["steps"], "s_per_step": seconds / spec["steps"],
        "steps_per_s": spec["steps"] / seconds, "clips_per_s": spec["steps"] * cfg.train.batch_size / seconds,
        "nfe_per_step": sum(r.get("nfe", 0) for r in timed) / len(timed),
        "fp16_skipped_steps": train[total].get("fp16_skipped_steps"),
        "peak_gpu_mem_mb_rank0": peak["bytes"] / 2**20 if "bytes" in peak else None,
    }


def _worker(spec_path: str) -> None:
    """Entry point of every torchrun rank: one configuration, rank 0 writes its row next to the spec."""
    from odevideo.training import distributed

    spec = json.loads(Path(spec_path).read_text())
    try:
        row = _measure(spec)
        if row is not None:
            Path(spec_path).with_suffix(".row.json").write_text(json.dumps(row))
    finally:
        distributed.shutdown()


def _run(spec: dict) -> dict:
    with tempfile.TemporaryDirectory(prefix="odevideo_gpu_bench_") as tmp:
        spec = {**spec, "out_dir": tmp}
        try:
            if spec["gpus"] == 1:
                row = _measure(spec)
                gc.collect()
                _empty_cache()
                return row
            path = Path(tmp) / "spec.json"
            path.write_text(json.dumps(spec))
            env = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK", "LOCAL_RANK")}
            env.setdefault("OMP_NUM_THREADS", "1")
            cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node",
                   str(spec["gpus"]), __file__, "--_worker", str(path)]
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
            row_path = path.with_suffix(".row.json")
            if proc.returncode != 0 or not row_path.exists():
                raise RuntimeError(f"torchrun exited with {proc.returncode}: {proc.stderr[-1500:]}")
            return json.loads(row_path.read_text())
        except Exception as e:  # noqa: BLE001 -- record it (e.g. out of memory), go on with the others
            gc.collect()
            _empty_cache()
            return {"bench": spec["bench"], "precision": spec["precision"], "gpus": spec["gpus"],
                    "error": f"{type(e).__name__}: {str(e)[-1500:]}"}


def _empty_cache() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _machine(device: str) -> dict:
    import torch

    import odevideo

    info = {"host": platform.node(), "cpu_count": os.cpu_count(), "python": platform.python_version(),
            "torch": torch.__version__, "odevideo": getattr(odevideo, "__version__", "?")}
    if device != "cpu" and torch.cuda.is_available():
        info.update(device_name=torch.cuda.get_device_name(0), gpu_count=torch.cuda.device_count(),
                    cuda=torch.version.cuda, bf16_supported=torch.cuda.is_bf16_supported())
    else:
        info.update(device_name=f"CPU ({platform.processor() or platform.machine()})", gpu_count=0)
    return info


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--presets", nargs="+", default=list(PRESETS), choices=list(PRESETS))
    ap.add_argument("--precisions", nargs="+", default=list(PRECISIONS), choices=list(PRECISIONS))
    ap.add_argument("--gpus", type=int, nargs="+", default=None,
                    help="GPU counts (default: 1 and all visible GPUs when more than one)")
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"], help="cpu: a smoke run of the same code")
    ap.add_argument("--steps", type=int, default=20, help="timed optimizer steps per configuration")
    ap.add_argument("--warmup", type=int, default=5, help="untimed steps first (cuDNN autotuning, allocator)")
    ap.add_argument("--num-workers", type=int, default=2, help="train.num_workers (DataLoader worker processes)")
    ap.add_argument("--scale-batch", action="store_true", help="multiply the global batch by the GPU count")
    ap.add_argument("--mnist-dir", default=None, help="MNIST files for the Moving MNIST presets")
    ap.add_argument("--tiny", action="store_true", help="shrink every preset (for a quick test of the script)")
    ap.add_argument("--out", default=None, help="JSON file (default benchmarks/results/gpu_presets_<device>.json)")
    ap.add_argument("--_worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args._worker:
        _worker(args._worker)
        return {}
    import torch

    from odevideo._atomic import atomic_write_text

    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("no CUDA GPU is visible; run on a GPU machine, or pass --device cpu for a smoke run")
    if args.warmup < 1 or args.steps < 1:
        raise SystemExit("--warmup and --steps must be >= 1")
    visible = torch.cuda.device_count() if args.device == "cuda" else 1
    gpus = args.gpus or ([1, visible] if visible > 1 else [1])
    if args.device == "cpu":
        gpus = [1]
    mnist = _mnist_dir(args.mnist_dir)
    machine = _machine(args.device)
    rows = []
    for bench in args.presets:
        for n in gpus:
            if n > visible:
                print(f"skipping {n} GPUs: only {visible} visible", flush=True)
                continue
            for prec in args.precisions:
                from odevideo.training import ExperimentConfig, load_config
                from odevideo.training.config import applicable_overrides

                batch = load_config(ExperimentConfig, PRESETS[bench][0], None,
                                    applicable_overrides(PRESETS[bench][0], TINY[bench]) if args.tiny else []
                                    ).train.batch_size
                spec = {"bench": bench, "precision": prec, "gpus": n, "device": args.device, "steps": args.steps,
                        "warmup": args.warmup, "num_workers": args.num_workers, "scale_batch": args.scale_batch,
                        "batch_size": batch, "mnist_dir": mnist, "tiny": args.tiny}
                row = _run(spec)
                rows.append(row)
                if "error" in row:
                    print(f"{bench:20s} {prec:5s} {n} GPU(s): FAILED {row['error'][:200]}", flush=True)
                else:
                    mem = row["peak_gpu_mem_mb_rank0"]
                    print(f"{bench:20s} {prec:5s} {n} GPU(s): {row['steps_per_s']:7.2f} steps/s "
                          f"{row['clips_per_s']:8.1f} clips/s  peak {'-' if mem is None else f'{mem:8.0f} MB'}"
                          f"  ({row['data']}, {row['image_size']}px, batch {row['global_batch']})", flush=True)
    result = {
        "benchmark": "gpu_presets", "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": "python benchmarks/gpu_presets.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": machine, "steps": args.steps, "warmup": args.warmup, "tiny": args.tiny, "rows": rows,
    }
    slug = re.sub(r"[^A-Za-z0-9]+", "_", machine["device_name"]).strip("_").lower()
    out = Path(args.out) if args.out else Path(__file__).parent / "results" / f"gpu_presets_{slug}.json"
    atomic_write_text(out, json.dumps(result, indent=1) + "\n")
    print(f"wrote {out}", flush=True)
    return result


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(f"done in {time.perf_counter() - t0:.0f} s", flush=True)
