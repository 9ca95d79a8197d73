"""MoCoGAN's networks (Tulyakov et al., 2018; topologies of sergeytulyakov/mocogan).

:class:`MoCoGANImageGenerator` (the DCGAN image generator), :class:`MoCoGANGenerator` (content code repeated over
the frames + the motion codes of any temporal generator -> the image generator; optional categorical code and
``frame_transform``), :class:`MoCoGANImageDiscriminator` (per frame, patch logits by default) and
:class:`MoCoGANVideoDiscriminator` (3-D conv; categorical head off by default). Parameter counts are listed in
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
    _batch_or_z,
    _categorical_code,
    _categories,
    _check_code,
    _check_video,
    _dcgan_init,
    _frame_transform,
    _image_size,
    _noise_layers,
    _positive_int,
    _sample_z,
    _shape,
    _sprite_size,
    _transform_sprite,
    sample_in_eval_mode,
)
from odevideo.nn.minibatch_std import MinibatchStdDev

__all__ = ["MoCoGANImageGenerator", "MoCoGANGenerator", "MoCoGANImageDiscriminator", "MoCoGANVideoDiscriminator"]


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
    from odevideo.methods.video_gan.temporal_discrete import MoCoGANMotionGenerator

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
