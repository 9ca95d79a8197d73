"""Video GANs around the temporal generators (:mod:`~odevideo.methods.video_gan.temporal_common`).

Gordon & Parde swap the temporal generator of TGAN and MoCoGAN for a neural ODE/SDE and keep the rest of
each GAN. "The rest" is here: image generators, discriminators and the wrappers that plug any
temporal generator in, defined in :mod:`~odevideo.methods.video_gan.tgan`,
:mod:`~odevideo.methods.video_gan.mocogan` and (shared helpers) this module.

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

Parameter counts (3 channels, 64x64, 16 frames; pinned in tests/methods/video_gan/test_networks.py):

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

from typing import Any

import torch
from torch import Tensor, nn

from odevideo.errors import InputError
from odevideo.nn.noise import GaussianInputNoise
from odevideo.nn.warping import CodeToAffine, affine_warp

__all__ = ["to_unit_range", "to_signed_range", "frames_to_discriminator", "sample_in_eval_mode", "FRAME_TRANSFORMS"]


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
