"""Video GANs around the temporal generators of :mod:`odevideo.methods.video_gan.temporal` (issue 4).

Gordon & Parde swap the temporal generator of TGAN and MoCoGAN for a neural ODE/SDE and keep the rest of
each GAN. This module holds "the rest": image generators, discriminators and the wrappers that plug any
temporal generator in.

* TGAN (Saito et al., 2017; topologies of pfnet-research/tgan, the UCF-101 SVC config):
  :class:`TGANImageGenerator` (``G_i``), :class:`TGANVideoDiscriminator` and :class:`TGANVideoGenerator`
  (``G_t`` + ``G_i``).
* MoCoGAN (Tulyakov et al., 2018; topologies of sergeytulyakov/mocogan): :class:`MoCoGANGenerator`
  (content code repeated over frames + motion codes -> DCGAN image generator), :class:`MoCoGANImageDiscriminator`
  (per frame) and :class:`MoCoGANVideoDiscriminator` (3-D conv; categorical head off by default).

Generated videos are ``(B, T, C, H, W)`` in ``[-1, 1]`` (tanh outputs, as in both originals); map them to the
project's ``[0, 1]`` frame convention with :func:`to_unit_range` (and real clips to ``[-1, 1]`` with
:func:`to_signed_range`) before feeding a discriminator. Discriminators take ``(B, C, T, H, W)`` like the
originals (:func:`frames_to_discriminator` converts from ``(B, T, C, H, W)``).

Parameter counts (3 channels, 64x64, 16 frames; pinned in tests/models/test_video_gans.py):

=====================================================  ==========  ==============================================
network                                                params      note
=====================================================  ==========  ==============================================
``TGANImageGenerator()``                               3,622,691   the Chainer model also 3,622,691
``TGANVideoDiscriminator()`` (no BN beta, default)     11,032,385  Chainer: 11,032,449 (+64: an unused ``bn0``)
``TGANVideoDiscriminator(bn_beta=True)``               11,033,281  Chainer: 11,033,409 (+128, same ``bn0``)
``TGANVideoGenerator(TGANTemporalGenerator(), ...)``   4,449,159   826,468 + 3,622,691
``MoCoGANGenerator`` image part (``z = 50 + 16``)      3,298,176   ``ConvTranspose2d(66, 512, 4)`` ... ``(64, 3)``
``MoCoGANGenerator(MoCoGANMotionGenerator(16))``       3,299,808   + GRU 1,632
``MoCoGANImageDiscriminator()`` (patch, default)       663,296     MoCoGAN's ``PatchImageDiscriminator``
``MoCoGANImageDiscriminator(patch=False)``             2,765,568   MoCoGAN's ``ImageDiscriminator``
``MoCoGANVideoDiscriminator()``                        11,056,896  ``VideoDiscriminator``, 1 output
``MoCoGANVideoDiscriminator(n_categories=6)``          11,253,504  ``CategoricalVideoDiscriminator`` (6 classes)
=====================================================  ==========  ==============================================

The TGAN-ODE/SDE generators are ``G_i`` (3,622,691) plus the temporal generator's count (e.g. 638,424 for
``tgan_ode()``); MoCoGAN-ODE adds the ODE's (e.g. 1,633 for ``mocogan_ode()``) to 3,298,176.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from odevideo.errors import InputError
from odevideo.nn.minibatch_std import MinibatchStdDev
from odevideo.nn.noise import GaussianInputNoise
from odevideo.nn.warping import CodeToAffine, affine_warp

__all__ = [
    "TGANImageGenerator",
    "TGANVideoDiscriminator",
    "TGANVideoGenerator",
    "MoCoGANImageGenerator",
    "MoCoGANGenerator",
    "MoCoGANImageDiscriminator",
    "MoCoGANVideoDiscriminator",
    "to_unit_range",
    "to_signed_range",
    "frames_to_discriminator",
]


def to_unit_range(videos: Tensor) -> Tensor:
    """Generator output in ``[-1, 1]`` -> the project's ``[0, 1]`` frames."""
    return (videos + 1.0) / 2.0


def to_signed_range(frames: Tensor) -> Tensor:
    """``[0, 1]`` frames -> ``[-1, 1]``, the range the generators produce and the discriminators see."""
    return frames * 2.0 - 1.0


