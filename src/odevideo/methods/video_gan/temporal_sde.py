"""The latent SDE temporal generator and the paper's TGAN-SDE and MoCoGAN-SDE configurations.

:class:`SDETemporalGenerator` samples ``dx = mu(x) dt + sigma(x) dW`` (diagonal Ito noise) from ``x(0)`` given by
``z``, forwards to times after frame 0 and pathwise backwards to times before it, with repeatable noise from a
seed. :func:`tgan_sde` and :func:`mocogan_sde` build it with the paper's widths, FCN and solver.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from odevideo.errors import InputError
from odevideo.methods.video_gan.temporal_common import (
    PAPER_EQUAL_PARAMS_HIDDEN,
    PAPER_FRAME_DT,
    TGAN_FCN_WIDTHS,
    _check_continuous_options,
    _fcn,
    _gather,
    _net,
    _positive_int,
    _resolve_hidden,
    _times_and_initial_state,
    _with_time,
)
from odevideo.solvers import SDEFunction, SDESolverConfig, sdeint

__all__ = ["SDETemporalGenerator", "tgan_sde", "mocogan_sde"]


class _LatentSDE(SDEFunction):
    """Diagonal Ito SDE ``dx = mu(t, x) dt + sigma(t, x) dW`` (``t`` only used when ``time_dependent``)."""

    def __init__(self, drift: nn.Module, diffusion: nn.Module, time_dependent: bool):
        super().__init__(noise_type="diagonal", sde_type="ito")
        self.drift = drift
        self.diffusion = diffusion
        self.time_dependent = time_dependent

    def _input(self, t: Tensor, x: Tensor) -> Tensor:
        return _with_time(x, t) if self.time_dependent else x

    def f(self, t: Tensor, x: Tensor) -> Tensor:
        return self.drift(self._input(t, x))

    def g(self, t: Tensor, x: Tensor) -> Tensor:
        return self.diffusion(self._input(t, x))


class _BackwardSDE(SDEFunction):
    """The SDE run backwards in time: ``s = -t``, ``dx = -mu(-s, x) ds + sigma(-s, x) dW'_s``."""

    def __init__(self, sde: _LatentSDE):
        super().__init__(noise_type="diagonal", sde_type="ito")
        self.sde = sde

    def f(self, s: Tensor, x: Tensor) -> Tensor:
        return -self.sde.f(-s, x)

    def g(self, s: Tensor, x: Tensor) -> Tensor:
        return self.sde.g(-s, x)


