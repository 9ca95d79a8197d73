"""Sampling and scoring unconditional video generators (TGAN, MoCoGAN and TGANv2 with ODE/SDE G_t).

* :func:`sample_videos` / :func:`sample_video_batches`: ``num`` clips, reproducible from a seed whatever the
  batch size, at any frame times the generator supports (negative = before the first frame, fractional =
  a higher frame rate), in eval mode.
* :func:`generator_scores`: the paper's protocol (Gordon & Parde, section 4 / 5.2): ``R`` sets of ``S``
  generated clips (the authors: 10 x 2,048; the proposal's 5 became 10), one score per set, reported as
  ``mean +- std`` over the sets. Metrics: frame-level Inception FID, FVD (I3D), C3D FID and the C3D Inception
  Score, or any feature / probability callable. The networks are passed in; nothing is downloaded here.

Sampling scheme
---------------
All random inputs are drawn up front on the CPU from ``torch.Generator().manual_seed(seed)``, per sample,
and sliced into batches, so a clip depends only on ``(seed, num, its index)`` and not on ``batch_size`` (eval
mode: BatchNorm uses its running statistics, so the clips of a batch do not interact):

* :class:`~odevideo.methods.video_gan.tgan.TGANVideoGenerator` and
  :class:`~odevideo.methods.video_gan.tganv2.TGANv2Generator`
  (dense clips): ``z0`` ``(num, z_dim)`` from the generator's prior
  (``U(-1, 1)`` or ``N(0, I)``, its ``z_dist``).
* :class:`~odevideo.methods.video_gan.mocogan.MoCoGANGenerator`: content ``(num, content_dim)`` and motion
  ``(num, motion_dim)`` codes from ``N(0, I)``, and for the GRU motion generator its per-frame noise
  ``(num, S, noise_dim)``.
* SDE temporal generators (a ``seed`` keyword, :func:`~odevideo.methods.video_gan.steps.takes_noise_seed`): one
  torchsde Brownian motion per *block* of ``sde_block_size`` consecutive clips, seeded from ``seed``; the SDE
  is run one block per call (blocks are fixed by the clip index, not by ``batch_size``).
* Any other generator (``forward(n, times, *, generator=rng)``): one call per clip, with its own
  ``torch.Generator`` seeded from ``seed``.

With an adaptive ODE solver the batch still shares one step-size control, so clips agree across batch sizes up
to the solver tolerance only; the default fixed-step solvers agree to float rounding.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from odevideo.errors import InputError
from odevideo.methods.video_gan.mocogan import MoCoGANGenerator
from odevideo.methods.video_gan.network_common import to_unit_range
from odevideo.methods.video_gan.steps import _unwrap, takes_noise_seed
from odevideo.methods.video_gan.temporal_discrete import MoCoGANMotionGenerator
from odevideo.methods.video_gan.tgan import TGANVideoGenerator
from odevideo.methods.video_gan.tganv2 import TGANv2Generator
from odevideo.metrics.c3d import C3D, c3d_features, c3d_probs
from odevideo.metrics.frame_fid import frame_features
from odevideo.metrics.frechet import frechet_distance, gaussian_stats, iter_batches
from odevideo.metrics.i3d import I3D, i3d_features
from odevideo.metrics.inception_score import inception_score

__all__ = [
    "GENERATION_METRICS",
    "FID_METRICS",
    "IS_METRICS",
    "sample_video_batches",
    "sample_videos",
    "generator_scores",
]

#: Frechet-distance metrics (lower is better) and Inception-Score metrics (higher is better)
FID_METRICS = ("frame_fid", "fvd", "c3d_fid", "fid")
IS_METRICS = ("c3d_is", "is")
GENERATION_METRICS = FID_METRICS + IS_METRICS
_SEED_HIGH = 2**62


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InputError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)


def _seed(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value < 2**63:
        raise InputError(f"seed must be an integer in [0, 2**63), got {value!r}.")
    return int(value)


def _param(module: nn.Module) -> Tensor | None:
    for p in module.parameters():
        return p
    return None


def _times(times: Any, num: int) -> Tensor | None:
    """``None``, a ``(T,)`` or a per-clip ``(num, T)`` float tensor (CPU)."""
    if times is None:
        return None
    try:
        t = torch.as_tensor(times, dtype=torch.float64).detach().cpu() if not isinstance(times, Tensor) \
            else times.detach().to("cpu", torch.float64)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise InputError(f"times must be a sequence of real frame times, got {type(times).__name__}.") from exc
    if t.dim() == 0:
        t = t.reshape(1)
    if t.dim() not in (1, 2) or t.shape[-1] == 0 or (t.dim() == 2 and t.shape[0] != num):
        raise InputError(f"times must be (T,) or (num, T) = ({num}, T) with T >= 1, got {tuple(t.shape)}.")
    if not bool(torch.isfinite(t).all()):
        raise InputError("times must be finite.")
    return t


class _Plan:
    """The random inputs of ``num`` clips, drawn up front, and how to call the generator on a slice of them."""

    def __init__(self, generator: nn.Module, num: int, times: Tensor | None, seed: int, sde_block_size: int):
        inner = _unwrap(generator)
        self.generator = generator
        self.num = num
        self.times = times
        rng = torch.Generator().manual_seed(seed)
        self.codes: dict[str, Tensor] = {}
        self.motion_noise: Tensor | None = None
        self.per_sample_seeds: Tensor | None = None
        if isinstance(inner, (TGANVideoGenerator, TGANv2Generator)):
            if inner.z_dist == "uniform":
                self.codes["z"] = torch.rand(num, inner.z_dim, generator=rng) * 2 - 1
            else:
                self.codes["z"] = torch.randn(num, inner.z_dim, generator=rng)
        elif isinstance(inner, MoCoGANGenerator):
            self.codes["z"] = torch.randn(num, inner.content_dim, generator=rng)
            self.codes["z_motion"] = torch.randn(num, inner.motion_dim, generator=rng)
            if isinstance(inner.motion, MoCoGANMotionGenerator):
                last = inner.video_length - 1 if times is None else float(times.max())
                steps = max(1, int(math.floor(last)) + 1)
                self.motion_noise = torch.randn(num, steps, inner.motion.noise_dim, generator=rng)
        else:  # unknown generator: one call per clip with its own torch.Generator
            self.per_sample_seeds = torch.randint(0, _SEED_HIGH, (num,), generator=rng)
        self.block = sde_block_size if (self.per_sample_seeds is None and takes_noise_seed(generator)) else None
        self.block_seeds = None
        if self.block is not None:
            n_blocks = -(-num // self.block)
            self.block_seeds = torch.randint(0, _SEED_HIGH, (n_blocks,), generator=rng)

    def chunks(self, batch_size: int) -> Iterator[tuple[int, int]]:
        step = 1 if self.per_sample_seeds is not None else (self.block or batch_size)
        for start in range(0, self.num, step):
            yield start, min(start + step, self.num)

    def run(self, start: int, stop: int, device: torch.device, dtype: torch.dtype) -> Tensor:
        times = self.times
        if times is not None:
            times = (times[start:stop] if times.dim() == 2 else times).to(device, dtype)
        if self.per_sample_seeds is not None:
            rng = torch.Generator(device=device).manual_seed(int(self.per_sample_seeds[start]))
            return self.generator(stop - start, times, generator=rng)
        kwargs: dict[str, Any] = {}
        for name, value in self.codes.items():
            if name != "z":
                kwargs[name] = value[start:stop].to(device, dtype)
        if self.motion_noise is not None:
            kwargs["noise"] = self.motion_noise[start:stop].to(device, dtype)
        if self.block_seeds is not None:
            kwargs["seed"] = int(self.block_seeds[start // self.block])
        return self.generator(self.codes["z"][start:stop].to(device, dtype), times, **kwargs)


def sample_video_batches(
    generator: nn.Module,
    num: int,
    times: Tensor | Sequence[float] | None = None,
    *,
    seed: int,
    batch_size: int = 64,
    device: str | torch.device | None = None,
    unit_range: bool = True,
    sde_block_size: int = 16,
) -> Iterator[Tensor]:
    """``num`` generated clips, batch by batch (``(n_i, T, C, H, W)``, in order), reproducible from ``seed``
    whatever ``batch_size``: for streaming them into a feature extractor without holding all of them
    (:func:`sample_videos` concatenates them). The generator is in eval mode (and under ``no_grad``) only while
    a batch is made; its mode is restored before each batch is handed out.

    Args:
        generator: a video generator (``TGANVideoGenerator``, ``MoCoGANGenerator`` or anything with
            ``forward(n, times, *, generator=rng)`` -> ``[-1, 1]`` clips), possibly DDP-wrapped. Sampled in eval
            mode under ``no_grad``; its train/eval mode is restored afterwards.
        times: frame times ``(T,)`` (or per clip ``(num, T)``) in frames, as far as the temporal generator allows:
            the ODE/SDE ones take any real values (``t < 0``: before the first frame; fractional: a higher frame
            rate); ``None``: the generator's own ``0..T-1``.
        seed: everything random comes from it (see the module docstring for the scheme).
        batch_size: clips per generator call (SDE generators run ``sde_block_size`` clips per call instead).
        device: where the generator runs and the clips are returned; default the generator's device.
        unit_range: map the ``[-1, 1]`` output to the project's ``[0, 1]`` frames (clamped); False keeps it.
        sde_block_size: clips sharing one Brownian-motion seed (and one call) with an SDE temporal generator.
    """
    num = _positive_int("num", num)
    batch_size = _positive_int("batch_size", batch_size)
    sde_block_size = _positive_int("sde_block_size", sde_block_size)
    seed = _seed(seed)
    if not isinstance(generator, nn.Module):
        raise InputError(f"generator must be an nn.Module, got {type(generator).__name__}.")
    t = _times(times, num)
    ref = _param(generator)
    dev = torch.device(device) if device is not None else (ref.device if ref is not None else torch.device("cpu"))
    dtype = ref.dtype if ref is not None and ref.is_floating_point() else torch.float32
    plan = _Plan(generator, num, t, seed, sde_block_size)
    for start, stop in plan.chunks(batch_size):
        was = generator.training
        generator.eval()
        try:
            with torch.no_grad():
                out = plan.run(start, stop, dev, dtype)
        finally:
            generator.train(was)
        if not isinstance(out, Tensor) or out.dim() != 5 or out.shape[0] != stop - start:
            got = tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__
            raise InputError(f"the generator must return (n, T, C, H, W) clips, got {got} for n = {stop - start}.")
        out = out.to(dev)
        yield to_unit_range(out).clamp_(0.0, 1.0) if unit_range else out


def sample_videos(generator: nn.Module, num: int, times: Tensor | Sequence[float] | None = None,
                  **options: Any) -> Tensor:
    """``num`` generated clips ``(num, T, C, H, W)``, reproducible from ``seed`` whatever ``batch_size``: all the
    batches of :func:`sample_video_batches` in one tensor.

    ``options`` are :func:`sample_video_batches`'s keywords: ``seed`` (required), ``batch_size``, ``device``,
    ``unit_range``, ``sde_block_size``.
    """
    return torch.cat(list(sample_video_batches(generator, num, times, **options)))


# ----------------------------------------------------------------------------------------------------------------
# scores


def _extractor_for(metric: str, extractor: Any, features: Callable | None, batch_size: int,
                   c3d_layer: str) -> Callable[[Any], Tensor]:
    """A function ``videos (tensor or iterable of batches, [0, 1]) -> (N, D)`` features / probabilities."""
    if features is not None:
        if not callable(features):
            raise InputError(f"features must be a callable videos -> (N, D), got {type(features).__name__}.")

        def run(videos: Any) -> Tensor:
            rows = []
            with torch.no_grad():
                for batch in iter_batches(videos, batch_size):
                    out = features(batch)
                    if not isinstance(out, Tensor) or out.dim() != 2:
                        got = tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__
                        raise InputError(f"features(videos) must return an (N, D) tensor, got {got}.")
                    rows.append(out.detach().to("cpu", torch.float64))
            return torch.cat(rows)

        return run
    if metric in ("fid", "is"):
        raise InputError(f"metric={metric!r} needs a features callable (videos (B, T, C, H, W) in [0, 1] -> (N, D)).")
    if extractor is None:
        need = {"frame_fid": "an InceptionFeatureExtractor (frames -> features)", "fvd": "an I3D",
                "c3d_fid": "a C3D", "c3d_is": "a C3D"}[metric]
        raise InputError(
            f"metric={metric!r} needs extractor= {need} (load it with its .pretrained() / .from_file(); nothing is "
            f"downloaded here), or a features callable."
        )
    if metric == "frame_fid":
        if not callable(extractor):
            raise InputError(f"extractor must be callable (frames -> features), got {type(extractor).__name__}.")
        return lambda videos: frame_features(extractor, videos, batch_size)
    if metric == "fvd":
        if not isinstance(extractor, I3D):
            raise InputError(f"metric='fvd' needs an I3D extractor, got {type(extractor).__name__}.")
        return lambda videos: i3d_features(extractor, videos, batch_size)
    if not isinstance(extractor, C3D):
        raise InputError(f"metric={metric!r} needs a C3D extractor, got {type(extractor).__name__}.")
    if metric == "c3d_is":
        return lambda videos: c3d_probs(extractor, videos, batch_size)
    return lambda videos: c3d_features(extractor, videos, c3d_layer, batch_size)


def generator_scores(
    generator: nn.Module,
    real_videos: Tensor | None = None,
    *,
    metric: str,
    repeats: int = 10,
    samples: int = 2048,
    seed: int = 0,
    times: Tensor | Sequence[float] | None = None,
    extractor: Any = None,
    features: Callable[[Tensor], Tensor] | None = None,
    real_stats: tuple[Any, Any] | None = None,
    batch_size: int = 64,
    feature_batch_size: int = 16,
    device: str | torch.device | None = None,
    sde_block_size: int = 16,
    c3d_layer: str = "fc7",
    is_eps: float = 1e-7,
    fid_method: str = "eigh",
) -> dict:
    """The paper's evaluation protocol: ``repeats`` sets of ``samples`` generated clips, one score per set,
    ``mean`` and ``std`` over the sets.

    The ``repeats * samples`` clips are one stream from :func:`sample_video_batches` with ``seed``, cut into
    consecutive sets (set ``r`` = clips ``[r S, (r + 1) S)``), so the result is reproducible from the seed.

    Args:
        generator: see :func:`sample_video_batches`.
        real_videos: ``(N, T, C, H, W)`` real clips in ``[0, 1]`` (or an iterable of such batches); their features
            are computed once. Needed by the FID metrics unless ``real_stats`` is given; unused by the IS ones.
        metric: ``"frame_fid"`` (Inception features of every frame, :func:`~odevideo.metrics.frame_fid.frame_features`),
            ``"fvd"`` (I3D), ``"c3d_fid"`` (C3D ``c3d_layer`` features, fc7 as the paper's ``gen_fid.py``),
            ``"c3d_is"`` (C3D class probabilities; one IS per set with ``eps=is_eps``, as TGAN's/the paper's
            ``calc_inception``), or ``"fid"`` / ``"is"`` for a ``features`` callable.
        extractor: the network of the metric: an :class:`~odevideo.metrics.frame_fid.InceptionFeatureExtractor`
            (or any frames ``(N, C, H, W)`` -> ``(N, D)`` callable), an :class:`~odevideo.metrics.i3d.I3D` or a
            :class:`~odevideo.metrics.c3d.C3D`, already loaded.
        features: instead of ``extractor``: any callable ``videos (B, T, C, H, W) in [0, 1] -> (N, D)`` features
            (FID metrics) or class probabilities (IS metrics), e.g. a small random network in tests.
        real_stats: precomputed ``(mu, sigma)`` of the real features (e.g. from
            :func:`~odevideo.metrics.frechet.load_gaussian_stats`), instead of ``real_videos``.
        batch_size: clips per generator call; ``feature_batch_size``: clips (frames for frame_fid) per
            extractor call.

    Returns:
        ``{"metric", "mean", "std", "values" (one float per set), "protocol" (repeats, samples, seed, times,
        std convention, real count, ...)}``. ``std`` is the population standard deviation (``ddof=0``, numpy's
        default, as TGANv2's ``inception_score``).
    """
    if metric not in GENERATION_METRICS:
        raise InputError(f"metric={metric!r} is not supported; use one of: {', '.join(GENERATION_METRICS)}.")
    repeats = _positive_int("repeats", repeats)
    samples = _positive_int("samples", samples)
    seed = _seed(seed)
    feature_batch_size = _positive_int("feature_batch_size", feature_batch_size)
    run = _extractor_for(metric, extractor, features, feature_batch_size, c3d_layer)
    is_fid = metric in FID_METRICS
    real_count = None
    if is_fid:
        if samples < 2:
            raise InputError("a Frechet distance needs samples >= 2 generated clips per set (the paper: 2048).")
        if real_stats is not None:
            if real_videos is not None:
                raise InputError("pass either real_videos or real_stats, not both.")
            mu_r, sigma_r = (np.asarray(a, dtype=np.float64) for a in real_stats)
        else:
            if real_videos is None:
                raise InputError(f"metric={metric!r} compares with real clips: pass real_videos (N, T, C, H, W) in "
                                 f"[0, 1] or real_stats=(mu, sigma).")
            if isinstance(real_videos, Tensor):
                if real_videos.dim() != 5 or real_videos.shape[0] < 2:
                    raise InputError(
                        f"real_videos must be (N, T, C, H, W) with N >= 2, got {tuple(real_videos.shape)}."
                    )
                lo, hi = float(real_videos.min()), float(real_videos.max())
                if lo < -1e-3 or hi > 1 + 1e-3:
                    raise InputError(f"real_videos must be in [0, 1], got values in [{lo:.3g}, {hi:.3g}].")
            real_feats = run(real_videos)
            real_count = int(real_feats.shape[0])
            mu_r, sigma_r = gaussian_stats(real_feats)
    stream = sample_video_batches(generator, repeats * samples, times, seed=seed, batch_size=batch_size,
                                  device=device, unit_range=True, sde_block_size=sde_block_size)
    values: list[float] = []
    pending: list[Tensor] = []
    have = 0
    for batch in stream:
        while batch.shape[0]:
            take = min(samples - have, batch.shape[0])
            pending.append(batch[:take])
            batch = batch[take:]
            have += take
            if have == samples:
                out = run(pending)
                if is_fid:
                    values.append(frechet_distance(mu_r, sigma_r, *gaussian_stats(out), method=fid_method))
                else:
                    values.append(inception_score(out, splits=1, eps=is_eps)[0])
                pending, have = [], 0
    arr = np.asarray(values, dtype=np.float64)
    protocol = {
        "repeats": repeats,
        "samples": samples,
        "seed": seed,
        "times": None if times is None else _times(times, repeats * samples).tolist(),
        "std": "population (ddof=0) over the repeats",
        "sets": "consecutive slices of one seeded sample stream",
        "real_count": real_count,
        "extractor": "features callable" if features is not None else type(extractor).__name__,
    }
    if metric == "c3d_fid":
        protocol["c3d_layer"] = c3d_layer
    if metric in IS_METRICS:
        protocol["is_eps"] = is_eps
    return {"metric": metric, "mean": float(arr.mean()), "std": float(arr.std()), "values": values,
            "protocol": protocol}


def pixel_frame_features(frames: Tensor, size: int = 8) -> Tensor:
    """Cheap frame features for model selection: frames ``(N, C, H, W)`` average-pooled to ``size x size``
    and flattened, ``(N, C * size * size)``. Their Frechet distance (``val_metric="pixel_fd"``) ranks
    checkpoints of one run; it is not FID and is not comparable with published numbers."""
    if not isinstance(frames, Tensor) or frames.dim() != 4:
        raise InputError(f"pixel_frame_features expects (N, C, H, W) frames, got {getattr(frames, 'shape', frames)}")
    return torch.nn.functional.adaptive_avg_pool2d(frames.float(), size).flatten(1)