def frames_to_discriminator(videos: Tensor) -> Tensor:
    """``(B, T, C, H, W)`` -> ``(B, C, T, H, W)`` (the layout of the 3-D conv discriminators)."""
    if not isinstance(videos, Tensor) or videos.dim() != 5:
        raise InputError(f"videos must be a (B, T, C, H, W) tensor, got {_shape(videos)}.")
    return videos.transpose(1, 2)


def _shape(x: Any) -> str:
    return str(tuple(x.shape)) if isinstance(x, Tensor) else type(x).__name__


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"{name} must be a positive integer, got {value!r}.")
    return value


def _categories(n_categories: Any) -> int:
    if isinstance(n_categories, bool) or not isinstance(n_categories, int) or n_categories < 0:
        raise InputError(f"n_categories must be an integer >= 0, got {n_categories!r}.")
    return n_categories


def _categorical_code(categories: Tensor | None, n: int, n_categories: int, generator: torch.Generator | None,
                      ref: Tensor, owner: str) -> Tensor | None:
    """The one-hot ``(n, n_categories)`` code of ``categories`` ``(n,)`` (drawn uniformly with ``generator`` when
    None), or None without categories."""
    if not n_categories:
        if categories is not None:
            raise InputError(f"{owner}: categories were given but the generator has no categorical code "
                             f"(build it with n_categories > 0).")
        return None
    if categories is None:
        where = generator.device if generator is not None else ref.device
        categories = torch.randint(0, n_categories, (n,), generator=generator, device=where)
    if not isinstance(categories, Tensor) or categories.dtype != torch.long or categories.shape != (n,) \
            or bool(((categories < 0) | (categories >= n_categories)).any()):
        raise InputError(f"{owner}: categories must be a long tensor ({n},) of values in [0, {n_categories}), got "
                         f"{_shape(categories)}.")
    return nn.functional.one_hot(categories.to(ref.device), n_categories).to(ref.dtype)


def _image_size(value: Any, owner: str, minimum: int = 8) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum or value & (value - 1):
        raise InputError(
            f"{owner}: image_size must be a power of two >= {minimum} (64 as in the paper, 32 for the tiny "
            f"presets), got {value!r}."
        )
    return value


def _check_code(z: Any, dim: int, name: str, owner: str) -> Tensor:
    if not isinstance(z, Tensor) or not z.is_floating_point() or z.dim() != 2 or z.shape[1] != dim \
            or z.shape[0] == 0:
        raise InputError(f"{owner}: {name} must be a floating tensor of shape (N, {dim}) with N >= 1, got {_shape(z)}.")
    return z


def _check_video(x: Any, channels: int, owner: str, min_frames: int = 1) -> Tensor:
    if not isinstance(x, Tensor) or not x.is_floating_point() or x.dim() != 5 or x.shape[1] != channels:
        raise InputError(
            f"{owner}: input must be a floating (B, C, T, H, W) tensor with C = {channels} (use "
            f"frames_to_discriminator to turn (B, T, C, H, W) frames around), got {_shape(x)}."
        )
    if x.shape[2] < min_frames:
        raise InputError(f"{owner}: needs at least {min_frames} frames, got {x.shape[2]}.")
    return x


def _batch_norm(cls: type, channels: int, beta: bool) -> nn.Module:
    """BatchNorm with a learned gamma and, unless ``beta`` is False, a learned beta (Chainer's ``use_beta``)."""
    bn = cls(channels)
    if not beta:
        bn.bias = None  # F.batch_norm treats a missing bias as zero
    return bn


def _uniform_init(module: nn.Module, scale: float) -> None:
    """Chainer's ``Uniform(scale)`` initializer on every Linear / (transposed) conv weight."""
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.Conv3d, nn.ConvTranspose2d)):
            nn.init.uniform_(m.weight, -scale, scale)


