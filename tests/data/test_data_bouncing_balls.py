import numpy as np
import pytest
import torch

from odevideo.data import BouncingBalls, ClipBatch, render_balls, simulate_bouncing_balls
from odevideo.errors import InputError


def test_shape_range_determinism():
    ds = BouncingBalls(num_clips=30, seed=2)
    x = ds[4]
    assert x.shape == (20, 1, 32, 32) and x.dtype == torch.float32
    assert float(x.min()) >= 0 and float(x.max()) == 1.0
    assert torch.equal(BouncingBalls(num_clips=30, seed=2)[4], x)
    assert not torch.equal(ds[5], x)
    assert not torch.equal(BouncingBalls(num_clips=30, seed=3)[4], x)
    # clip i does not depend on the dataset length or on other clips
    assert torch.equal(BouncingBalls(num_clips=1000, seed=2)[4], x)
    assert torch.equal(ds[-26], x)
    with pytest.raises(IndexError):
        ds[30]


def test_balls_stay_in_frame_and_are_fully_visible():
    ds = BouncingBalls(num_clips=20, seed=0, speed=3.0)
    single = render_balls(np.array([[[16.0, 16.0]]]), 32, ds.radius).sum()
    for i in range(20):
        pos, _ = ds.trajectory(i)
        assert pos.min() >= ds.radius - 1e-9 and pos.max() <= 32 - ds.radius + 1e-9
        frames = ds[i][:, 0].numpy()
        d = np.linalg.norm(pos[:, :, None, :] - pos[:, None, :, :], axis=-1) + np.eye(3) * 1e9
        apart = d.min(axis=(1, 2)) > 2 * ds.radius + 2  # no overlap in these frames
        # (anti-aliasing makes the mass depend on the sub-pixel position by ~1%; a clipped ball loses far more)
        np.testing.assert_allclose(frames[apart].sum(axis=(1, 2)), 3 * single, rtol=2e-2)


def test_energy_is_conserved_through_collisions():
    ds = BouncingBalls(num_clips=60, num_frames=40, seed=1, speed=4.0)
    ball_collisions = 0
    for i in range(60):
        pos, vel = ds.trajectory(i)
        energy = (vel**2).sum(axis=(1, 2))
        np.testing.assert_allclose(energy, energy[0], rtol=1e-10)
        # a wall bounce keeps each ball's speed; a ball-ball collision exchanges energy between balls
        speeds2 = (vel**2).sum(axis=2)
        ball_collisions += int((np.abs(np.diff(speeds2, axis=0)) > 1e-6).any(axis=1).sum())
    assert ball_collisions > 0


def test_head_on_collision_swaps_velocities_and_walls_reflect():
    pos, vel = simulate_bouncing_balls(
        np.array([[16.0, 8.0], [16.0, 24.0]]), np.array([[0.0, 2.0], [0.0, -2.0]]), 8, 32, 3.0, substeps=20
    )
    np.testing.assert_allclose(vel[-1], [[0.0, -2.0], [0.0, 2.0]])
    assert pos[-1, 0, 1] < pos[-1, 1, 1]  # they bounced apart, never passed through
    wall_pos, wall_vel = simulate_bouncing_balls(np.array([[10.0, 27.0]]), np.array([[0.0, 1.5]]), 4, 32, 3.0)
    assert wall_vel[-1, 0, 1] == -1.5 and wall_pos.max() <= 29.0
    np.testing.assert_allclose(wall_pos[:, 0, 1], [27.0, 28.5, 28.0, 26.5])  # mirrored overshoot


def test_oblique_collision_keeps_tangential_components():
    # ball 1 moves right and down; ball 2 is at rest on its path: momentum and energy conserved
    p0, v0 = np.array([[10.0, 10.0], [10.0, 17.0]]), np.array([[0.5, 2.0], [0.0, 0.0]])
    _, vel = simulate_bouncing_balls(p0, v0, 6, 40, 3.0, substeps=50)
    np.testing.assert_allclose(vel[-1].sum(0), v0.sum(0), atol=1e-12)
    np.testing.assert_allclose((vel[-1] ** 2).sum(), (v0**2).sum(), rtol=1e-12)
    assert abs(vel[-1, 1, 1]) > 1.0  # most of the momentum went to the resting ball


def test_generation_and_loader():  # speed: benchmarks, not tests (CI machines are shared)
    ds = BouncingBalls(num_clips=1000)
    clips = [ds[i] for i in range(1000)]
    assert len(clips) == 1000
    loader = torch.utils.data.DataLoader(ds, batch_size=8, collate_fn=ds.collate_fn)
    batch = next(iter(loader))
    assert isinstance(batch, ClipBatch) and batch.frames.shape == (8, 20, 1, 32, 32)
    assert torch.allclose(batch.times[3], torch.arange(20) * 0.1)


def test_arguments():
    ds = BouncingBalls(num_clips=3, size=64, num_balls=2, radius=5.0, speed=2.0, num_frames=7)
    assert ds[0].shape == (7, 1, 64, 64)
    assert ds.initial_state(0)[0].shape == (2, 2)
    _, v = ds.initial_state(1)
    assert np.isclose(np.sqrt((v**2).sum(1).mean()), 2.0)
    with pytest.raises(InputError, match="radius"):
        BouncingBalls(num_clips=2, radius=20.0)
    with pytest.raises(InputError, match="could not place"):
        BouncingBalls(num_clips=2, num_balls=40, radius=6.0)
    with pytest.raises(InputError, match="seed"):
        BouncingBalls(num_clips=2, seed=-3)
