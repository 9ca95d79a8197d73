"""Device selection and ``torch.distributed`` process groups for multi-process (DDP) training.

Launch several processes with PyTorch's own launcher; it sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``,
``MASTER_ADDR`` and ``MASTER_PORT`` for every process::

    torchrun --nproc-per-node 2 -m odevideo train --preset default

:func:`init_from_env` reads those variables, picks the device (``train.device``) and starts the process
group: ``nccl`` when the device is CUDA, ``gloo`` otherwise. Without them (a plain ``odevideo train``) it
starts nothing and every helper here is a no-op for rank 0 of a world of size 1, so single-process code
needs no special case.

The collective helpers (:func:`all_reduce_sum`, :func:`any_true`, :func:`broadcast_`) must be called by
every rank, in the same order, or the ranks deadlock.
"""

from __future__ import annotations

import contextlib
import datetime
import gc
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from odevideo.errors import ConfigError
from odevideo.seeding import rank_seed  # noqa: F401  (re-exported: the loop seeds its streams with it)

__all__ = [
    "DistInfo", "env_info", "select_device", "init_from_env", "shutdown", "get_rank", "get_world_size",
    "is_main", "barrier", "main_first", "all_reduce_sum", "any_true", "broadcast_", "rank_seed",
]



@dataclass(frozen=True)
class DistInfo:
    """Where this process sits: ``rank`` of ``world_size`` processes, ``local_rank`` on its node."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"environment variable {name}={raw!r} is not an integer; launch with torchrun") from None


def env_info() -> DistInfo:
    """The rank / world size that torchrun (or any ``torch.distributed`` launcher) put in the environment."""
    world = _env_int("WORLD_SIZE", 1)
    rank = _env_int("RANK", 0)
    local = _env_int("LOCAL_RANK", rank)
    if world < 1 or not 0 <= rank < world or local < 0:
        raise ConfigError(f"inconsistent RANK={rank} / WORLD_SIZE={world} / LOCAL_RANK={local}; launch with torchrun")
    return DistInfo(rank, world, local)


def select_device(spec: str, local_rank: int = 0, world_size: int = 1) -> torch.device:
    """``train.device`` -> a ``torch.device``.

    ``auto``: ``cuda:LOCAL_RANK`` when CUDA is available, else ``mps`` when available, else ``cpu``.
    ``cuda``: ``cuda:LOCAL_RANK``. ``cuda:N``: that GPU (single process only). ``mps``, ``cpu``.
    """
    spec = str(spec).strip().lower()
    if spec == "auto":
        if torch.cuda.is_available():
            spec = "cuda"
        elif _mps_available() and world_size == 1:
            spec = "mps"
        else:
            spec = "cpu"
    if spec == "cpu":
        return torch.device("cpu")
    if spec == "mps":
        if not _mps_available():
            raise ConfigError("train.device=mps but this PyTorch build has no usable MPS device; use train.device=auto")
        if world_size > 1:
            raise ConfigError("multi-process training is not supported on mps; use train.device=cpu or one process")
        return torch.device("mps")
    if spec == "cuda" or spec.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise ConfigError(f"train.device={spec} but CUDA is not available; use train.device=auto or cpu")
        if spec == "cuda":
            index = local_rank
        else:
            if world_size > 1:
                raise ConfigError(
                    f"train.device={spec} names one GPU, but {world_size} processes would share it; "
                    f"use train.device=cuda (or auto): each process takes cuda:LOCAL_RANK"
                )
            try:
                index = int(spec.split(":", 1)[1])
            except ValueError:
                raise ConfigError(
                    f"train.device={spec!r} is not a device; use auto, cpu, cuda, cuda:N or mps"
                ) from None
        if not 0 <= index < torch.cuda.device_count():
            raise ConfigError(
                f"cuda:{index} does not exist ({torch.cuda.device_count()} GPUs visible); start at most one "
                f"process per GPU (torchrun --nproc-per-node) or pick another train.device"
            )
        return torch.device("cuda", index)
    raise ConfigError(f"train.device={spec!r} is not a device; use auto, cpu, cuda, cuda:N or mps")


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def init_from_env(device_spec: str = "auto", timeout_minutes: float = 30.0) -> tuple[DistInfo, torch.device]:
    """Read torchrun's environment, select the device and start the process group (once per process).

    Returns ``(info, device)``. A process group that already exists (started by the caller) is used as it
    is. With ``WORLD_SIZE`` unset or 1 nothing is started.
    """
    if dist.is_available() and dist.is_initialized():
        rank = dist.get_rank()
        info = DistInfo(rank, dist.get_world_size(), _env_int("LOCAL_RANK", rank))
        return info, select_device(device_spec, info.local_rank, info.world_size)
    info = env_info()
    device = select_device(device_spec, info.local_rank, info.world_size)
    if info.distributed:
        if not dist.is_available():
            raise ConfigError("WORLD_SIZE > 1 but this PyTorch build has no torch.distributed; run one process")
        if device.type == "cuda":
            torch.cuda.set_device(device)
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(
            backend, rank=info.rank, world_size=info.world_size,
            timeout=datetime.timedelta(minutes=timeout_minutes),
        )
    return info, device


def shutdown() -> None:
    """Destroy the process group if one exists (call once at the end of the program, after dropping what holds
    the group, such as a ``DistributedDataParallel`` wrapper). Idempotent."""
    if dist.is_available() and dist.is_initialized():
        gc.collect()  # objects in reference cycles that still hold the group are freed now, not at exit
        dist.destroy_process_group()


def _active() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def get_rank() -> int:
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def get_world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def is_main() -> bool:
    """True on rank 0 (and in a single process): the rank that logs and writes files."""
    return get_rank() == 0


def _comm_device() -> torch.device:
    """Where collective tensors must live: the current GPU for nccl, the CPU otherwise."""
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def barrier() -> None:
    if _active():
        if dist.get_backend() == "nccl":
            dist.barrier(device_ids=[torch.cuda.current_device()])
        else:
            dist.barrier()


@contextlib.contextmanager
def main_first(enabled: bool = True):
    """Run the body on rank 0 first, then on the other ranks (e.g. rank 0 fills a cache that the others
    then read). A collective: every rank must enter it. A no-op in one process or when not ``enabled``."""
    if not enabled or not _active():
        yield
        return
    if not is_main():
        barrier()
    yield
    if is_main():
        barrier()


def all_reduce_sum(values: list[float]) -> list[float]:
    """Element-wise sum of ``values`` over all ranks (float64); identical on every rank."""
    if not _active():
        return [float(v) for v in values]
    t = torch.tensor(values, dtype=torch.float64, device=_comm_device())
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    # broadcast rank 0's copy so that every rank holds the same bits, whatever the reduction algorithm
    dist.broadcast(t, src=0)
    return t.tolist()


def all_reduce_gradients_(parameters) -> None:
    """Sum the ``.grad`` of ``parameters`` over all ranks, in place, as one flat all-reduce.

    For steps that DDP's reducer cannot express: the adversarial step back-propagates the generator and
    the discriminator losses of one forward pass into disjoint parameter sets (two backward calls), which
    DDP's one-backward-per-forward bookkeeping rejects. Each rank's losses are already weighted by their
    share of the global batch, so the sum is the global batch's gradient. A parameter without a gradient
    on this rank contributes zeros (every rank must pass the same parameters in the same order).
    """
    if not _active():
        return
    params = [p for p in parameters if p.requires_grad]
    if not params:
        return
    for p in params:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
    flat = torch.cat([p.grad.reshape(-1) for p in params]).to(_comm_device())
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    flat = flat.to(params[0].grad.device)
    offset = 0
    for p in params:
        n = p.grad.numel()
        p.grad.copy_(flat[offset : offset + n].view_as(p.grad))
        offset += n


def any_true(flag: bool) -> bool:
    """True on every rank if ``flag`` is True on any rank (a collective: all ranks must call it)."""
    if not _active():
        return bool(flag)
    t = torch.tensor([1.0 if flag else 0.0], dtype=torch.float64, device=_comm_device())
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)


def broadcast_(values: list[float], src: int = 0) -> list[float]:
    """``values`` of rank ``src`` on every rank."""
    if not _active():
        return [float(v) for v in values]
    t = torch.tensor(values, dtype=torch.float64, device=_comm_device())
    dist.broadcast(t, src=src)
    return t.tolist()
