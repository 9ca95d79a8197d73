"""Losses of Vid-ODE (Park et al., AAAI 2021, section 3.3): L1 reconstruction, L1 difference, LSGAN.

Generator objective (eq. 7)::

    L = L_recon + lambda_diff * L_diff + lambda_img * L_adv_img + lambda_seq * L_adv_seq

with lambda_diff = 1, lambda_img = lambda_seq = 0.003 (:class:`VidODELossWeights`).

* ``L_recon`` (eq. 5): mean absolute error per pixel between the *unclamped* predicted frames
  (``pred.raw_frames``, so pixels outside [0, 1] still get a gradient) and the targets.
* ``L_diff`` (eq. 6): mean absolute error between the predicted image differences ``D_k`` and
  ``X_k - X_{k-1}``, where ``X_{k-1}`` is the ground truth at the previous query time, and for the first
  query the observed frame the model's frame chain starts from (``pred.reference_frames``). A pair whose
  previous frame has no ground truth (``target_mask`` False) is left out; it is never compared against a
  zero image (the authors' code zero-fills unobserved frames before taking the differences).
* LSGAN (eq. 3-4): the discriminators push real scores to 1 and fake scores to 0; the generator pushes
  fake scores to 1. ``D_img`` scores every predicted frame with a target; ``D_seq`` scores windows of
  ``seq_disc.window`` frames (:func:`sequence_windows`).

One discriminator pass per step
-------------------------------
:func:`vid_ode_losses` runs each discriminator once on the real batch and once on the (non-detached)
fake batch, and builds both the generator loss and the discriminator loss from those scores. The two
losses must then be back-propagated into disjoint parameter sets, which
:func:`~odevideo.methods.base.backward_adversarial` does
(``Tensor.backward(inputs=...)``): the discriminator loss only reaches the discriminators' parameters and
the generator loss only the generator's. This is the simultaneous-update GAN step (both gradients at the
current parameters) without the usual second forward pass on ``fake.detach()``. Step the optimisers
only after that backward (an in-place update before it would invalidate the saved graph).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from odevideo.data.tasks import masked_frame_mean
from odevideo.errors import InputError
from odevideo.methods.vid_ode.vid_ode import VidODEPrediction

__all__ = [
    "VidODELossWeights", "VidODELosses", "reconstruction_loss", "difference_loss", "difference_targets",
    "lsgan_generator_loss", "lsgan_discriminator_loss", "sequence_windows", "vid_ode_losses",
]

SEQ_MODES = ("extrapolation", "interpolation")


@dataclass(frozen=True)
class VidODELossWeights:
    """The weights of eq. 7 (the paper's values by default)."""

    diff: float = 1.0
    img: float = 0.003
    seq: float = 0.003


@dataclass
class VidODELosses:
    """``generator`` (eq. 7) and ``discriminator`` (sum of both LSGAN discriminator losses, or None without
    discriminators) to minimise; ``metrics`` as floats for logging; the ``prediction`` they came from."""

    generator: Tensor
    discriminator: Tensor | None
    metrics: dict = field(default_factory=dict)
    prediction: VidODEPrediction | None = None


def _target_mask(targets: Tensor, target_mask: Tensor | None) -> Tensor:
    if targets.dim() != 5:
        raise InputError(f"targets must be (B, Q, C, H, W), got {tuple(targets.shape)}.")
    if target_mask is None:
        return torch.ones(targets.shape[:2], dtype=torch.bool, device=targets.device)
    if target_mask.shape != targets.shape[:2] or target_mask.dtype != torch.bool:
        raise InputError(
            f"target_mask must be a bool (B, Q) = {tuple(targets.shape[:2])} tensor, got {target_mask.dtype} "
            f"{tuple(target_mask.shape)}."
        )
    return target_mask


def _check_pred(pred: VidODEPrediction, targets: Tensor) -> None:
    if pred.raw_frames is None or pred.raw_frames.shape != targets.shape:
        got = None if pred.raw_frames is None else tuple(pred.raw_frames.shape)
        raise InputError(
            f"the prediction's frames {got} do not match the targets {tuple(targets.shape)}; predict at the "
            f"targets' query times (and pass a VidODEPrediction)."
        )


def _l1_per_frame(a: Tensor, b: Tensor) -> Tensor:
    return (a.float() - b.float()).abs().flatten(2).mean(-1)


def reconstruction_loss(pred: VidODEPrediction, targets: Tensor, target_mask: Tensor | None = None) -> Tensor:
    """Eq. 5: mean absolute error per pixel over the frames that have a target."""
    target_mask = _target_mask(targets, target_mask)
    _check_pred(pred, targets)
    return masked_frame_mean(_l1_per_frame(pred.raw_frames, targets), target_mask)


def difference_targets(
    pred: VidODEPrediction, targets: Tensor, target_mask: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    """``(delta (B, Q, C, H, W), valid (B, Q))``: ``X_k - X_{k-1}`` and where both frames have ground truth.

    ``X_{-1}`` (before the first query) is ``pred.reference_frames``, the observed frame the chain starts from.
    """
    target_mask = _target_mask(targets, target_mask)
    if pred.reference_frames is None:
        raise InputError("the prediction has no reference_frames; pass the VidODEPrediction returned by VidODE.")
    ref = pred.reference_frames.to(targets.dtype)[:, None]
    prev = torch.cat([ref, targets[:, :-1]], dim=1)
    prev_ok = torch.cat([torch.ones_like(target_mask[:, :1]), target_mask[:, :-1]], dim=1)
    return targets - prev, target_mask & prev_ok


def difference_loss(pred: VidODEPrediction, targets: Tensor, target_mask: Tensor | None = None) -> Tensor:
    """Eq. 6: mean absolute error per pixel between ``D_k`` and ``X_k - X_{k-1}`` (zero without ``D``)."""
    _check_pred(pred, targets)
    if pred.differences is None:  # ablations without mask composition have no image difference
        return targets.new_zeros((), dtype=torch.float32)
    delta, valid = difference_targets(pred, targets, target_mask)
    return masked_frame_mean(_l1_per_frame(pred.differences, delta), valid)


def lsgan_generator_loss(fake_scores: Tensor) -> Tensor:
    """``mean((D(fake) - 1)^2)``: the generator wants its samples scored as real."""
    return ((fake_scores.float() - 1) ** 2).mean()


def lsgan_discriminator_loss(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    """``0.5 * (mean((D(real) - 1)^2) + mean(D(fake)^2))``."""
    return 0.5 * (((real_scores.float() - 1) ** 2).mean() + (fake_scores.float() ** 2).mean())


def sequence_windows(
    frames: Tensor,
    window: int,
    context_frames: Tensor,
    context_mask: Tensor | None = None,
    *,
    mode: str = "extrapolation",
    query_times: Tensor | None = None,
    context_times: Tensor | None = None,
) -> Tensor:
    """Windows ``(B, Q, window, C, H, W)`` for the sequence discriminator, one per query frame.

    * ``"extrapolation"`` (eq. 4): window ``k`` is the ``window`` frames ending at query frame ``k`` in the
      sequence ``[last window-1 observed context frames ; frames]`` (the authors use ``window = T_in + 1``:
      all input frames from ``t_i`` on, then ``s_1 .. s_k``). Unobserved context frames are skipped, so every
      clip needs at least ``window - 1`` observed context frames.
    * ``"interpolation"`` (the authors' interpolation variant): window ``k`` is the whole context clip
      (``window`` must equal its length T; unobserved frames zeroed) with the frame at query ``k``'s time
      replaced by ``frames[:, k]``. Every query time must be one of the context times (``query_times`` and
      ``context_times`` are required).

    Call it with the predicted frames for the fake windows and with the targets for the real ones.
    """
    if mode not in SEQ_MODES:
        raise InputError(f"sequence window mode={mode!r} is not supported; use one of: {', '.join(SEQ_MODES)}.")
    b, q = frames.shape[:2]
    t = context_frames.shape[1]
    if context_frames.shape[0] != b or context_frames.shape[2:] != frames.shape[2:]:
        raise InputError(
            f"context_frames {tuple(context_frames.shape)} must be (B, T, C, H, W) with the frames' B, C, H, W "
            f"{(b, *frames.shape[2:])}."
        )
    if context_mask is None:
        context_mask = torch.ones(b, t, dtype=torch.bool, device=frames.device)
    ctx = context_frames.to(frames.dtype)
    if mode == "interpolation":
        if window != t:
            raise InputError(f"interpolation windows span the whole context clip: window={window} must equal T={t}.")
        if query_times is None or context_times is None:
            raise InputError("interpolation windows need query_times (B, Q) and context_times (B, T).")
        ctx = torch.where(context_mask[:, :, None, None, None], ctx, torch.zeros_like(ctx))
        hit = torch.isclose(query_times[:, :, None].float(), context_times[:, None, :].float(), rtol=0.0, atol=1e-6)
        if not bool(hit.any(dim=2).all()):
            raise InputError(
                "interpolation windows replace a context frame by the query frame, so every query time must be one "
                "of the context times; use mode='extrapolation' for queries between or after the context frames."
            )
        hit = hit[:, :, :, None, None, None]
        return torch.where(hit, frames[:, :, None], ctx[:, None])
    if window < 1:
        raise InputError(f"window={window} must be >= 1.")
    n_ctx = window - 1
    if n_ctx:
        counts = context_mask.sum(dim=1)
        if bool((counts < n_ctx).any()):
            raise InputError(
                f"a clip has only {int(counts.min())} observed context frames but the sequence windows need "
                f"window - 1 = {n_ctx}; use a sequence discriminator with a smaller window."
            )
        order = torch.arange(t, device=frames.device).expand(b, t)
        key = torch.where(context_mask, order, torch.full_like(order, -1))
        idx = key.sort(dim=1).values[:, -n_ctx:]  # the last n_ctx observed indices, in time order
        picked = ctx[torch.arange(b, device=frames.device)[:, None], idx]
        full = torch.cat([picked, frames], dim=1)
    else:
        full = frames
    return torch.stack([full[:, k : k + window] for k in range(q)], dim=1)


def _window_valid(target_mask: Tensor, window: int, mode: str) -> Tensor:
    """``(B, Q)``: the real window of query k contains only frames that exist."""
    if mode == "interpolation":
        return target_mask
    missing = (~target_mask).long().cumsum(dim=1)
    before = torch.cat([torch.zeros_like(missing[:, :1]), missing], dim=1)  # missing among queries < j
    q = target_mask.shape[1]
    lo = (torch.arange(q, device=target_mask.device) - window + 1).clamp_min(0)
    return (missing - before[:, lo]) == 0


def vid_ode_losses(
    pred: VidODEPrediction,
    targets: Tensor,
    target_mask: Tensor | None = None,
    *,
    context_frames: Tensor | None = None,
    context_mask: Tensor | None = None,
    context_times: Tensor | None = None,
    image_disc: nn.Module | None = None,
    seq_disc: nn.Module | None = None,
    seq_mode: str = "extrapolation",
    weights: VidODELossWeights = VidODELossWeights(),
) -> VidODELosses:
    """All of eq. 7 plus the discriminator loss, with one pass of each discriminator on real and on fake.

    Args:
        pred: the model's prediction at the targets' query times.
        targets: ``(B, Q, C, H, W)`` ground truth; ``target_mask`` ``(B, Q)`` which targets exist.
        context_frames, context_mask, context_times: the model's inputs, needed by ``seq_disc``.
        image_disc, seq_disc: the discriminators (either may be None to drop its term; then ``weights``
            of that term are ignored). ``seq_disc.window`` sets the window length.
        seq_mode: ``"extrapolation"`` or ``"interpolation"`` windows (:func:`sequence_windows`).

    Returns:
        :class:`VidODELosses`; back-propagate with :func:`~odevideo.methods.base.backward_adversarial`.
    """
    target_mask = _target_mask(targets, target_mask)
    _check_pred(pred, targets)
    recon = reconstruction_loss(pred, targets, target_mask)
    diff = difference_loss(pred, targets, target_mask)
    gen = recon + weights.diff * diff
    metrics = {"recon_l1": recon.item(), "diff_l1": diff.item()}
    disc_terms = []
    fake = pred.raw_frames

    if image_disc is not None and bool(target_mask.any()):
        real_s = image_disc(targets[target_mask].to(fake.dtype))
        fake_s = image_disc(fake[target_mask])
        g_img, d_img = lsgan_generator_loss(fake_s), lsgan_discriminator_loss(real_s, fake_s)
        gen = gen + weights.img * g_img
        disc_terms.append(d_img)
        metrics.update(adv_img_g=g_img.item(), adv_img_d=d_img.item())

    if seq_disc is not None:
        if context_frames is None:
            raise InputError("the sequence discriminator needs the context frames; pass context_frames=...")
        window = int(seq_disc.window)
        kw = dict(mode=seq_mode, query_times=pred.query_times, context_times=context_times)
        valid = _window_valid(target_mask, window, seq_mode)
        if bool(valid.any()):
            real_w = sequence_windows(targets.to(fake.dtype), window, context_frames, context_mask, **kw)[valid]
            fake_w = sequence_windows(fake, window, context_frames, context_mask, **kw)[valid]
            real_s, fake_s = seq_disc(real_w), seq_disc(fake_w)
            g_seq, d_seq = lsgan_generator_loss(fake_s), lsgan_discriminator_loss(real_s, fake_s)
            gen = gen + weights.seq * g_seq
            disc_terms.append(d_seq)
            metrics.update(adv_seq_g=g_seq.item(), adv_seq_d=d_seq.item())

    disc = torch.stack(disc_terms).sum() if disc_terms else None
    metrics["loss"] = gen.item()
    if disc is not None:
        metrics["disc_loss"] = disc.item()
    metrics["nfe"] = pred.nfe
    return VidODELosses(generator=gen, discriminator=disc, metrics=metrics, prediction=pred)
