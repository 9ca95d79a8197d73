"""Frame interpolation between two frames at any time of their gap: classical interpolators and the loader of
learned ones (``load_interpolator``), behind one interface used by ``odevideo retime`` and the evaluation.

An *interpolator* has ``interpolate(frame0, frame1, taus) -> frames``: ``frame0``, ``frame1`` ``(C, H, W)``
float in [0, 1] at any size, ``taus`` ``(K,)`` fractions of the gap in [0, 1]; returns ``(K, C, H, W)``.
"""

from odevideo.interpolation.api import ClassicalInterpolator, Interpolator, load_interpolator
from odevideo.interpolation.classical import (
    CLASSICAL,
    dis_flow,
    dis_flow_interpolate,
    dis_flow_or_blend_interpolate,
    flow_confidence,
    flow_interpolate,
    flow_or_blend_interpolate,
    flows_to_time,
    has_opencv,
    linear_blend,
    repeat_previous,
)

__all__ = [
    "Interpolator", "ClassicalInterpolator", "load_interpolator", "CLASSICAL", "dis_flow", "dis_flow_interpolate",
    "dis_flow_or_blend_interpolate", "flow_confidence", "flow_interpolate", "flow_or_blend_interpolate",
    "flows_to_time", "has_opencv", "linear_blend", "repeat_previous",
]