def _dcgan_init(module: nn.Module) -> None:
    """DCGAN init (MoCoGAN's ``weights_init``): conv N(0, 0.02), BN gamma N(1, 0.02), beta 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Conv3d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
        elif isinstance(m, nn.modules.batchnorm._BatchNorm):
            nn.init.normal_(m.weight, 1.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def _noise_layers(sigma: float) -> list[nn.Module]:
    """``[GaussianInputNoise(sigma)]`` to put before a discriminator convolution, ``[]`` for ``sigma == 0`` (so
    the layer indices, and the state-dict keys, of noise-free discriminators stay as they were)."""
    noise = GaussianInputNoise(sigma)  # validates sigma
    return [noise] if noise.sigma > 0 else []


FRAME_TRANSFORMS = ("none", "translate", "affine")


def _frame_transform(kind: Any, code_dim: int, max_shift: float, owner: str) -> CodeToAffine | None:
    """The head of ``frame_transform`` (``None`` for ``"none"``), checked."""
    if kind not in FRAME_TRANSFORMS:
        raise InputError(f"{owner}: frame_transform must be one of {', '.join(FRAME_TRANSFORMS)}, got {kind!r}.")
    return None if kind == "none" else CodeToAffine(code_dim, kind, max_shift)


def _sprite_size(sprite_size: Any, frame_size: int, transform: CodeToAffine | None, owner: str) -> int:
    """The checked size of the image drawn per clip: ``None`` = the frame size; smaller needs a transform."""
    if sprite_size is None:
        return frame_size
    if isinstance(sprite_size, bool) or not isinstance(sprite_size, int) or not 8 <= sprite_size <= frame_size:
        raise InputError(f"{owner}: sprite_size must be None (the frame size) or an integer in [8, {frame_size}], got "
                         f"{sprite_size!r}.")
    if sprite_size < frame_size and transform is None:
        raise InputError(f"{owner}: sprite_size {sprite_size} < the frame size {frame_size} places the image on a "
                         "canvas that only a frame_transform can move; set frame_transform='translate' or 'affine'.")
    return sprite_size


def _transform_sprite(sprite: Tensor, head: CodeToAffine, codes: Tensor, frame_size: int) -> Tensor:
    """Frame ``t`` of clip ``b`` = ``sprite[b]`` moved by ``head(codes[b, t])``: ``(B, C, h, w)``, ``(B, T, D)`` ->
    ``(B, T, C, H, W)``. The image is drawn once per clip, so what it shows cannot change over the clip. A sprite
    smaller than ``frame_size`` is first put at the centre of a canvas of the data minimum (-1: black)."""
    if sprite.shape[-1] < frame_size or sprite.shape[-2] < frame_size:
        top, left = (frame_size - sprite.shape[-2]) // 2, (frame_size - sprite.shape[-1]) // 2
        pad = (left, frame_size - sprite.shape[-1] - left, top, frame_size - sprite.shape[-2] - top)
        sprite = nn.functional.pad(sprite, pad, value=-1.0)
    b, t = codes.shape[:2]
    theta = head(codes.reshape(b * t, -1))
    frames = affine_warp(sprite[:, None].expand(b, t, *sprite.shape[1:]).reshape(b * t, *sprite.shape[1:]), theta)
    return frames.view(b, t, *sprite.shape[1:])


# ----------------------------------------------------------------------------------------------------------------
# TGAN


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


def _sample_z(n: int, dim: int, dist: str, generator: torch.Generator | None, device: torch.device,
              dtype: torch.dtype) -> Tensor:
    where = generator.device if generator is not None else device
    if dist == "uniform":
        z = torch.rand(n, dim, generator=generator, device=where, dtype=dtype) * 2 - 1
    else:
        z = torch.randn(n, dim, generator=generator, device=where, dtype=dtype)
    return z.to(device)


def sample_in_eval_mode(generator: nn.Module, n: int, times: Any, rng: torch.Generator | None,
                        kwargs: dict[str, Any]) -> Tensor:
    """``generator(n, times, generator=rng, **kwargs)`` in eval mode (BatchNorm running statistics) without
    gradients; the module's train/eval mode is restored afterwards."""
    was = generator.training
    generator.eval()
    try:
        with torch.no_grad():
            return generator(_positive_int("n", n), times, generator=rng, **kwargs)
    finally:
        generator.train(was)


def _batch_or_z(z: Any, dim: int, owner: str) -> int | Tensor:
    if isinstance(z, bool) or not isinstance(z, (int, Tensor)):
        raise InputError(f"{owner}: pass a batch size (int >= 1) or z of shape (B, {dim}), got {type(z).__name__}.")
    if isinstance(z, int):
        return _positive_int("batch size", z)
    return _check_code(z, dim, "z", owner)


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


