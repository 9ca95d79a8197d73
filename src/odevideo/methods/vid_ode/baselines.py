"""Baselines of the Vid-ODE paper (Park et al., AAAI 2021): tables 1, 2, 4, 5 and figure 8.

All share the time-aware API ``forward(frames (B,T,C,H,W), times (B,T), mask (B,T) | None,
query_times (B,Q) | (Q,)) -> VideoPrediction`` and the input conventions of :mod:`odevideo.methods.prediction`.
Masked (unobserved) frames never influence any output: they are zeroed before any network sees them
and recurrent steps at unobserved frames are exact no-ops.

* :class:`ODEFCBaseline` / :class:`ODEConvBaseline` (table 1; ODE-Conv is ablation (A) of table 5): no
  ODE-ConvGRU. The ``n_frames`` input frames are stacked along the channel axis (unobserved ones zeroed),
  together with one mask channel and one relative-time channel (``t_i - t_last_observed``) per frame, so
  irregular inputs are visible to the encoder. A conv encoder maps the stack to the initial latent at the
  last observed time; the latent (an FC vector for ODE-FC, a feature map for ODE-Conv) follows an ODE
  (MLP resp. conv dynamics) to every query time (before the last observation = solved backwards); a conv
  decoder turns each latent into a frame (``frames = sigmoid(logits)``). Any finite query times, any order.
* :class:`ConvGRUBaseline` (tables 2 and 4): conv encoder E -> ConvGRU over the observed frames in time
  order -> autoregressive decoder ConvGRU. ``time_input`` selects the variant:

  - ``"none"``: plain ConvGRU; the time gaps are ignored (only the order of the frames matters);
  - ``"delta_t"``: ConvGRU-Δt (RNN-Δt with a ConvGRU cell): the gap to the previous step is an extra
    constant input channel of the cell;
  - ``"decay"``: ConvGRU-Decay (GRU-D, Che et al. 2018): before every update the hidden state is decayed
    ``h <- exp(-relu(w_c * gap + b_c)) * h`` with learnt per-channel ``w_c, b_c``.

  It only *extrapolates*: query times must be strictly increasing and after each clip's last observed
  frame (else :class:`~odevideo.errors.InputError`). Each query is one decoder step: its input is the
  previous frame (the last observed frame for the first query, then the previous prediction) and the gap
  ``s_k - s_{k-1}`` (``s_0`` = last observed time). So on a regular query grid this is ordinary next-frame
  prediction; with irregular query spacing the plain variant cannot tell (by design).
* :class:`VidRNN` (figure 8): Vid-ODE with every ODE replaced by a ConvGRU. The encoder is a ConvGRU over
  the observed embeddings (backwards in time, as Vid-ODE's); the decoder is a ConvGRU stepping on the
  regular grid ``t0 + n * step`` from the first observed time ``t0`` (input = its own hidden state). A
  query between two grid points gets the *linear interpolation* of the two adjacent hidden states, which
  is then decoded exactly as in Vid-ODE (its conv decoder G, flow warping and mask composition). Query
  times as Vid-ODE: strictly increasing, not before the first observed frame.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from odevideo.errors import InputError
from odevideo.methods.prediction import (
    VideoPrediction,
    check_inputs,
    first_observed_index,
    gather_time,
    last_observed_index,
)
from odevideo.methods.vid_ode.vid_ode import (
    WARP_PADDINGS,
    WARP_PREVIOUS,
    VidODEConvDecoder,
    VidODEConvEncoder,
    VidODEPrediction,
    _choice,
    check_flow_stride,
    compose_frame_chain,
    frame_gaps,
    gather_anchors,
)
from odevideo.nn.convgru import ConvGRUCell, ConvODEFunc
from odevideo.nn.odefunc import MLPODEFunc
from odevideo.solvers import NFECounter, SolverConfig, odeint_batch

__all__ = ["ODEFCBaseline", "ODEConvBaseline", "ConvGRUBaseline", "VidRNN", "TIME_INPUTS"]

TIME_INPUTS = ("none", "delta_t", "decay")
_DEFAULT_SOLVER = SolverConfig(method="rk4", step_size=0.05)


def _norm(channels: int) -> nn.Module:
    return nn.GroupNorm(math.gcd(8, channels), channels)


class _FrameDecoder(nn.Module):
    """``(N, K, h, w)`` -> ``(N, C, h * 2**n_ups, w * 2**n_ups)`` logits (upsample + conv + norm + ReLU)."""

    def __init__(self, hidden_channels: int, out_channels: int, n_ups: int):
        super().__init__()
        ch = hidden_channels
        layers: list[nn.Module] = []
        for _ in range(n_ups):
            nxt = max(1, ch // 2)
            layers += [nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                       nn.Conv2d(ch, nxt, 3, 1, 1), _norm(nxt), nn.ReLU()]
            ch = nxt
        layers.append(nn.Conv2d(ch, out_channels, 3, 1, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


def _check_common(name: str, frames: Tensor, times: Tensor, mask: Tensor | None, query_times: Tensor,
                  in_channels: int, n_downs: int):
    times, mask, query_times = check_inputs(frames, times, mask, query_times)
    c, h, w = frames.shape[2:]
    if c != in_channels:
        raise InputError(f"{name} was built for {in_channels}-channel frames, got {c}; set in_channels={c}.")
    step = 2**n_downs
    if h % step or w % step:
        raise InputError(
            f"frame size {h}x{w} is not divisible by 2**n_downs={step}; resize/crop the frames or lower n_downs."
        )
    if query_times.shape[1] == 0:
        raise InputError("query_times is empty; ask for at least one time.")
    return times, mask, query_times


def _check_increasing(name: str, query_times: Tensor) -> None:
    if query_times.shape[1] > 1 and not bool((query_times[:, 1:] > query_times[:, :-1]).all()):
        raise InputError(
            f"{name} needs strictly increasing query_times in every clip (frames are generated one after the "
            f"other); sort the query times and drop duplicates."
        )


def _zero_unobserved(frames: Tensor, mask: Tensor) -> Tensor:
    return torch.where(mask[:, :, None, None, None], frames, torch.zeros_like(frames))


def _check_hidden(hidden_channels: int, n_downs: int) -> None:
    if n_downs < 0 or hidden_channels % (2**n_downs) != 0 or hidden_channels < 2**n_downs:
        raise InputError(f"hidden_channels={hidden_channels} must be a positive multiple of 2**n_downs={2 ** n_downs}.")


# ---------------------------------------------------------------------------------------------------------------
# ODE-FC / ODE-Conv


class _StackedODEBaseline(nn.Module):
    """Shared code of ODE-FC and ODE-Conv (module docstring)."""

    fc: bool = False

    def __init__(self, in_channels: int, n_frames: int, frame_size: int | tuple[int, int], hidden_channels: int,
                 n_downs: int, latent_dim: int, ode_hidden: int | None, ode_layers: int,
                 solver: SolverConfig | None):
        super().__init__()
        _check_hidden(hidden_channels, n_downs)
        if n_frames < 1:
            raise InputError(f"n_frames={n_frames} must be >= 1 (the number of input frames stacked on channels).")
        if solver is not None and not isinstance(solver, SolverConfig):
            raise InputError(f"solver must be a SolverConfig or None, got {type(solver).__name__}.")
        self.in_channels, self.n_frames, self.n_downs = in_channels, n_frames, n_downs
        self.hidden_channels = hidden_channels
        hh, ww = (frame_size, frame_size) if isinstance(frame_size, int) else tuple(frame_size)
        self.frame_size = (int(hh), int(ww))
        self.map_shape = (hidden_channels, hh // 2**n_downs, ww // 2**n_downs)
        self.encoder = VidODEConvEncoder(n_frames * (in_channels + 2), hidden_channels, n_downs)
        self.solver = solver if solver is not None else _DEFAULT_SOLVER
        if self.fc:
            flat = math.prod(self.map_shape)
            self.to_latent = nn.Linear(flat, latent_dim)
            self.dynamics = NFECounter(MLPODEFunc(latent_dim, ode_hidden or 2 * latent_dim, ode_layers))
            self.from_latent = nn.Linear(latent_dim, flat)
        else:
            self.dynamics = NFECounter(ConvODEFunc(hidden_channels, ode_hidden, ode_layers))
        self.decoder = _FrameDecoder(hidden_channels, in_channels, n_downs)

    def forward(self, frames: Tensor, times: Tensor, mask: Tensor | None, query_times: Tensor) -> VideoPrediction:
        name = type(self).__name__
        times, mask, query_times = _check_common(name, frames, times, mask, query_times, self.in_channels, self.n_downs)
        b, t, c, hh, ww = frames.shape
        if t != self.n_frames or (hh, ww) != self.frame_size:
            raise InputError(
                f"{name} stacks exactly n_frames={self.n_frames} frames of size {self.frame_size} on the channel axis, "
                f"got {t} frames of {hh}x{ww}; pad with masked frames or build it with "
                f"n_frames={t}, frame_size=({hh}, {ww})."
            )
        q = query_times.shape[1]
        last = gather_time(times, last_observed_index(mask))
        rel = torch.where(mask, times - last[:, None], torch.zeros_like(times))
        ones = frames.new_ones(b, t, 1, hh, ww)
        stack = torch.cat([_zero_unobserved(frames, mask), mask[:, :, None, None, None].to(frames.dtype) * ones,
                           rel[:, :, None, None, None] * ones], dim=2).flatten(1, 2)
        z0 = self.encoder(stack)
        if self.fc:
            z0 = self.to_latent(z0.flatten(1))
        nfe0 = self.dynamics.nfe_forward
        zs = odeint_batch(self.dynamics, z0, query_times, t0=last, solver=self.solver)  # (B, Q, ...)
        nfe = self.dynamics.nfe_forward - nfe0
        maps = self.from_latent(zs).view(b * q, *self.map_shape) if self.fc else zs.flatten(0, 1)
        logits = self.decoder(maps).view(b, q, c, hh, ww)
        return VideoPrediction(frames=torch.sigmoid(logits), logits=logits, latents=zs.flatten(2),
                               query_times=query_times, nfe=nfe)


class ODEFCBaseline(_StackedODEBaseline):
    """ODE-FC (paper table 1): channel-stacked frames -> conv encoder -> FC latent vector -> MLP-dynamics ODE
    from the last observed time to each query time -> conv decoder. See the module docstring.

    ``forward(frames (B, n_frames, C, H, W), times, mask, query_times) -> VideoPrediction``.
    """

    fc = True

    def __init__(self, in_channels: int = 3, n_frames: int = 10, frame_size: int | tuple[int, int] = 64,
                 hidden_channels: int = 128, n_downs: int = 2, latent_dim: int = 128, ode_hidden: int | None = None,
                 ode_layers: int = 2, solver: SolverConfig | None = None):
        super().__init__(in_channels, n_frames, frame_size, hidden_channels, n_downs, latent_dim, ode_hidden,
                         ode_layers, solver)


class ODEConvBaseline(_StackedODEBaseline):
    """ODE-Conv (paper table 1, ablation (A) of table 5): as :class:`ODEFCBaseline` but the latent is the
    encoder's feature map and the dynamics are convolutional (:class:`~odevideo.nn.ConvODEFunc`).
    ``frame_size`` is only checked (the conv model works at one size per instance for symmetry with ODE-FC).
    """

    fc = False

    def __init__(self, in_channels: int = 3, n_frames: int = 10, frame_size: int | tuple[int, int] = 64,
                 hidden_channels: int = 128, n_downs: int = 2, ode_hidden: int | None = None, ode_layers: int = 2,
                 solver: SolverConfig | None = None):
        super().__init__(in_channels, n_frames, frame_size, hidden_channels, n_downs, 0, ode_hidden, ode_layers,
                         solver)


# ---------------------------------------------------------------------------------------------------------------
# ConvGRU, ConvGRU-Δt, ConvGRU-Decay


class _TimeAwareConvGRU(nn.Module):
    """One ConvGRU cell with the gap handling of ``time_input``: ``step(x, h, gap (B,)) -> h'``."""

    def __init__(self, in_ch: int, hidden_ch: int, time_input: str):
        super().__init__()
        self.time_input = time_input
        self.cell = ConvGRUCell(in_ch + (1 if time_input == "delta_t" else 0), hidden_ch)
        if time_input == "decay":
            self.decay_weight = nn.Parameter(torch.full((hidden_ch,), 1.0))
            self.decay_bias = nn.Parameter(torch.zeros(hidden_ch))

    def forward(self, x: Tensor, h: Tensor, gap: Tensor) -> Tensor:
        g = gap.to(h.dtype).view(-1, 1, 1, 1)
        if self.time_input == "delta_t":
            x = torch.cat([x, g.expand(-1, 1, *x.shape[-2:])], dim=1)
        elif self.time_input == "decay":
            gamma = torch.exp(-torch.relu(self.decay_weight.view(1, -1, 1, 1) * g + self.decay_bias.view(1, -1, 1, 1)))
            h = gamma * h
        return self.cell(x, h)


