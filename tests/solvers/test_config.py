"""SolverConfig / SDESolverConfig: defaults, validation, dict round trips."""

from __future__ import annotations

import dataclasses
import math

import pytest

from odevideo.errors import InputError
from odevideo.solvers import SDESolverConfig, SolverConfig


def test_defaults_match_the_documented_api():
    cfg = SolverConfig()
    assert (cfg.method, cfg.rtol, cfg.atol, cfg.step_size, cfg.adjoint, cfg.max_num_steps) == (
        "rk4", 1e-3, 1e-4, None, False, None)
    sde = SDESolverConfig()
    assert (sde.method, sde.dt, sde.adjoint, sde.noise_type, sde.sde_type) == ("euler", 0.01, False, "diagonal", "ito")


@pytest.mark.parametrize("cls", [SolverConfig, SDESolverConfig])
def test_frozen_hashable_and_plain_field_types(cls):
    cfg = cls()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.method = "euler"
    assert hash(cfg) == hash(cls())
    for f in dataclasses.fields(cls):  # only simple types, so a YAML/dict config can hold them
        assert set(str(f.type).replace(" ", "").split("|")) <= {"str", "float", "bool", "int", "None"}, f


@pytest.mark.parametrize("cls,data", [
    (SolverConfig, {"method": "dopri5", "rtol": 1e-6, "atol": 1e-8, "adjoint": True, "max_num_steps": 1000}),
    (SolverConfig, {"method": "euler", "step_size": 0.05}),
    (SDESolverConfig, {"method": "midpoint", "dt": 0.001, "sde_type": "stratonovich", "noise_type": "general"}),
])
def test_dict_round_trip(cls, data):
    cfg = cls.from_dict(data)
    assert cls.from_dict(cfg.to_dict()) == cfg
    assert cls(**data) == cfg
    assert {k: v for k, v in cfg.to_dict().items() if k in data} == data


def test_ints_become_floats_for_float_fields():
    cfg = SolverConfig(method="euler", rtol=1, atol=1, step_size=1)
    assert isinstance(cfg.rtol, float) and isinstance(cfg.step_size, float)
    assert isinstance(SDESolverConfig(dt=1).dt, float)


def test_unknown_method_lists_the_valid_ones():
    with pytest.raises(InputError, match="dopri5") as err:
        SolverConfig(method="dopri")
    for name in ("euler", "midpoint", "rk4", "explicit_adams", "implicit_adams", "dopri8", "bosh3", "fehlberg2",
                 "adaptive_heun"):
        assert name in str(err.value)
    with pytest.raises(InputError, match="srk"):
        SDESolverConfig(method="runge")


def test_unknown_dict_key_is_rejected():
    with pytest.raises(InputError, match="unknown SolverConfig option.*stepsize"):
        SolverConfig.from_dict({"stepsize": 0.1})
    with pytest.raises(InputError, match="valid options"):
        SDESolverConfig.from_dict({"method": "euler", "h": 0.1})


@pytest.mark.parametrize("field", ["rtol", "atol", "step_size"])
@pytest.mark.parametrize("value", [0.0, -1e-3, math.nan, math.inf, True, "0.1"])
def test_tolerances_and_step_must_be_positive_finite_numbers(field, value):
    kwargs = {"method": "euler"} if field == "step_size" else {}
    with pytest.raises(InputError, match=field):
        SolverConfig(**kwargs, **{field: value})


def test_yaml_style_string_number_gets_a_hint():
    with pytest.raises(InputError, match="1.0e-3"):
        SolverConfig(rtol="1e-3")


@pytest.mark.parametrize("value", [0.0, -0.01, math.nan, math.inf])
def test_sde_dt_must_be_positive(value):
    with pytest.raises(InputError, match="dt"):
        SDESolverConfig(dt=value)


def test_options_that_the_method_would_ignore_are_rejected():
    with pytest.raises(InputError, match="step_size only applies to the fixed-step"):
        SolverConfig(method="dopri5", step_size=0.1)
    with pytest.raises(InputError, match="max_num_steps only applies to the adaptive"):
        SolverConfig(method="rk4", max_num_steps=10)
    with pytest.raises(InputError, match="max_num_steps"):
        SolverConfig(method="dopri5", max_num_steps=0)
    with pytest.raises(InputError, match="adjoint"):
        SolverConfig(adjoint="yes")


def test_odeint_kwargs_by_method_family():
    assert SolverConfig(method="rk4").odeint_kwargs()["options"] == {}
    assert SolverConfig(method="rk4", step_size=0.1).odeint_kwargs()["options"] == {"step_size": 0.1, "interp": "cubic"}
    kw = SolverConfig(method="dopri5", rtol=1e-5, atol=1e-7, max_num_steps=50).odeint_kwargs()
    assert kw == {"method": "dopri5", "rtol": 1e-5, "atol": 1e-7, "options": {"max_num_steps": 50}}
    assert SolverConfig(method="dopri5").adaptive and not SolverConfig(method="euler").adaptive


@pytest.mark.parametrize("kwargs,hint", [
    ({"method": "euler", "sde_type": "stratonovich"}, "midpoint"),
    ({"method": "midpoint", "sde_type": "ito"}, "euler"),
    ({"method": "srk", "noise_type": "general"}, "euler"),
    ({"method": "milstein", "noise_type": "general", "sde_type": "stratonovich"}, "heun"),
])
def test_sde_method_must_fit_sde_and_noise_type(kwargs, hint):
    with pytest.raises(InputError, match=hint):
        SDESolverConfig(**kwargs)


@pytest.mark.parametrize("field,value", [("noise_type", "diag"), ("sde_type", "itô")])
def test_sde_types_are_validated(field, value):
    with pytest.raises(InputError, match=field):
        SDESolverConfig(**{field: value})


def test_off_grid_query_times_are_cubically_interpolated():
    """Rendering between grid points (e.g. 4x frame rate) must be far better than linear interpolation."""
    import torch

    from odevideo.solvers import odeint

    y0 = torch.tensor([1.0], dtype=torch.float64)
    t = torch.tensor([0.0, 0.05, 0.125, 0.3, 0.475], dtype=torch.float64)
    y = odeint(lambda t, y: -2.0 * y, y0, t, solver=SolverConfig(method="rk4", step_size=0.1))
    err = (y[:, 0] - torch.exp(-2.0 * t)).abs().max().item()
    assert err < 1e-5  # linear interpolation of the same grid is off by ~2.5e-3 at t=0.05
