import pytest
import torch

from odevideo.data import (
    ClipBatch,
    apply_mask,
    collate_clips,
    per_sample_time_grid,
    random_drop_mask,
    random_time_subset,
)
from odevideo.errors import InputError


def g(seed):
    return torch.Generator().manual_seed(seed)


def test_drop_mask_deterministic_and_keeps_first():
    a = random_drop_mask(8, 20, 0.5, generator=g(1))
    b = random_drop_mask(8, 20, 0.5, generator=g(1))
    c = random_drop_mask(8, 20, 0.5, generator=g(2))
    assert a.dtype == torch.bool and a.shape == (8, 20)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert bool(a[:, 0].all())


def test_drop_mask_bernoulli_rate_and_min_observed():
    m = random_drop_mask(2000, 20, 0.3, generator=g(0))
    rate = m[:, 1:].float().mean().item()
    assert abs(rate - 0.7) < 0.01
    keep = random_drop_mask(2000, 20, keep_prob=0.7, generator=g(0))
    assert torch.equal(keep, m)  # keep_prob=q is drop_prob=1-q
    sparse = random_drop_mask(500, 10, 0.95, generator=g(3), keep_first=False, min_observed=3)
    assert bool((sparse.sum(1) >= 3).all())
    none = random_drop_mask(4, 6, 1.0, generator=g(0), keep_first=True, min_observed=1)
    assert torch.equal(none.sum(1), torch.ones(4, dtype=torch.long)) and bool(none[:, 0].all())
    full = random_drop_mask(4, 6, 0.0, generator=g(0))
    assert bool(full.all())


def test_drop_mask_fixed_fraction():
    m = random_drop_mask(50, 10, drop_frac=0.4, generator=g(5))
    assert torch.equal(m.sum(1), torch.full((50,), 6))
    assert bool(m[:, 0].all())
    # patterns differ between clips
    assert len({tuple(r.tolist()) for r in m}) > 10
    capped = random_drop_mask(3, 5, drop_frac=1.0, generator=g(5), min_observed=2)
    assert torch.equal(capped.sum(1), torch.full((3,), 2))


def test_drop_mask_argument_errors():
    with pytest.raises(InputError, match="exactly one"):
        random_drop_mask(2, 5)
    with pytest.raises(InputError, match="exactly one"):
        random_drop_mask(2, 5, 0.5, drop_frac=0.5)
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        random_drop_mask(2, 5, 1.5)
    with pytest.raises(InputError, match="min_observed"):
        random_drop_mask(2, 5, 0.5, min_observed=6)


def test_random_time_subset():
    idx = random_time_subset(20, 7, g(0))
    assert idx.dtype == torch.long and idx.shape == (7,)
    assert torch.equal(idx, idx.sort().values) and len(set(idx.tolist())) == 7
    assert int(idx.min()) >= 0 and int(idx.max()) < 20
    assert torch.equal(idx, random_time_subset(20, 7, g(0)))
    assert not torch.equal(idx, random_time_subset(20, 7, g(1)))
    first = random_time_subset(20, 5, g(2), include_first=True)
    assert int(first[0]) == 0 and len(set(first.tolist())) == 5
    unsorted = [random_time_subset(20, 10, g(s), sorted=False) for s in range(5)]
    assert any(not torch.equal(u, u.sort().values) for u in unsorted)
    assert torch.equal(random_time_subset(4, 4, g(0)), torch.arange(4))
    with pytest.raises(InputError):
        random_time_subset(5, 6, g(0))


def test_per_sample_time_grid():
    t = per_sample_time_grid(64, 10, g(0), t_max=2.0, min_gap=0.05)
    assert t.shape == (64, 10) and t.dtype == torch.float32
    gaps = t[:, 1:] - t[:, :-1]
    assert bool((gaps >= 0.05 - 1e-6).all())
    assert bool((t[:, 0] == 0).all()) and bool((t <= 2.0 + 1e-6).all())
    assert len({tuple(r.tolist()) for r in t}) == 64  # one grid per clip
    assert torch.equal(t, per_sample_time_grid(64, 10, g(0), t_max=2.0, min_gap=0.05))
    free = per_sample_time_grid(16, 5, g(1), t0=1.0, t_max=3.0, min_gap=0.1, fix_first=False)
    assert bool((free >= 1.0).all()) and not bool((free[:, 0] == 1.0).all())
    default = per_sample_time_grid(4, 20, g(0))  # span of a regular clip with frame_dt = 0.1
    assert float(default.max()) <= 1.9 + 1e-6
    with pytest.raises(InputError, match="cannot fit"):
        per_sample_time_grid(2, 10, g(0), t_max=0.5, min_gap=0.1)
    with pytest.raises(InputError, match="min_gap"):
        per_sample_time_grid(2, 10, g(0), min_gap=0.0)
    # usable as ClipBatch times
    ClipBatch(torch.rand(64, 10, 1, 2, 2), t, torch.ones(64, 10, dtype=torch.bool))


def test_apply_mask():
    batch = collate_clips([torch.rand(6, 1, 3, 3) * 0.9 + 0.05 for _ in range(4)])
    mask = random_drop_mask(4, 6, 0.5, generator=g(0))
    out = apply_mask(batch, mask)
    assert torch.equal(out.mask, mask) and torch.equal(out.frames, batch.frames)
    again = apply_mask(out, torch.tensor([True, True, False, True, True, True]))
    assert not bool(again.mask[:, 2].any()) and torch.equal(again.mask[:, 3], mask[:, 3])
    zeroed = apply_mask(batch, mask, zero_unobserved=True)
    assert float(zeroed.frames[~mask].abs().sum()) == 0.0 and torch.equal(zeroed.frames[mask], batch.frames[mask])
    with pytest.raises(InputError, match="shape"):
        apply_mask(batch, torch.ones(4, 5, dtype=torch.bool))
    with pytest.raises(InputError, match="bool"):
        apply_mask(batch, torch.ones(4, 6))