# ----------------------------------------------------------------------------------------------------------------
# MoCoGAN


class MoCoGANImageGenerator(nn.Module):
    """MoCoGAN's DCGAN image generator: ``z (N, z_dim)`` -> ``(N, C, H, W)`` in ``[-1, 1]``.

    Bias-free ``ConvTranspose2d(z_dim, 8 ngf, 4, 1, 0)`` + BN + ReLU, then ``(k=4, s=2, p=1)`` stages
    ``8-4-2-1 x ngf`` with BN + ReLU and a last one to ``C`` channels with tanh (64x64; ``image_size=32`` drops
    the widest stage). ``z_dim = 50 + 16``, ngf 64: 3,298,176 parameters.

    ``upsample="resize_conv"`` (ours): every stride-2 transposed convolution becomes a nearest 2x upsampling and
    a 3x3 convolution (Odena et al. 2016), which cannot make the checkerboard pattern that a 4x4 stride-2
    transposed convolution makes when its kernel overlaps unevenly; same widths, fewer parameters.
    ``upsample="deconv_out_conv"`` (ours): MoCoGAN's transposed convolutions, but the last one keeps the width
    (+ BN + ReLU) and a 3x3 convolution makes the output, as TGAN's image generator ends: each output pixel then
    mixes a 3x3 neighbourhood of the last feature map, so the last stage's period-2 pattern is smoothed.

    ``init="dcgan"`` (default) is MoCoGAN's ``weights_init`` (conv weights N(0, 0.02)); ``"default"`` keeps
    PyTorch's.
    """

    UPSAMPLES = ("deconv", "resize_conv", "deconv_out_conv")

    def __init__(self, z_dim: int = 66, out_channels: int = 3, image_size: int = 64, ngf: int = 64,
                 upsample: str = "deconv", init: str = "dcgan"):
        super().__init__()
        if upsample not in self.UPSAMPLES:
            raise InputError(f"MoCoGANImageGenerator: upsample must be one of {', '.join(self.UPSAMPLES)}, got "
                             f"{upsample!r}.")
        if init not in ("dcgan", "default"):
            raise InputError(f"MoCoGANImageGenerator: init must be 'dcgan' (MoCoGAN's N(0, 0.02)) or 'default' "
                             f"(PyTorch's), got {init!r}.")
        self.upsample = upsample
        self.z_dim = _positive_int("z_dim", z_dim)
        self.out_channels = _positive_int("out_channels", out_channels)
        self.image_size = _image_size(image_size, type(self).__name__)
        ngf = _positive_int("ngf", ngf)
        n = int(math.log2(image_size)) - 2  # stride-2 stages after the 4x4 start
        chans = [ngf * 2**k for k in range(n - 1, -1, -1)]
        layers: list[nn.Module] = [nn.ConvTranspose2d(z_dim, chans[0], 4, 1, 0, bias=False),
                                   nn.BatchNorm2d(chans[0]), nn.ReLU()]
        def up(a: int, b: int) -> list[nn.Module]:
            if upsample == "resize_conv":
                return [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(a, b, 3, 1, 1, bias=False)]
            return [nn.ConvTranspose2d(a, b, 4, 2, 1, bias=False)]

        for a, b in zip(chans[:-1], chans[1:]):
            layers += [*up(a, b), nn.BatchNorm2d(b), nn.ReLU()]
        if upsample == "deconv_out_conv":
            layers += [*up(chans[-1], chans[-1]), nn.BatchNorm2d(chans[-1]), nn.ReLU(),
                       nn.Conv2d(chans[-1], out_channels, 3, 1, 1)]
        else:
            layers += up(chans[-1], out_channels)
        layers.append(nn.Tanh())
        self.main = nn.Sequential(*layers)
        if init == "dcgan":
            _dcgan_init(self)

    def forward(self, z: Tensor) -> Tensor:
        z = _check_code(z, self.z_dim, "z", type(self).__name__)
        return self.main(z[:, :, None, None])


