"""Latent dynamics + per-frame decoding, and the constructor shared by the Kanaa et al. model families."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from odevideo.methods.prediction import ContinuousTimeVideoModel
from odevideo.nn import ConvFrameDecoder, MLPODEFunc
from odevideo.solvers import NFECounter, SolverConfig, odeint_batch


class LatentTrajectoryDecoder(nn.Module):
    """Integrates ``z0`` from ``t0`` to the query times and decodes every latent independently.

    The ODE always runs in float32, also under bf16 autocast: the dynamics net is tiny, and a
    low-precision state accumulates error over many solver steps.
    """

    def __init__(
        self,
        latent_dim: int,
        out_channels: int,
        image_size: int,
        channels: list[int],
        ode_hidden: int,
        ode_layers: int,
        solver: SolverConfig,
        skip_channels: list[int] | None,
        time_dependent: bool = False,
    ):
        super().__init__()
        self.dynamics = NFECounter(MLPODEFunc(latent_dim, ode_hidden, ode_layers, time_dependent=time_dependent))
        self.decoder = ConvFrameDecoder(latent_dim, out_channels, image_size, channels, skip_channels)
        self.solver = solver
        # Recompute the decoder's activations in the backward pass instead of storing them: the decoder
        # runs on every (clip, query time) pair and holds most of a step's activation memory.
        self.activation_checkpointing = False

    def trajectory(self, z0: Tensor, t0: Tensor, query_times: Tensor) -> tuple[Tensor, int]:
        """``z0`` ``(B, D)`` at ``t0`` ``(B,)`` -> latents ``(B, Q, D)`` at ``query_times`` ``(B, Q)``; and the NFE."""
        before = self.dynamics.nfe_forward
        with torch.autocast(device_type=z0.device.type, enabled=False):
            zs = odeint_batch(self.dynamics, z0.float(), query_times.float(), t0=t0.float(), solver=self.solver)
        return zs, self.dynamics.nfe_forward - before

    def decode(self, zs: Tensor, skips: list[Tensor] | None) -> Tensor:
        """Latents ``(B, Q, D)`` (+ per-clip skip maps ``(B, C_l, H_l, W_l)``) -> logits ``(B, Q, C, H, W)``."""
        b, q, d = zs.shape
        flat_skips = None
        if skips is not None:
            flat_skips = [s.unsqueeze(1).expand(-1, q, *s.shape[1:]).reshape(b * q, *s.shape[1:]) for s in skips]
        flat = zs.reshape(b * q, d)
        if self.activation_checkpointing and torch.is_grad_enabled():
            logits = checkpoint(self.decoder, flat, flat_skips, use_reentrant=False)
        else:
            logits = self.decoder(flat, flat_skips)
        return logits.view(b, q, *logits.shape[1:])


class LatentVideoModel(ContinuousTimeVideoModel):
    """What the latent models share: a context encoder (built by the subclass's :meth:`build_context`) and a
    :class:`LatentTrajectoryDecoder` (latent ODE + per-frame conv decoder).

    Args:
        in_channels, image_size: the frames (``C``, ``H = W``).
        channels: conv encoder widths; the decoder mirrors them.
        latent_dim: size of the latent state.
        ode_hidden, ode_layers: the dynamics MLP.
        solver: the latent ODE's solver (time units of the clip); default :class:`~odevideo.solvers.SolverConfig`.
        skip_connections: the decoder also sees the encoder features of the conditioning frame.
        time_dependent: ``f(t, z)`` instead of ``f(z)``.
        **context: the subclass's own arguments, passed to :meth:`build_context`.
    """

    def __init__(
        self,
        in_channels: int = 1,
        image_size: int = 64,
        channels: tuple[int, ...] = (32, 64, 128),
        latent_dim: int = 32,
        ode_hidden: int = 128,
        ode_layers: int = 2,
        solver: SolverConfig | None = None,
        skip_connections: bool = True,
        time_dependent: bool = False,
        **context,
    ):
        super().__init__()
        channels = list(channels)
        self.build_context(in_channels, image_size, channels, latent_dim, **context)  # before the decoder: RNG order
        self.latent = LatentTrajectoryDecoder(
            latent_dim, in_channels, image_size, channels, ode_hidden, ode_layers, solver or SolverConfig(),
            channels if skip_connections else None, time_dependent,
        )
        self.skip_connections = skip_connections
        self.latent_dim, self.ode_hidden, self.ode_layers, self.time_dependent = (
            latent_dim, ode_hidden, ode_layers, time_dependent)

    def build_context(self, in_channels: int, image_size: int, channels: list[int], latent_dim: int) -> None:
        raise NotImplementedError
