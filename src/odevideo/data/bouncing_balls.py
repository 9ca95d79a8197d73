"""Bouncing balls: the non-linear motion benchmark of Vid-ODE (after Sutskever et al.'s simulator).

Physics (pixel units; a frame covers the square ``[0, size]^2``, pixel ``(i, j)`` has its centre at
``(i + 0.5, j + 0.5)``, coordinates are ``(row, col)``):

* ``num_balls`` balls of equal radius and equal mass move in straight lines.
* Walls: a ball whose centre leaves ``[radius, size - radius]`` is reflected back (the overshoot is
  mirrored, the velocity component flips), so balls always lie completely inside the frame.
* Ball-ball collisions are elastic between equal masses: when two balls overlap and approach each
  other they exchange the components of their velocities along the line of centres; the tangential
  components are kept. Kinetic energy (the sum of squared speeds) and momentum are conserved.
* Each frame interval is integrated in ``substeps`` equal steps (collisions are checked after every
  substep; more substeps = less interpenetration before a collision is resolved).

Initial state of a clip: centres uniform in ``[radius, size - radius]^2`` without overlaps
(rejection sampling), velocities ``v = randn(num_balls, 2)`` rescaled so that the root-mean-square
speed is ``speed`` pixels per frame (as in the original simulator, energy is split randomly between
the balls).

Rendering: anti-aliased discs, pixel value ``clip(radius + 0.5 - distance, 0, 1)`` (a one pixel
wide linear edge), balls combined by a pixel-wise maximum; one grayscale channel in ``[0, 1]``.

Clip ``i`` is a pure function of ``(seed, i)`` and the constructor arguments.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from odevideo.data.batch import DEFAULT_FRAME_DT, ClipDataset, non_negative_int, positive_float, positive_int
from odevideo.errors import InputError

__all__ = ["BouncingBalls", "simulate_bouncing_balls", "render_balls"]

_STREAM_TAG = 0x42424C  # separates bouncing-ball streams from other seeded generators


def simulate_bouncing_balls(
    positions: np.ndarray,
    velocities: np.ndarray,
    num_frames: int,
    size: float,
    radius: float,
    substeps: int = 10,
) -> tuple[np.ndarray, np.ndarray]:
    """Integrate the ball system (see the module docstring).

    Args:
        positions: ``(K, 2)`` initial centres ``(row, col)`` in pixels, inside ``[radius, size - radius]``.
        velocities: ``(K, 2)`` initial velocities in pixels per frame.
        num_frames: number of frames ``T`` to record (the first is the initial state).
        size: side of the square frame in pixels.
        radius: ball radius in pixels (``2 * radius < size``).
        substeps: integration steps per frame interval (>= 1).

    Returns:
        ``(positions, velocities)``, each a float64 array ``(T, K, 2)`` holding the state at every frame.
    """
    pos = np.asarray(positions, dtype=np.float64)
    vel = np.asarray(velocities, dtype=np.float64)
    if pos.ndim != 2 or pos.shape[1] != 2 or vel.shape != pos.shape:
        raise InputError(f"positions and velocities must both be (K, 2), got {pos.shape} and {vel.shape}")
    if not (np.isfinite(pos).all() and np.isfinite(vel).all()):
        raise InputError("positions and velocities must be finite")
    if isinstance(substeps, bool) or not isinstance(substeps, int) or substeps < 1:
        raise InputError(f"substeps must be a positive integer, got {substeps!r}")
    if isinstance(num_frames, bool) or not isinstance(num_frames, int) or num_frames < 1:
        raise InputError(f"num_frames must be a positive integer, got {num_frames!r}")
    size, radius = float(size), float(radius)
    lo, hi = radius, size - radius
    if not radius > 0 or not lo < hi:
        raise InputError(f"radius must be in (0, size / 2) = (0, {size / 2:g}), got {radius:g}")
    k = pos.shape[0]
    # Plain Python floats: for a handful of balls this is much faster than numpy on tiny arrays,
    # and IEEE arithmetic keeps it bit-for-bit deterministic.
    px, py = [float(v) for v in pos[:, 0]], [float(v) for v in pos[:, 1]]
    vx, vy = [float(v) for v in vel[:, 0]], [float(v) for v in vel[:, 1]]
    for i in range(k):
        px[i] = min(max(px[i], lo), hi)
        py[i] = min(max(py[i], lo), hi)
    dt = 1.0 / substeps
    contact2 = (2.0 * radius) ** 2
    out_pos = np.empty((num_frames, k, 2))
    out_vel = np.empty((num_frames, k, 2))
    pairs = [(i, j) for i in range(k) for j in range(i + 1, k)]
    for t in range(num_frames):
        out_pos[t, :, 0], out_pos[t, :, 1] = px, py
        out_vel[t, :, 0], out_vel[t, :, 1] = vx, vy
        if t == num_frames - 1:
            break
        for _ in range(substeps):
            for i in range(k):
                x = px[i] + vx[i] * dt
                if x < lo:
                    x, vx[i] = 2.0 * lo - x, -vx[i]
                elif x > hi:
                    x, vx[i] = 2.0 * hi - x, -vx[i]
                y = py[i] + vy[i] * dt
                if y < lo:
                    y, vy[i] = 2.0 * lo - y, -vy[i]
                elif y > hi:
                    y, vy[i] = 2.0 * hi - y, -vy[i]
                px[i] = min(max(x, lo), hi)  # guards against an overshoot larger than the box
                py[i] = min(max(y, lo), hi)
            for i, j in pairs:
                dx, dy = px[j] - px[i], py[j] - py[i]
                d2 = dx * dx + dy * dy
                if 0.0 < d2 < contact2:
                    dot = (vx[j] - vx[i]) * dx + (vy[j] - vy[i]) * dy
                    if dot < 0.0:  # approaching: swap the normal velocity components
                        c = dot / d2
                        vx[i] += c * dx
                        vy[i] += c * dy
                        vx[j] -= c * dx
                        vy[j] -= c * dy
    return out_pos, out_vel


def render_balls(positions: np.ndarray, size: int, radius: float) -> np.ndarray:
    """Render ball centres ``(T, K, 2)`` (pixels, ``(row, col)``) as anti-aliased discs.

    Returns:
        float32 array ``(T, size, size)`` in ``[0, 1]``.
    """
    pos = np.asarray(positions, dtype=np.float32)
    if pos.ndim != 3 or pos.shape[2] != 2:
        raise InputError(f"positions must be (T, K, 2), got {pos.shape}")
    centres = np.arange(size, dtype=np.float32) + 0.5
    dr = centres[None, None, :] - pos[:, :, 0:1]  # (T, K, H)
    dc = centres[None, None, :] - pos[:, :, 1:2]  # (T, K, W)
    dist = np.sqrt(dr[:, :, :, None] ** 2 + dc[:, :, None, :] ** 2)  # (T, K, H, W)
    cover = np.clip(np.float32(radius + 0.5) - dist, 0.0, 1.0)
    if cover.shape[1] == 0:
        return np.zeros((pos.shape[0], size, size), dtype=np.float32)
    return cover.max(axis=1)


class BouncingBalls(ClipDataset):
    """Deterministic bouncing-balls clips (the built-in default dataset; see the module docstring).

    Args:
        num_clips: dataset length.
        num_frames: frames per clip ``T``.
        size: frame side in pixels.
        num_balls: balls per clip.
        radius: ball radius in pixels; default ``0.12 * size`` (3.84 px at 32 px, the proportions of
            the original 10-unit box with radius 1.2).
        speed: root-mean-square ball speed in pixels per frame; default ``0.05 * size`` (1.6 px/frame
            at 32 px, so a ball crosses the frame in about 20 frames).
        seed: non-negative integer seed.
        frame_dt: time between frames, used by :meth:`collate_fn` (time units).
        substeps: integration steps per frame (collision accuracy).

    Items are float32 tensors ``(T, 1, size, size)`` in ``[0, 1]``.
    """

    def __init__(
        self,
        num_clips: int = 1000,
        num_frames: int = 20,
        size: int = 32,
        num_balls: int = 3,
        radius: float | None = None,
        speed: float | None = None,
        seed: int = 0,
        frame_dt: float = DEFAULT_FRAME_DT,
        substeps: int = 10,
    ) -> None:
        super().__init__()
        self.num_clips = positive_int(num_clips, "num_clips")
        self.num_frames = positive_int(num_frames, "num_frames")
        self.size = positive_int(size, "size")
        if isinstance(num_balls, bool) or not isinstance(num_balls, (int, np.integer)) or num_balls < 0:
            raise InputError(f"num_balls must be a non-negative integer, got {num_balls!r}")
        self.num_balls = int(num_balls)
        self.radius = 0.12 * self.size if radius is None else float(radius)
        if not math.isfinite(self.radius) or not 0 < self.radius < self.size / 2:
            raise InputError(f"radius must be in (0, size / 2) = (0, {self.size / 2:g}) pixels, got {radius!r}")
        self.speed = 0.05 * self.size if speed is None else float(speed)
        if not math.isfinite(self.speed) or self.speed < 0:
            raise InputError(f"speed must be a finite number >= 0 (pixels per frame), got {speed!r}")
        self.seed = non_negative_int(seed, "seed")
        self.frame_dt = positive_float(frame_dt, "frame_dt")
        self.substeps = positive_int(substeps, "substeps")
        # Fail early (not in a DataLoader worker) if the balls cannot be placed.
        if self.num_balls:
            self.initial_state(0)

    # ------------------------------------------------------------------ dataset protocol
    def __len__(self) -> int:
        return self.num_clips

    def __getitem__(self, index: int) -> torch.Tensor:
        positions, _ = self.trajectory(index)
        frames = render_balls(positions, self.size, self.radius)
        return torch.from_numpy(frames).unsqueeze(1)

    # ------------------------------------------------------------------ simulator state
    def initial_state(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """``(positions, velocities)`` ``(K, 2)`` of clip ``index`` at frame 0 (pixels, pixels/frame)."""
        i = self._check_index(index)
        rng = np.random.default_rng([_STREAM_TAG, self.seed, i])
        k, r, lo, hi = self.num_balls, self.radius, self.radius, self.size - self.radius
        min_d2 = (2.0 * r * 1.05) ** 2
        for _ in range(1000):
            pos = lo + (hi - lo) * rng.random((k, 2))
            diff = pos[:, None, :] - pos[None, :, :]
            d2 = (diff**2).sum(-1) + np.eye(k) * 1e30
            if k < 2 or d2.min() >= min_d2:
                break
        else:
            raise InputError(
                f"could not place {k} non-overlapping balls of radius {r:g} in a {self.size} px frame; "
                f"use fewer balls, a smaller radius or a larger size"
            )
        vel = rng.standard_normal((k, 2))
        norm = math.sqrt(float((vel**2).sum()))
        if norm > 0:
            vel *= self.speed * math.sqrt(k) / norm
        return pos, vel

    def trajectory(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """``(positions, velocities)``, float64 ``(T, K, 2)``: the simulated state at every frame of clip ``index``."""
        pos, vel = self.initial_state(index)
        return simulate_bouncing_balls(pos, vel, self.num_frames, self.size, self.radius, self.substeps)

    def cache_description(self) -> dict[str, Any]:
        """Everything clip ``i`` depends on (for :func:`odevideo.data.clip_cache.cached_clips`)."""
        return {
            "class": "BouncingBalls", "num_clips": self.num_clips, "num_frames": self.num_frames, "size": self.size,
            "num_balls": self.num_balls, "radius": self.radius, "speed": self.speed, "seed": self.seed,
            "substeps": self.substeps,
        }

    def __repr__(self) -> str:
        return (
            f"BouncingBalls(num_clips={self.num_clips}, num_frames={self.num_frames}, size={self.size}, "
            f"num_balls={self.num_balls}, radius={self.radius:g}, speed={self.speed:g}, seed={self.seed}, "
            f"substeps={self.substeps})"
        )