class ConvGRUBaseline(nn.Module):
    """ConvGRU / ConvGRU-Δt / ConvGRU-Decay extrapolation baselines (``time_input``; module docstring).

    ``forward(frames (B,T,C,H,W), times (B,T), mask (B,T) | None, query_times (B,Q) | (Q,)) -> VideoPrediction``;
    query times strictly increasing and all after each clip's last observed frame. ``latents`` are the
    decoder hidden maps flattened, ``frames = sigmoid(logits)``.
    """

    #: it can only be asked for frames after its inputs (evaluation skips interpolation)
    interpolates = False

    def __init__(self, in_channels: int = 3, hidden_channels: int = 128, n_downs: int = 2, time_input: str = "none"):
        super().__init__()
        _check_hidden(hidden_channels, n_downs)
        if time_input not in TIME_INPUTS:
            raise InputError(f"time_input={time_input!r} is not supported; use one of: {', '.join(TIME_INPUTS)}.")
        self.in_channels, self.hidden_channels = in_channels, hidden_channels
        self.n_downs, self.time_input = n_downs, time_input
        self.encoder = VidODEConvEncoder(in_channels, hidden_channels, n_downs)
        self.enc_cell = _TimeAwareConvGRU(hidden_channels, hidden_channels, time_input)
        self.dec_cell = _TimeAwareConvGRU(hidden_channels, hidden_channels, time_input)
        self.decoder = _FrameDecoder(hidden_channels, in_channels, n_downs)

    def forward(self, frames: Tensor, times: Tensor, mask: Tensor | None, query_times: Tensor) -> VideoPrediction:
        name = type(self).__name__
        times, mask, query_times = _check_common(name, frames, times, mask, query_times, self.in_channels, self.n_downs)
        _check_increasing(name, query_times)
        b, t, c, hh, ww = frames.shape
        last_idx = last_observed_index(mask)
        last_t = gather_time(times, last_idx)
        bad = query_times[:, 0] <= last_t
        if bool(bad.any()):
            i = int(bad.nonzero()[0, 0])
            raise InputError(
                f"{name} only extrapolates: query time {float(query_times[i, 0]):g} of clip {i} is not after its last "
                f"observed frame at {float(last_t[i]):g}. Ask only for times after the observations (use VidODE or "
                f"VidRNN for interpolation)."
            )
        emb = self.encoder(_zero_unobserved(frames, mask).flatten(0, 1))
        emb = emb.view(b, t, *emb.shape[1:])
        h = emb.new_zeros(b, *emb.shape[2:])
        seen = torch.zeros(b, dtype=torch.bool, device=frames.device)
        prev_t = torch.zeros(b, dtype=times.dtype, device=frames.device)
        for i in range(t):  # forwards in time; unobserved steps are no-ops
            m = mask[:, i]
            gap = torch.where(m & seen, times[:, i] - prev_t, torch.zeros_like(prev_t))
            h = torch.where(m.view(-1, 1, 1, 1), self.enc_cell(emb[:, i], h, gap), h)
            prev_t = torch.where(m, times[:, i], prev_t)
            seen = seen | m
        prev_frame, prev_t = gather_time(frames, last_idx), last_t
        logits_all, hidden_all = [], []
        for k in range(query_times.shape[1]):
            h = self.dec_cell(self.encoder(prev_frame), h, query_times[:, k] - prev_t)
            logits = self.decoder(h)
            logits_all.append(logits)
            hidden_all.append(h)
            prev_frame, prev_t = torch.sigmoid(logits), query_times[:, k]
        logits = torch.stack(logits_all, dim=1)
        return VideoPrediction(frames=torch.sigmoid(logits), logits=logits,
                               latents=torch.stack(hidden_all, dim=1).flatten(2), query_times=query_times)