class SDETemporalGenerator(nn.Module):
    """Latent SDE temporal generator: ``dx = mu(x) dt + sigma(x) dW`` (diagonal Ito noise), ``x(0)`` from ``z``.

    Drift and diffusion are ``f_type`` networks of the latent (``"single"``: ``tanh(Linear(D, D))`` each, the
    paper's TGAN-SDE; ``"two_layer"``: ``Linear(D, h), tanh, Linear(h, D)``), after the optional FCN on ``z``.
    With the TGAN FCN and ``D = 100``: 628,324 + 2 * 10,100 = 648,524 parameters. Paths are sampled by
    :func:`odevideo.solvers.sdeint`, which builds an explicit ``torchsde.BrownianInterval`` from the seed.

    Times before frame 0 (``t < 0``) integrate the SDE backwards from ``x(0)``: the reversed-time equation
    ``dx = -mu(x) ds + sigma(x) dW'_s`` in ``s = -t``, driven by a Brownian motion ``W'`` independent of the
    forward one (the pathwise backward integration; not the distributional time reversal, which would need
    the score of the forward marginals).

    ``forward(z, times, *, seed=None, bm=None)``: ``seed`` (int or ``torch.Generator``) makes the noise
    repeatable; ``None`` draws it from torch's global RNG. ``bm``: a torchsde Brownian motion of size
    ``(B, D)`` covering ``[0, max time * frame_dt]`` for the forward part (then no negative times).
    For a given seed, the Brownian path and the solver grid (``k * dt`` from frame 0) are fixed by the *span* of
    the requested times (0 to the latest time; 0 to the earliest for the backward part), and times between grid
    points are interpolated linearly by torchsde. So a denser grid over the same span samples the same path at
    the shared times (checked with torchsde 0.2.6); a different span draws another path from the same law.

    Args: ``latent_dim``, ``fcn``, ``f_type`` (``"single"`` or ``"two_layer"``), ``hidden_dim``,
    ``time_dependent``, ``frame_dt`` as in :class:`ODETemporalGenerator`; ``solver`` defaults to
    Euler-Maruyama with ``dt = frame_dt / 4``.
    """

    def __init__(
        self,
        latent_dim: int = 100,
        *,
        f_type: str = "single",
        hidden_dim: int | None = None,
        fcn: Sequence[int] | None = None,
        time_dependent: bool = False,
        frame_dt: float = 1.0,
        solver: SDESolverConfig | None = None,
    ):
        super().__init__()
        d = self.z_dim = self.out_dim = _positive_int("latent_dim", latent_dim)
        if f_type not in ("single", "two_layer"):
            raise InputError(f"SDETemporalGenerator: f_type={f_type!r} is not supported; use 'single' or 'two_layer'.")
        self.frame_dt = _check_continuous_options(time_dependent, frame_dt, solver, SDESolverConfig,
                                                  "an SDESolverConfig")
        self.f_type = f_type
        self.time_dependent = time_dependent
        self.solver = solver if solver is not None else SDESolverConfig("euler", dt=self.frame_dt / 4)
        if self.solver.noise_type != "diagonal" or self.solver.sde_type != "ito":
            raise InputError(
                "SDETemporalGenerator has diagonal Ito noise; use SDESolverConfig(noise_type='diagonal', "
                "sde_type='ito') with an Ito method (euler, milstein, srk)."
            )
        self.fcn = _fcn(d, fcn)
        self.hidden_dim = _resolve_hidden(f_type, hidden_dim, None, default=d, in_dim=d, out_dim=d, copies=2,
                                          other=0)
        in_dim = d + (1 if time_dependent else 0)
        self.sde = _LatentSDE(_net(f_type, in_dim, self.hidden_dim, d), _net(f_type, in_dim, self.hidden_dim, d),
                              time_dependent)

    def initial_state(self, z: Tensor) -> Tensor:
        """``(B, z_dim)`` -> the SDE state at frame 0 ``(B, D)``: the (FCN'd) ``z``."""
        return z if self.fcn is None else self.fcn(z)

    def forward(
        self,
        z: Tensor,
        times: Tensor | Sequence[float],
        *,
        seed: int | torch.Generator | None = None,
        bm: Any | None = None,
    ) -> Tensor:
        name = type(self).__name__
        t, x0 = _times_and_initial_state(self, z, times)
        uniq, inverse = torch.unique(t.reshape(-1), sorted=True, return_inverse=True)
        before, after = uniq[uniq < 0], uniq[uniq >= 0]
        if bm is not None and (seed is not None or before.numel()):
            raise InputError(
                f"{name}: bm drives the forward part only; pass either bm (and times >= 0) or seed, not both."
            )
        # Two independent entropies, drawn up front so the forward path does not depend on whether
        # negative times were asked for.
        if isinstance(seed, int) and not isinstance(seed, bool):
            seed = torch.Generator().manual_seed(seed)
        elif seed is not None and not isinstance(seed, torch.Generator):
            raise InputError(f"{name}: seed must be an int, a torch.Generator or None, got {type(seed).__name__}.")
        fwd_seed, bwd_seed = (None, None) if bm is not None else (
            int(torch.randint(0, 2**62, (), generator=seed, device=seed.device if seed is not None else "cpu"))
            for _ in range(2)
        )
        parts = []
        if before.numel():
            s = (-before).flip(0)  # increasing, > 0
            ys = sdeint(_BackwardSDE(self.sde), x0, s, t0=0.0, solver=self.solver, seed=bwd_seed)
            parts.append(ys.flip(0))
        if after.numel():
            parts.append(sdeint(self.sde, x0, after, t0=0.0, solver=self.solver, bm=bm, seed=fwd_seed))
        per_time = torch.cat(parts).transpose(0, 1)  # (B, U, D)
        return _gather(per_time, inverse.view(t.shape))



def tgan_sde(*, fcn: bool = True, **kwargs: Any) -> SDETemporalGenerator:
    """TGAN-SDE as in the paper: FCN + single-layer drift and diffusion (648,524 parameters), Euler dt 0.025."""
    kwargs.setdefault("frame_dt", PAPER_FRAME_DT)
    kwargs.setdefault("solver", SDESolverConfig("euler", dt=0.025))
    return SDETemporalGenerator(100, f_type="single", fcn=TGAN_FCN_WIDTHS if fcn else None, **kwargs)


def mocogan_sde(*, hidden_dim: int = PAPER_EQUAL_PARAMS_HIDDEN["mocogan"], **kwargs: Any) -> SDETemporalGenerator:
    """MoCoGAN-SDE per the authors' SDE module: two-layer drift and diffusion of width 49, no FCN (3,266)."""
    kwargs.setdefault("frame_dt", PAPER_FRAME_DT)
    kwargs.setdefault("solver", SDESolverConfig("euler", dt=0.025))
    return SDETemporalGenerator(16, f_type="two_layer", hidden_dim=hidden_dim, **kwargs)
