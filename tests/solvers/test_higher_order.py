"""HigherOrderODEFunc, split_state, initial_state against exact solutions."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from odevideo.errors import InputError
from odevideo.solvers import HigherOrderODEFunc, SolverConfig, initial_state, odeint, split_state

F64 = torch.float64
DOPRI = SolverConfig(method="dopri5", rtol=1e-9, atol=1e-11)


def test_harmonic_oscillator_second_order():
    # x'' = -w^2 x, x(0) = x0, x'(0) = v0  =>  x = x0 cos(wt) + v0/w sin(wt), per component.
    w = torch.tensor([1.0, 2.0, 3.5], dtype=F64)
    x0 = torch.tensor([1.0, 0.0, -0.5], dtype=F64)
    v0 = torch.tensor([0.0, 1.0, 2.0], dtype=F64)
    func = HigherOrderODEFunc(lambda t, x, dx: -(w**2) * x, order=2)
    t = torch.tensor([0.0, 0.4, 1.3, 3.0, -1.0], dtype=F64)
    ys = odeint(func, initial_state(x0, v0), t, solver=DOPRI)
    assert ys.shape == (5, 6)
    x, v = split_state(ys, 2)
    wt = w * t[:, None]
    assert torch.allclose(x, x0 * torch.cos(wt) + v0 / w * torch.sin(wt), atol=1e-8)
    assert torch.allclose(v, -x0 * w * torch.sin(wt) + v0 * torch.cos(wt), atol=1e-7)


def test_third_order_linear_ode():
    # x''' = -6x'' - 11x' - 6x has roots -1, -2, -3: x = a e^-t + b e^-2t + c e^-3t.
    a, b, c = 1.0, -2.0, 0.5
    x0 = torch.tensor([[a + b + c]], dtype=F64)
    dx0 = torch.tensor([[-a - 2 * b - 3 * c]], dtype=F64)
    ddx0 = torch.tensor([[a + 4 * b + 9 * c]], dtype=F64)
    func = HigherOrderODEFunc(lambda t, x, dx, ddx: -6 * ddx - 11 * dx - 6 * x, order=3)
    t = torch.linspace(0, 2, 5, dtype=F64)
    x, dx, ddx = split_state(odeint(func, initial_state(x0, dx0, ddx0), t, solver=DOPRI), 3)
    exact = [
        a * torch.exp(-t) + b * torch.exp(-2 * t) + c * torch.exp(-3 * t),
        -a * torch.exp(-t) - 2 * b * torch.exp(-2 * t) - 3 * c * torch.exp(-3 * t),
        a * torch.exp(-t) + 4 * b * torch.exp(-2 * t) + 9 * c * torch.exp(-3 * t),
    ]
    for got, want in zip((x, dx, ddx), exact):
        assert torch.allclose(got[:, 0, 0], want, atol=1e-8)


def test_order_one_is_the_plain_ode_and_modules_are_registered():
    lin = nn.Linear(2, 2, dtype=F64)
    func = HigherOrderODEFunc(lambda t, x: lin(x), order=1)
    y = torch.randn(4, 2, dtype=F64)
    assert torch.equal(func(torch.tensor(0.0), y), lin(y))
    wrapped = HigherOrderODEFunc(lin, order=1)
    assert len(list(wrapped.parameters())) == 2


def test_state_layout_and_missing_derivatives_are_zero():
    x0 = torch.randn(3, 2)
    v0 = torch.randn(3, 2)
    s = initial_state(x0, v0, order=4)
    assert s.shape == (3, 8)
    parts = split_state(s, 4)
    assert torch.equal(parts[0], x0) and torch.equal(parts[1], v0)
    assert not parts[2].any() and not parts[3].any()
    assert torch.equal(initial_state(x0, None, v0)[..., 4:], v0)
    assert torch.equal(initial_state(x0), x0)
    # f receives exactly the split parts; the derivative shifts them down by one.
    func = HigherOrderODEFunc(lambda t, *xs: xs[0] * 10, order=4)
    ds = split_state(func(torch.tensor(0.0), s), 4)
    assert torch.equal(ds[0], v0) and not ds[1].any() and torch.equal(ds[3], x0 * 10)


def test_second_order_gradients_flow_to_initial_velocity():
    # x'' = -x: x(t) = x0 cos t + v0 sin t, so dx(t)/dv0 = sin t.
    v0 = torch.tensor([0.3], dtype=F64, requires_grad=True)
    s0 = initial_state(torch.tensor([1.0], dtype=F64), v0)
    x, _ = split_state(odeint(HigherOrderODEFunc(lambda t, x, dx: -x, 2), s0, [0.0, 1.2], solver=DOPRI), 2)
    x[-1].sum().backward()
    assert v0.grad.item() == pytest.approx(math.sin(1.2), rel=1e-7)


@pytest.mark.parametrize("order", [0, -1, 1.5, True, "2"])
def test_bad_order(order):
    with pytest.raises(InputError, match="order"):
        HigherOrderODEFunc(lambda t, x: x, order)


def test_bad_states():
    with pytest.raises(InputError, match="divisible by 3"):
        split_state(torch.zeros(2, 4), 3)
    with pytest.raises(InputError, match="got 2 derivatives"):
        initial_state(torch.zeros(2), torch.zeros(2), torch.zeros(2), order=2)
    with pytest.raises(InputError, match="must match"):
        initial_state(torch.zeros(2, 3), torch.zeros(3))