class MoCoGANGenerator(nn.Module):
    """MoCoGAN's generator: ``[z_C, z_M(t)]`` per frame -> :class:`MoCoGANImageGenerator`.

    ``motion``: a temporal generator ``motion_dim -> motion_dim`` (:class:`MoCoGANMotionGenerator`, the GRU, or
    an ODE/SDE from :func:`mocogan_ode` / :func:`mocogan_sde`). Its ``z`` (the GRU's ``h_0`` / the ODE's
    initial code) and the content code ``z_C`` are drawn from N(0, I); ``z_C`` is repeated over the frames.
    ``n_categories > 0``: MoCoGAN's categorical code ``z_A`` (``dim_z_category``), one-hot, drawn uniformly
    per clip (or given as ``categories`` ``(B,)`` long) and appended to the content code; 0 (default): none.

    ``forward(batch_or_content, times=None, *, z_motion=None, generator=None, **motion_kwargs)`` ->
    ``(B, T, C, H, W)`` in ``[-1, 1]``; ``times`` default to ``0..video_length-1``.

    ``motion_norm`` (no parameters): what is done to the motion codes before they join the content code.
    ``"none"`` (default): nothing, as MoCoGAN (its GRU's codes are bounded by the GRU's tanh anyway).
    ``"tanh"``: ``tanh(code)``, the GRU's range ``(-1, 1)`` for unbounded motion generators (an ODE's
    trajectory can grow over the clip). ``"layer"``: each frame's code standardised over its ``motion_dim``
    entries (zero mean, unit variance; LayerNorm without affine), so every frame's code has the same scale.

    ``frame_transform`` (ours, ``gan.frame_transform``): ``"none"`` (MoCoGAN: every frame drawn from
    ``[z_C, z_M(t)]``); ``"translate"`` / ``"affine"``: the image generator draws ONE image per clip from the
    content alone (``[z_C, 0]``: motion code zero), and frame ``t`` is that image moved by a global transform
    read from the (normalised) motion code at ``t`` (:class:`~odevideo.nn.warping.CodeToAffine`, shifts up to
    ``max_shift`` half-frames): content and motion are then separate by construction. ``sprite_size`` (with a
    transform): the image generator draws a smaller image, put at the centre of a black canvas of the frame size
    before the transform (an object on a plain background); ``None`` = the frame size. ``upsample``: the image
    generator's, and ``image_init`` its ``init`` (:class:`MoCoGANImageGenerator`).
    """

    MOTION_NORMS = ("none", "tanh", "layer")

    def __init__(self, motion: nn.Module, content_dim: int = 50, motion_dim: int = 16, out_channels: int = 3,
                 image_size: int = 64, ngf: int = 64, video_length: int = 16, motion_norm: str = "none",
                 n_categories: int = 0, frame_transform: str = "none", max_shift: float = 1.0,
                 sprite_size: int | None = None, upsample: str = "deconv", image_init: str = "dcgan"):
        super().__init__()
        self.n_categories = _categories(n_categories)
        if motion_norm not in self.MOTION_NORMS:
            raise InputError(f"MoCoGANGenerator: motion_norm must be one of {', '.join(self.MOTION_NORMS)}, got "
                             f"{motion_norm!r}.")
        self.motion_norm = motion_norm
        self.content_dim = _positive_int("content_dim", content_dim)
        self.motion_dim = _positive_int("motion_dim", motion_dim)
        if not isinstance(motion, nn.Module) or getattr(motion, "z_dim", None) != motion_dim \
                or getattr(motion, "out_dim", None) != motion_dim:
            raise InputError(
                f"MoCoGANGenerator: motion must be a temporal generator mapping {motion_dim} -> {motion_dim} "
                f"(e.g. MoCoGANMotionGenerator({motion_dim}) or mocogan_ode()), got "
                f"{getattr(motion, 'z_dim', None)} -> {getattr(motion, 'out_dim', None)}."
            )
        self.motion = motion
        self.video_length = _positive_int("video_length", video_length)
        self.frame_transform = frame_transform
        self.transform = _frame_transform(frame_transform, motion_dim, max_shift, type(self).__name__)
        self.frame_size = _image_size(image_size, type(self).__name__)
        size = _sprite_size(sprite_size, self.frame_size, self.transform, type(self).__name__)
        self.image = MoCoGANImageGenerator(content_dim + self.n_categories + motion_dim, out_channels, size, ngf,
                                           upsample=upsample, init=image_init)

    def forward(self, z: int | Tensor, times: Tensor | Sequence[float] | None = None, *,
                z_motion: Tensor | None = None, generator: torch.Generator | None = None,
                categories: Tensor | None = None, **motion_kwargs: Any) -> Tensor:
        name = type(self).__name__
        z = _batch_or_z(z, self.content_dim, name)
        ref = next(self.image.parameters())
        if isinstance(z, int):
            z = _sample_z(z, self.content_dim, "normal", generator, ref.device, ref.dtype)
        if z_motion is None:
            z_motion = _sample_z(z.shape[0], self.motion_dim, "normal", generator, z.device, z.dtype)
        elif _check_code(z_motion, self.motion_dim, "z_motion", name).shape[0] != z.shape[0]:
            raise InputError(f"{name}: z_motion has {z_motion.shape[0]} rows but the content code {z.shape[0]}.")
        category = _categorical_code(categories, z.shape[0], self.n_categories, generator, z, name)
        if category is not None:  # MoCoGAN's z_A: a one-hot code next to the content code, repeated over frames
            z = torch.cat([z, category], dim=1)
        if times is None:
            times = torch.arange(self.video_length, dtype=z.dtype, device=z.device)
        if isinstance(self.motion, _gru_type()) and generator is not None:
            motion_kwargs.setdefault("generator", generator)
        codes = self.motion(z_motion, times, **motion_kwargs)  # (B, T, motion_dim)
        if self.motion_norm == "tanh":
            codes = torch.tanh(codes)
        elif self.motion_norm == "layer":
            codes = nn.functional.layer_norm(codes, codes.shape[-1:])
        b, t = codes.shape[:2]
        if self.transform is not None:
            sprite = self.image(torch.cat([z, torch.zeros_like(codes[:, 0])], dim=1))
            return _transform_sprite(sprite, self.transform, codes, self.frame_size)
        content = z[:, None, :].expand(b, t, z.shape[1])
        frames = self.image(torch.cat([content, codes], dim=-1).reshape(b * t, -1))
        return frames.view(b, t, *frames.shape[1:])

    def sample(self, n: int, times: Tensor | Sequence[float] | None = None,
               generator: torch.Generator | None = None, **motion_kwargs: Any) -> Tensor:
        """``n`` videos in eval mode, ``[-1, 1]``; the train/eval mode is restored."""
        return sample_in_eval_mode(self, n, times, generator, motion_kwargs)


