"""LPIPS perceptual distance (Zhang et al. 2018), AlexNet backbone with the v0.1 linear heads.

Written without torchvision. The network is the reference ``lpips.LPIPS(net="alex", version="0.1")``
in evaluation mode:

1. inputs in ``[-1, 1]`` go through the LPIPS scaling layer ``(x - shift) / scale`` with
   ``shift = [-0.030, -0.088, -0.188]`` and ``scale = [0.458, 0.448, 0.450]``;
2. AlexNet ``features`` (torchvision layout): conv 11x11/4 pad 2 (64) -> ReLU -> maxpool 3/2 ->
   conv 5x5 pad 2 (192) -> ReLU -> maxpool 3/2 -> conv 3x3 pad 1 (384) -> ReLU ->
   conv 3x3 pad 1 (256) -> ReLU -> conv 3x3 pad 1 (256) -> ReLU; the outputs of the five ReLUs
   are the feature taps;
3. each tap is unit-normalised over channels (``x / (||x||_2 + 1e-10)``), the two images' taps are
   subtracted and squared, weighted by a 1x1 convolution without bias (the "lin" heads; their
   dropout is inactive in evaluation), averaged over space and summed over the five layers.

Input convention
----------------
:meth:`LPIPS.forward` takes images in ``[0, 1]`` (the library's frame convention) by default and
maps them to ``[-1, 1]`` internally (``2 x - 1``). Construct with ``input_range="[-1,1]"`` to pass
images that are already in ``[-1, 1]`` (the reference implementation's convention). Single-channel
images are repeated to three channels (the common practice for grey-scale video such as Moving MNIST).

Weights
-------
* :meth:`LPIPS.from_files` loads two state dicts with ``torch.load(weights_only=True)``: the AlexNet
  features (torchvision key names ``features.0.weight`` ... ``features.10.bias``; a full torchvision
  AlexNet state dict also works, its ``classifier.*`` entries are ignored) and the v0.1 linear heads
  (``lin0.model.1.weight`` ... ``lin4.model.1.weight``).
* :meth:`LPIPS.pretrained` finds them in a cache directory (``$ODEVIDEO_CACHE/weights``, or
  ``~/.cache/odevideo/weights`` when the variable is unset) under the names
  :data:`ALEXNET_FILENAME` and :data:`LIN_FILENAME`, downloading them once if allowed.
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from pathlib import Path

import torch
import torch.nn as nn

from odevideo._atomic import atomic_write
from odevideo.errors import DatasetError, InputError

__all__ = [
    "LPIPS",
    "lpips_per_frame",
    "default_weights_dir",
    "download_file",
    "ALEXNET_URL",
    "ALEXNET_FILENAME",
    "ALEXNET_SHA256_PREFIX",
    "LIN_URL",
    "LIN_FILENAME",
]

ALEXNET_URL = "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth"
ALEXNET_FILENAME = "alexnet-owt-7be5be79.pth"
#: torchvision convention: the file name carries the first 8 hex digits of the file's SHA256.
ALEXNET_SHA256_PREFIX = "7be5be79"
LIN_URL = "https://github.com/richzhang/PerceptualSimilarity/raw/master/lpips/weights/v0.1/alex.pth"
LIN_FILENAME = "lpips_v0.1_alex.pth"
#: No published checksum for the linear heads; when set (hex prefix), it is checked like AlexNet's.
LIN_SHA256_PREFIX: str | None = None

_SHIFT = (-0.030, -0.088, -0.188)
_SCALE = (0.458, 0.448, 0.450)
_TAP_CHANNELS = (64, 192, 384, 256, 256)
_TAP_INDICES = (1, 4, 7, 9, 11)  # positions of the ReLUs in `features`
_EPS = 1e-10
#: smallest height/width AlexNet's two max-pools accept
MIN_SIZE = 31
_INPUT_RANGES = ("[0,1]", "[-1,1]")


def default_weights_dir() -> Path:
    """``$ODEVIDEO_CACHE/weights`` if the variable is set, else ``~/.cache/odevideo/weights``."""
    root = os.environ.get("ODEVIDEO_CACHE")
    if root:
        return Path(root).expanduser() / "weights"
    return Path.home() / ".cache" / "odevideo" / "weights"


def download_file(url: str, dest: str | os.PathLike, sha256_prefix: str | None = None) -> Path:
    """Download ``url`` to ``dest`` atomically (temporary file in the same folder, then rename).

    If ``sha256_prefix`` is given, the file's SHA256 hex digest must start with it; otherwise the
    partial file is deleted and :class:`DatasetError` is raised. Network failures also raise
    :class:`DatasetError`, naming the URL and where to put the file by hand.
    """
    dest = Path(dest)

    def fetch(tmp: Path) -> None:
        digest = hashlib.sha256()
        try:
            with open(tmp, "wb") as out, urllib.request.urlopen(url, timeout=60) as response:
                while True:
                    block = response.read(1 << 20)
                    if not block:
                        break
                    digest.update(block)
                    out.write(block)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise DatasetError(
                f"could not download {url} ({exc}); download it by hand and save it as {dest}"
            ) from exc
        hexdigest = digest.hexdigest()
        if sha256_prefix is not None and not hexdigest.startswith(sha256_prefix.lower()):
            raise DatasetError(
                f"checksum mismatch for {url}: SHA256 {hexdigest} does not start with "
                f"{sha256_prefix}; the download is corrupt or the file changed upstream. "
                f"Nothing was saved; retry, or place a correct copy at {dest}"
            )

    atomic_write(dest, fetch, suffix=".part")
    return dest


def load_state_dict_file(
    path: Path, what: str, fix: str = "delete the file and download it again"
) -> dict[str, torch.Tensor]:
    """A state dict of tensors from ``path`` with ``torch.load(weights_only=True)`` (never unpickles code).

    Any failure raises :class:`DatasetError` naming ``what`` weights, the file, and ``fix``.
    """
    if not path.is_file():
        raise DatasetError(f"{what} weights not found at {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt file, wrong format, pickled objects
        raise DatasetError(f"could not read {what} weights from {path} ({type(exc).__name__}: {exc}); {fix}") from exc
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise DatasetError(f"{path} does not hold a state dict of tensors ({what} weights expected)")
    return state


def checked_weights(
    state: dict, own: dict[str, torch.Tensor], what: str, expected: str, not_these: str
) -> dict[str, torch.Tensor]:
    """The entries of ``state`` a module's state dict ``own`` names, as float32, once each is there and is a tensor
    of ``own``'s shape; else a :class:`DatasetError` naming ``what`` weights, the ``expected`` names (when some
    are missing) or what they are ``not_these`` (wrong shapes)."""
    missing = [k for k in own if k not in state]
    if missing:
        raise DatasetError(
            f"{what} weights are missing {len(missing)} of {len(own)} entries (e.g. {missing[:4]}); expected {expected}"
        )
    for key, ref in own.items():
        value = state[key]
        if not isinstance(value, torch.Tensor):
            raise DatasetError(f"{what} weight {key} is a {type(value).__name__}, not a tensor")
        if tuple(value.shape) != tuple(ref.shape):
            raise DatasetError(
                f"{what} weight {key} has shape {tuple(value.shape)}, expected {tuple(ref.shape)}; "
                f"these are not {not_these}"
            )
    return {k: state[k].to(torch.float32) for k in own}


def check_input_range(input_range: str, owner: str | None = None) -> str:
    """``input_range`` without spaces when it is ``"[0,1]"`` or ``"[-1,1]"``, the ranges the metrics' networks take;
    else an :class:`InputError` (its message starts with ``owner``, when given)."""
    key = input_range.replace(" ", "") if isinstance(input_range, str) else input_range
    if key not in _INPUT_RANGES:
        prefix = f"{owner}: " if owner else ""
        raise InputError(f"{prefix}input_range must be '[0,1]' or '[-1,1]', got {input_range!r}")
    return key


class LPIPS(nn.Module):
    """LPIPS distance, AlexNet + v0.1 linear heads, evaluation mode, frozen parameters.

    ``LPIPS()`` alone has random weights: use :meth:`from_files` or :meth:`pretrained`.
    ``forward(x, y)`` takes two ``(N, C, H, W)`` batches (``C`` = 3 or 1, ``H, W >= 31``) and
    returns ``(N,)`` distances (0 = identical). Gradients flow to the inputs, so it can be used
    as a loss; the network's own parameters have ``requires_grad=False``.

    Args:
        input_range: ``"[0,1]"`` (default: inputs in ``[0, 1]``, mapped to ``[-1, 1]`` as
            ``2x - 1``) or ``"[-1,1]"`` (inputs already in ``[-1, 1]``, used as they are).
    """

    def __init__(self, input_range: str = "[0,1]") -> None:
        super().__init__()
        self.input_range = check_input_range(input_range, "LPIPS")
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.Conv2d(384, 256, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.Conv2d(256, 256, kernel_size=3, padding=1),
            nn.ReLU(),
        )
        # `lin{i}.model.1.weight` keys as in the reference (index 0 there is an inactive Dropout).
        for i, channels in enumerate(_TAP_CHANNELS):
            head = nn.Module()
            head.model = nn.Sequential(nn.Identity(), nn.Conv2d(channels, 1, kernel_size=1, bias=False))
            self.add_module(f"lin{i}", head)
        self.register_buffer("shift", torch.tensor(_SHIFT).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("scale", torch.tensor(_SCALE).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)
        self.eval()

    # ---------------------------------------------------------------- weights

    def load_weights(self, alexnet_state: dict, lin_state: dict) -> LPIPS:
        """Load AlexNet ``features.*`` and ``lin*.model.1.weight`` state dicts (strict about both)."""
        features = {k: v for k, v in alexnet_state.items() if k.startswith("features.")}
        lins = {k: v for k, v in lin_state.items() if k.startswith("lin")}
        expected_f = {k for k in self.state_dict() if k.startswith("features.")}
        expected_l = {k for k in self.state_dict() if k.startswith("lin")}
        for what, got, expected in (("AlexNet", features, expected_f), ("LPIPS linear-head", lins, expected_l)):
            missing = sorted(expected - set(got))
            if missing:
                raise DatasetError(
                    f"{what} weights are missing {len(missing)} entries (e.g. {missing[:3]}); "
                    f"expected torchvision AlexNet 'features.*' keys and LPIPS v0.1 'lin*.model.1.weight' keys"
                )
        merged = {**features, **lins}
        own = self.state_dict()
        for k, v in merged.items():
            if tuple(v.shape) != tuple(own[k].shape):
                raise DatasetError(
                    f"weight {k} has shape {tuple(v.shape)}, expected {tuple(own[k].shape)}; "
                    f"these are not AlexNet / LPIPS v0.1 alex weights"
                )
        self.load_state_dict(merged, strict=True)
        return self

    @classmethod
    def from_files(
        cls, alexnet_path: str | os.PathLike, lin_path: str | os.PathLike, input_range: str = "[0,1]"
    ) -> LPIPS:
        """Build from local state-dict files (AlexNet features, v0.1 alex linear heads)."""
        alexnet_path, lin_path = Path(alexnet_path), Path(lin_path)
        model = cls(input_range=input_range)
        alex = load_state_dict_file(alexnet_path, "AlexNet")
        lin = load_state_dict_file(lin_path, "LPIPS v0.1 alex linear-head")
        return model.load_weights(alex, lin)

    @classmethod
    def pretrained(
        cls, cache_dir: str | os.PathLike | None = None, download: bool = True, input_range: str = "[0,1]"
    ) -> LPIPS:
        """Load the reference weights from ``cache_dir`` (default :func:`default_weights_dir`).

        Missing files are downloaded from :data:`ALEXNET_URL` (SHA256 prefix checked, as
        torchvision does) and :data:`LIN_URL` when ``download`` is true; otherwise a
        :class:`DatasetError` says which file to put where.
        """
        cache = Path(cache_dir).expanduser() if cache_dir is not None else default_weights_dir()
        alex_path = cache / ALEXNET_FILENAME
        lin_path = cache / LIN_FILENAME
        for path, url, prefix in (
            (alex_path, ALEXNET_URL, ALEXNET_SHA256_PREFIX),
            (lin_path, LIN_URL, LIN_SHA256_PREFIX),
        ):
            if path.is_file():
                continue
            if not download:
                raise DatasetError(
                    f"LPIPS weights missing: {path} does not exist. Download {url} and save it as "
                    f"{path} (or call LPIPS.pretrained(download=True), or LPIPS.from_files(...))"
                )
            download_file(url, path, prefix)
        try:
            return cls.from_files(alex_path, lin_path, input_range=input_range)
        except DatasetError as exc:
            raise DatasetError(f"{exc} (cached in {cache}; delete the files there to download again)") from exc

    # ---------------------------------------------------------------- forward

    def _prepare(self, x: torch.Tensor) -> torch.Tensor:
        if self.input_range == "[0,1]":
            x = x * 2.0 - 1.0
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        return (x - self.shift) / self.scale

    def _taps(self, x: torch.Tensor) -> list[torch.Tensor]:
        taps = []
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in _TAP_INDICES:
                taps.append(x)
        return taps

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """LPIPS distance between ``x`` and ``y``, both ``(N, C, H, W)``; returns ``(N,)``."""
        for label, value in (("x", x), ("y", y)):
            if not isinstance(value, torch.Tensor) or value.dim() != 4:
                shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
                raise InputError(
                    f"LPIPS: {label} must be a (N, C, H, W) tensor, got {shape}; "
                    f"use lpips_per_frame for (B, T, C, H, W) video"
                )
        if x.shape != y.shape:
            raise InputError(f"LPIPS: x and y must have the same shape, got {tuple(x.shape)} and {tuple(y.shape)}")
        n, c, h, w = x.shape
        if c not in (1, 3):
            raise InputError(f"LPIPS: images must have 1 or 3 channels, got {c}")
        if h < MIN_SIZE or w < MIN_SIZE:
            raise InputError(
                f"LPIPS: images must be at least {MIN_SIZE}x{MIN_SIZE} pixels for AlexNet, got {h}x{w}; "
                f"upsample them first (e.g. F.interpolate)"
            )
        for label, value in (("x", x), ("y", y)):
            if not bool(torch.isfinite(value).all()):
                raise InputError(f"LPIPS: {label} contains NaN or inf values")
        dtype = self.shift.dtype
        x = self._prepare(x.to(dtype))
        y = self._prepare(y.to(dtype))
        both = self._taps(torch.cat((x, y), dim=0))
        total = x.new_zeros(n)
        for i, tap in enumerate(both):
            fx, fy = tap[:n], tap[n:]
            fx = fx / (fx.square().sum(dim=1, keepdim=True).sqrt() + _EPS)
            fy = fy / (fy.square().sum(dim=1, keepdim=True).sqrt() + _EPS)
            head = getattr(self, f"lin{i}").model
            total = total + head((fx - fy).square()).mean(dim=(1, 2, 3))
        return total


def lpips_per_frame(
    model: LPIPS, pred: torch.Tensor, target: torch.Tensor, batch_size: int = 64
) -> torch.Tensor:
    """LPIPS for every frame of ``(B, T, C, H, W)`` video (or ``(N, C, H, W)`` frames).

    Frames follow ``model``'s input convention (``[0, 1]`` by default). Runs under
    ``torch.no_grad`` in chunks of ``batch_size`` frames on the model's device and returns float64
    of shape ``pred.shape[:-3]`` (``(B, T)`` for video), on the input's device.
    """
    if not isinstance(model, LPIPS):
        raise InputError(f"lpips_per_frame: model must be an LPIPS instance, got {type(model).__name__}")
    for label, value in (("pred", pred), ("target", target)):
        if not isinstance(value, torch.Tensor) or value.dim() not in (4, 5):
            shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
            raise InputError(
                f"lpips_per_frame: {label} must have shape (B, T, C, H, W) or (N, C, H, W), got {shape}"
            )
    if pred.shape != target.shape:
        raise InputError(
            f"lpips_per_frame: pred and target must have the same shape, got {tuple(pred.shape)} and "
            f"{tuple(target.shape)}"
        )
    if int(batch_size) < 1:
        raise InputError(f"lpips_per_frame: batch_size must be >= 1, got {batch_size}")
    lead = pred.shape[:-3]
    if pred.numel() == 0:
        raise InputError(f"lpips_per_frame: got empty tensors of shape {tuple(pred.shape)}")
    x = pred.reshape(-1, *pred.shape[-3:])
    y = target.reshape(-1, *target.shape[-3:])
    device = model.shift.device
    out = []
    with torch.no_grad():
        for i in range(0, x.shape[0], int(batch_size)):
            out.append(model(x[i : i + batch_size].to(device), y[i : i + batch_size].to(device)).to(torch.float64))
    return torch.cat(out).reshape(lead).to(pred.device)
