"""C3D (UCF101-finetuned) for the video Inception Score and FID-C3D of TGAN / TGANv2 / the paper.

Network
-------
The Caffe "C3D v1.0" network fine-tuned on UCF101 (``c3d_ucf101_finetune_whole_iter_20000``), as
re-implemented in Chainer by TGAN (``evaluation/c3d_ft.py``, ``C3DVersion1``) and TGANv2
(``tgan2/models/c3d/c3d_ucf101.py``). Input ``(N, 3, 16, 112, 112)`` BGR, mean-subtracted, ``[0, 256]``
scale. All convolutions are 3x3x3, stride 1, padding 1, followed by ReLU::

    conv1a 64 -> pool1 (1,2,2) -> conv2a 128 -> pool2 -> conv3a 256, conv3b 256 -> pool3
    -> conv4a 512, conv4b 512 -> pool4 -> conv5a 512, conv5b 512 -> pool5
    -> fc6 4096 (ReLU, dropout) -> fc7 4096 (ReLU, dropout) -> fc8 101 -> softmax

``pool2``...``pool5`` are 2x2x2 max pools with stride 2. Chainer's ``max_pooling_nd`` defaults to
``cover_all=True``, i.e. **ceil mode**: pool5 turns the ``1x7x7`` map into ``1x4x4``, so fc6 sees
``512 * 4 * 4 = 8192`` inputs (floor mode would give 4608). Dropout ratio 0.5.

Parameters: 78,409,573 (:data:`C3D_PARAMETER_COUNT`; convolutions 27,655,936, fc6 33,558,528,
fc7 16,781,312, fc8 413,797).

Left-on dropout
---------------
TGAN's ``calc_inception.py`` (and the paper's ``evaluation_metrics.py`` / ``gen_fid.py``, copied from it)
write ``with chainer.using_config('train', False) and chainer.no_backprop_mode():``. The ``and``
evaluates to its second operand only, so ``train`` stays ``True`` and the fc6/fc7 dropout is **active**
while scoring (random, and it lowers the score). ``C3D(dropout_at_eval=True)`` reproduces that
(controlled by ``torch.manual_seed``); the default ``False`` is the deterministic network, as in TGANv2.

Preprocessing (videos ``(B, 16, C, H, W)`` in ``[0, 1]`` by default, ``input_range="[-1,1]"`` for
generator outputs; one channel is repeated to three)
-----------------------------------------------------------------------------------------------
The mean clip is the C3D Sports-1M mean ``mean2.npz`` (key ``mean``, BGR, shape ``(3, 16, 128, 171)``,
values around 90-110).

``"tgan_v1"`` (TGAN ``calc_inception.py``, the paper's code):
  1. ``x = 128 x + 128`` for ``x`` in ``[-1, 1]`` (so ``[0, 1]`` input becomes ``256 x``);
  2. every frame resized to ``128 x 128`` (height *and* width; aspect ratio not kept) with bicubic
     interpolation (``cv2.INTER_CUBIC``: Keys a=-0.75, half-pixel centres = ``F.interpolate(...,
     mode="bicubic", align_corners=False)``);
  3. channels reversed RGB -> BGR, then ``mean[:, :, :, 21:149]`` (the central 128 of 171 columns)
     subtracted frame by frame;
  4. centre crop ``[8:120, 8:120]`` -> ``112 x 112``.

``"tgan_v2"`` (TGANv2 ``C3DVersion1UCF101``: 1x1x1 conv that swaps RGB -> BGR and multiplies by 128,
``F.resize_images`` to 112x112, bias ``128 - mean[:, :, 8:120, 8:120]``):
  1. ``x = 128 x`` in BGR order (``x`` in ``[-1, 1]``);
  2. bilinear resize straight to ``112 x 112`` with ``align_corners=True`` (Chainer's default);
  3. ``+ 128 - mean[:, :, 8:120, 8:120]`` (rows *and* columns 8:120: not centred horizontally).

TGANv2's FID uses fc7 features (``get_feature``), TGAN's IS the ``prob`` layer; the paper computes
its FID on fc7 too (``gen_fid.py``), with the v1 preprocessing and left-on dropout.

Weights
-------
* Chainer npz of TGAN/TGANv2 (``conv3d_deepnetA_ucf.npz``): keys ``conv1a/W``, ``conv1a/b``, ...,
  ``conv5b/W``, ``conv5b/b``, ``fc6/W``, ``fc6/b``, ``fc7/W``, ``fc7/b``, ``fc8/W``, ``fc8/b``
  (:data:`CHAINER_KEYS`); Chainer's ``ConvolutionND`` / ``Linear`` layouts equal PyTorch's
  ``(out, in, kt, kh, kw)`` / ``(out, in)``.
* PyTorch state dict: ``conv1a.weight``, ``conv1a.bias``, ..., ``fc8.bias`` (this module's names).

:meth:`C3D.from_files` reads either (``.npz`` = Chainer) plus the mean clip;
:meth:`C3D.pretrained` takes them from the cache (``default_weights_dir()``), downloading the two
files of the TGANv2 release once if allowed.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from odevideo.errors import DatasetError, InputError
from odevideo.metrics.frechet import frechet_distance, gaussian_stats, iter_batches
from odevideo.metrics.lpips import (
    check_input_range,
    checked_weights,
    default_weights_dir,
    download_file,
    load_state_dict_file,
)

__all__ = [
    "C3D",
    "C3D_PARAMETER_COUNT",
    "C3D_NUM_CLASSES",
    "CHAINER_KEYS",
    "C3D_URL",
    "C3D_FILENAME",
    "MEAN_CLIP_URL",
    "MEAN_CLIP_FILENAME",
    "MEAN_CLIP_SHAPE",
    "C3D_PREPROCESSING",
    "load_mean_clip",
    "load_c3d_chainer_npz",
    "c3d_probs",
    "c3d_features",
    "c3d_fid",
]

C3D_NUM_CLASSES = 101
#: 27,655,936 (convolutions) + 33,558,528 (fc6) + 16,781,312 (fc7) + 413,797 (fc8)
C3D_PARAMETER_COUNT = 78_409_573
C3D_URL = "https://github.com/mitmul/tgan2/releases/download/untagged-d2d4900c6c1bb09d9f5a/conv3d_deepnetA_ucf.npz"
C3D_FILENAME = "conv3d_deepnetA_ucf.npz"
MEAN_CLIP_URL = "https://github.com/mitmul/tgan2/releases/download/untagged-d2d4900c6c1bb09d9f5a/mean2.npz"
MEAN_CLIP_FILENAME = "c3d_mean2.npz"
MEAN_CLIP_SHAPE = (3, 16, 128, 171)
C3D_PREPROCESSING = ("tgan_v1", "tgan_v2")
NUM_FRAMES = 16

_CONVS = (
    ("conv1a", 3, 64),
    ("conv2a", 64, 128),
    ("conv3a", 128, 256),
    ("conv3b", 256, 256),
    ("conv4a", 256, 512),
    ("conv4b", 512, 512),
    ("conv5a", 512, 512),
    ("conv5b", 512, 512),
)
_FCS = (("fc6", 8192, 4096), ("fc7", 4096, 4096), ("fc8", 4096, C3D_NUM_CLASSES))
_LAYER_NAMES = tuple(name for name, _, _ in _CONVS) + tuple(name for name, _, _ in _FCS)
#: the key names of the TGAN / TGANv2 Chainer npz (``chainer.serializers.save_npz`` of C3DVersion1)
CHAINER_KEYS = tuple(f"{name}/{p}" for name in _LAYER_NAMES for p in ("W", "b"))
#: layers whose activations :meth:`C3D.extract` can return, in network order
FEATURE_LAYERS = ("pool5", "fc6", "fc7", "fc8", "prob")
_POOL_AFTER = {"conv1a": "pool1", "conv2a": "pool2", "conv3b": "pool3", "conv4b": "pool4", "conv5b": "pool5"}


def load_mean_clip(path: str | os.PathLike) -> torch.Tensor:
    """The C3D mean clip from ``mean2.npz`` (key ``mean``), as a float32 ``(3, 16, 128, 171)`` BGR tensor."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(
            f"C3D mean clip not found at {path}; download {MEAN_CLIP_URL} and save it there "
            f"(or use C3D.pretrained(download=True))"
        )
    try:
        with np.load(path, allow_pickle=False) as data:
            if "mean" not in data.files:
                raise DatasetError(f"{path} has keys {sorted(data.files)}; the C3D mean clip needs key 'mean'")
            mean = np.asarray(data["mean"], dtype=np.float32)
    except DatasetError:
        raise
    except Exception as exc:
        raise DatasetError(f"could not read the C3D mean clip from {path} ({type(exc).__name__}: {exc})") from exc
    if mean.size != int(np.prod(MEAN_CLIP_SHAPE)):
        raise DatasetError(
            f"{path}: mean clip has shape {mean.shape} ({mean.size} values), expected {MEAN_CLIP_SHAPE} "
            f"(C3D's 16x128x171 BGR mean, optionally with a leading 1)"
        )
    return torch.from_numpy(mean.reshape(MEAN_CLIP_SHAPE).copy())


