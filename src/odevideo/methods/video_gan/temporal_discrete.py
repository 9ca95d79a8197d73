"""The discrete temporal generators of the original GANs, defined only on their own integer frame grid.

:class:`TGANTemporalGenerator` (TGAN's 1-D transposed convolutions, frames ``0..15``) and
:class:`MoCoGANMotionGenerator` (MoCoGAN's GRU driven by fresh noise, frames ``0, 1, 2, ...``). Fractional or
negative times raise :class:`~odevideo.errors.InputError` pointing to the continuous generators.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from odevideo.errors import InputError
from odevideo.methods.video_gan.temporal_common import _check_z, _frame_indices, _gather, _positive_int, _xavier

__all__ = ["TGANTemporalGenerator", "MoCoGANMotionGenerator"]


class TGANTemporalGenerator(nn.Module):
    """TGAN's temporal generator ``G_t`` (Saito et al., 2017): one ``z`` -> ``n_frames`` latent frame codes.

    ``Linear(z_dim, 512)`` (a 1x1 deconvolution of a length-1 sequence in the original) + BN + ReLU, then
    transposed 1-D convolutions (kernel 4, stride 2, padding 1) doubling the length 1 -> 2 -> 4 -> 8 -> 16,
    with channels 512 -> 256 -> 128 -> 128 -> ``out_dim``, BN + ReLU after each but the last, which ends in tanh.
    For ``z_dim = out_dim = 100``: 826,468 parameters.

    ``forward(z, times=None)``: ``times`` are integer frames in ``0..n_frames-1`` (``None`` = all of them);
    anything else raises :class:`InputError`. Like the original, train mode needs ``B >= 2`` (BatchNorm).
    """

    def __init__(self, z_dim: int = 100, out_dim: int = 100, channels: Sequence[int] = (512, 256, 128, 128)):
        super().__init__()
        self.z_dim = _positive_int("z_dim", z_dim)
        self.out_dim = _positive_int("out_dim", out_dim)
        channels = tuple(_positive_int("channels[i]", c) for c in channels)
        if not channels:
            raise InputError("channels must list at least one width, e.g. (512, 256, 128, 128).")
        self.n_frames = 2 ** len(channels)
        self.fc = nn.Linear(z_dim, channels[0])
        self.fc_bn = nn.BatchNorm1d(channels[0])
        layers: list[nn.Module] = []
        for a, b in zip(channels[:-1], channels[1:]):
            layers += [nn.ConvTranspose1d(a, b, 4, stride=2, padding=1), nn.BatchNorm1d(b), nn.ReLU()]
        layers += [nn.ConvTranspose1d(channels[-1], out_dim, 4, stride=2, padding=1), nn.Tanh()]
        self.deconv = nn.Sequential(*layers)
        _xavier(self)

    def forward(self, z: Tensor, times: Tensor | Sequence[float] | None = None) -> Tensor:
        z = _check_z(z, self.z_dim, type(self).__name__)
        h = torch.relu(self.fc_bn(self.fc(z)))
        codes = self.deconv(h.unsqueeze(-1)).transpose(1, 2)  # (B, n_frames, out_dim)
        if times is None:
            return codes
        return _gather(codes, _frame_indices(times, z.shape[0], z, type(self).__name__, self.n_frames))


class MoCoGANMotionGenerator(nn.Module):
    """MoCoGAN's motion generator (Tulyakov et al., 2018): a GRU cell driven by fresh noise every frame.

    ``z`` is the GRU's initial state ``h_0`` (MoCoGAN draws it from N(0, I)); frame ``k`` gets
    ``h_{k+1} = GRUCell(eps_{k+1}, h_k)`` with ``eps ~ N(0, I)`` of size ``noise_dim`` (``h_0`` itself is not a
    frame, as in MoCoGAN). ``GRUCell(16, 16)``: 3 * (16*16 + 16*16 + 16 + 16) = 1,632 parameters.

    ``forward(z, times=None, *, noise=None, generator=None)``: ``times`` are integer frames ``>= 0``
    (``None`` = ``0..video_length-1``); the GRU runs up to the largest one. ``noise`` ``(B, S, noise_dim)``
    gives the per-step inputs (``S`` >= steps run); otherwise they are drawn with ``generator``.
    """

    def __init__(self, motion_dim: int = 16, noise_dim: int | None = None, video_length: int = 16):
        super().__init__()
        self.z_dim = self.out_dim = _positive_int("motion_dim", motion_dim)
        self.noise_dim = motion_dim if noise_dim is None else _positive_int("noise_dim", noise_dim)
        self.video_length = _positive_int("video_length", video_length)
        self.recurrent = nn.GRUCell(self.noise_dim, motion_dim)

    def forward(
        self,
        z: Tensor,
        times: Tensor | Sequence[float] | None = None,
        *,
        noise: Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        name = type(self).__name__
        z = _check_z(z, self.z_dim, name)
        if times is None:
            times = torch.arange(self.video_length)
        index = _frame_indices(times, z.shape[0], z, name, None)
        steps = int(index.max()) + 1
        if noise is None:
            where = generator.device if generator is not None else z.device
            noise = torch.randn(z.shape[0], steps, self.noise_dim, generator=generator, device=where, dtype=z.dtype)
            noise = noise.to(z.device)
        elif not isinstance(noise, Tensor) or noise.dim() != 3 or noise.shape[0] != z.shape[0] \
                or noise.shape[1] < steps or noise.shape[2] != self.noise_dim:
            shape = tuple(noise.shape) if isinstance(noise, Tensor) else type(noise).__name__
            raise InputError(
                f"{name}: noise must be a tensor (B, S, noise_dim) = ({z.shape[0]}, >= {steps}, {self.noise_dim}) "
                f"holding one GRU input per frame up to the last requested one; got {shape}."
            )
        h = z
        codes = []
        for k in range(steps):
            h = self.recurrent(noise[:, k], h)
            codes.append(h)
        return _gather(torch.stack(codes, dim=1), index)
