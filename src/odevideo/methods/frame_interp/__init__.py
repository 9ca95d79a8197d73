"""Continuous-time frame interpolation that starts at the classical answer: :class:`ODEFlowInterpolator`."""

from odevideo.methods.frame_interp.model import ODEFlowInterpolator

__all__ = ["ODEFlowInterpolator"]
