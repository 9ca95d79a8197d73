"""Writing a protocol's result: ``<name>.json`` and its chart ``<name>.png``, each atomically."""

from __future__ import annotations

import json
import math
import numbers
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
from torch import Tensor

from odevideo._atomic import atomic_write_text
from odevideo.errors import InputError
from odevideo.methods.vid_ode.protocols import charts
from odevideo.methods.vid_ode.protocols.composition import CompositionComponents
from odevideo.methods.vid_ode.protocols.frame_rate import FrameRateOutput

__all__ = ["write_experiment_result"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def _jsonable(obj: object, where: str = "result") -> object:
    """``obj`` with tensors, arrays and paths as lists and strings, non-finite numbers as None."""
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, numbers.Integral):
        return int(obj)
    if isinstance(obj, numbers.Real):
        value = float(obj)
        return value if math.isfinite(value) else None
    if isinstance(obj, Tensor):
        return _jsonable(obj.detach().cpu().tolist(), where)
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist(), where)
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v, f"{where}[{k!r}]") for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v, f"{where}[{i}]") for i, v in enumerate(obj)]
    raise InputError(
        f"{where} is a {type(obj).__name__}, which JSON cannot hold; convert it to numbers, strings or lists."
    )


def write_experiment_result(
    result: dict | FrameRateOutput | CompositionComponents,
    out_dir: str | os.PathLike,
    name: str,
    *,
    plot: bool = True,
) -> dict[str, Path]:
    """Write ``<out_dir>/<name>.json`` and (``plot``) ``<out_dir>/<name>.png``, each atomically.

    ``result`` is what one of the experiments returned: the dicts of
    :func:`~odevideo.methods.vid_ode.protocols.sampling_rate_sweep` /
    :func:`~odevideo.methods.vid_ode.protocols.unseen_timestep_interpolation` (PNG: their curves), a
    :class:`FrameRateOutput` (JSON: its ``summary()``, PNG: :func:`~.charts.save_frame_strip`), a
    :class:`CompositionComponents` (``summary()``, :func:`~.charts.plot_composition`) or any other JSON-able dict
    (JSON only). Non-finite numbers are written as null. Returns ``{"json": path, "png": path}`` (no ``"png"``
    when nothing was drawn). The PNG needs matplotlib (``pip install 'odevideo[plot]'``); the JSON does not.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise InputError(
            f"name={name!r} must be a plain file name stem (letters, digits, '.', '_', '-'), e.g. 'fig6_kth'."
        )
    out = Path(out_dir)
    paths: dict[str, Path] = {"json": out / f"{name}.json"}
    png = out / f"{name}.png"
    draw: Callable[[], Path] | None = None
    if isinstance(result, FrameRateOutput):
        data = result.summary()
        draw = lambda: charts.save_frame_strip(png, result)  # noqa: E731
    elif isinstance(result, CompositionComponents):
        data = result.summary()
        draw = lambda: charts.plot_composition(result, png)  # noqa: E731
    elif isinstance(result, dict):
        data = result
        kind = result.get("experiment")
        if kind == "sampling_rate_sweep":
            draw = lambda: charts.plot_sampling_rate_sweep(result, png)  # noqa: E731
        elif kind == "unseen_timestep_interpolation":
            draw = lambda: charts.plot_unseen_timesteps(result, png)  # noqa: E731
    else:
        raise InputError(
            f"result must be an experiment's output (dict, FrameRateOutput or CompositionComponents), got "
            f"{type(result).__name__}."
        )
    text = json.dumps(_jsonable(data), indent=2, allow_nan=False)
    atomic_write_text(paths["json"], text + "\n")
    if plot and draw is not None:
        paths["png"] = draw()
    return paths