# ---------------------------------------------------------------------------------------------------------------
# Vid-RNN


class VidRNN(nn.Module):
    """Vid-RNN (paper figure 8): Vid-ODE with its ODEs replaced by ConvGRUs (module docstring).

    ``forward(frames, times, mask, query_times) -> VidODEPrediction`` (``hidden`` = the interpolated decoder
    states at the query times). ``step``: time units per decoder ConvGRU step (the training frame interval,
    0.1 for the presets). Flow warping and mask composition as in Vid-ODE (chain from the last observed
    frame at or before the first query; the first query's previous state is the state at that frame's time);
    ``anchor_observed``, ``warp_previous``, ``warp_padding`` and ``flow_per_time`` as in
    :class:`~odevideo.methods.vid_ode.vid_ode.VidODE` (the flow is the head times the gap in decoder steps).
    """

    def __init__(self, in_channels: int = 3, hidden_channels: int = 128, n_downs: int = 2, step: float = 0.1,
                 max_steps: int = 1000, flow_stride: int = 1, mask_init: float | None = None,
                 anchor_observed: bool = False, warp_previous: str = "output", flow_per_time: bool = False,
                 warp_padding: str = "border"):
        super().__init__()
        _check_hidden(hidden_channels, n_downs)
        if not (isinstance(step, (int, float)) and math.isfinite(step) and step > 0):
            raise InputError(f"step={step!r} must be a positive number of time units per decoder step.")
        self.in_channels, self.hidden_channels, self.n_downs = in_channels, hidden_channels, n_downs
        self.step, self.max_steps = float(step), int(max_steps)
        self.encoder = VidODEConvEncoder(in_channels, hidden_channels, n_downs)
        self.enc_cell = ConvGRUCell(hidden_channels, hidden_channels)
        self.dec_cell = ConvGRUCell(hidden_channels, hidden_channels)
        self.decoder = VidODEConvDecoder(hidden_channels, in_channels, n_downs, mask_init=mask_init)
        self.flow_stride = check_flow_stride(flow_stride)
        self.anchor_observed = bool(anchor_observed)
        self.warp_previous = _choice("warp_previous", warp_previous, WARP_PREVIOUS, "VidRNN")
        self.warp_padding = _choice("warp_padding", warp_padding, WARP_PADDINGS, "VidRNN")
        self.flow_per_time = bool(flow_per_time)

    def _check(self, frames, times, mask, query_times):
        name = type(self).__name__
        times, mask, query_times = _check_common(name, frames, times, mask, query_times, self.in_channels, self.n_downs)
        _check_increasing(name, query_times)
        first = gather_time(times, first_observed_index(mask))
        early = query_times[:, 0] < first
        if bool(early.any()):
            i = int(early.nonzero()[0, 0])
            raise InputError(
                f"query time {float(query_times[i, 0]):g} of clip {i} precedes its first observed frame at "
                f"{float(first[i]):g}; VidRNN steps forwards from the first observation. Ask for later times."
            )
        return times, mask, query_times

    def encode(self, frames: Tensor, times: Tensor, mask: Tensor) -> Tensor:
        """ConvGRU over the observed embeddings, latest to earliest: ``(B, K, h, w)`` at the first observed time."""
        b, t = frames.shape[:2]
        emb = self.encoder(_zero_unobserved(frames, mask).flatten(0, 1))
        emb = emb.view(b, t, *emb.shape[1:])
        h = emb.new_zeros(b, *emb.shape[2:])
        for i in range(t - 1, -1, -1):
            h = torch.where(mask[:, i].view(-1, 1, 1, 1), self.enc_cell(emb[:, i], h), h)
        return h

    def grid_states(self, h0: Tensor, n_steps: int) -> Tensor:
        """``(B, n_steps + 1, K, h, w)``: decoder states at ``t0 + n * step``, ``n = 0..n_steps`` (``h0`` at n=0)."""
        states = [h0]
        for _ in range(n_steps):
            states.append(self.dec_cell(states[-1], states[-1]))
        return torch.stack(states, dim=1)

    @staticmethod
    def interpolate(grid: Tensor, pos: Tensor) -> Tensor:
        """Linear interpolation of ``grid`` ``(B, N+1, ...)`` at fractional grid positions ``pos`` ``(B, Q)`` >= 0."""
        n = grid.shape[1] - 1
        lo = pos.floor().clamp(0, max(n - 1, 0)).long()
        hi = (lo + 1).clamp(max=n)
        alpha = (pos - lo.to(pos.dtype)).clamp(0, 1)
        ar = torch.arange(grid.shape[0], device=grid.device)[:, None]
        a = alpha.view(*alpha.shape, *([1] * (grid.dim() - 2))).to(grid.dtype)
        return (1 - a) * grid[ar, lo] + a * grid[ar, hi]

    def decode(self, hq: Tensor, h_first_prev: Tensor, ref_frame: Tensor, anchors: dict | None = None,
               flow_scale: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
        """Vid-ODE's G + warping + composition on states ``hq`` ``(B, Q, K, h, w)``.

        ``h_first_prev`` ``(B, K, h, w)`` is the state paired with the first query; ``ref_frame`` ``(B, C, H, W)``
        starts the chain. ``anchors`` (optional): ``anchor_frames``, ``use_anchor`` as in
        :func:`compose_frame_chain` plus ``anchor_states`` ``(B, Q, K, h, w)``, the states G pairs with anchored
        frames; ``flow_scale`` ``(B, Q)`` as in :func:`compose_frame_chain`.
        Returns ``(raw_frames, flows, differences, masks, warped, heads)``, each ``(B, Q, ...)``.
        """
        b, q = hq.shape[:2]
        h_prev = torch.cat([h_first_prev[:, None], hq[:, :-1]], dim=1)
        chain_anchors = {}
        if anchors is not None:
            use = anchors["use_anchor"]
            h_prev = torch.where(use[:, :, None, None, None], anchors["anchor_states"], h_prev)
            chain_anchors = dict(anchor_frames=anchors["anchor_frames"], use_anchor=use)
        heads = self.decoder(torch.cat([hq, h_prev], dim=2).flatten(0, 1))
        heads = heads.view(b, q, *heads.shape[1:])
        ch = compose_frame_chain(heads, ref_frame, flow_stride=self.flow_stride, warp_previous=self.warp_previous,
                                 warp_padding=self.warp_padding, flow_scale=flow_scale, **chain_anchors)
        return ch["raw_frames"], ch["flows"], ch["differences"], ch["masks"], ch["warped"], heads

    def forward(self, frames: Tensor, times: Tensor, mask: Tensor | None, query_times: Tensor) -> VidODEPrediction:
        times, mask, query_times = self._check(frames, times, mask, query_times)
        t0 = gather_time(times, first_observed_index(mask))
        ref_idx = last_observed_index(mask & (times <= query_times[:, :1]))
        ref_frame, ref_time = gather_time(frames, ref_idx), gather_time(times, ref_idx)
        solve_times = torch.cat([ref_time[:, None], query_times], dim=1)
        if self.anchor_observed:  # states at the observation times pair with anchored frames (VidODE's option)
            solve_times = torch.cat([solve_times, torch.where(mask, times, t0[:, None])], dim=1)
        pos = (solve_times - t0[:, None]) / self.step
        n_steps = max(1, int(math.ceil(float(pos.max()) - 1e-6)))
        if n_steps > self.max_steps:
            raise InputError(
                f"the latest query is {n_steps} decoder steps of {self.step:g} after the first observation, more than "
                f"max_steps={self.max_steps}; ask for earlier times or raise max_steps/step."
            )
        grid = self.grid_states(self.encode(frames, times, mask), n_steps)
        hs = self.interpolate(grid, pos)
        q = query_times.shape[1]
        h_first_prev, hq = hs[:, 0], hs[:, 1 : 1 + q]
        anchors = None
        if self.anchor_observed:
            anchors = gather_anchors(_zero_unobserved(frames, mask), hs[:, 1 + q :], times, mask, query_times)
        flow_scale = frame_gaps(ref_time, query_times, anchors).float() / self.step if self.flow_per_time else None
        raw, flows, diffs, masks, warped, _ = self.decode(hq, h_first_prev, ref_frame, anchors, flow_scale)
        return VidODEPrediction(
            frames=raw.clamp(0.0, 1.0), logits=raw, latents=hq.flatten(2), query_times=query_times,
            raw_frames=raw, hidden=hq, flows=flows, differences=diffs, masks=masks, warped=warped,
            reference_frames=ref_frame, reference_times=ref_time, start_times=t0,
        )
