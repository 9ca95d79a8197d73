"""The training batches: which clips and masks step ``s`` trains on, as a pure function of the seed and ``s``
(exact resume, any number of processes), built in this process or by DataLoader workers."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from odevideo.data import ClipBatch, collate_clips, random_drop_mask
from odevideo.data.transforms import hflip, rotate, sample_flip_rotate
from odevideo.errors import ConfigError
from odevideo.seeding import rank_seed

if TYPE_CHECKING:
    from odevideo.training.config import ExperimentConfig

_AUGMENT_STREAM = 0xA06  # tags the augmentation random stream


def batch_from_indices(dataset, indices, frame_dt: float) -> ClipBatch:
    return collate_clips([dataset[int(i)] for i in indices], frame_dt=frame_dt)


def training_plan(cfg: ExperimentConfig, num_clips: int, step: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(indices (B,), mask (B, T) bool)`` of the *global* training batch of ``step``, B = train.batch_size.

    A pure function of (train.seed, step): a resumed run sees exactly the batches an uninterrupted one
    would have seen, and every process of a multi-process run agrees on the global batch without talking.
    """
    g = torch.Generator().manual_seed(cfg.train.seed * 1_000_003 + step)
    idx = torch.randint(num_clips, (cfg.train.batch_size,), generator=g)
    t = cfg.data.num_frames
    if cfg.data.drop_prob > 0:
        mask = random_drop_mask(cfg.train.batch_size, t, cfg.data.drop_prob, generator=g, keep_first=True)
    else:
        mask = torch.ones(cfg.train.batch_size, t, dtype=torch.bool)
    return idx, mask


def training_batch(cfg: ExperimentConfig, dataset, step: int, rows: slice | None = None) -> ClipBatch:
    """The training batch of ``step`` (see :func:`training_plan`), or only its ``rows`` (a process's shard
    or micro-batch); only those clips are loaded."""
    idx, mask = training_plan(cfg, len(dataset), step)
    if rows is not None:
        idx, mask = idx[rows], mask[rows]
    batch = batch_from_indices(dataset, idx, cfg.data.frame_dt)
    if batch.num_frames != mask.shape[1]:
        raise ConfigError(
            f"the {cfg.data.dataset} clips have {batch.num_frames} frames but data.num_frames={mask.shape[1]}; "
            f"set data.num_frames={batch.num_frames}"
        )
    if cfg.data.drop_prob > 0:
        batch = ClipBatch(batch.frames, batch.times, mask)
    if cfg.data.augment_flip > 0 or cfg.data.augment_rotate_degrees > 0:
        first = 0 if rows is None else (rows.start or 0)
        batch = ClipBatch(augment_clips(cfg, batch.frames, step, first), batch.times, batch.mask)
    return batch


def micro_batch_rows(rank: int, micro: int, accum: int, micro_batch_size: int) -> slice:
    """Rows of the global batch in micro-batch ``micro`` of process ``rank`` (``accum`` micro-batches per
    process, ``micro_batch_size`` clips each): contiguous, rank-major."""
    first = (rank * accum + micro) * micro_batch_size
    return slice(first, first + micro_batch_size)


class StepBatches(torch.utils.data.Dataset):
    """Item ``s`` = ``(s, [ClipBatch, ...])``: the ``accum`` micro-batches that process ``rank`` trains on at
    step ``s`` (:func:`training_batch` of :func:`micro_batch_rows`), each ``(m, T, C, H, W)`` frames,
    ``(m, T)`` times and ``(m, T)`` mask on the CPU.

    A pure function of (config, step, rank): a DataLoader's worker processes produce exactly the batches
    the training process would build itself (:func:`step_batch_loader`)."""

    def __init__(self, cfg: ExperimentConfig, dataset, rank: int, accum: int, micro_batch_size: int):
        self.cfg, self.dataset = cfg, dataset
        self.rank, self.accum, self.micro_batch_size = rank, accum, micro_batch_size

    def __len__(self) -> int:
        return self.cfg.train.steps

    def __getitem__(self, step: int) -> tuple[int, list[ClipBatch]]:
        step = int(step)
        rows = [micro_batch_rows(self.rank, k, self.accum, self.micro_batch_size) for k in range(self.accum)]
        return step, [training_batch(self.cfg, self.dataset, step, r) for r in rows]


def _no_collate(item):
    return item


def step_batch_loader(cfg: ExperimentConfig, step_batches: StepBatches, first_step: int, pin_memory: bool):
    """Iterator over ``step_batches[first_step], step_batches[first_step + 1], ...`` up to ``train.steps``.

    ``train.num_workers = 0``: built in this process, one step at a time. Otherwise a ``DataLoader`` with
    that many worker processes, each keeping ``train.prefetch_factor`` steps ready, alive for the whole
    iteration (the run); ``pin_memory`` page-locks the batches for non-blocking copies to the GPU.
    """
    t = cfg.train
    steps = range(first_step, t.steps)
    if t.num_workers == 0:
        return (step_batches[s] for s in steps)
    loader = torch.utils.data.DataLoader(
        step_batches, batch_size=None, sampler=steps, collate_fn=_no_collate, num_workers=t.num_workers,
        prefetch_factor=t.prefetch_factor, pin_memory=pin_memory, persistent_workers=False,
    )
    return iter(loader)


def augment_clips(cfg: ExperimentConfig, frames: torch.Tensor, step: int, first_row: int = 0) -> torch.Tensor:
    """Vid-ODE's augmentation: per clip, a random horizontal flip and a rotation by U(-d, d) degrees, the
    same for all frames of the clip. Clip ``first_row + i`` of the global batch of ``step`` always gets the
    same draw, however the batch is sharded."""
    d = cfg.data
    out = []
    for i in range(frames.shape[0]):
        g = torch.Generator().manual_seed(rank_seed(cfg.train.seed, step, _AUGMENT_STREAM, first_row + i))
        flip, angle = sample_flip_rotate(g, flip_prob=d.augment_flip, max_degrees=d.augment_rotate_degrees)
        clip = hflip(frames[i]) if flip else frames[i]
        out.append(rotate(clip, angle) if angle != 0.0 else clip)
    return torch.stack(out)
