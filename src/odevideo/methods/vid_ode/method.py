"""Vid-ODE and its baselines as methods: build from their configs, train with eq. 7 (L1, image difference and,
with discriminators, the LSGAN terms from one pass of each discriminator)."""

from __future__ import annotations

from torch import nn

from odevideo.methods.base import ConditionalMethod, StepLosses, init_kwargs, task_of
from odevideo.methods.vid_ode.baselines import ConvGRUBaseline, ODEConvBaseline, ODEFCBaseline, VidRNN
from odevideo.methods.vid_ode.config import (
    ConvGRUConfig,
    ODEConvConfig,
    ODEFCConfig,
    VidODEConfig,
    VidODELossConfig,
    VidRNNConfig,
)
from odevideo.methods.vid_ode.losses import VidODELossWeights, vid_ode_losses
from odevideo.methods.vid_ode.vid_ode import VidODE, VidODEPrediction
from odevideo.nn.discriminators import ImageDiscriminator, SequenceDiscriminator


def sequence_window(cfg) -> int:
    """Frames per sequence-discriminator window: extrapolation windows span the last ``task.num_observed``
    observed frames plus one prediction (the authors' ``T_in + 1``); interpolation windows are the whole
    (strided) context clip."""
    if cfg.task.formulation == "interpolation":
        return cfg.task.num_observed
    return cfg.loss.seq_window or cfg.task.num_observed + 1


class _VidODEFamily(ConditionalMethod):
    family = "vid_ode"
    legacy_section = "adversarial"
    loss_config = VidODELossConfig
    model_class: type

    def build_model(self, model_cfg, spec):
        return self.model_class(in_channels=spec.channels, **init_kwargs(model_cfg))

    def build_critics(self, cfg):
        lc, d = cfg.loss, cfg.data
        critics = nn.ModuleDict()
        if lc.image_disc:
            critics["image"] = ImageDiscriminator(d.channels, lc.disc_channels, lc.disc_downs)
        if lc.seq_disc:
            critics["sequence"] = SequenceDiscriminator(d.channels, sequence_window(cfg), lc.disc_channels,
                                                        lc.disc_downs)
        return critics if len(critics) else None

    def losses(self, cfg, model, critics, batch, noise, step, rng):
        """Eq. 7: L1 reconstruction, L1 image difference (models with a difference head) and, with critics, the
        LSGAN terms. Baselines without Vid-ODE's intermediate outputs get the L1 loss (and the same LSGAN terms)."""
        task, lc = task_of(cfg, batch), cfg.loss
        pred = model(task.context_frames, task.context_times, task.context_mask, task.query_times)
        if getattr(pred, "raw_frames", None) is None:  # baselines (sigmoid frames): the same loss code applies
            pred = VidODEPrediction(frames=pred.frames, logits=pred.logits, latents=pred.latents,
                                    query_times=pred.query_times, nfe=pred.nfe, raw_frames=pred.frames)
        critics = dict(critics.items()) if critics is not None else {}
        mode = "interpolation" if cfg.task.formulation == "interpolation" else "extrapolation"
        out = vid_ode_losses(
            pred, task.targets, task.target_mask, context_frames=task.context_frames, context_mask=task.context_mask,
            context_times=task.context_times, image_disc=critics.get("image"), seq_disc=critics.get("sequence"),
            seq_mode=mode, weights=VidODELossWeights(diff=lc.weight_diff, img=lc.weight_img, seq=lc.weight_seq),
        )
        return StepLosses(out.generator, out.metrics, critic_loss=out.discriminator)


class VidODEMethod(_VidODEFamily):
    """Vid-ODE (Park et al. 2021): ODE-ConvGRU encoder, decoder ODE, flow warping and mask composition."""

    name, model_config, model_class = "vid_ode", VidODEConfig, VidODE
    legacy_renames = {"model.solver": "model.decoder_solver"}


class VidRNNMethod(_VidODEFamily):
    """Vid-RNN: Vid-ODE with ConvGRU steps in place of the ODEs."""

    name, model_config, model_class = "vid_rnn", VidRNNConfig, VidRNN
    legacy_renames = {"model.rnn_step": "model.step"}


class ConvGRUMethod(_VidODEFamily):
    """ConvGRU, ConvGRU-delta-t and ConvGRU-Decay (``model.time_input``)."""

    name, model_config, model_class = "convgru", ConvGRUConfig, ConvGRUBaseline


class _StackedODEMethod(_VidODEFamily):
    def build_model(self, model_cfg, spec):
        return self.model_class(in_channels=spec.channels, n_frames=spec.num_observed, frame_size=spec.image_size,
                                **init_kwargs(model_cfg))


class ODEFCMethod(_StackedODEMethod):
    """ODE-FC: channel-stacked context frames, a vector latent ODE."""

    name, model_config, model_class = "ode_fc", ODEFCConfig, ODEFCBaseline


class ODEConvMethod(_StackedODEMethod):
    """ODE-Conv: channel-stacked context frames, a convolutional latent ODE."""

    name, model_config, model_class = "ode_conv", ODEConvConfig, ODEConvBaseline