def _gru_type() -> type:
    from odevideo.methods.video_gan.temporal import MoCoGANMotionGenerator

    return MoCoGANMotionGenerator


class MoCoGANImageDiscriminator(nn.Module):
    """MoCoGAN's image discriminator on single frames ``(N, C, H, W)`` -> logits.

    ``patch=True`` (default; MoCoGAN's ``PatchImageDiscriminator``): bias-free ``Conv2d(k=4, s=2, p=1)``
    C-64-128-256 (BN after all but the first, LeakyReLU 0.2) and a last one to 1 channel: ``(N, H/16, W/16)``
    patch logits (663,296 params). ``patch=False`` (``ImageDiscriminator``): 64-128-256-512 and a 4x4 conv to
    one logit ``(N,)`` (2,765,568 params). ``spectral_norm=True`` wraps the convs and drops BN.
    ``noise_sigma > 0``: MoCoGAN's ``Noise`` layers, ``N(0, sigma^2)`` added before every conv in training mode
    (:class:`GaussianInputNoise`; MoCoGAN trains with 0.1).
    ``minibatch_std > 0`` (``gan.minibatch_std``; ProGAN's layer, not in MoCoGAN): the last conv also sees the
    feature spread over consecutive groups of that many frames (:class:`~odevideo.nn.MinibatchStdDev`), so a
    batch of near-identical fakes stands out; the batch must be a multiple of the group size.
    """

    def __init__(self, in_channels: int = 3, ndf: int = 64, patch: bool = True, image_size: int = 64,
                 spectral_norm: bool = False, noise_sigma: float = 0.0, minibatch_std: int = 0):
        super().__init__()
        self.in_channels = _positive_int("in_channels", in_channels)
        self.image_size = _image_size(image_size, type(self).__name__, minimum=16)
        ndf = _positive_int("ndf", ndf)
        sn = nn.utils.parametrizations.spectral_norm if spectral_norm else (lambda m: m)
        n_mid = 3 if patch else int(math.log2(image_size)) - 2
        chans = [in_channels] + [ndf * 2**k for k in range(n_mid)]
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(chans[:-1], chans[1:])):
            layers += _noise_layers(noise_sigma)
            layers.append(sn(nn.Conv2d(a, b, 4, 2, 1, bias=False)))
            if i > 0 and not spectral_norm:
                layers.append(nn.BatchNorm2d(b))
            layers.append(nn.LeakyReLU(0.2))
        layers += _noise_layers(noise_sigma)
        self.minibatch_std = 0
        last_in = chans[-1]
        if minibatch_std != 0:
            layers.append(MinibatchStdDev(minibatch_std))  # validates the group size
            self.minibatch_std, last_in = minibatch_std, last_in + 1
        layers.append(sn(nn.Conv2d(last_in, 1, 4, 2, 1, bias=False) if patch
                         else nn.Conv2d(last_in, 1, 4, 1, 0, bias=False)))
        self.main = nn.Sequential(*layers)
        self.patch = patch
        if not spectral_norm:
            _dcgan_init(self)

    def forward(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor) or not x.is_floating_point() or x.dim() != 4 or x.shape[1] != self.in_channels:
            raise InputError(f"{type(self).__name__}: input must be (N, {self.in_channels}, H, W) frames "
                             f"(flatten (B, T) first), got {_shape(x)}.")
        h = self.main(x).squeeze(1)
        return h if self.patch else h.flatten(1).squeeze(1)


