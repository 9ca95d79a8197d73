"""A continuous-time interpolator whose output at initialisation is a classical interpolation, and which learns
only corrections to it.

Between two observed frames ``I0`` (time 0 of the gap) and ``I1`` (time 1), the frame at a fraction ``tau``
of the gap is::

    g      = 4 tau (1 - tau)                                  # corrections vanish at the observations
    F_t0   = tau F_10       + g dF_0                          # flow from the frame at tau back to I0
    F_t1   = (1 - tau) F_01 + g dF_1                          # ... and on to I1
    m      = sigmoid(log((1 - tau) / tau) + g dm)             # visibility / blend weight of I0 (1 - tau at g dm = 0)
    W_s    = m warp_s(I0, F_t0) + (1 - m) warp_s(I1, F_t1)    # both frames warped with sampling s
    B      = (1 - tau) I0 + tau I1                            # the linear blend (no motion)
    S      = c W_start + (1 - c) B, X = c W_other + (1 - c) B # the start's sampling and the other one
    I(tau) = S + g a_X (X - S) + g a_B (B - S) + g R

``F_01``, ``F_10`` are the classical flows (OpenCV's DIS, or zero: then the start is the linear blend).
``c`` is 1, or for the ``dis_flow_or_blend`` start the classical per-pixel confidence of
:func:`~odevideo.interpolation.classical.flow_confidence` (do the two warps agree better than the unmoved
frames?), computed from the current flows and not trained through.
``sampling`` is the start's warp: bilinear (the classical DIS-flow interpolation) or bicubic, which keeps the
fine detail that bilinear sampling at sub-pixel positions smooths away (on small frames it is worth 1-4 dB,
see docs/frame_interpolation.md). The per-pixel weights ``a_X``, ``a_B`` let the model use the other
sampling and, where nothing moves, the blend, which no flow correction reaches easily.
``dF_0, dF_1, dm, a_X, a_B, R`` come from a latent ODE: an encoder maps ``(I0, I1, F_01, F_10)`` to ``z(0)`` at a
quarter of the working size, ``dz/ds = tau f(z)`` for ``s`` in [0, 1] gives ``z(tau)`` (the ODE over the gap,
rescaled so that every query solves its own ODE: a frame never depends on the other query times), and a
decoder maps ``z(tau)`` with the classically warped frames to the corrections. The decoder's last layer is
zero at initialisation, so the output is exactly the classical interpolation (``m = 1 - tau``) until
training moves it.

Full resolution from a small model: the networks run at ``work_size`` (longer side); the classical flows are
estimated at the frames' own size, and the corrections are upsampled bilinearly (flows rescaled to pixels of
the full size) and applied to the full-size frames. At an observed time the observation itself is returned.
"""

from __future__ import annotations

import copy

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from odevideo.errors import InputError
from odevideo.interpolation.classical import check_finest_scale, dis_flow, flow_confidence
from odevideo.methods.prediction import VideoPrediction, check_inputs
from odevideo.nn.warping import WARP_SAMPLINGS, warp
from odevideo.solvers import NFECounter, SolverConfig, odeint

#: the classical interpolations a model can start from
STARTS = ("dis_flow", "dis_flow_or_blend", "linear_blend")


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.LeakyReLU(0.1))


def _up(x: Tensor, size) -> Tensor:
    return F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=False)


class _GapODEFunc(nn.Module):
    """``dz/ds = tau f(z)``: the gap's dynamics, with ``s`` in [0, 1] the solver's time and ``tau`` ``(N,)``
    the query time, so that ``z(s=1) = z(tau)`` of the unscaled ODE ``dz/dtau = f(z)``."""

    def __init__(self, channels: int):
        super().__init__()
        c = channels
        self.net = nn.Sequential(nn.Conv2d(c, c, 3, 1, 1), nn.Tanh(), nn.Conv2d(c, c, 3, 1, 1))
        self.tau: Tensor | None = None

    def forward(self, s: Tensor, z: Tensor) -> Tensor:
        return self.tau.view(-1, 1, 1, 1).to(z.dtype) * self.net(z)


