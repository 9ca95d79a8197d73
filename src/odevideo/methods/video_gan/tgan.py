"""TGAN's networks (Saito et al., 2017; topologies of pfnet-research/tgan, the UCF-101 SVC config).

:class:`TGANImageGenerator` (``G_i``: one frame per content and frame code), :class:`TGANVideoDiscriminator`
(the 3-D conv critic) and :class:`TGANVideoGenerator` (any temporal generator ``G_t`` + ``G_i``, optionally one
image per clip moved by a ``frame_transform``). Parameter counts are listed in
:mod:`odevideo.methods.video_gan.network_common`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from odevideo.errors import InputError
from odevideo.methods.video_gan.network_common import (
    _batch_norm,
    _batch_or_z,
    _check_code,
    _check_video,
    _frame_transform,
    _image_size,
    _noise_layers,
    _positive_int,
    _sample_z,
    _sprite_size,
    _transform_sprite,
    _uniform_init,
    sample_in_eval_mode,
)

__all__ = ["TGANImageGenerator", "TGANVideoDiscriminator", "TGANVideoGenerator"]


class TGANImageGenerator(nn.Module):
    """TGAN's image generator ``G_i(z0, z1_t)``: one frame per (content code, frame code) pair.

    Both codes go through a bias-free ``Linear(z_dim, w*w*ch/2)`` + BatchNorm1d + ReLU and are reshaped to
    ``(ch/2, w, w)`` (``w = 4``); the two halves are concatenated to ``ch = 512`` channels and upsampled by
    bias-free ``ConvTranspose2d(k=4, s=2, p=1)`` + BN + ReLU, halving the channels (512-256-128-64-32 for
    64x64), then ``ConvTranspose2d(32, C, 3, 1, 1)`` (with bias) and tanh. Output ``(N, C, H, W)`` in
    ``[-1, 1]``. 3,622,691 parameters at 64x64 (the Chainer ``VideoGeneratorInitUniform`` exactly);
    ``image_size=32`` drops one upsampling stage.

    ``init="uniform"`` (default) is TGAN's ``Uniform(0.01)`` weight init; ``"default"`` keeps PyTorch's.
    """

    def __init__(
        self,
        content_dim: int = 100,
        frame_dim: int = 100,
        out_channels: int = 3,
        image_size: int = 64,
        conv_ch: int = 512,
        bottom_width: int = 4,
        init: str = "uniform",
    ):
        super().__init__()
        name = type(self).__name__
        self.content_dim = _positive_int("content_dim", content_dim)
        self.frame_dim = _positive_int("frame_dim", frame_dim)
        self.out_channels = _positive_int("out_channels", out_channels)
        self.image_size = _image_size(image_size, name)
        self.bottom_width = _positive_int("bottom_width", bottom_width)
        self.conv_ch = _positive_int("conv_ch", conv_ch)
        n_up = int(round(math.log2(image_size / bottom_width))) if image_size > bottom_width else 0
        if n_up < 1 or bottom_width * 2**n_up != image_size:
            raise InputError(
                f"{name}: image_size {image_size} must be bottom_width {bottom_width} times a power of two >= 2."
            )
        if conv_ch % 2**(n_up + 1):
            raise InputError(
                f"{name}: conv_ch {conv_ch} must be divisible by {2**(n_up + 1)} for {n_up} upsampling stages."
            )
        if init not in ("uniform", "default"):
            raise InputError(f"{name}: init must be 'uniform' (TGAN's) or 'default' (PyTorch's), got {init!r}.")
        mid = bottom_width * bottom_width * conv_ch // 2
        self.fc_content = nn.Linear(content_dim, mid, bias=False)
        self.bn_content = nn.BatchNorm1d(mid)
        self.fc_frame = nn.Linear(frame_dim, mid, bias=False)
        self.bn_frame = nn.BatchNorm1d(mid)
        layers: list[nn.Module] = []
        ch = conv_ch
        for _ in range(n_up):
            layers += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ch // 2), nn.ReLU()]
            ch //= 2
        layers += [nn.ConvTranspose2d(ch, out_channels, 3, 1, 1), nn.Tanh()]
        self.deconv = nn.Sequential(*layers)
        if init == "uniform":
            _uniform_init(self, 0.01)

    def forward(self, z_content: Tensor, z_frame: Tensor) -> Tensor:
        name = type(self).__name__
        _check_code(z_content, self.content_dim, "z_content", name)
        _check_code(z_frame, self.frame_dim, "z_frame", name)
        if z_content.shape[0] != z_frame.shape[0]:
            raise InputError(f"{name}: z_content and z_frame need the same number of rows, got "
                             f"{z_content.shape[0]} and {z_frame.shape[0]}.")
        n, w = z_content.shape[0], self.bottom_width
        hc = torch.relu(self.bn_content(self.fc_content(z_content))).view(n, self.conv_ch // 2, w, w)
        hf = torch.relu(self.bn_frame(self.fc_frame(z_frame))).view(n, self.conv_ch // 2, w, w)
        h = self.deconv[:-2](torch.cat([hc, hf], dim=1))
        return torch.tanh(_stride1_conv_transpose(self.deconv[-2], h))


def _stride1_conv_transpose(m: nn.ConvTranspose2d, x: Tensor) -> Tensor:
    """``m(x)`` for a stride-1 ``ConvTranspose2d``, computed as the equivalent ``conv2d`` (weight transposed and
    flipped, padding ``k - 1 - p``): the same function and parameters, but PyTorch's CPU transposed convolution
    to few output channels is several times slower than the direct one (about 20% of a tiny TGAN step in bf16)."""
    k, p = m.kernel_size, m.padding
    weight = m.weight.transpose(0, 1).flip(-1, -2)
    return nn.functional.conv2d(x, weight, m.bias, padding=(k[0] - 1 - p[0], k[1] - 1 - p[1]))


class TGANVideoDiscriminator(nn.Module):
    """TGAN's 3-D conv video discriminator (critic): ``(B, C, T, H, W)`` -> scores ``(B,)``.

    ``Conv3d(k=4, s=2, p=1)`` 3-64-128-256-512 (with bias), LeakyReLU(0.2) after each, BatchNorm3d after
    all but the first (no BN beta by default, the ``NoBeta`` discriminator of TGAN's SVC configs; the unused
    ``bn0`` of the Chainer code is left out), then a ``(1, w, w)`` conv to one score per remaining time
    position (``w = H/16``; TGAN's final ``Convolution2D(512, 1, 4)``). 16 frames leave one position; for
    longer clips the positions' scores are averaged. 11,032,385 parameters at 64x64 (11,033,281 with beta).
    Input range ``[-1, 1]``. Set ``spectral_norm=True`` for the modern hinge/SN option (BN is then dropped).
    ``noise_sigma > 0`` adds Gaussian noise before every conv in training mode (:class:`GaussianInputNoise`;
    not in TGAN, offered for symmetry with MoCoGAN's discriminators).
    """

    def __init__(
        self,
        in_channels: int = 3,
        image_size: int = 64,
        mid_ch: int = 64,
        bn_beta: bool = False,
        spectral_norm: bool = False,
        noise_sigma: float = 0.0,
    ):
        super().__init__()
        name = type(self).__name__
        self.in_channels = _positive_int("in_channels", in_channels)
        self.image_size = _image_size(image_size, name, minimum=16)
        mid_ch = _positive_int("mid_ch", mid_ch)
        sn = nn.utils.parametrizations.spectral_norm if spectral_norm else (lambda m: m)
        chans = [in_channels, mid_ch, mid_ch * 2, mid_ch * 4, mid_ch * 8]
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(chans[:-1], chans[1:])):
            layers += _noise_layers(noise_sigma)
            layers.append(sn(nn.Conv3d(a, b, 4, 2, 1)))
            if i > 0 and not spectral_norm:
                layers.append(_batch_norm(nn.BatchNorm3d, b, bn_beta))
            layers.append(nn.LeakyReLU(0.2))
        layers += _noise_layers(noise_sigma)
        self.main = nn.Sequential(*layers)
        top = image_size // 16
        self.head = sn(nn.Conv3d(chans[-1], 1, (1, top, top)))

    def forward(self, x: Tensor) -> Tensor:
        x = _check_video(x, self.in_channels, type(self).__name__, min_frames=16)
        if x.shape[-1] != self.image_size or x.shape[-2] != self.image_size:
            raise InputError(f"{type(self).__name__}: expects {self.image_size}x{self.image_size} frames, got "
                             f"{x.shape[-2]}x{x.shape[-1]}.")
        return self.head(self.main(x)).flatten(1).mean(1)



class TGANVideoGenerator(nn.Module):
    """TGAN's video generator: ``z0`` -> ``temporal(z0, times)`` frame codes -> ``image(z0, code_t)`` per frame.

    ``temporal``: any temporal generator with ``z_dim == out_dim == image.frame_dim`` and
    ``forward(z, times, **kw) -> (B, T, D)``: :class:`TGANTemporalGenerator` (frames ``0..15`` only) or the
    ODE/SDE generators (any real times in frames: more times = a higher frame rate, negative times = before the
    first frame). ``z0`` also is the content code (``image.content_dim`` must equal ``temporal.z_dim``).

    ``forward(z_or_batch, times=None, *, generator=None, **temporal_kwargs)`` -> ``(B, T, C, H, W)`` in
    ``[-1, 1]``; ``times`` ``(T,)`` or ``(B, T)`` default to ``0..n_frames-1``; an int draws ``z0`` from
    ``U(-1, 1)`` (TGAN's prior; ``z_dist="normal"`` for N(0, I)) with ``generator``. ``temporal_kwargs`` go to
    the temporal generator (e.g. ``seed`` for the SDE).

    ``frame_transform`` (ours, ``gan.frame_transform``): ``"none"`` (TGAN: every frame drawn from its own code);
    ``"translate"`` / ``"affine"``: the image generator draws ONE image per clip, from ``z0`` and the frame
    code at time 0, and frame ``t`` is that image moved by a global transform read from the frame code at ``t``
    (:class:`~odevideo.nn.warping.CodeToAffine`, shifts up to ``max_shift`` half-frames): the temporal generator
    still decides all motion, at any real times, but cannot redraw what the clip shows. ``frame_size``: the
    output frames' size when the image generator draws a smaller sprite (put at the centre of a black canvas
    before the transform); ``None`` = the image generator's size.
    """

    def __init__(self, temporal: nn.Module, image: TGANImageGenerator | None = None, *, n_frames: int = 16,
                 z_dist: str = "uniform", frame_transform: str = "none",
                 max_shift: float = 1.0, frame_size: int | None = None):
        super().__init__()
        image = image if image is not None else TGANImageGenerator()
        if not isinstance(temporal, nn.Module) or not isinstance(image, TGANImageGenerator):
            raise InputError("TGANVideoGenerator needs a temporal nn.Module and a TGANImageGenerator.")
        z_dim, out_dim = getattr(temporal, "z_dim", None), getattr(temporal, "out_dim", None)
        if z_dim != image.content_dim or out_dim != image.frame_dim:
            raise InputError(
                f"TGANVideoGenerator: the temporal generator maps {z_dim} -> {out_dim} but the image generator wants "
                f"content {image.content_dim} and frame codes {image.frame_dim}; build them with matching sizes."
            )
        if z_dist not in ("uniform", "normal"):
            raise InputError(f"z_dist must be 'uniform' (TGAN) or 'normal', got {z_dist!r}.")
        self.temporal, self.image = temporal, image
        self.z_dim = z_dim
        self.n_frames = _positive_int("n_frames", n_frames)
        self.z_dist = z_dist
        self.frame_transform = frame_transform
        self.transform = _frame_transform(frame_transform, out_dim, max_shift, type(self).__name__)
        self.frame_size = image.image_size if frame_size is None else frame_size
        if not isinstance(self.frame_size, int) or isinstance(self.frame_size, bool):
            raise InputError(f"TGANVideoGenerator: frame_size must be None or an int, got {frame_size!r}.")
        _sprite_size(image.image_size, self.frame_size, self.transform, type(self).__name__)

    def forward(self, z: int | Tensor, times: Tensor | Sequence[float] | None = None, *,
                generator: torch.Generator | None = None, **temporal_kwargs: Any) -> Tensor:
        z = _batch_or_z(z, self.z_dim, type(self).__name__)
        ref = next(self.image.parameters())
        if isinstance(z, int):
            z = _sample_z(z, self.z_dim, self.z_dist, generator, ref.device, ref.dtype)
        if times is None:
            times = torch.arange(self.n_frames, dtype=z.dtype, device=z.device)
        codes = self.temporal(z, times, **temporal_kwargs)  # (B, T, D)
        b, t = codes.shape[:2]
        if self.transform is not None:
            code0 = self.temporal(z, torch.zeros(1, dtype=z.dtype, device=z.device), **temporal_kwargs)[:, 0]
            return _transform_sprite(self.image(z, code0), self.transform, codes, self.frame_size)
        content = z[:, None, :].expand(b, t, self.z_dim).reshape(b * t, self.z_dim)
        frames = self.image(content, codes.reshape(b * t, -1))
        return frames.view(b, t, *frames.shape[1:])

    def sample(self, n: int, times: Tensor | Sequence[float] | None = None,
               generator: torch.Generator | None = None, **temporal_kwargs: Any) -> Tensor:
        """``n`` videos in eval mode (BN running statistics), ``[-1, 1]``; the train/eval mode is restored."""
        return sample_in_eval_mode(self, n, times, generator, temporal_kwargs)