class MoCoGANVideoDiscriminator(nn.Module):
    """MoCoGAN's video discriminator ``(B, C, T, H, W)`` -> logits ``(B,)`` (and class logits).

    Bias-free ``Conv3d(k=4, stride (1, 2, 2), padding (0, 1, 1))`` C-64-128-256-512 (BN after all but the first,
    LeakyReLU 0.2), then ``Conv3d(512, 1 + n_categories, 4)``; 16 frames: 16-13-10-7-4-1. ``n_categories=0``
    (default) is the plain ``VideoDiscriminator`` (11,056,896 params) and ``forward`` returns the logits
    ``(B,)``; with ``n_categories > 0`` (``CategoricalVideoDiscriminator``) it returns ``(logits, class_logits)``.
    ``noise_sigma > 0``: MoCoGAN's ``Noise`` layers before every conv in training mode (as the image one).
    """

    def __init__(self, in_channels: int = 3, ndf: int = 64, n_categories: int = 0, image_size: int = 64,
                 spectral_norm: bool = False, noise_sigma: float = 0.0):
        super().__init__()
        self.in_channels = _positive_int("in_channels", in_channels)
        self.image_size = _image_size(image_size, type(self).__name__, minimum=16)
        self.n_categories = _categories(n_categories)
        ndf = _positive_int("ndf", ndf)
        sn = nn.utils.parametrizations.spectral_norm if spectral_norm else (lambda m: m)
        n_mid = int(math.log2(image_size)) - 2
        chans = [in_channels] + [ndf * 2**k for k in range(n_mid)]
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(chans[:-1], chans[1:])):
            layers += _noise_layers(noise_sigma)
            layers.append(sn(nn.Conv3d(a, b, 4, stride=(1, 2, 2), padding=(0, 1, 1), bias=False)))
            if i > 0 and not spectral_norm:
                layers.append(nn.BatchNorm3d(b))
            layers.append(nn.LeakyReLU(0.2))
        layers += _noise_layers(noise_sigma)
        layers.append(sn(nn.Conv3d(chans[-1], 1 + n_categories, 4, 1, 0, bias=False)))
        self.main = nn.Sequential(*layers)
        self.min_frames = 3 * n_mid + 4
        if not spectral_norm:
            _dcgan_init(self)

    def forward(self, x: Tensor) -> Tensor | tuple[Tensor, Tensor]:
        x = _check_video(x, self.in_channels, type(self).__name__, self.min_frames)
        h = self.main(x).flatten(2).mean(2)  # (B, 1 + K); 16 frames leave one position
        if self.n_categories:
            return h[:, 0], h[:, 1:]
        return h[:, 0]
