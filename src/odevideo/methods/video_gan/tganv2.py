"""TGANv2 (Saito et al., "Train Sparsely, Generate Densely", IJCV 2020) with any feature-map temporal generator.

Gordon & Parde trained TGANv2 with a first-order ODE in place of its CLSTM and could not
run the SDE and higher-order variants; here every temporal generator of
:mod:`odevideo.methods.video_gan.map_temporal` plugs in (CLSTM, ODE of order 1-3, SDE).

Generator (:class:`TGANv2Generator`)
    per-frame codes ``(C, s, s)`` -> ``n_blocks`` residual up-sampling blocks (:class:`TGANv2UpBlock`, x2 each)
    -> ``(B, T, channels, s * 2**n_blocks, ...)`` frames. The last ``levels`` blocks are *levels*; each level
    has a render head (BatchNorm, ReLU, conv3x3, tanh). Training (``levels=True``) renders every level but
    thins the batch between levels: before each level after the first, every ``subsample_batch``-th clip and
    every ``subsample_frames``-th frame (a random offset per call) go on, so level ``l`` holds
    ``B / 2**l`` clips of ``T / 2**l`` frames at ``1 / 2**(L-1-l)`` of the full size (with the defaults; the
    Chainer code's ``subsample_batch`` / ``subsample_frame`` true). Sampling (``levels=False``, also in
    eval mode) runs every frame of every clip through all blocks and renders the last level only: the dense
    video.
    Widths follow the Chainer code's ``ch * (16, 8, 4, 2, 1, 1)`` for 6 blocks: block ``i`` has
    ``ch * max(1, 2**(n_blocks - 2 - i))`` channels.

Discriminator (:class:`TGANv2MultiLevelDiscriminator`)
    one 3-D ResNet (:class:`TGANv2VideoDiscriminator`) per level, scores concatenated over levels (so the
    loss's batch mean weighs each level by its clip count, as the Chainer updater).

Real clips for the levels (:meth:`TGANv2Generator.real_levels`): the same thinning (with its own random frame
offsets, as TGANv2's ``MultiLevelDataset``) and ``2**(L-1-l)`` x ``2**(L-1-l)`` average pooling.

Loss (TGANv2's ``DiracUpdater``): non-saturating (softplus) losses and a zero-centred gradient penalty on the
real inputs of all levels, with simultaneous generator and discriminator updates from one set of scores
(:func:`odevideo.methods.video_gan.steps.multilevel_gan_losses`). TGANv2's penalty is ``lam * sum`` of the
squared gradients over the batch; R1 here is ``gamma / 2 * mean`` over the clips of a level, summed over the
levels, so ``gamma_l = 2 * lam * B_l`` reproduces it.

Left out: class conditioning (``n_classes``), the CLSTM's ``stride`` / ``max_offset`` frame skipping, and the
Chainer discriminator's padding of length-1 axes in its average pooling (it pads a 1-long axis to 3).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from odevideo.errors import InputError
from odevideo.methods.video_gan.network_common import (
    _batch_or_z,
    _check_video,
    _positive_int,
    _sample_z,
    sample_in_eval_mode,
)

__all__ = [
    "TGANv2UpBlock",
    "TGANv2Generator",
    "TGANv2Levels",
    "TGANv2VideoDiscriminator",
    "TGANv2MultiLevelDiscriminator",
]


def _xavier(module: nn.Module, gain: float) -> None:
    nn.init.xavier_uniform_(module.weight, gain=gain)
    if module.bias is not None:
        nn.init.zeros_(module.bias)


def _residual_convs(block: nn.Module, in_ch: int, mid_ch: int, out_ch: int, conv: type = nn.Conv3d) -> None:
    """``block.conv1`` (kernel 3, in -> mid), ``block.conv2`` (mid -> out) and ``block.shortcut`` (kernel 1, in -> out)
    of class ``conv``, Xavier-uniform with gain sqrt(2) on the residual convs and 1 on the shortcut (TGANv2's
    initialisers)."""
    block.conv1 = conv(in_ch, mid_ch, 3, padding=1)
    block.conv2 = conv(mid_ch, out_ch, 3, padding=1)
    block.shortcut = conv(in_ch, out_ch, 1)
    for c in (block.conv1, block.conv2):
        _xavier(c, math.sqrt(2.0))
    _xavier(block.shortcut, 1.0)


class TGANv2UpBlock(nn.Module):
    """Residual x2 up-sampling block (TGANv2's ``GenBlock``), on frames ``(N, in_ch, h, w) -> (N, out_ch, 2h, 2w)``.

    Residual: BN, ReLU, nearest x2, conv3x3, BN, ReLU, conv3x3; shortcut: nearest x2, conv1x1. Xavier-uniform
    init, gain sqrt(2) on the residual convs and 1 on the shortcut.
    """

    def __init__(self, in_ch: int, out_ch: int):
        super().__init__()
        self.bn1, self.bn2 = nn.BatchNorm2d(in_ch), nn.BatchNorm2d(out_ch)
        _residual_convs(self, in_ch, out_ch, out_ch, nn.Conv2d)

    def forward(self, x: Tensor) -> Tensor:
        h = F.interpolate(F.relu(self.bn1(x)), scale_factor=2, mode="nearest")
        h = self.conv2(F.relu(self.bn2(self.conv1(h))))
        return h + self.shortcut(F.interpolate(x, scale_factor=2, mode="nearest"))


@dataclass
class TGANv2Levels:
    """The training output of :class:`TGANv2Generator`: per level ``l``, ``videos[l]`` ``(B_l, T_l, C, H_l, W_l)``
    in ``[-1, 1]``, and which clips (``clips[l]``, ``(B_l,)`` indices into the batch) and frames
    (``frames[l]``, ``(T_l,)`` indices into the requested times) it shows."""

    videos: list[Tensor]
    clips: list[Tensor]
    frames: list[Tensor]


def _thin(n: int, stride: int, offset: int) -> Tensor:
    return torch.arange(offset, n, stride)


class TGANv2Generator(nn.Module):
    """TGANv2's multi-level generator around a feature-map temporal generator (see the module docstring).

    Args:
        temporal: ``forward(z, times, **kw) -> (B, T, C, s, s)`` with attributes ``z_dim`` and ``map_shape``
            (:class:`~odevideo.methods.video_gan.map_temporal.ConvLSTMTemporalGenerator`,
            :class:`~odevideo.methods.video_gan.map_temporal.MapODETemporalGenerator`,
            :class:`~odevideo.methods.video_gan.map_temporal.MapSDETemporalGenerator`).
        out_channels: frame channels.
        image_size: output frames are ``image_size`` square; ``image_size / s`` must be a power of two
            ``2**n_blocks`` with ``n_blocks >= levels``.
        channels: TGANv2's ``ch`` (32).
        levels: rendered levels (TGANv2: 4).
        n_frames: frames of a clip when no times are given.
        subsample_frames, subsample_batch: thinning factors between levels (TGANv2: 2 and 2; 1 = none).
        z_dist: prior of ``z``: ``"uniform"`` (TGANv2's ``U(-1, 1)``) or ``"normal"``.

    ``forward(z_or_batch, times=None, *, generator=None, levels=False, **temporal_kwargs)``: ``levels=False``
    -> dense clips ``(B, T, C, H, W)`` in ``[-1, 1]``; ``levels=True`` -> :class:`TGANv2Levels` (the frame
    offsets drawn from ``generator``). ``times`` in frames, as the temporal generator allows.
    """

    def __init__(self, temporal: nn.Module, *, out_channels: int = 3, image_size: int = 64, channels: int = 32,
                 levels: int = 4, n_frames: int = 16, subsample_frames: int = 2, subsample_batch: int = 2,
                 z_dist: str = "uniform"):
        super().__init__()
        name = type(self).__name__
        shape = getattr(temporal, "map_shape", None)
        if not isinstance(temporal, nn.Module) or not isinstance(shape, tuple) or len(shape) != 3:
            raise InputError(f"{name}: temporal must be a feature-map temporal generator (an nn.Module with map_shape "
                             f"(C, s, s)), e.g. ConvLSTMTemporalGenerator; got {type(temporal).__name__}.")
        if z_dist not in ("uniform", "normal"):
            raise InputError(f"z_dist must be 'uniform' (TGANv2) or 'normal', got {z_dist!r}.")
        self.temporal, self.z_dim, self.z_dist = temporal, temporal.z_dim, z_dist
        self.out_channels = _positive_int("out_channels", out_channels)
        self.image_size = _positive_int("image_size", image_size)
        self.levels = _positive_int("levels", levels)
        self.n_frames = _positive_int("n_frames", n_frames)
        self.subsample_frames = _positive_int("subsample_frames", subsample_frames)
        self.subsample_batch = _positive_int("subsample_batch", subsample_batch)
        ch = _positive_int("channels", channels)
        s = shape[1]
        ratio = image_size / s
        n_blocks = round(math.log2(ratio)) if ratio >= 1 else -1
        if n_blocks < self.levels or s * 2**n_blocks != image_size:
            raise InputError(
                f"{name}: image_size {image_size} must be the temporal map size {s} times 2**n with n >= levels "
                f"({self.levels}); e.g. map 4 -> 32 with 3 levels, map 3 -> 192 with 4 levels."
            )
        widths = [ch * max(1, 2 ** (n_blocks - 2 - i)) for i in range(n_blocks)]
        ins = [shape[0], *widths[:-1]]
        self.blocks = nn.ModuleList(TGANv2UpBlock(a, b) for a, b in zip(ins, widths))
        self.first_level_block = n_blocks - self.levels  # index of the block whose output level 0 renders
        self.render = nn.ModuleList()
        for w in widths[self.first_level_block:]:
            conv = nn.Conv2d(w, out_channels, 3, padding=1)
            _xavier(conv, 1.0)
            self.render.append(nn.Sequential(nn.BatchNorm2d(w), nn.ReLU(), conv, nn.Tanh()))

    def _codes(self, z: int | Tensor, times: Any, generator: torch.Generator | None, kwargs: dict) -> Tensor:
        z = _batch_or_z(z, self.z_dim, type(self).__name__)
        ref = next(self.render.parameters())
        if isinstance(z, int):
            z = _sample_z(z, self.z_dim, self.z_dist, generator, ref.device, ref.dtype)
        if times is None:
            times = torch.arange(self.n_frames, dtype=z.dtype, device=z.device)
        return self.temporal(z, times, **kwargs)

    def forward(self, z: int | Tensor, times: Tensor | Sequence[float] | None = None, *,
                generator: torch.Generator | None = None, levels: bool = False,
                **temporal_kwargs: Any) -> Tensor | TGANv2Levels:
        codes = self._codes(z, times, generator, temporal_kwargs)  # (B, T, C, s, s)
        b, t = codes.shape[:2]
        h = codes.flatten(0, 1)
        if not levels:
            for block in self.blocks:
                h = block(h)
            x = self.render[-1](h)
            return x.view(b, t, *x.shape[1:])
        for block in self.blocks[: self.first_level_block + 1]:
            h = block(h)
        clips, frames = torch.arange(b), torch.arange(t)
        out = TGANv2Levels([], [], [])
        for level in range(self.levels):
            if level:
                h = h.view(len(clips), len(frames), *h.shape[1:])
                keep_c, keep_f = self._thin_level(level, len(clips), len(frames), generator)
                h = h[keep_c.to(h.device)][:, keep_f.to(h.device)].flatten(0, 1)
                clips, frames = clips[keep_c], frames[keep_f]
                h = self.blocks[self.first_level_block + level](h)
            x = self.render[level](h)
            out.videos.append(x.view(len(clips), len(frames), *x.shape[1:]))
            out.clips.append(clips)
            out.frames.append(frames)
        return out

    def _thin_level(self, level: int, n_clips: int, n_frames: int,
                    generator: torch.Generator | None) -> tuple[Tensor, Tensor]:
        """Which clips (every ``subsample_batch``-th) and frames (every ``subsample_frames``-th from a random offset
        drawn with ``generator``) of the previous level go on to ``level``."""
        where = generator.device if generator is not None else "cpu"
        offset = int(torch.randint(self.subsample_frames, (), generator=generator, device=where))
        keep_c = _thin(n_clips, self.subsample_batch, 0)
        keep_f = _thin(n_frames, self.subsample_frames, offset)
        if not len(keep_c) or not len(keep_f):
            raise InputError(
                f"{type(self).__name__}: level {level} would get no clips or frames ({n_clips} clips, {n_frames} "
                f"frames before it, thinned by {self.subsample_batch} / {self.subsample_frames}); use more clips "
                f"per batch and frames per clip."
            )
        return keep_c, keep_f

    def real_levels(self, videos: Tensor, generator: torch.Generator | None = None) -> TGANv2Levels:
        """Real clips ``(B, T, C, H, W)`` (any range; pooling is linear) laid out as the training levels: the
        same thinning (own random frame offsets from ``generator``) and ``2**(L-1-l)`` average pooling."""
        if not isinstance(videos, Tensor) or videos.dim() != 5 or videos.shape[-1] != self.image_size \
                or videos.shape[-2] != self.image_size:
            got = tuple(videos.shape) if isinstance(videos, Tensor) else type(videos).__name__
            raise InputError(f"{type(self).__name__}.real_levels: videos must be (B, T, C, {self.image_size}, "
                             f"{self.image_size}), got {got}.")
        clips, frames = torch.arange(videos.shape[0]), torch.arange(videos.shape[1])
        out = TGANv2Levels([], [], [])
        for level in range(self.levels):
            if level:
                keep_c, keep_f = self._thin_level(level, len(clips), len(frames), generator)
                clips, frames = clips[keep_c], frames[keep_f]
            x = videos[clips.to(videos.device)][:, frames.to(videos.device)]
            k = 2 ** (self.levels - 1 - level)
            if k > 1:
                x = F.avg_pool2d(x.flatten(0, 1), k).view(*x.shape[:3], self.image_size // k, self.image_size // k)
            out.videos.append(x)
            out.clips.append(clips)
            out.frames.append(frames)
        return out

    def sample(self, n: int, times: Tensor | Sequence[float] | None = None,
               generator: torch.Generator | None = None, **temporal_kwargs: Any) -> Tensor:
        """``n`` dense videos in eval mode, ``[-1, 1]``; the train/eval mode is restored."""
        return sample_in_eval_mode(self, n, times, generator, temporal_kwargs)


def _conv3d(conv: nn.Conv3d, x: Tensor) -> Tensor:
    """``conv(x)``, but in float32 when CPU bf16 autocast is on and the clip is 2 frames long: PyTorch 2.13's CPU
    bf16 Conv3d (3x3x3, padding 1) backward returned non-finite gradients for 2-frame inputs in about one call of
    ten here (measured: 9 of 160 calls over 20 shapes with 2 frames, none of 640 with 1, 3, 4 or 8 frames); it
    turned TGANv2's level-2 discriminator into NaN after one step. Elsewhere the autocast dtype is kept."""
    if x.shape[2] == 2 and x.device.type == "cpu" and torch.is_autocast_enabled("cpu"):
        with torch.autocast("cpu", enabled=False):
            return conv(x.float())
    return conv(x)


def _pool_down(x: Tensor) -> Tensor:
    """Average pooling by 2 along every axis of ``(N, C, T, H, W)`` longer than 1 (an odd length is zero-padded
    by one, counted in the average, as Chainer's ``average_pooling_nd``)."""
    dims = x.shape[2:]
    kernel = tuple(2 if n > 1 else 1 for n in dims)
    pad = tuple(1 if (n > 1 and n % 2) else 0 for n in dims)
    return F.avg_pool3d(x, kernel, stride=kernel, padding=pad, count_include_pad=True)


class _DiscBlock(nn.Module):
    """3-D residual block (TGANv2's ``DisBlock``): ReLU, conv3, ReLU, conv3, pool; shortcut conv1 then pool."""

    def __init__(self, in_ch: int, out_ch: int):
        super().__init__()
        _residual_convs(self, in_ch, in_ch, out_ch)

    def forward(self, x: Tensor) -> Tensor:
        h = _conv3d(self.conv2, F.relu(_conv3d(self.conv1, F.relu(x))))
        return _pool_down(h) + _pool_down(_conv3d(self.shortcut, x))


class _FirstDiscBlock(nn.Module):
    """TGANv2's ``OptimizedDisBlock``: conv3, ReLU, conv3, spatial pool; shortcut spatial pool then conv1."""

    def __init__(self, in_ch: int, out_ch: int):
        super().__init__()
        _residual_convs(self, in_ch, out_ch, out_ch)

    def forward(self, x: Tensor) -> Tensor:
        h = F.avg_pool3d(_conv3d(self.conv2, F.relu(_conv3d(self.conv1, x))), (1, 2, 2))
        return h + _conv3d(self.shortcut, F.avg_pool3d(x, (1, 2, 2)))


class TGANv2VideoDiscriminator(nn.Module):
    """TGANv2's 3-D ResNet video discriminator: ``(B, C, T, H, W)`` in ``[-1, 1]`` -> scores ``(B,)``.

    First block (spatial pooling only) to ``mid_ch``, then ``n_blocks - 1`` blocks pooling every axis longer
    than 1, doubling the width each time (TGANv2: 5 blocks, 64 -> 1024), ReLU, sum over positions, Linear.
    """

    def __init__(self, in_channels: int = 3, mid_ch: int = 64, n_blocks: int = 5):
        super().__init__()
        self.in_channels = _positive_int("in_channels", in_channels)
        mid_ch, n_blocks = _positive_int("mid_ch", mid_ch), _positive_int("n_blocks", n_blocks)
        widths = [mid_ch * 2**i for i in range(n_blocks)]
        self.blocks = nn.ModuleList([_FirstDiscBlock(in_channels, widths[0])]
                                    + [_DiscBlock(a, b) for a, b in zip(widths[:-1], widths[1:])])
        self.head = nn.Linear(widths[-1], 1)
        nn.init.xavier_uniform_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, x: Tensor) -> Tensor:
        h = _check_video(x, self.in_channels, type(self).__name__)
        if h.shape[-1] < 2 or h.shape[-2] < 2:
            raise InputError(f"{type(self).__name__}: frames must be at least 2x2, got {h.shape[-2]}x{h.shape[-1]}.")
        for block in self.blocks:
            h = block(h)
        return self.head(F.relu(h).sum(dim=(2, 3, 4))).squeeze(1)


class TGANv2MultiLevelDiscriminator(nn.Module):
    """One :class:`TGANv2VideoDiscriminator` per level: ``forward([x_0, ..., x_{L-1}])`` (each
    ``(B_l, C, T_l, H_l, W_l)``) -> the scores of all levels concatenated, ``(sum_l B_l,)``."""

    def __init__(self, in_channels: int = 3, mid_ch: int = 64, levels: int = 4, n_blocks: int = 5):
        super().__init__()
        self.levels = nn.ModuleList(TGANv2VideoDiscriminator(in_channels, mid_ch, n_blocks)
                                    for _ in range(_positive_int("levels", levels)))

    def forward(self, xs: Sequence[Tensor]) -> Tensor:
        if not isinstance(xs, (list, tuple)) or len(xs) != len(self.levels):
            got = len(xs) if isinstance(xs, (list, tuple)) else type(xs).__name__
            raise InputError(f"{type(self).__name__}: expects a list of {len(self.levels)} level videos, got {got}.")
        return torch.cat([d(x) for d, x in zip(self.levels, xs)])
