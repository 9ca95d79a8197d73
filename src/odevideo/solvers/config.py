"""Solver settings as frozen dataclasses of plain values (str, float, int, bool, None).

They nest inside the training config and round-trip through YAML/dicts:
``SolverConfig.from_dict(d)`` / ``cfg.to_dict()``. Everything is validated when the object is built,
so a bad preset fails at load time instead of in the middle of a training run.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from odevideo.errors import InputError

# torchdiffeq methods, split by how the step size is chosen.
FIXED_STEP_METHODS = ("euler", "midpoint", "rk4", "explicit_adams", "implicit_adams")
ADAPTIVE_METHODS = ("dopri5", "dopri8", "bosh3", "fehlberg2", "adaptive_heun")
ODE_METHODS = FIXED_STEP_METHODS + ADAPTIVE_METHODS

NOISE_TYPES = ("diagonal", "additive", "scalar", "general")
SDE_TYPES = ("ito", "stratonovich")
# torchsde methods -> (the SDE type they integrate, the noise types they support).
# Mirrors the checks torchsde makes when the solver is built, so a mismatch fails when the config is made.
SDE_METHODS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "euler": (("ito",), NOISE_TYPES),
    "milstein": (("ito", "stratonovich"), ("diagonal", "additive", "scalar")),
    "srk": (("ito",), ("diagonal", "additive", "scalar")),
    "euler_heun": (("stratonovich",), NOISE_TYPES),
    "heun": (("stratonovich",), NOISE_TYPES),
    "midpoint": (("stratonovich",), NOISE_TYPES),
    "reversible_heun": (("stratonovich",), NOISE_TYPES),
    "log_ode": (("stratonovich",), NOISE_TYPES),
}

_C = TypeVar("_C")


def _choice(owner: str, name: str, value: Any, valid: tuple[str, ...]) -> None:
    if not isinstance(value, str) or value not in valid:
        raise InputError(f"{owner}.{name}={value!r} is not supported; use one of: {', '.join(valid)}.")


def _positive(owner: str, name: str, value: Any, *, optional: bool = False) -> float | None:
    """Returns ``value`` as a float after checking it is a finite number > 0 (or None when optional)."""
    if value is None and optional:
        return None
    # bool is an int subclass; True as a tolerance is a mistake, not 1.0. Strings are rejected (not parsed)
    # because YAML 1.1 reads "1e-3" (no dot) as a string: better to say so than to guess.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        hint = " (YAML reads 1e-3 as a string; write 1.0e-3)" if isinstance(value, str) else ""
        raise InputError(f"{owner}.{name} must be a number > 0, got {value!r}{hint}.")
    if not math.isfinite(value) or value <= 0:
        raise InputError(f"{owner}.{name} must be a finite number > 0, got {value!r}.")
    return float(value)


def _bool(owner: str, name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise InputError(f"{owner}.{name} must be true or false, got {value!r}.")


def _from_dict(cls: type[_C], data: Mapping[str, Any]) -> _C:
    if not isinstance(data, Mapping):
        raise InputError(f"{cls.__name__} needs a mapping of options, got {type(data).__name__}.")
    valid = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(valid))
    if unknown:
        raise InputError(f"unknown {cls.__name__} option(s) {unknown}; valid options: {', '.join(valid)}.")
    return cls(**data)


@dataclass(frozen=True)
class SolverConfig:
    """How to integrate an ODE with torchdiffeq.

    Args:
        method: a fixed-step method (``euler``, ``midpoint``, ``rk4``, ``explicit_adams``, ``implicit_adams``)
            or an adaptive one (``dopri5``, ``dopri8``, ``bosh3``, ``fehlberg2``, ``adaptive_heun``).
        rtol, atol: error tolerances of the adaptive methods (ignored by fixed-step ones).
        step_size: fixed-step methods only, in time units. ``None`` steps exactly from one output time to
            the next; otherwise the grid is ``t0, t0 + step_size, ...`` and outputs between grid points are
            interpolated: cubic Hermite for midpoint/rk4 (O(step_size^4), one extra evaluation per output
            time), linear for euler and the Adams methods.
        adjoint: backpropagate with the adjoint method (memory O(1) in the number of steps; ``func`` must
            be an ``nn.Module`` or a method of one).
        max_num_steps: adaptive methods only: fail instead of taking more steps than this.

    Accuracy notes (torchdiffeq 0.2.5): ``explicit_adams`` runs as 4th-order Adams-Bashforth (see
    :meth:`odeint_kwargs`). Adaptive methods control the local error of their *steps*, and answer query
    times between steps by interpolation; for ``dopri8`` and ``bosh3`` that interpolation is much less
    accurate than the steps (e.g. ~1e-5 relative error at rtol=1e-8 for dopri8), and the low-order
    ``fehlberg2``/``adaptive_heun`` accumulate global errors far above rtol. ``dopri5`` is the reliable choice.
    """

    method: str = "rk4"
    rtol: float = 1e-3
    atol: float = 1e-4
    step_size: float | None = None
    adjoint: bool = False
    max_num_steps: int | None = None

    def __post_init__(self) -> None:
        name = type(self).__name__
        _choice(name, "method", self.method, ODE_METHODS)
        object.__setattr__(self, "rtol", _positive(name, "rtol", self.rtol))
        object.__setattr__(self, "atol", _positive(name, "atol", self.atol))
        object.__setattr__(self, "step_size", _positive(name, "step_size", self.step_size, optional=True))
        _bool(name, "adjoint", self.adjoint)
        if self.max_num_steps is not None and (
            isinstance(self.max_num_steps, bool) or not isinstance(self.max_num_steps, int) or self.max_num_steps < 1
        ):
            raise InputError(f"{name}.max_num_steps must be a positive integer or None, got {self.max_num_steps!r}.")
        # An option the chosen method would ignore is almost always a leftover from another method.
        if self.step_size is not None and self.adaptive:
            raise InputError(
                f"{name}.step_size only applies to the fixed-step methods ({', '.join(FIXED_STEP_METHODS)}); "
                f"method={self.method!r} chooses its own steps from rtol/atol. Set step_size to None."
            )
        if self.max_num_steps is not None and not self.adaptive:
            raise InputError(
                f"{name}.max_num_steps only applies to the adaptive methods ({', '.join(ADAPTIVE_METHODS)}); "
                f"method={self.method!r} takes a fixed number of steps. Set max_num_steps to None."
            )

    @property
    def adaptive(self) -> bool:
        """True for the error-controlled methods (dopri5, ...)."""
        return self.method in ADAPTIVE_METHODS

    def odeint_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``torchdiffeq.odeint``: method, rtol, atol and options."""
        options: dict[str, Any] = {}
        if self.step_size is not None:
            options["step_size"] = self.step_size
            if self.method in ("midpoint", "rk4"):
                # Query times between grid points (e.g. rendering at 4x the frame rate) are answered by
                # cubic Hermite interpolation from the states and derivatives at the two grid points,
                # O(h^4) instead of the O(h^2) of torchdiffeq's default linear interpolation. It costs one
                # extra evaluation per output time. (Euler is only first order: linear is as good there.)
                options["interp"] = "cubic"
        if self.max_num_steps is not None:
            options["max_num_steps"] = self.max_num_steps
        if self.method == "explicit_adams":
            # torchdiffeq raises the Adams-Bashforth order up to 11 steps by default, whose stability region
            # is so small that dy/dt = -2y with step 0.01 blows up to 1e26 by t = 2. Cap it at classic AB4.
            options["max_order"] = 5
        return {"method": self.method, "rtol": self.rtol, "atol": self.atol, "options": options}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SolverConfig:
        """Builds from a plain mapping; unknown keys raise :class:`InputError`."""
        return _from_dict(cls, data)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class SDESolverConfig:
    """How to integrate an SDE with torchsde (fixed step ``dt``, in time units).

    ``method`` must suit ``sde_type`` and ``noise_type`` (e.g. ``euler``/``milstein``/``srk`` for Ito,
    ``midpoint``/``heun``/``euler_heun``/``reversible_heun``/``log_ode``/``milstein`` for Stratonovich;
    ``milstein`` and ``srk`` need diagonal, additive or scalar noise). ``noise_type``/``sde_type`` must
    match the attributes of the SDE being solved (they are filled in from here when it has none).
    """

    method: str = "euler"
    dt: float = 0.01
    adjoint: bool = False
    noise_type: str = "diagonal"
    sde_type: str = "ito"

    def __post_init__(self) -> None:
        name = type(self).__name__
        _choice(name, "method", self.method, tuple(SDE_METHODS))
        object.__setattr__(self, "dt", _positive(name, "dt", self.dt))
        _bool(name, "adjoint", self.adjoint)
        _choice(name, "noise_type", self.noise_type, NOISE_TYPES)
        _choice(name, "sde_type", self.sde_type, SDE_TYPES)
        sde_types, noise_types = SDE_METHODS[self.method]
        if self.sde_type not in sde_types:
            problem = f"integrates {'/'.join(sde_types)} SDEs, not sde_type={self.sde_type!r}"
        elif self.noise_type not in noise_types:
            problem = f"supports noise_type {', '.join(noise_types)}, not {self.noise_type!r}"
        else:
            return
        fits = [m for m, (s, n) in SDE_METHODS.items() if self.sde_type in s and self.noise_type in n]
        raise InputError(
            f"{name}.method={self.method!r} {problem}; for {self.sde_type} SDEs with {self.noise_type} noise "
            f"use one of: {', '.join(fits)}."
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SDESolverConfig:
        """Builds from a plain mapping; unknown keys raise :class:`InputError`."""
        return _from_dict(cls, data)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
