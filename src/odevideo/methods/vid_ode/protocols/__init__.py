"""The analysis experiments of Vid-ODE (Park et al., AAAI 2021): figures 1, 3, 6 and 8, for any model.

Every protocol takes already-built models that follow the odevideo model API
(``model(frames (B,T,C,H,W), times (B,T), mask (B,T) bool | None, query_times (B,Q)) -> prediction`` with
``prediction.frames`` ``(B, Q, C, H, W)`` in [0, 1]) and clip tensors, runs the models in eval mode without
gradients, and returns JSON-able dicts (or small dataclasses with a ``summary()``).
:func:`write_experiment_result` writes any of them as ``<name>.json`` plus a ``<name>.png`` chart (matplotlib).

=======================  ==========  ==========================================================================
module                   figure      protocol
=======================  ==========  ==========================================================================
``sampling_rate``        6           scores as a seeded, nested share of the input frames goes missing
``unseen_times``         8           observe every ``stride``-th frame, score the frames in between
``frame_rate``           1           ``factor`` x the input frame rate between (and after) the inputs
``composition``          3           warped image, image difference, mask, output and flow of Vid-ODE
``scores``                           per-frame metrics, their conventions, clip-paired comparisons
``charts``                           the PNG figures
=======================  ==========  ==========================================================================
"""

from odevideo.methods.vid_ode.protocols.charts import (
    plot_composition,
    plot_sampling_rate_sweep,
    plot_unseen_timesteps,
    save_frame_strip,
)
from odevideo.methods.vid_ode.protocols.composition import CompositionComponents, composition_components
from odevideo.methods.vid_ode.protocols.frame_rate import FrameRateOutput, arbitrary_frame_rate
from odevideo.methods.vid_ode.protocols.results import write_experiment_result
from odevideo.methods.vid_ode.protocols.sampling_rate import DEFAULT_RATES, TASKS, sampling_rate_sweep, sweep_masks
from odevideo.methods.vid_ode.protocols.unseen_times import unseen_timestep_interpolation

__all__ = [
    "DEFAULT_RATES", "TASKS", "sweep_masks", "sampling_rate_sweep", "unseen_timestep_interpolation",
    "FrameRateOutput", "arbitrary_frame_rate", "save_frame_strip", "CompositionComponents",
    "composition_components", "plot_composition", "plot_sampling_rate_sweep", "plot_unseen_timesteps",
    "write_experiment_result",
]
