"""The methods odevideo trains, by name: ``METHODS[name]`` is a :class:`~odevideo.methods.base.Method`.

This registry is the only place where a method's name becomes code; adding a method touches its own package
and one line here.
"""

from __future__ import annotations

from odevideo.errors import ConfigError
from odevideo.methods.base import Method, ModelSpec, StepLosses, ValidationContext
from odevideo.methods.frame_interp.method import ODEFlowInterpMethod
from odevideo.methods.latent_ode.method import EncoderODEDecoderMethod, LatentODEVAEMethod, ODE2VAEMethod
from odevideo.methods.vid_ode.method import (
    ConvGRUMethod,
    ODEConvMethod,
    ODEFCMethod,
    VidODEMethod,
    VidRNNMethod,
)
from odevideo.methods.video_gan.method import MoCoGANMethod, TGANMethod, TGANv2Method

METHODS: dict[str, Method] = {m.name: m for m in (
    LatentODEVAEMethod(), ODE2VAEMethod(), EncoderODEDecoderMethod(),  # Kanaa et al.
    VidODEMethod(), ODEFCMethod(), ODEConvMethod(), ConvGRUMethod(), VidRNNMethod(),  # Park et al. (Vid-ODE)
    TGANMethod(), MoCoGANMethod(), TGANv2Method(),  # Gordon & Parde
    ODEFlowInterpMethod(),  # continuous-time frame interpolation from a classical start
)}


def get_method(name: str) -> Method:
    """The method called ``name``; an unknown name fails with the list of known ones."""
    try:
        return METHODS[name]
    except (KeyError, TypeError):
        import difflib

        close = difflib.get_close_matches(str(name)[:100], METHODS, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        shown = repr(name) if len(repr(name)) <= 100 else repr(name)[:100] + "..."
        raise ConfigError(f"unknown method {shown}{hint}; use one of: {', '.join(METHODS)}") from None


__all__ = ["METHODS", "get_method", "Method", "ModelSpec", "StepLosses", "ValidationContext"]
