"""Vid-ODE (Park, Kim, Lee, Choo, Lee, Kim, Choi; AAAI 2021), paper section 3 and figure 2.

Pipeline for one clip:

1. **Conv-Encoder E**: every observed frame -> feature map ``(hidden_channels, H / 4, W / 4)``
   (conv3x3 + norm + ReLU, then ``n_downs = 2`` stride-2 4x4 conv + norm + ReLU blocks doubling the width).
2. **ODE-ConvGRU** (:class:`~odevideo.nn.ODEConvGRUEncoder`, eq. 1): runs over the observed feature maps
   backwards in time; conv-ODE flow between observations, ConvGRU update at each one. Its final state
   ``h_enc`` summarises the whole observed clip.
3. **Decoder ODE** (conv dynamics f_phi): ``h(t)`` with ``h(t_start) = h_enc`` solved to every query time.
   ``decoder_start`` chooses ``t_start`` (per clip):

   * ``"last_observed"`` (default): the last observed time ``T``, the paper's ``h_{s_0} = h_T``. Extrapolated
     frames at ``s > T`` then evolve for exactly ``s - T``; query times before ``T`` are solved backwards.
   * ``"first_observed"``: the earliest observed time (the latent-ODE convention for a backwards encoder).
   * ``"first_target"``: the first query time (the authors' code, kept for compatibility): the first
     query always gets ``h_enc`` itself, whatever its distance to the observations.

4. **Conv-Decoder G** (eq. 2): ``G(h_{s_k}, h_{s_{k-1}})`` -> optical flow ``F`` (2 channels, pixels),
   image difference ``D`` (C channels, tanh) and composition mask ``M`` (1 channel, sigmoid).
5. **Composition** Psi: ``X_k = M * warp(X_{k-1}, F) + (1 - M) * D``, frame after frame in query order.

Where the frame chain starts (the "reference" frame ``X_{s_0}``): the last *observed* frame at or before the
first query time. For extrapolation (all queries after the observations) that is the last observed frame,
as in the paper; for interpolation / reconstruction starting at the first observed time it is the first
observed frame, as in the authors' interpolation mode. ``h_{s_0}`` is the decoder state at the reference
time (``first_prev="state"``, paper) or the encoder embedding ``E(X_{s_0})`` (``first_prev="embedding"``,
the authors' code).

Query times must be strictly increasing (the frames are generated autoregressively, each warping the
previous one) and must not precede the first observed frame of the clip (there would be no frame to warp
from): both raise :class:`~odevideo.errors.InputError`. Between, at, and after observations all work.

Outputs: ``frames`` are the composed frames clamped to [0, 1]; the composition itself is not bounded
(``D`` is in [-1, 1]), so the unclamped frames are kept in ``raw_frames`` and, since Vid-ODE has no
sigmoid output, also in ``logits`` (there are no logits: ``logits`` holds the unclamped frames, which is
what the L1 losses should use). In the vanilla ablation (no warping, no mask composition) G's C-channel
head *is* a logit map: ``frames = sigmoid(logits)``. ``latents`` are the decoder states ``h(s_k)`` flattened
to ``(B, Q, hidden_channels * H/4 * W/4)``; :class:`VidODEPrediction` adds the feature maps, flows,
differences, masks and warped images (paper figure 3).

E and G are defined in :mod:`~odevideo.methods.vid_ode.networks`, the composition and its re-anchoring in
:mod:`~odevideo.methods.vid_ode.frame_chain`; both are importable from here too.

Ablations (paper table 5): ``use_flow_warping=False, use_mask_composition=False`` = (B) vanilla Vid-ODE
(G predicts the frame directly); ``use_flow_warping=True, use_mask_composition=False`` = (D) pure warping
of the previous frame (``M = 1``); both True = (E) the full model. Mask composition without warping
composes the *unwarped* previous frame with ``D``. (C) differs from (B) only in the loss (adversarial terms).

Deliberate differences from the authors' code: GroupNorm instead of BatchNorm (which they leave in train
mode at test time), decoder start at the last observed time (``decoder_start`` above), warping consistent
with ``align_corners`` (:mod:`odevideo.nn.warping`), and the chain warps the previous *output* frame as in
eq. 2 (their code warps the previous *warped* image, composing only at the end: ``warp_previous="warped"``).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch
from torch import Tensor

from odevideo.errors import InputError
from odevideo.methods.prediction import (
    ContinuousTimeVideoModel,
    VideoPrediction,
    check_inputs,
    first_observed_index,
    gather_time,
    last_observed_index,
)
from odevideo.methods.vid_ode.frame_chain import (  # noqa: F401
    check_flow_stride,
    coarse_flow,
    compose_frame_chain,
    frame_gaps,
    gather_anchors,
    observation_anchors,
)
from odevideo.methods.vid_ode.networks import VidODEConvDecoder, VidODEConvEncoder
from odevideo.nn.convgru import ConvODEFunc, ODEConvGRUEncoder
from odevideo.nn.warping import WARP_PADDINGS
from odevideo.solvers import NFECounter, SolverConfig, odeint_batch

__all__ = [
    "VidODE", "VidODEPrediction", "VidODEConvEncoder", "VidODEConvDecoder", "AUTHORS_DECODER_SOLVER",
    "compose_frame_chain", "observation_anchors", "gather_anchors", "frame_gaps",
]

#: The authors' decoder solver (``--dec_diff dopri5``, rtol 1e-3, atol 1e-4).
AUTHORS_DECODER_SOLVER = SolverConfig(method="dopri5", rtol=1e-3, atol=1e-4)

DECODER_STARTS = ("last_observed", "first_observed", "first_target")
FIRST_PREVS = ("state", "embedding")
WARP_PREVIOUS = ("output", "warped")


@dataclass
class VidODEPrediction(VideoPrediction):
    """:class:`VideoPrediction` plus Vid-ODE's intermediate outputs (``None`` where an ablation drops them).

    Attributes:
        raw_frames: ``(B, Q, C, H, W)`` composed frames before clamping to [0, 1] (use these in L1 losses).
        hidden: ``(B, Q, K, h, w)`` decoder states ``h(s_k)`` as feature maps.
        flows: ``(B, Q, 2, H, W)`` optical flow in pixels (x, y), or None without warping.
        differences: ``(B, Q, C, H, W)`` image differences ``D`` in [-1, 1], or None without mask composition.
        masks: ``(B, Q, 1, H, W)`` composition masks ``M`` in [0, 1], or None without mask composition.
        warped: ``(B, Q, C, H, W)`` warped previous frames ``W(F, X_{k-1})``, or None in the vanilla model.
        reference_frames: ``(B, C, H, W)`` the observed frame the chain starts from.
        reference_times: ``(B,)`` its time.
        start_times: ``(B,)`` the time at which the decoder ODE starts from the encoder state.
    """

    raw_frames: Tensor | None = None
    hidden: Tensor | None = None
    flows: Tensor | None = None
    differences: Tensor | None = None
    masks: Tensor | None = None
    warped: Tensor | None = None
    reference_frames: Tensor | None = None
    reference_times: Tensor | None = None
    start_times: Tensor | None = None


def _choice(name: str, value: str, valid: tuple[str, ...], owner: str = "VidODE") -> str:
    if value not in valid:
        raise InputError(f"{owner} {name}={value!r} is not supported; use one of: {', '.join(valid)}.")
    return value


class VidODE(ContinuousTimeVideoModel):
    """``forward(frames (B,T,C,H,W), times (B,T), mask (B,T) | None, query_times (B,Q) | (Q,)) -> VidODEPrediction``.

    See the module docstring for the model, the time conventions and the ablation switches.

    Args:
        in_channels: frame channels C.
        hidden_channels: channels of the hidden feature maps (the authors' 128 = 32 * 2**2).
        n_downs: stride-2 levels of E (and upsampling levels of G); H and W must be divisible by ``2**n_downs``.
        ode_hidden, ode_layers: width and depth of both conv ODE functions (default ``hidden_channels // 2``, 2).
        encoder_solver: ODE-ConvGRU solver; None = one Euler step per gap (the authors').
        decoder_solver: decoder ODE solver; None = dopri5, rtol 1e-3, atol 1e-4 (the authors'). Adaptive
            methods choose their steps from the whole batch; use a fixed-step method with ``step_size`` when
            each clip's result must not depend on its batch.
        decoder_start, first_prev, warp_previous: see the module docstring.
        warp_padding: ``"border"`` (the authors') or ``"zeros"``: what a flow that points outside the frame
            reads (:func:`~odevideo.nn.warping.warp`); zeros keeps objects on a black background from
            leaving a tail at the edge.
        use_flow_warping, use_mask_composition: ablation switches (module docstring).
        run_backwards: run the ODE-ConvGRU backwards in time (the authors' default).
        flow_stride: the flow is averaged over ``flow_stride x flow_stride`` cells and upsampled bilinearly
            (:func:`coarse_flow`); 1 = a free vector per pixel (the authors').
        mask_init: the composition mask at initialisation (:class:`VidODEConvDecoder`); None = about 0.5.
        ode_autocast: under ``torch.autocast``, run the convolutions of the ODE dynamics and of the
            ConvGRU in the autocast dtype as well (the states stay float32). Off: they run in float32.
        ode_rate: both ODEs are ``dh/dt = ode_rate * f(h)`` (:class:`~odevideo.nn.ConvODEFunc`): with
            ``1 / frame_dt`` a net output of order one moves the state by order one per frame interval,
            whatever unit the clip times use.
        anchor_observed: re-anchor the frame chain on observations (not in the paper; off = eq. 2 as
            published). Where an observed frame lies between the previous query time and the current one,
            the current frame warps that *observed* frame (and G pairs ``h_k`` with the decoder state at its
            time) instead of the previous *generated* frame (:func:`observation_anchors`). Extrapolation is
            unchanged (no observation follows the first query); in interpolation every in-between frame is
            made from its nearest earlier observation instead of the end of a chain of generated frames,
            and training on the observed frames becomes one-interval-ahead prediction from the true frame.
            Needs ``first_prev="state"``.
        flow_per_time: G's flow head is a velocity (not in the paper): the flow applied to a frame is the
            head times ``ode_rate`` times the time gap to the frame it warps (:func:`frame_gaps`). At the
            training gap nothing changes but the scale; at another gap (an in-between time, irregular
            sampling) the displacement scales with the gap instead of being whatever G says for a pair of
            states it never saw in training. Off: the head is the flow in pixels (the paper).
    """

    def __init__(
        self,
        in_channels: int = 3,
        hidden_channels: int = 128,
        n_downs: int = 2,
        ode_hidden: int | None = None,
        ode_layers: int = 2,
        encoder_solver: SolverConfig | None = None,
        decoder_solver: SolverConfig | None = None,
        decoder_start: str = "last_observed",
        first_prev: str = "state",
        warp_previous: str = "output",
        use_flow_warping: bool = True,
        use_mask_composition: bool = True,
        run_backwards: bool = True,
        flow_stride: int = 1,
        mask_init: float | None = None,
        ode_autocast: bool = False,
        ode_rate: float = 1.0,
        anchor_observed: bool = False,
        flow_per_time: bool = False,
        warp_padding: str = "border",
    ):
        super().__init__()
        if n_downs < 0 or hidden_channels % (2**n_downs) != 0 or hidden_channels < 2**n_downs:
            raise InputError(
                f"hidden_channels={hidden_channels} must be a positive multiple of 2**n_downs={2 ** n_downs} "
                f"(E starts at hidden_channels / 2**n_downs channels and doubles them at every level)."
            )
        if decoder_solver is not None and not isinstance(decoder_solver, SolverConfig):
            raise InputError(f"decoder_solver must be a SolverConfig or None, got {type(decoder_solver).__name__}.")
        self.in_channels = in_channels
        self.hidden_channels = hidden_channels
        self.n_downs = n_downs
        self.decoder_start = _choice("decoder_start", decoder_start, DECODER_STARTS)
        self.first_prev = _choice("first_prev", first_prev, FIRST_PREVS)
        self.warp_previous = _choice("warp_previous", warp_previous, WARP_PREVIOUS)
        self.warp_padding = _choice("warp_padding", warp_padding, WARP_PADDINGS)
        self.use_flow_warping = bool(use_flow_warping)
        self.use_mask_composition = bool(use_mask_composition)
        self.flow_stride = check_flow_stride(flow_stride)
        self.ode_autocast = bool(ode_autocast)
        self.anchor_observed = bool(anchor_observed)
        self.flow_per_time = bool(flow_per_time)
        self.ode_rate = float(ode_rate)
        if self.anchor_observed and self.first_prev != "state":
            raise InputError(
                "anchor_observed=True pairs each anchored frame with the decoder state at the observation's time; "
                "it needs first_prev='state' (got 'embedding')."
            )
        ode_hidden = ode_hidden or max(1, hidden_channels // 2)

        self.encoder = VidODEConvEncoder(in_channels, hidden_channels, n_downs)
        self.ode_encoder = ODEConvGRUEncoder(
            hidden_channels, hidden_channels, ode_hidden=ode_hidden, ode_layers=ode_layers,
            solver=encoder_solver, run_backwards=run_backwards, ode_rate=ode_rate,
        )
        self.decoder_dynamics = NFECounter(ConvODEFunc(hidden_channels, ode_hidden, ode_layers, rate=ode_rate))
        self.decoder_solver = decoder_solver if decoder_solver is not None else AUTHORS_DECODER_SOLVER
        self.decoder = VidODEConvDecoder(hidden_channels, in_channels, n_downs, mask_init=mask_init)

    @property
    def vanilla(self) -> bool:
        """True for ablation (B): G predicts the frames directly."""
        return not (self.use_flow_warping or self.use_mask_composition)

    # ------------------------------------------------------------------------------------------------------------

    def _check(self, frames: Tensor, times: Tensor, mask: Tensor | None, query_times: Tensor):
        times, mask, query_times = check_inputs(frames, times, mask, query_times)
        c, h, w = frames.shape[2:]
        if c != self.in_channels:
            raise InputError(f"VidODE was built for {self.in_channels}-channel frames, got {c}; set in_channels={c}.")
        step = 2**self.n_downs
        if h % step or w % step:
            raise InputError(
                f"frame size {h}x{w} is not divisible by 2**n_downs={step}; resize/crop the frames to a multiple "
                f"of {step} or lower n_downs."
            )
        if query_times.shape[1] == 0:
            raise InputError("query_times is empty; ask for at least one time.")
        if query_times.shape[1] > 1 and not bool((query_times[:, 1:] > query_times[:, :-1]).all()):
            raise InputError(
                "VidODE needs strictly increasing query_times in every clip: each frame is made by warping the "
                "previous one. Sort the query times (and drop duplicates), then reorder the outputs if needed."
            )
        first_obs = gather_time(times, first_observed_index(mask))
        early = query_times[:, 0] < first_obs
        if bool(early.any()):
            b = int(early.nonzero()[0, 0])
            raise InputError(
                f"query time {float(query_times[b, 0]):g} of clip {b} precedes its first observed frame at "
                f"{float(first_obs[b]):g}: Vid-ODE generates each frame by warping the previous one and has no "
                f"frame to start from before the observations. Ask only for times >= the first observed time."
            )
        return times, mask, query_times

    def forward(self, frames: Tensor, times: Tensor, mask: Tensor | None, query_times: Tensor) -> VidODEPrediction:
        times, mask, query_times = self._check(frames, times, mask, query_times)
        b, t, c, hh, ww = frames.shape
        q = query_times.shape[1]

        # The chain starts from the last observed frame at or before the first query time.
        ref_idx = last_observed_index(mask & (times <= query_times[:, :1]))
        ref_frame = gather_time(frames, ref_idx)
        ref_time = gather_time(times, ref_idx)
        first_obs = gather_time(times, first_observed_index(mask))
        last_obs = gather_time(times, last_observed_index(mask))
        start = {"last_observed": last_obs, "first_observed": first_obs, "first_target": query_times[:, 0]}[
            self.decoder_start
        ]

        # Unobserved frames are zeroed before E: they never reach the encoder (nor NaNs they may hold).
        observed = torch.where(mask[:, :, None, None, None], frames, torch.zeros_like(frames))
        emb = self.encoder(observed.flatten(0, 1))
        emb = emb.view(b, t, *emb.shape[1:])

        nfe_enc = self.ode_encoder.dynamics.nfe_forward
        nfe_dec = self.decoder_dynamics.nfe_forward
        # The ODE states are float32 in any case (low-precision states accumulate error over steps). By
        # default the ODE nets and the ConvGRU run in float32 too; ode_autocast lets their convolutions
        # follow the caller's autocast (the solver's and the GRU's state updates still promote to float32).
        ode_precision = (
            contextlib.nullcontext() if self.ode_autocast
            else torch.autocast(device_type=frames.device.type, enabled=False)
        )
        with ode_precision:
            h_enc = self.ode_encoder(emb.float(), times.float(), mask)
            with_ref = self.first_prev == "state"
            solve_times = torch.cat([ref_time[:, None], query_times], dim=1) if with_ref else query_times
            n_solve = solve_times.shape[1]
            if self.anchor_observed and not self.vanilla:  # states at the observation times pair with anchored frames
                solve_times = torch.cat([solve_times, times], dim=1)
            hs = odeint_batch(
                self.decoder_dynamics, h_enc, solve_times.float(), t0=start.float(), solver=self.decoder_solver
            )
            hs, h_obs = hs[:, :n_solve], hs[:, n_solve:]
        nfe = (self.ode_encoder.dynamics.nfe_forward - nfe_enc) + (self.decoder_dynamics.nfe_forward - nfe_dec)
        if with_ref:
            h_first_prev, hq = hs[:, 0], hs[:, 1:]
        else:
            h_first_prev, hq = self.encoder(ref_frame).to(hs.dtype), hs
        h_prev = torch.cat([h_first_prev[:, None], hq[:, :-1]], dim=1)
        anchors = {}
        if self.anchor_observed and not self.vanilla:
            anchors = gather_anchors(observed, h_obs, times, mask, query_times)
            h_prev = torch.where(anchors["use_anchor"][:, :, None, None, None],
                                 anchors.pop("anchor_states").to(h_prev.dtype), h_prev)
        flow_scale = None
        if self.flow_per_time:
            flow_scale = self.ode_rate * frame_gaps(ref_time, query_times, anchors or None).float()
        anchors.pop("anchor_times", None)

        heads = self.decoder(torch.cat([hq, h_prev], dim=2).flatten(0, 1)).float()
        heads = heads.view(b, q, *heads.shape[1:])
        common = dict(
            latents=hq.flatten(2), query_times=query_times, nfe=nfe, hidden=hq,
            reference_frames=ref_frame, reference_times=ref_time, start_times=start,
        )
        if self.vanilla:
            image_raw = heads[:, :, 2 : 2 + c]
            frames_out = image_raw.sigmoid()
            return VidODEPrediction(frames=frames_out, logits=image_raw, raw_frames=frames_out, **common)
        chain = compose_frame_chain(
            heads, ref_frame, flow_stride=self.flow_stride, use_flow_warping=self.use_flow_warping,
            use_mask_composition=self.use_mask_composition, warp_previous=self.warp_previous,
            flow_scale=flow_scale, warp_padding=self.warp_padding, **anchors,
        )
        return VidODEPrediction(
            frames=chain["raw_frames"].clamp(0.0, 1.0), logits=chain["raw_frames"], **chain, **common,
        )
