"""Seeds derived from integers: every (seed, step, rank, micro-batch, stream) gets its own reproducible random
stream, so a resumed run draws exactly what an uninterrupted one would have drawn."""

from __future__ import annotations

_MASK64 = (1 << 64) - 1


def _splitmix64(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


def rank_seed(*parts: int) -> int:
    """A 63-bit seed that is a fixed hash of integers, e.g. ``rank_seed(seed, step, rank, micro_batch)``.

    Distinct tuples give unrelated seeds, so every (step, rank, micro-batch) has its own reproducible
    random stream and a resumed run draws exactly what an uninterrupted one would have drawn.
    """
    h = 0
    for p in parts:
        h = _splitmix64(h ^ (int(p) & _MASK64))
    return h >> 1
