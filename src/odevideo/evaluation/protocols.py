"""Named test protocols: the context/target split, the frames and the metric definitions of a published table.

A protocol fixes what a row of a published table means, so that a number computed here can sit beside it:
how many frames the model sees (``context_frames``) and predicts (``target_frames``), the frame size and
channels, how the stored frames are scaled (``value_range``), and each metric's definition and unit as the
source computes it. ``odevideo evaluate RUN --test-file PATH --protocol NAME`` scores the model and the
trivial baselines on the target frames with these definitions (:func:`~odevideo.evaluation.conditional.evaluate`
with ``protocol=``); the output names the protocol and the units.

The definitions follow OpenSTL (Tan et al., *OpenSTL: A Comprehensive Benchmark of Spatio-Temporal Predictive
Learning*, NeurIPS 2023 Datasets and Benchmarks; github.com/chengtan9907/OpenSTL), ``openstl/core/metrics.py``
and ``openstl/datasets/dataset_constant.py``:

* ``mse`` / ``mae``: ``np.mean((pred - true) ** 2, axis=(0, 1)).sum()`` on ``(N, T, C, H, W)`` arrays, i.e. the
  squared / absolute error **summed over a frame's C x H x W pixels**, averaged over frames and clips; computed
  on the prediction **before** it is clipped to [0, 1] (OpenSTL clips afterwards, for SSIM and PSNR only).
* ``psnr``: one PSNR per frame, ``-10 log10(mean((pred - true) ** 2))`` over the frame's pixels of frames in
  [0, 1] (prediction clipped), averaged over frames and clips. OpenSTL returns ``inf`` for an exact frame; here
  such a frame is capped at :data:`~odevideo.metrics.frame_metrics.PSNR_CAP_DB` (100 dB), and the arithmetic
  is float64 (OpenSTL: float32).
* ``ssim``: one SSIM per frame, scikit-image's ``structural_similarity`` with its defaults as OpenSTL calls it
  (``cal_ssim(pred, true, multichannel=True)`` on float frames, prediction clipped): a 7 x 7 uniform window,
  the sample covariance (``N / (N - 1)``), ``K1 = 0.01``, ``K2 = 0.03``, the map cropped by 3 pixels on every
  side and averaged, then averaged over channels; and ``data_range = 2``, the dtype range scikit-image
  assumed for float images when none was given (versions before 0.21 -- later ones refuse to guess). This is
  **not** the library's own ``ssim`` (11 x 11 Gaussian window, ``data_range = 1``) reported in the sections;
  see :func:`ssim_skimage_defaults`.
* ``lpips`` (KTH): AlexNet with the v0.1 linear heads on frames mapped to [-1, 1], as OpenSTL's
  ``lpips.LPIPS(net='alex')``; reported only with ``--lpips`` / ``--lpips-dir``.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from odevideo.errors import ConfigError, DatasetError, InputError
from odevideo.metrics.frame_metrics import PSNR_CAP_DB

__all__ = ["ProtocolMetric", "Protocol", "PROTOCOLS", "get_protocol", "load_test_clips", "ssim_skimage_defaults",
           "format_protocol_table"]

_OPENSTL_METRICS = "OpenSTL openstl/core/metrics.py (MSE, MAE, PSNR, SSIM, LPIPS)"


@dataclass(frozen=True)
class ProtocolMetric:
    """One column of a protocol's table: its key in ``protocol_scores``, its unit and definition."""

    key: str
    label: str
    unit: str
    definition: str


_MSE = ProtocolMetric("mse", "MSE", "sum over a frame's pixels",
                      "squared error summed over the C x H x W pixels of a frame in [0, 1] (prediction not clipped), "
                      "mean over frames and clips")
_MAE = ProtocolMetric("mae", "MAE", "sum over a frame's pixels",
                      "absolute error summed over the C x H x W pixels of a frame in [0, 1] (prediction not clipped), "
                      "mean over frames and clips")
_SSIM = ProtocolMetric("ssim", "SSIM", "per frame, mean",
                       "scikit-image structural_similarity defaults (7x7 uniform window, sample covariance, "
                       "data_range=2), prediction clipped to [0, 1], mean over frames and clips")
_PSNR = ProtocolMetric("psnr", "PSNR", "dB per frame, mean",
                       "-10 log10 of a frame's per-pixel MSE (frames in [0, 1], prediction clipped; capped at "
                       "100 dB), mean over frames and clips")
_LPIPS = ProtocolMetric("lpips", "LPIPS", "per frame, mean",
                        "AlexNet, v0.1 heads, frames mapped to [-1, 1], mean over frames and clips (with --lpips)")