class ODEFlowInterpolator(nn.Module):
    """Continuous-time frame interpolation starting at a classical answer (see the module docstring).

    Args:
        in_channels: frame channels (1 or 3).
        start: ``"dis_flow"`` (OpenCV DIS optical flow), ``"dis_flow_or_blend"`` (the DIS-flow interpolation
            where its warps agree, the blend where the unmoved frames agree better; the strongest start) or
            ``"linear_blend"``.
        sampling: how the start warps the frames, ``"bilinear"`` or ``"bicubic"``.
        dis_preset: OpenCV's DIS preset (``ultrafast``, ``fast``, ``medium``).
        dis_finest_scale: DIS's finest pyramid level (0: the frames' own resolution; ``None``: the preset's,
            half resolution for ``medium``), see :func:`~odevideo.interpolation.classical.dis_flow`.
        work_size: the networks' largest working size in pixels (longer side); frames larger than this are
            processed at a reduced size and the corrections upsampled.
        work_scale: the networks run at this fraction of the frames' size (capped by ``work_size``): a model
            trained on full-resolution crops sees the same scale of detail on a whole full-resolution frame.
        channels: feature channels at the working size.
        solver: the latent ODE's solver (time in fractions of the gap, 0 to ``tau``).

    Call as a video model: ``model(frames (B, T, C, H, W), times (B, T), mask, query_times (B, Q))`` returns a
    :class:`~odevideo.methods.prediction.VideoPrediction` whose frame at each query time interpolates the two
    nearest observed frames (before the first / after the last observation it repeats that observation).
    Or between two frames: :meth:`interpolate` / :meth:`interpolate_pairs`.
    """

    interpolates = True

    def __init__(self, in_channels: int = 3, start: str = "dis_flow", dis_preset: str = "medium",
                 work_size: int = 64, channels: int = 32, solver: SolverConfig | None = None,
                 work_scale: float = 1.0, sampling: str = "bilinear", dis_finest_scale: int | None = None):
        super().__init__()
        if start not in STARTS:
            raise InputError(f"start must be one of {', '.join(STARTS)}, got {start!r}")
        if sampling not in WARP_SAMPLINGS:
            raise InputError(f"sampling must be one of {', '.join(WARP_SAMPLINGS)}, got {sampling!r}")
        self.sampling = sampling
        self.other_sampling = next(m for m in WARP_SAMPLINGS if m != sampling)
        if work_size < 16 or channels < 4 or not 0 < work_scale <= 1:
            raise InputError(f"work_size must be >= 16, channels >= 4 and work_scale in (0, 1], got {work_size}, "
                             f"{channels}, {work_scale}")
        self.work_scale = float(work_scale)
        self.in_channels, self.start, self.dis_preset = in_channels, start, dis_preset
        check_finest_scale(dis_finest_scale, "dis_finest_scale")
        self.dis_finest_scale = dis_finest_scale
        self.work_size = int(work_size)
        self.solver = solver or SolverConfig(method="rk4", step_size=0.25)
        c1, c2, c3 = channels, channels * 3 // 2, channels * 2
        c = in_channels
        self.enc1 = nn.Sequential(_conv(2 * c + 4, c1), _conv(c1, c1))
        self.enc2 = _conv(c1, c2, 2)
        self.enc3 = nn.Sequential(_conv(c2, c3, 2), nn.Conv2d(c3, c3, 3, 1, 1))
        self.ode_func = _GapODEFunc(c3)
        self.dec2 = _conv(c3 + c2, c2)
        self.dec1 = nn.Sequential(_conv(c2 + c1 + 2 * c, c1), _conv(c1, c1))
        self.head = nn.Conv2d(c1, 7 + c, 3, 1, 1)  # dF_0 (2), dF_1 (2), dm (1), a_X (1), a_B (1), R (C)
        self.last_nfe = 0  # latent-ODE evaluations of the last interpolate_pairs call
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def classical_start(self) -> ODEFlowInterpolator:
        """A copy whose output layer is zero again: exactly the classical interpolation this model started from
        (its configuration, its sampling), to show what training added."""
        start = copy.deepcopy(self)
        with torch.no_grad():
            start.head.weight.zero_()
            start.head.bias.zero_()
        return start

    # ------------------------------------------------------------------ sizes
    def working_shape(self, h: int, w: int) -> tuple[int, int]:
        """The networks' ``(h, w)`` for frames of ``h x w``: scaled by ``work_scale``, and further if needed so that
        the longer side is at most ``work_size``; each side a multiple of 4 (two stride-2 levels)."""
        s = min(1.0, self.work_scale, self.work_size / max(h, w))
        return max(4, 4 * round(h * s / 4)), max(4, 4 * round(w * s / 4))

    def classical_flows(self, frame0: Tensor, frame1: Tensor) -> tuple[Tensor, Tensor]:
        """``(F_01, F_10)`` ``(N, 2, H, W)`` of the starting point (zeros for the linear blend)."""
        if self.start == "linear_blend":
            z = frame0.new_zeros(frame0.shape[0], 2, *frame0.shape[-2:])
            return z, z
        f01, f10 = dis_flow(frame0, frame1, self.dis_preset, self.dis_finest_scale)
        return f01.to(frame0.dtype), f10.to(frame0.dtype)

    # ------------------------------------------------------------------ core
    def interpolate_pairs(self, frame0: Tensor, frame1: Tensor, tau: Tensor,
                          flows: tuple[Tensor, Tensor] | None = None) -> Tensor:
        """Frames ``(N, C, H, W)`` at fractions ``tau`` ``(N,)`` (strictly inside (0, 1) for a correction; 0 and 1
        give the end frames) between ``frame0`` and ``frame1`` ``(N, C, H, W)``. ``flows``: precomputed
        :meth:`classical_flows` (one estimate can serve many query times)."""
        if frame0.dim() != 4 or frame0.shape != frame1.shape or frame0.shape[1] != self.in_channels:
            raise InputError(f"expected two (N, {self.in_channels}, H, W) frame batches, got "
                             f"{tuple(frame0.shape)} and {tuple(frame1.shape)}")
        n, _, hh, ww = frame0.shape
        tau = torch.as_tensor(tau, dtype=frame0.dtype, device=frame0.device).reshape(-1)
        if tau.shape != (n,) or not bool(((tau >= 0) & (tau <= 1)).all()):
            raise InputError(f"tau must be ({n},) fractions of the gap in [0, 1], got {tau.tolist()}")
        f01, f10 = flows if flows is not None else self.classical_flows(frame0, frame1)
        inner = (tau > 0) & (tau < 1)
        t = tau.clamp(1e-6, 1 - 1e-6).view(-1, 1, 1, 1)
        gate = 4 * t * (1 - t)
        h, w = self.working_shape(hh, ww)
        scale = frame0.new_tensor([w / ww, h / hh]).view(1, 2, 1, 1)

        def small(x: Tensor) -> Tensor:
            if (h, w) == (hh, ww):
                return x
            return F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False, antialias=True)

        x0, x1 = small(frame0), small(frame1)
        s01, s10 = small(f01) * scale, small(f10) * scale
        norm = 16.0 / max(h, w)  # flows in sixteenths of the frame: inputs of order one
        e1 = self.enc1(torch.cat([x0, x1, s01 * norm, s10 * norm], 1))
        e2 = self.enc2(e1)
        z0 = self.enc3(e2)
        counter = NFECounter(self.ode_func)
        self.ode_func.tau = t.view(-1)
        try:
            zt = odeint(counter, z0, torch.tensor([0.0, 1.0]), solver=self.solver)[-1]
        finally:
            self.ode_func.tau = None
        self.last_nfe = counter.nfe_forward
        wt0 = warp(x0, t * s10)
        wt1 = warp(x1, (1 - t) * s01)
        d2 = self.dec2(torch.cat([_up(zt, e2.shape[-2:]), e2], 1))
        d1 = self.dec1(torch.cat([_up(d2, (h, w)), e1, wt0, wt1], 1))
        out = self.head(d1)
        if (h, w) != (hh, ww):
            out = _up(out, (hh, ww))
        d0 = out[:, 0:2] / scale
        d1f = out[:, 2:4] / scale
        dm, a_other, a_blend, res = out[:, 4:5], out[:, 5:6], out[:, 6:7], out[:, 7:]
        ft0 = t * f10 + gate * d0
        ft1 = (1 - t) * f01 + gate * d1f
        # m = sigmoid(log((1 - tau) / tau) + g dm), written so that dm = 0 gives 1 - tau to the last bit
        a = (1 - t) * torch.exp((gate * dm).clamp(-30, 30))
        m = a / (a + t)

        blend = (1 - t) * frame0 + t * frame1
        w0, w1 = warp(frame0, ft0, sampling=self.sampling), warp(frame1, ft1, sampling=self.sampling)
        confidence = None
        if self.start == "dis_flow_or_blend":
            with torch.no_grad():  # a classical decision, not trained through
                confidence = flow_confidence(frame0, frame1, w0, w1)

        def mixed(w0: Tensor, w1: Tensor) -> Tensor:
            flow_frame = m * w0 + (1 - m) * w1
            return flow_frame if confidence is None else confidence * flow_frame + (1 - confidence) * blend

        start = mixed(w0, w1)
        other = mixed(warp(frame0, ft0, sampling=self.other_sampling), warp(frame1, ft1, sampling=self.other_sampling))
        frame = start + gate * (a_other * (other - start) + a_blend * (blend - start) + res)
        # exactly the observation at an observed time
        ends = torch.where(tau.view(-1, 1, 1, 1) >= 1, frame1, frame0)
        return torch.where(inner.view(-1, 1, 1, 1), frame, ends)

    @torch.no_grad()
    def interpolate(self, frame0: Tensor, frame1: Tensor, taus: Tensor) -> Tensor:
        """``(C, H, W)``, ``(C, H, W)``, ``(K,)`` -> ``(K, C, H, W)`` in [0, 1]: one flow estimate for all ``taus``
        (the :class:`~odevideo.interpolation.Interpolator` interface of ``odevideo retime``)."""
        taus = torch.as_tensor(taus, dtype=frame0.dtype, device=frame0.device).reshape(-1)
        k = taus.shape[0]
        if frame0.dim() != 3:
            raise InputError(f"interpolate expects (C, H, W) frames, got {tuple(frame0.shape)}")
        if k == 0:
            return frame0.new_zeros((0, *frame0.shape))
        f01, f10 = self.classical_flows(frame0[None], frame1[None])
        e = (k, -1, -1, -1)
        out = self.interpolate_pairs(frame0[None].expand(e), frame1[None].expand(e), taus,
                                     (f01.expand(e), f10.expand(e)))
        return out.clamp(0, 1)

    # ------------------------------------------------------------------ video-model interface
    def forward(self, frames: Tensor, times: Tensor, mask: Tensor | None, query_times: Tensor) -> VideoPrediction:
        times, mask, query_times = check_inputs(frames, times, mask, query_times)
        b, t = frames.shape[:2]
        q = query_times.shape[1]
        # nearest observed frame at or before (i0) / at or after (i1) each query
        idx = torch.arange(t, device=frames.device)
        before = (times[:, None, :] <= query_times[:, :, None]) & mask[:, None, :]
        after = (times[:, None, :] >= query_times[:, :, None]) & mask[:, None, :]
        i0 = torch.where(before, idx, -1).max(-1).values  # (B, Q)
        i1 = torch.where(after, idx, t).min(-1).values
        first = torch.where(mask, idx, t).min(1).values[:, None].expand(b, q)
        last = torch.where(mask, idx, -1).max(1).values[:, None].expand(b, q)
        i0 = torch.where(i0 < 0, first, i0)  # before the first observation: hold it
        i1 = torch.where(i1 >= t, last, i1)  # after the last: hold it
        t0 = times.gather(1, i0)
        t1 = times.gather(1, i1)
        gap = (t1 - t0).clamp(min=torch.finfo(times.dtype).tiny)
        tau = torch.where(i1 > i0, ((query_times - t0) / gap).clamp(0, 1), torch.zeros_like(t0))
        # one flow estimate per distinct observed pair
        bi = torch.arange(b, device=frames.device)[:, None].expand(b, q)
        keys = torch.stack([bi, i0, i1], -1).reshape(-1, 3)
        uniq, inv = torch.unique(keys, dim=0, return_inverse=True)
        need = (tau > 0) & (tau < 1)
        flat_tau = tau.reshape(-1)
        f0_all = frames[uniq[:, 0], uniq[:, 1]]
        f1_all = frames[uniq[:, 0], uniq[:, 2]]
        flat = torch.where((flat_tau >= 1).view(-1, 1, 1, 1), f1_all[inv], f0_all[inv])  # the observations
        sel = need.reshape(-1).nonzero().squeeze(1)
        nfe = 0
        if sel.numel():
            pairs = torch.unique(inv[sel])  # 0 < tau < 1 only between two distinct observations
            flows = self.classical_flows(f0_all[pairs], f1_all[pairs])
            pos = torch.full((uniq.shape[0],), -1, dtype=torch.long, device=frames.device)
            pos[pairs] = torch.arange(pairs.numel(), device=frames.device)
            p = pos[inv[sel]]
            pred = self.interpolate_pairs(f0_all[inv[sel]], f1_all[inv[sel]], flat_tau[sel],
                                          (flows[0][p], flows[1][p]))
            nfe = self.last_nfe
            flat = flat.index_copy(0, sel, pred)
        frames_out = flat.view(b, q, *frames.shape[2:])
        return VideoPrediction(frames=frames_out, logits=frames_out, latents=frames.new_zeros(b, q, 0),
                               query_times=query_times, nfe=nfe)