def load_c3d_chainer_npz(path: str | os.PathLike, prefix: str = "") -> dict[str, torch.Tensor]:
    """Read a TGAN/TGANv2 Chainer npz (``conv1a/W`` ... ``fc8/b``) into a PyTorch-named state dict.

    ``prefix`` is prepended to every Chainer key (for an npz saved from a parent chain, e.g.
    ``"classifier/"``). Missing keys raise :class:`DatasetError` naming them.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"C3D weights not found at {path}; download {C3D_URL} and save it there")
    try:
        with np.load(path, allow_pickle=False) as data:
            present = set(data.files)
            missing = [prefix + k for k in CHAINER_KEYS if prefix + k not in present]
            if missing:
                raise DatasetError(
                    f"{path} is missing {len(missing)} of the {len(CHAINER_KEYS)} C3D entries "
                    f"(e.g. {missing[:4]}); expected the TGAN Chainer npz layout "
                    f"('conv1a/W', 'conv1a/b', ..., 'fc8/b'); it has {sorted(present)[:6]}..."
                )
            arrays = {k: np.array(data[prefix + k]) for k in CHAINER_KEYS}
    except DatasetError:
        raise
    except Exception as exc:
        raise DatasetError(f"could not read C3D weights from {path} ({type(exc).__name__}: {exc})") from exc
    return _chainer_to_torch(arrays)


def _chainer_to_torch(arrays: dict) -> dict[str, torch.Tensor]:
    state = {}
    for key, value in arrays.items():
        layer, param = key.rsplit("/", 1)
        name = {"W": "weight", "b": "bias"}[param]
        tensor = value if isinstance(value, torch.Tensor) else torch.from_numpy(np.asarray(value))
        state[f"{layer}.{name}"] = tensor.to(torch.float32)
    return state


class C3D(nn.Module):
    """C3D v1.0 (UCF101, 101 classes) with TGAN's topology, preprocessing and scoring conventions.

    ``C3D()`` alone has zero weights (like TGAN's ``C3DVersion1`` before loading) and no mean clip: use
    :meth:`from_files` or :meth:`pretrained`, or :meth:`load_weights` plus :meth:`set_mean_clip`.
    The module is in evaluation mode with frozen parameters.

    Args:
        preprocessing: ``"tgan_v1"`` (default; TGAN / the paper) or ``"tgan_v2"``; see the module doc.
        input_range: range of the videos given to :meth:`prepare` (``"[0,1]"`` default or ``"[-1,1]"``).
        dropout_at_eval: keep the fc6/fc7 dropout active in evaluation mode, reproducing TGAN's
            scoring code (off by default).
        mean_clip: optional ``(3, 16, 128, 171)`` BGR mean clip (see :func:`load_mean_clip`).
    """

    def __init__(
        self,
        *,
        preprocessing: str = "tgan_v1",
        input_range: str = "[0,1]",
        dropout_at_eval: bool = False,
        mean_clip: torch.Tensor | np.ndarray | None = None,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        if preprocessing not in C3D_PREPROCESSING:
            raise InputError(f"C3D: preprocessing must be one of {C3D_PREPROCESSING}, got {preprocessing!r}")
        self.preprocessing = preprocessing
        self.input_range = check_input_range(input_range)
        self.dropout_at_eval = bool(dropout_at_eval)
        self.dropout = float(dropout)
        # built on the meta device and then zero-filled: skips the 78M-parameter random init
        for name, c_in, c_out in _CONVS:
            self.add_module(name, nn.Conv3d(c_in, c_out, kernel_size=3, stride=1, padding=1, device="meta"))
        for name, f_in, f_out in _FCS:
            self.add_module(name, nn.Linear(f_in, f_out, device="meta"))
        self.to_empty(device="cpu")
        self.pool1 = nn.MaxPool3d(kernel_size=(1, 2, 2), stride=(1, 2, 2), ceil_mode=True)
        for name in ("pool2", "pool3", "pool4", "pool5"):
            self.add_module(name, nn.MaxPool3d(kernel_size=2, stride=2, ceil_mode=True))
        for param in self.parameters():
            nn.init.zeros_(param)
        self.register_buffer("mean_clip", torch.zeros(0), persistent=False)
        if mean_clip is not None:
            self.set_mean_clip(mean_clip)
        self.requires_grad_(False)
        self.eval()

    # ---------------------------------------------------------------- weights

    def set_mean_clip(self, mean_clip: torch.Tensor | np.ndarray) -> C3D:
        """Use ``mean_clip`` (``(3, 16, 128, 171)`` BGR, or anything with that many values)."""
        mean = torch.as_tensor(np.asarray(mean_clip) if not isinstance(mean_clip, torch.Tensor) else mean_clip)
        if mean.numel() != int(np.prod(MEAN_CLIP_SHAPE)):
            raise InputError(f"C3D: mean clip must have shape {MEAN_CLIP_SHAPE}, got {tuple(mean.shape)}")
        device = self.conv1a.weight.device
        self.mean_clip = mean.reshape(MEAN_CLIP_SHAPE).to(device=device, dtype=torch.float32).clone()
        return self

    def load_weights(self, state: dict) -> C3D:
        """Load a PyTorch state dict (``conv1a.weight`` ...) or Chainer-named arrays (``conv1a/W`` ...).

        Strict: missing entries or wrong shapes raise :class:`DatasetError` naming them; unrelated extra
        entries are ignored.
        """
        if not isinstance(state, dict):
            raise DatasetError(f"C3D weights must be a dict of tensors, got {type(state).__name__}")
        if any("/" in str(k) for k in state):
            present = set(state)
            missing = [k for k in CHAINER_KEYS if k not in present]
            if missing:
                raise DatasetError(
                    f"C3D Chainer weights are missing {len(missing)} entries (e.g. {missing[:4]}); "
                    f"expected {CHAINER_KEYS[0]!r} ... {CHAINER_KEYS[-1]!r}"
                )
            state = _chainer_to_torch({k: state[k] for k in CHAINER_KEYS})
        weights = checked_weights(
            state, self.state_dict(), "C3D",
            expected="'conv1a.weight', 'conv1a.bias', ..., 'fc8.bias' (or the Chainer npz keys 'conv1a/W' ...)",
            not_these="the UCF101-finetuned C3D v1.0 weights (101 classes, fc6 with 8192 inputs)",
        )
        self.load_state_dict(weights, strict=True)
        return self

    @classmethod
    def from_files(
        cls,
        weights_path: str | os.PathLike,
        mean_path: str | os.PathLike | None = None,
        *,
        chainer_prefix: str = "",
        **kwargs,
    ) -> C3D:
        """Build from a weights file (``.npz``: TGAN Chainer layout; else a PyTorch state dict read with
        ``torch.load(weights_only=True)``) and, optionally, the ``mean2.npz`` mean clip."""
        weights_path = Path(weights_path)
        model = cls(**kwargs)
        if weights_path.suffix == ".npz":
            state = load_c3d_chainer_npz(weights_path, prefix=chainer_prefix)
        else:
            state = load_state_dict_file(
                weights_path, "C3D", fix="expected a PyTorch state dict (.pt/.pth) or the TGAN Chainer npz (.npz)"
            )
        try:
            model.load_weights(state)
        except DatasetError as exc:
            raise DatasetError(f"{weights_path}: {exc}") from exc
        if mean_path is not None:
            model.set_mean_clip(load_mean_clip(mean_path))
        return model

    @classmethod
    def pretrained(
        cls, cache_dir: str | os.PathLike | None = None, download: bool = True, **kwargs
    ) -> C3D:
        """Weights and mean clip from ``cache_dir`` (default :func:`default_weights_dir`), named
        :data:`C3D_FILENAME` and :data:`MEAN_CLIP_FILENAME`; downloaded once from the TGANv2 release
        (:data:`C3D_URL`, :data:`MEAN_CLIP_URL`) when missing and ``download`` is true."""
        cache = Path(cache_dir).expanduser() if cache_dir is not None else default_weights_dir()
        weights, mean = cache / C3D_FILENAME, cache / MEAN_CLIP_FILENAME
        for path, url in ((weights, C3D_URL), (mean, MEAN_CLIP_URL)):
            if path.is_file():
                continue
            if not download:
                raise DatasetError(
                    f"C3D files missing: {path} does not exist. Download {url} and save it as {path} "
                    f"(or call C3D.pretrained(download=True), or C3D.from_files(...))"
                )
            download_file(url, path)
        try:
            return cls.from_files(weights, mean, **kwargs)
        except DatasetError as exc:
            raise DatasetError(f"{exc} (cached in {cache}; delete the files there to download again)") from exc

    # ---------------------------------------------------------------- preprocessing

    def prepare(self, videos: torch.Tensor) -> torch.Tensor:
        """Map ``(B, 16, C, H, W)`` videos (``C`` = 1 or 3, RGB, in :attr:`input_range`) to the C3D input
        ``(B, 3, 16, 112, 112)`` (BGR, mean subtracted) with the configured preprocessing."""
        if not isinstance(videos, torch.Tensor) or videos.dim() != 5:
            shape = tuple(videos.shape) if isinstance(videos, torch.Tensor) else type(videos).__name__
            raise InputError(f"C3D: videos must have shape (B, T, C, H, W), got {shape}")
        b, t, c, h, w = videos.shape
        if t != NUM_FRAMES:
            raise InputError(
                f"C3D: videos must have {NUM_FRAMES} frames (the mean clip and fc6 are built for 16), got {t}; "
                f"take 16-frame windows first"
            )
        if c not in (1, 3):
            raise InputError(f"C3D: videos must have 1 or 3 channels, got {c}")
        if self.mean_clip.numel() == 0:
            raise InputError(
                "C3D: no mean clip loaded; pass mean_path to C3D.from_files, use C3D.pretrained, or call set_mean_clip"
            )
        device = self.mean_clip.device
        x = videos.to(device=device, dtype=torch.float32)
        if not bool(torch.isfinite(x).all()):
            raise InputError("C3D: videos contain NaN or inf values")
        if self.input_range == "[0,1]":
            x = x * 2.0 - 1.0
        if c == 1:
            x = x.expand(-1, -1, 3, -1, -1)
        frames = x.reshape(b * t, 3, h, w).flip(1)  # RGB -> BGR
        if self.preprocessing == "tgan_v1":
            frames = frames * 128.0 + 128.0
            frames = F.interpolate(frames, size=(128, 128), mode="bicubic", align_corners=False)
            clip = frames.reshape(b, t, 3, 128, 128).permute(0, 2, 1, 3, 4)
            clip = clip - self.mean_clip[:, :, :, 21 : 21 + 128]
            return clip[:, :, :, 8 : 8 + 112, 8 : 8 + 112].contiguous()
        frames = F.interpolate(frames * 128.0, size=(112, 112), mode="bilinear", align_corners=True)
        clip = frames.reshape(b, t, 3, 112, 112).permute(0, 2, 1, 3, 4)
        return (clip + (128.0 - self.mean_clip[:, :, 8 : 8 + 112, 8 : 8 + 112])).contiguous()

    # ---------------------------------------------------------------- network

    def _dropout(self, x: torch.Tensor) -> torch.Tensor:
        active = self.training or self.dropout_at_eval
        return F.dropout(x, p=self.dropout, training=active) if active else x

    def extract(self, x: torch.Tensor, layers=("prob",)) -> dict[str, torch.Tensor]:
        """Activations of ``layers`` (any of :data:`FEATURE_LAYERS`) for preprocessed clips
        ``(N, 3, 16, 112, 112)``. ``fc6``/``fc7`` are after ReLU and dropout (as in the Chainer code)."""
        wanted = {layers} if isinstance(layers, str) else set(layers)
        unknown = wanted - set(FEATURE_LAYERS)
        if unknown or not wanted:
            raise InputError(f"C3D: layers must be among {FEATURE_LAYERS}, got {sorted(map(str, wanted))}")
        if x.dim() != 5 or x.shape[1] != 3:
            raise InputError(f"C3D: clips must have shape (N, 3, T, H, W), got {tuple(x.shape)}")
        out: dict[str, torch.Tensor] = {}
        h = x
        for name, _, _ in _CONVS:
            h = F.relu(getattr(self, name)(h))
            if name in _POOL_AFTER:
                h = getattr(self, _POOL_AFTER[name])(h)
        if "pool5" in wanted:
            out["pool5"] = h
        if wanted <= out.keys():
            return out
        h = h.flatten(1)
        if h.shape[1] != self.fc6.in_features:
            raise InputError(
                f"C3D: pool5 gives {h.shape[1]} values per clip, fc6 expects {self.fc6.in_features}; "
                f"clips must be 16 x 112 x 112"
            )
        h = self._dropout(F.relu(self.fc6(h)))
        out["fc6"] = h
        if wanted <= out.keys():
            return out
        h = self._dropout(F.relu(self.fc7(h)))
        out["fc7"] = h
        logits = self.fc8(h)
        out["fc8"] = logits
        if "prob" in wanted:
            out["prob"] = torch.softmax(logits, dim=1)
        return {k: v for k, v in out.items() if k in wanted}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, 101)`` of preprocessed clips ``(N, 3, 16, 112, 112)``."""
        return self.extract(x, ("fc8",))["fc8"]


def _run(model: C3D, videos, layer: str, batch_size: int) -> torch.Tensor:
    if not isinstance(model, C3D):
        raise InputError(f"model must be a C3D instance, got {type(model).__name__}")
    outputs = []
    with torch.no_grad():
        for batch in iter_batches(videos, batch_size):
            outputs.append(model.extract(model.prepare(batch), (layer,))[layer].to(torch.float64).cpu())
    if not outputs:
        raise InputError("no videos given")
    return torch.cat(outputs)


def c3d_probs(model: C3D, videos, batch_size: int = 16) -> torch.Tensor:
    """Class probabilities ``(N, 101)`` (float64, CPU) of ``(N, 16, C, H, W)`` videos, or of an iterable
    of such batches, for :func:`~odevideo.metrics.inception_score.inception_score`."""
    return _run(model, videos, "prob", batch_size)


def c3d_features(model: C3D, videos, layer: str = "fc7", batch_size: int = 16) -> torch.Tensor:
    """C3D features ``(N, D)`` (float64, CPU): ``layer`` = ``"fc7"`` (4096, TGANv2 and the paper's FID),
    ``"fc6"`` (4096), ``"fc8"`` (101 logits) or ``"pool5"`` (8192, flattened)."""
    if layer not in ("pool5", "fc6", "fc7", "fc8"):
        raise InputError(f"c3d_features: layer must be 'pool5', 'fc6', 'fc7' or 'fc8', got {layer!r}")
    return _run(model, videos, layer, batch_size).flatten(1)


def c3d_fid(
    real_videos, fake_videos, model: C3D, layer: str = "fc7", batch_size: int = 16, method: str = "eigh"
) -> float:
    """Frechet distance between Gaussians fitted to C3D features of real and generated videos."""
    real = gaussian_stats(c3d_features(model, real_videos, layer, batch_size))
    fake = gaussian_stats(c3d_features(model, fake_videos, layer, batch_size))
    return frechet_distance(*real, *fake, method=method)
