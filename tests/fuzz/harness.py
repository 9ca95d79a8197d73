"""Fuzz the file readers: seeded mutations of files odevideo writes, each read in a worker with a timeout
and a memory cap.

Seeds (written with the project's own writers): ``.npy`` (uint8 and float), ``.gif`` (gray and RGB),
``.mp4``, ``.avi``, a folder of PNG frames, a Moving MNIST ``.npy``, a checkpoint (``save_checkpoint``),
a model folder (``save_pretrained`` of a tiny model) and a ``config.yaml`` (``save_config``).

Input ``i`` is fully determined by ``(--seed, i)``: a seed file and a mutation (bit flips, truncation,
insertion, deletion, header bytes, huge dimensions, NaN/inf, wrong dtypes, empty file, a directory where a
file is expected, text edits for YAML/JSON). Each input is read by a long-lived worker process (memory cap
with ``RLIMIT_AS``); a worker that hangs past the timeout or dies is killed and replaced. Outcomes:

* ``ok``: read fine; ``project_error``: an :class:`odevideo.errors.OdevideoError` (the expected refusal);
* failures: ``foreign_exception`` (any other exception), ``hang`` (timeout), ``signal`` (the worker died:
  crash, kill, out of memory), ``memory`` (``MemoryError`` under the cap), ``multiline`` (a project error
  whose message is not one line).

Usage::

    python tests/fuzz/harness.py --inputs 10000 --jobs 2 --out fuzz.json
    python tests/fuzz/harness.py --replay 1234          # rebuild input 1234 and read it here, with a traceback

The module imports odevideo only inside the workers (and to write the seeds), so a crash of a reader never
takes the harness down.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import selectors
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FAILURES = ("foreign_exception", "hang", "signal", "memory", "multiline")
OUTCOMES = ("ok", "project_error", *FAILURES)

# name -> (reader, is_folder)
SEEDS = {
    "u8.npy": ("video", False),
    "f32.npy": ("video", False),
    "gray.gif": ("video", False),
    "rgb.gif": ("video", False),
    "clip.mp4": ("video", False),
    "clip.avi": ("video", False),
    "frames": ("video", True),
    "mmnist.npy": ("mmnist", False),
    "ckpt.safetensors": ("checkpoint", False),
    "model": ("model", True),
    "config.yaml": ("config", False),
}

MUTATIONS = (
    "bitflip", "truncate", "insert", "delete", "header", "huge_dims", "nan_inf", "wrong_dtype",
    "empty", "directory", "text", "duplicate",
)


# ------------------------------------------------------------------------------------------------
# seeds
# ------------------------------------------------------------------------------------------------


def write_seeds(folder: Path) -> list[str]:
    """Write the seed files into ``folder``; return the names written (``.mp4``/``.avi`` need PyAV)."""
    import numpy as np
    import torch

    from odevideo.checkpoints import save_checkpoint
    from odevideo.configio import save_config
    from odevideo.data.video_io import write_video
    from odevideo.methods import ModelSpec, get_method
    from odevideo.methods.latent_ode.config import LatentODEVAEConfig
    from odevideo.pretrained import save_pretrained
    from odevideo.training import ExperimentConfig

    folder.mkdir(parents=True, exist_ok=True)
    g = torch.Generator().manual_seed(0)
    gray = torch.rand(6, 1, 16, 16, generator=g)
    rgb = torch.rand(6, 3, 16, 16, generator=g)
    gray[3] = gray[2]  # a repeated frame: Pillow merges it, the GIF comment restores it
    write_video(folder / "u8.npy", (gray * 255).to(torch.uint8))
    write_video(folder / "f32.npy", rgb)
    write_video(folder / "gray.gif", gray, fps=10)
    write_video(folder / "rgb.gif", rgb, fps=25)
    write_video(folder / "frames", rgb)
    np.save(folder / "mmnist.npy", (np.random.default_rng(0).random((20, 2, 16, 16)) * 255).astype(np.uint8))
    names = ["u8.npy", "f32.npy", "gray.gif", "rgb.gif", "frames", "mmnist.npy"]
    try:
        import av  # noqa: F401
    except ImportError:
        pass
    else:
        write_video(folder / "clip.mp4", rgb, fps=10)
        write_video(folder / "clip.avi", rgb, fps=10)
        names += ["clip.mp4", "clip.avi"]
    torch.manual_seed(0)
    spec = ModelSpec(channels=1, image_size=16, num_frames=8, num_observed=4, frame_dt=0.1)
    cfg = LatentODEVAEConfig(channels=[4, 8], latent_dim=4, embed_dim=8, rnn_hidden=8, ode_hidden=8)
    model = get_method("latent_ode_vae").build_model(cfg, spec)
    save_pretrained(folder / "model", model, "latent_ode_vae", cfg, spec)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    save_checkpoint(folder / "ckpt", model_state=model.state_dict(), optimizer_state=opt.state_dict(),
                    extra_state={"step": 3, "best": 0.5}, config={"lr": 1e-3, "dims": [4, 8]})
    save_config(ExperimentConfig(), folder / "config.yaml")
    names += ["ckpt.safetensors", "model", "config.yaml"]
    return names


# ------------------------------------------------------------------------------------------------
# mutations
# ------------------------------------------------------------------------------------------------


def _huge_dims(data: bytearray, name: str, rng: random.Random) -> bytearray:
    big = rng.choice([0, 1, 4000, 8000, 12000, 20000, 65535, 2**31 - 1, 2**32 - 1])
    comment = re.search(rb"odevideo fps=[0-9.e+-]*", bytes(data))
    if comment and rng.random() < 0.3:  # the frame-rate comment (its length byte precedes it)
        fps = rng.choice([b"1e308", b"100000", b"0.001", b"-5", b"nan", b"inf", b"3", b"1e-300"])
        new = b"odevideo fps=" + fps
        a, b = comment.span()
        data[a - 1 : b] = bytes([len(new)]) + new
        return data
    if name.endswith(".gif") and len(data) >= 10:
        for at in rng.choice([[6], [8], [6, 8]]):  # the logical screen's width, height or both
            data[at : at + 2] = struct.pack("<H", big & 0xFFFF)
        return data
    if name.endswith(".npy"):
        text = data[:256].decode("latin1")
        m = re.search(r"'shape': \(([^)]*)\)", text)
        if m:
            dims = [d.strip() for d in m.group(1).split(",") if d.strip()]
            k = rng.randrange(len(dims))
            dims[k] = str(rng.choice([-1, 0, big, 10**12, 2**63, -(2**63)]))
            new = "'shape': (" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"
            head = text[: m.start()] + new + text[m.end() :]
            return bytearray(head.encode("latin1")) + data[256:]
        return data
    if name.endswith(".png"):
        at = data.find(b"IHDR")
        if at > 0:
            data[at + 4 + rng.choice([0, 4]) : at + 8 + rng.choice([0, 4])] = struct.pack(">I", big)[: 4]
        return data
    for tag in (b"avc1", b"tkhd", b"strh", b"strf", b"avih", b"mp4v"):  # video stream headers
        at = data.find(tag)
        if at > 0:
            off = at + rng.randrange(4, 40)
            data[off : off + 4] = struct.pack(">I" if rng.random() < 0.5 else "<I", big)
            return data
    if name.endswith((".json", ".yaml", ".safetensors")):
        return _text_edit(data, rng, numbers_only=True)
    return data


def _nan_inf(data: bytearray, name: str, rng: random.Random) -> bytearray:
    if name.endswith((".json", ".yaml", ".safetensors")) and rng.random() < 0.6:
        return _text_edit(data, rng, numbers_only=True)
    val = struct.pack(rng.choice(["<f", "<d"]), rng.choice([float("nan"), float("inf"), -float("inf"), 1e30]))
    start = min(len(data), 128)
    for _ in range(rng.randint(1, 8)):
        if len(data) > start + len(val):
            at = rng.randrange(start, len(data) - len(val))
            data[at : at + len(val)] = val
    return data


def _wrong_dtype(data: bytearray, name: str, rng: random.Random) -> bytearray:
    head = data[:2048]
    table = [
        (rb"'descr': '[^']*'", [b"'descr': '<i8'", b"'descr': '|O'", b"'descr': '>f8'", b"'descr': '<c16'",
                                b"'descr': '|b1'", b"'descr': '<f2'", b"'descr': '|V16'", b"'descr': [('a', '<f4')]"]),
        (rb"'fortran_order': \w+", [b"'fortran_order': True", b"'fortran_order': 7"]),
        (rb'"dtype":\s*"[A-Z0-9]+"', [b'"dtype":"I64"', b'"dtype":"F16"', b'"dtype":"BOOL"', b'"dtype":"XX"',
                                     b'"dtype":"F64"', b'"dtype":"U8"']),
    ]
    for pattern, choices in table:
        found = list(re.finditer(pattern, bytes(head)))
        if found:
            m = rng.choice(found)
            return data[: m.start()] + bytearray(rng.choice(choices)) + data[m.end() :]
    return _text_edit(data, rng)


_TEXT_EDITS = [
    b"null", b"[]", b"{}", b"-1", b"0", b"1e308", b"-1e308", b".nan", b".inf", b"NaN", b"Infinity", b"1e999",
    b"\"\"", b"true", b"[" * 3000 + b"]" * 3000, b"{\"a\":" * 3000 + b"1" + b"}" * 3000, b"&a [*a]",
    b"\xff\xfe", b"'x" * 100, b"\"" + b"x" * 100_000 + b"\"", b"99999999999999999999999", b"!!python/object:os.system",
]


def _text_edit(data: bytearray, rng: random.Random, numbers_only: bool = False) -> bytearray:
    text = bytes(data)
    spans = [m.span() for m in re.finditer(rb"-?\d+(\.\d+)?(e-?\d+)?", text[:100_000])]
    if not numbers_only:
        spans += [m.span() for m in re.finditer(rb"[A-Za-z_]+|\[|\]|\{|\}|:|,", text[:100_000])]
    if not spans:
        return data
    a, b = rng.choice(spans)
    new = rng.choice(_TEXT_EDITS)
    return bytearray(text[:a] + new + text[b:])


def _bomb(rng: random.Random) -> bytes:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, rng.randint(5, 12))]
    lines.append(f"train: *a{len(lines) - 1}")
    return "\n".join(lines).encode()


def mutate(data: bytes, name: str, mutation: str, rng: random.Random) -> bytes | None:
    """The mutated bytes of file ``name``, or ``None`` for "replace the file with a directory"."""
    buf = bytearray(data)
    n = len(buf)
    if mutation == "bitflip":
        for _ in range(rng.choice([1, 1, 2, 4, 16])):
            if n:
                at = rng.randrange(n) if rng.random() < 0.5 else rng.randrange(min(n, 256))
                buf[at] ^= 1 << rng.randrange(8)
    elif mutation == "truncate":
        buf = buf[: rng.randrange(n)] if n else buf
    elif mutation == "insert":
        at = rng.randrange(n + 1)
        junk = rng.choice([bytes(rng.randrange(256) for _ in range(rng.randint(1, 64))), b"\0" * 4096,
                           b"\xff" * rng.randint(1, 16)])
        buf[at:at] = junk
    elif mutation == "delete":
        if n:
            at = rng.randrange(n)
            del buf[at : at + rng.randint(1, 256)]
    elif mutation == "header":
        for _ in range(rng.randint(1, 6)):
            if n:
                at = rng.randrange(min(n, 64))
                buf[at] = rng.choice([0, 0xFF, 0x7F, 0x80, rng.randrange(256)])
    elif mutation == "huge_dims":
        buf = _huge_dims(buf, name, rng)
    elif mutation == "nan_inf":
        buf = _nan_inf(buf, name, rng)
    elif mutation == "wrong_dtype":
        buf = _wrong_dtype(buf, name, rng)
    elif mutation == "empty":
        buf = bytearray()
    elif mutation == "directory":
        return None
    elif mutation == "text":
        buf = bytearray(_bomb(rng)) if name.endswith(".yaml") and rng.random() < 0.2 else _text_edit(buf, rng)
    elif mutation == "duplicate":
        if n:
            a = rng.randrange(n)
            chunk = buf[a : a + rng.randint(1, 512)]
            at = rng.randrange(n)
            buf[at:at] = chunk * rng.randint(1, 8)
    return bytes(buf)


def build_input(seeds: Path, names: list[str], seed: int, index: int, dest: Path) -> tuple[Path, str, str]:
    """Write input ``index`` under ``dest``: returns ``(path to read, reader, description)``."""
    rng = random.Random(f"{seed}:{index}")
    name = rng.choice(names)
    reader, is_folder = SEEDS[name]
    mutation = rng.choice(MUTATIONS)
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    src = seeds / name
    target = dest / name
    if is_folder:
        shutil.copytree(src, target)
        files = sorted(p.name for p in target.iterdir())
        victim = target / rng.choice(files)
        if mutation == "empty" and rng.random() < 0.3:  # an empty folder
            shutil.rmtree(target)
            target.mkdir()
            return target, reader, f"{name}: emptied folder"
        described = f"{name}/{victim.name}"
    else:
        victim = target
        described = name
    new = mutate(src.joinpath(victim.name).read_bytes() if is_folder else src.read_bytes(), victim.name, mutation,
                 rng)
    if new is None:
        if victim.exists():
            victim.unlink()
        victim.mkdir()
        (victim / "x").write_bytes(b"x")
    else:
        victim.write_bytes(new)
    return target, reader, f"{described}: {mutation}"


# ------------------------------------------------------------------------------------------------
# reading one input (in a worker)
# ------------------------------------------------------------------------------------------------


def read_input(path: Path, reader: str) -> None:
    if reader == "video":
        from odevideo.data.video_io import read_video

        read_video(path)
    elif reader == "mmnist":
        from odevideo.data.moving_mnist import load_moving_mnist_npy

        load_moving_mnist_npy(path)
    elif reader == "checkpoint":
        from odevideo.checkpoints import load_checkpoint

        load_checkpoint(path)
    elif reader == "model":
        from odevideo.pretrained import load_model

        load_model(path)
    elif reader == "config":
        from odevideo.configio import load_config
        from odevideo.training import ExperimentConfig

        load_config(ExperimentConfig, None, path)
    else:
        raise ValueError(reader)


def classify(path: Path, reader: str) -> dict:
    from odevideo.errors import OdevideoError

    try:
        read_input(path, reader)
    except OdevideoError as e:
        msg = str(e)
        status = "multiline" if "\n" in msg or "\r" in msg else "project_error"
        return {"status": status, "error": f"{type(e).__name__}: {msg[:300]}"}
    except MemoryError as e:
        return {"status": "memory", "error": f"MemoryError: {str(e)[:300]}"}
    except Exception as e:  # noqa: BLE001 - that is what the harness looks for
        if "can't allocate memory" in str(e):  # torch's allocator under the cap
            return {"status": "memory", "error": f"{type(e).__name__}: {str(e)[:300]}"}
        return {"status": "foreign_exception", "error": f"{type(e).__name__}: {str(e)[:300]}"}
    return {"status": "ok", "error": ""}


def worker_main(seeds: Path, seed: int, memory: int) -> None:
    """Read input indices from stdin, one a line; write one JSON result a line to stdout."""
    import resource
    import warnings

    if memory:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    warnings.simplefilter("ignore")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(1)
    import odevideo.checkpoints  # noqa: F401 - import up front, so each input costs only its read
    import odevideo.data.video_io  # noqa: F401
    import odevideo.pretrained  # noqa: F401
    import odevideo.training  # noqa: F401

    names = sorted(p.name for p in seeds.iterdir() if p.name in SEEDS)
    scratch = Path(tempfile.mkdtemp(prefix="odevideo-fuzz-w"))
    out = sys.stdout
    sys.stdout = sys.stderr  # stray prints must not corrupt the protocol
    out.write("ready\n")
    out.flush()
    try:
        for line in sys.stdin:
            index = int(line)
            path, reader, described = build_input(seeds, names, seed, index, scratch / "in")
            t0 = time.perf_counter()
            result = classify(path, reader)
            result.update(index=index, input=described, seconds=round(time.perf_counter() - t0, 4))
            out.write(json.dumps(result) + "\n")
            out.flush()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


# ------------------------------------------------------------------------------------------------
# the pool
# ------------------------------------------------------------------------------------------------


class _Worker:
    def __init__(self, seeds: Path, seed: int, memory: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--worker", "--seeds", str(seeds), "--seed", str(seed),
             "--memory", str(memory)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1,
        )
        self.index: int | None = None
        self.started = 0.0
        self.ready = False

    def send(self, index: int) -> None:
        self.index, self.started = index, time.monotonic()
        self.proc.stdin.write(f"{index}\n")
        self.proc.stdin.flush()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def run(inputs: int, jobs: int = 2, seed: int = 0, timeout: float = 10.0, memory: int = 4 << 30,
        start: int = 0, progress: bool = False, budget: float | None = None) -> dict:
    """Fuzz ``inputs`` inputs (indices ``start`` ...) with ``jobs`` workers; return counts and failures.

    ``budget`` (seconds) stops handing out inputs once spent; the result says how many ran.
    """
    seeds = Path(tempfile.mkdtemp(prefix="odevideo-fuzz-seeds"))
    t0 = time.monotonic()
    counts = dict.fromkeys(OUTCOMES, 0)
    by_mutation: dict[str, dict[str, int]] = {}
    failures: list[dict] = []
    slowest: dict = {"seconds": 0.0}
    todo = list(range(start, start + inputs))
    todo.reverse()
    sel = selectors.DefaultSelector()
    workers: list[_Worker] = []

    def spawn() -> _Worker:
        w = _Worker(seeds, seed, memory)
        sel.register(w.proc.stdout, selectors.EVENT_READ, w)
        workers.append(w)
        return w

    def retire(w: _Worker) -> None:
        sel.unregister(w.proc.stdout)
        workers.remove(w)
        w.kill()

    def record(result: dict) -> None:
        status = result["status"]
        counts[status] += 1
        kind = result.get("input", "?").split(": ")[-1]
        by_mutation.setdefault(kind, dict.fromkeys(("inputs", "ok", "project_error", "failures"), 0))
        row = by_mutation[kind]
        row["inputs"] += 1
        row[status if status in ("ok", "project_error") else "failures"] += 1
        if status in FAILURES:
            failures.append(result)
        if result.get("seconds", 0) > slowest["seconds"]:
            slowest.update(result)

    def feed(w: _Worker) -> None:
        if todo and (budget is None or time.monotonic() - t0 < budget):
            w.send(todo.pop())
        else:
            w.index = None

    try:
        write_seeds(seeds)
        for _ in range(max(1, jobs)):
            spawn()
        while True:
            busy = [w for w in workers if w.index is not None or not w.ready]
            if not busy and not (todo and (budget is None or time.monotonic() - t0 < budget)):
                break
            for key, _ in sel.select(timeout=0.5):
                w: _Worker = key.data
                line = w.proc.stdout.readline()
                if not line:  # the worker died (signal, OOM kill, abort)
                    if w.index is not None:
                        code = w.proc.wait()
                        record({"status": "signal", "index": w.index, "input": _describe(seeds, seed, w.index),
                                "error": f"worker exit status {code}"})
                    elif not w.ready:
                        raise RuntimeError("a fuzz worker failed to start; run with --worker by hand to see why")
                    retire(w)
                    spawn()
                    continue
                if line.strip() == "ready":
                    w.ready = True
                    feed(w)
                    continue
                record(json.loads(line))
                if progress and sum(counts.values()) % 500 == 0:
                    print(f"{sum(counts.values())} inputs, {time.monotonic() - t0:.0f} s: {counts}", file=sys.stderr)
                feed(w)
            now = time.monotonic()
            for w in list(workers):
                if w.index is not None and now - w.started > timeout:
                    record({"status": "hang", "index": w.index, "input": _describe(seeds, seed, w.index),
                            "error": f"no answer within {timeout:g} s"})
                    retire(w)
                    spawn()
    finally:
        for w in list(workers):
            if w.proc.stdin:
                try:
                    w.proc.stdin.close()
                except OSError:
                    pass
            w.kill()
        shutil.rmtree(seeds, ignore_errors=True)
    done = sum(counts.values())
    return {
        "inputs": done, "requested": inputs, "seed": seed, "start": start, "jobs": jobs, "timeout_s": timeout,
        "memory_cap_bytes": memory, "seconds": round(time.monotonic() - t0, 1), **counts,
        "failed": sum(counts[k] for k in FAILURES), "by_mutation": dict(sorted(by_mutation.items())),
        "slowest": slowest, "failures": failures[:200],
    }


def _describe(seeds: Path, seed: int, index: int) -> str:
    names = sorted(p.name for p in seeds.iterdir() if p.name in SEEDS)
    with tempfile.TemporaryDirectory() as tmp:
        return build_input(seeds, names, seed, index, Path(tmp) / "in")[2]


def replay(index: int, seed: int, keep: Path | None) -> None:
    """Rebuild input ``index`` and read it in this process (a traceback shows where a failure comes from)."""
    with tempfile.TemporaryDirectory() as tmp:
        seeds = Path(tmp) / "seeds"
        names = write_seeds(seeds)
        dest = keep if keep is not None else Path(tmp) / "in"
        path, reader, described = build_input(seeds, sorted(names), seed, index, dest)
        print(f"input {index} (seed {seed}): {described} -> {path} read as {reader}", file=sys.stderr)
        read_input(path, reader)
        print("read fine", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--inputs", type=int, default=1000)
    p.add_argument("--start", type=int, default=0, help="index of the first input")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per input before it counts as a hang")
    p.add_argument("--memory", type=int, default=4 << 30, help="address-space cap per worker in bytes (0: none)")
    p.add_argument("--budget", type=float, default=None, help="stop handing out inputs after this many seconds")
    p.add_argument("--out", type=Path, default=None, help="write the counts as JSON here")
    p.add_argument("--replay", type=int, default=None, help="rebuild this input and read it in-process")
    p.add_argument("--keep", type=Path, default=None, help="with --replay: write the input here")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--seeds", type=Path, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        worker_main(args.seeds, args.seed, args.memory)
        return 0
    if args.replay is not None:
        replay(args.replay, args.seed, args.keep)
        return 0
    result = run(args.inputs, args.jobs, args.seed, args.timeout, args.memory, args.start, progress=True,
                 budget=args.budget)
    text = json.dumps(result, indent=1)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    summary = {k: result[k] for k in ("inputs", "seconds", *OUTCOMES)}
    print(json.dumps(summary))
    for f in result["failures"][:20]:
        print(f"FAIL input {f['index']} ({f['input']}): {f['status']}: {f['error']}", file=sys.stderr)
    return 1 if result["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