@dataclass(frozen=True)
class Protocol:
    """A published test protocol (see the module docstring for the metric definitions).

    Attributes:
        name: what ``--protocol`` takes.
        context_frames: frames the model observes (its ``task.num_observed``).
        target_frames: frames that follow and are scored.
        frame_size: frames are ``frame_size`` x ``frame_size`` pixels.
        channels: channels of a frame.
        layout: the test file's array layout (``TNHW``: ``mnist_test_seq.npy``'s ``(20, 10000, 64, 64)``).
        value_range: the frames' range after scaling (uint8 / 255).
        metrics: the table's columns, in the source's order.
        source: where the split and the definitions come from.
        notes: what else the source fixes (test set, preprocessing).
    """

    name: str
    context_frames: int
    target_frames: int
    frame_size: int
    channels: int
    layout: str
    value_range: tuple[float, float]
    metrics: tuple[ProtocolMetric, ...]
    source: str
    notes: str = ""

    @property
    def num_frames(self) -> int:
        return self.context_frames + self.target_frames

    def describe(self) -> dict:
        """JSON-able description (stored in the result next to the scores)."""
        d = asdict(self)
        d["value_range"] = list(self.value_range)
        d["metrics"] = [asdict(m) for m in self.metrics]
        d["units"] = {m.key: m.unit for m in self.metrics}
        return d

    def check_model(self, cfg) -> None:
        """Raise a one-line :class:`ConfigError` naming the settings to change when the run does not fit."""
        want = {"task.num_observed": (cfg.task.num_observed, self.context_frames),
                "data.num_frames": (cfg.data.num_frames, self.num_frames),
                "data.image_size": (cfg.data.image_size, self.frame_size),
                "data.channels": (cfg.data.channels, self.channels)}
        wrong = {k: v for k, v in want.items() if v[0] != v[1]}
        if wrong:
            have = ", ".join(f"{k}={v[0]}" for k, v in wrong.items())
            sets = " ".join(f"--set {k}={v[1]}" for k, v in wrong.items())
            raise ConfigError(
                f"protocol {self.name} is {self.context_frames} -> {self.target_frames} frames of "
                f"{self.channels}x{self.frame_size}x{self.frame_size}, but this run has {have}; "
                f"train a model with {sets}"
            )

    def check_clips(self, num_frames: int) -> None:
        if num_frames != self.num_frames:
            raise DatasetError(
                f"protocol {self.name} scores clips of {self.num_frames} frames ({self.context_frames} observed + "
                f"{self.target_frames} predicted), got {num_frames}; pass a test file of {self.num_frames}-frame clips"
            )

    def frame_scores(self, pred: torch.Tensor, target: torch.Tensor, lpips=None) -> dict[str, torch.Tensor]:
        """The protocol's metrics per frame, ``(B, T)`` float64, for ``pred`` / ``target`` ``(B, T, C, H, W)``."""
        pred, target = pred.double(), target.double()
        err = pred - target  # MSE and MAE on the prediction as it is (OpenSTL clips afterwards)
        out = {"mse": err.square().sum((-3, -2, -1)), "mae": err.abs().sum((-3, -2, -1))}
        clipped = pred.clamp(*self.value_range)
        out["psnr"] = (-10 * torch.log10((clipped - target).square().mean((-3, -2, -1)))).clamp(max=PSNR_CAP_DB)
        out["ssim"] = ssim_skimage_defaults(clipped, target)
        if lpips is not None and any(m.key == "lpips" for m in self.metrics):
            from odevideo.metrics.lpips import lpips_per_frame

            out["lpips"] = lpips_per_frame(lpips, clipped.float(), target.float()).double()
        return out


_KTH_NOTES = ("KTH Action, persons 17-25 (test), grayscale frames resized to 128x128 (cv2.resize of the whole "
              "160x120 frame, no crop) and scaled by 1/255; OpenSTL openstl/datasets/dataloader_kth.py")

PROTOCOLS: dict[str, Protocol] = {
    p.name: p
    for p in (
        Protocol(
            "openstl-mmnist", 10, 10, 64, 1, "TNHW", (0.0, 1.0), (_MSE, _MAE, _SSIM, _PSNR),
            source=f"OpenSTL Moving MNIST ('mmnist': in_shape [10, 1, 64, 64], 10 -> 10); {_OPENSTL_METRICS}",
            notes="two digits; the standard test file mnist_test_seq.npy: (20, 10000, 64, 64) uint8 (T, N, H, W), "
            "frames scaled by 1/255",
        ),
        Protocol(
            "kth-10-20", 10, 20, 128, 1, "NTHW", (0.0, 1.0), (_MSE, _MAE, _SSIM, _PSNR, _LPIPS),
            source=f"OpenSTL KTH ('kth20': in_shape [10, 1, 128, 128], 10 -> 20); {_OPENSTL_METRICS}",
            notes=_KTH_NOTES,
        ),
        Protocol(
            "kth-10-40", 10, 40, 128, 1, "NTHW", (0.0, 1.0), (_MSE, _MAE, _SSIM, _PSNR, _LPIPS),
            source=f"OpenSTL KTH ('kth40': in_shape [10, 1, 128, 128], 10 -> 40); {_OPENSTL_METRICS}",
            notes=_KTH_NOTES,
        ),
    )
}


