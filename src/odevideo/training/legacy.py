"""Configs written before the package had one config per method (a ``model.family`` key and the shared
``objective`` / ``adversarial`` / ``gan`` sections) are translated to today's keys, so old run folders and
config files keep loading."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

_TASK_KEYS = ("formulation", "num_observed", "interp_stride")
_GAN_LOSS_KEYS = ("svc_every", "spectral_norm", "r1_gamma", "real_label", "disc_noise", "image_disc_noise",
                  "image_disc", "image_disc_channels", "disc_channels", "video_disc_channels", "minibatch_std",
                  "image_disc_patch", "image_frames", "video_batch", "alternating", "joint_disc_batch")
_GAN_VALIDATION = {"val_metric": "metric", "val_samples": "samples", "digit_classifier": "digit_classifier",
                   "inception_weights": "inception_weights"}


def is_legacy(data: Any) -> bool:
    """Whether ``data`` (a config mapping) uses the old keys."""
    if not isinstance(data, Mapping) or "method" in data:
        return False
    model = data.get("model")
    return any(k in data for k in ("objective", "adversarial", "gan")) or (
        isinstance(model, Mapping) and "family" in model)


def _fields(tp: type) -> set[str]:
    return {f.name for f in dataclasses.fields(tp)}


def migrate_config(data: Mapping[str, Any]) -> dict[str, Any]:
    """Today's config mapping for an old one (returned unchanged if it is not old). Keys that the method does
    not have (the old sections held every family's fields) are left out."""
    if not is_legacy(data):
        return dict(data)
    from odevideo.methods import get_method

    out = {k: v for k, v in data.items() if k not in ("model", "objective", "adversarial", "gan")}
    model = dict(data.get("model") or {})
    method = model.pop("family", "latent_ode_vae")
    m = get_method(method)
    out["method"] = method
    objective = dict(data.get("objective") or {})
    task = {k: objective[k] for k in _TASK_KEYS if k in objective}
    if task:
        out["task"] = task
    loss: dict[str, Any] = {}
    if m.legacy_section == "gan":  # one section held the model, the losses and the validation
        gan = dict(data.get("gan") or {})
        model = {k: v for k, v in gan.items() if k in _fields(m.model_config)}
        init = gan.get(f"{method}_image_init")
        if init is not None:
            model["image_init"] = init
        if "loss" in gan:
            loss["kind"] = gan["loss"]
        loss.update({k: v for k, v in gan.items() if k in _GAN_LOSS_KEYS})
        validation = {new: gan[old] for old, new in _GAN_VALIDATION.items() if old in gan}
        if validation:
            out["validation"] = validation
    elif m.legacy_section is not None:
        loss = dict(data.get(m.legacy_section) or {})
    sections = {"model": model, "loss": loss}
    for old, new in m.legacy_renames.items():  # keys the method renamed since
        (where, old_key), (_, new_key) = old.split(".", 1), new.split(".", 1)
        if sections[where].get(old_key) is not None:
            sections[where][new_key] = sections[where].pop(old_key)
    loss = {k: v for k, v in loss.items() if k in _fields(m.loss_config)}
    model = {k: v for k, v in model.items() if k in _fields(m.model_config)}
    if model:
        out["model"] = model
    if loss:
        out["loss"] = loss
    return out