def get_protocol(name: str) -> Protocol:
    try:
        return PROTOCOLS[name]
    except KeyError:
        raise InputError(f"unknown protocol {name!r}; choose one of {', '.join(PROTOCOLS)}") from None


def ssim_skimage_defaults(pred: torch.Tensor, target: torch.Tensor, data_range: float = 2.0) -> torch.Tensor:
    """SSIM per frame as ``skimage.metrics.structural_similarity(pred, target, channel_axis=...,
    data_range=data_range)`` with its other defaults: 7 x 7 uniform window, sample covariance, ``K1 = 0.01``,
    ``K2 = 0.03``, the map's 3-pixel border left out, mean over the map and then over channels.

    ``data_range = 2`` is what scikit-image used for float frames when none was given (OpenSTL's call).
    ``pred`` / ``target``: ``(..., C, H, W)``; returns ``pred.shape[:-3]`` float64.
    """
    win = 7
    c, h, w = pred.shape[-3:]
    if h < win or w < win:
        raise InputError(f"ssim: frames must be at least {win}x{win} pixels, got {h}x{w}")
    x = pred.double().reshape(-1, 1, h, w)
    y = target.double().reshape(-1, 1, h, w)

    def mean(z):  # the uniform filter on the valid region = scikit-image's map after its border crop
        return F.avg_pool2d(z, win, stride=1)

    ux, uy = mean(x), mean(y)
    cov_norm = win * win / (win * win - 1)
    vx = cov_norm * (mean(x * x) - ux * ux)
    vy = cov_norm * (mean(y * y) - uy * uy)
    vxy = cov_norm * (mean(x * y) - ux * uy)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))
    return s.mean((-2, -1)).reshape(*pred.shape[:-3], c).mean(-1)


class _TensorClips:
    """Clips ``(N, T, C, H, W)`` in [0, 1] as a dataset (``len`` and ``dataset[i]``)."""

    def __init__(self, clips: torch.Tensor):
        self.clips = clips

    def __len__(self) -> int:
        return self.clips.shape[0]

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.clips[i]


def load_test_clips(path: str | os.PathLike[str], *, layout: str = "TNHW", num_frames: int,
                    size: int | None = None, channels: int = 1, max_clips: int | None = None):
    """A test set from a file or folder, as a dataset of ``(num_frames, C, H, W)`` clips in [0, 1].

    * ``.npy``: a 4-D array in ``layout`` ``TNHW`` (``mnist_test_seq.npy``: ``(20, 10000, 64, 64)``) or ``NTHW``,
      uint8 (scaled by 1/255) or float in [0, 1] (:func:`~odevideo.data.load_moving_mnist_npy`); each clip's
      first ``num_frames`` frames.
    * a folder: one clip per video file or folder of frames
      (:class:`~odevideo.data.video_folder.VideoFolderDataset`, first ``num_frames`` frames, resized to ``size``).
    """
    path = Path(path)
    if path.is_dir():
        from odevideo.data.video_folder import VideoFolderDataset

        return VideoFolderDataset(path, num_frames, size, window="first", channels=channels)
    if path.suffix.lower() != ".npy":
        raise DatasetError(f"{path}: a test file must be a .npy array ({layout}) or a folder of videos")
    from odevideo.data.moving_mnist import load_moving_mnist_npy

    clips = load_moving_mnist_npy(path, layout=layout, max_clips=max_clips)
    if clips.shape[1] < num_frames:
        raise DatasetError(f"{path}: its clips have {clips.shape[1]} frames, the model needs {num_frames}")
    if size is not None and clips.shape[-1] != size:
        raise DatasetError(f"{path}: its frames are {clips.shape[-1]}x{clips.shape[-1]}, the model's {size}x{size}")
    return _TensorClips(clips[:, :num_frames])


def format_protocol_table(result: dict) -> str:
    """The protocol's table (model and baselines on the target frames), headed by the protocol and its units."""
    p = result["protocol"]
    cols = [m for m in p["metrics"] if any(m["key"] in v for v in result["protocol_scores"].values())]
    lines = [
        f"protocol {p['name']}: {p['context_frames']} -> {p['target_frames']} frames, "
        f"{p['channels']}x{p['frame_size']}x{p['frame_size']}, frames in [{p['value_range'][0]:g}, "
        f"{p['value_range'][1]:g}], {result['num_clips']} clips ({p['source']})",
        "| method | " + " | ".join(f"{m['label']} ({m['unit']})" for m in cols) + " |",
        "|---" * (len(cols) + 1) + "|",
    ]
    for method, v in result["protocol_scores"].items():
        lines.append(f"| {method} | " + " | ".join(f"{v[m['key']]:.4f}" for m in cols) + " |")
    lines += [f"{m['label']}: {m['definition']}" for m in cols]
    return "\n".join(lines)
