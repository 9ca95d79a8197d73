"""odeint / odeint_batch against exact solutions, time handling, gradients, adjoint, input checks."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from odevideo.errors import InputError, TrainingDivergedError
from odevideo.solvers import SolverConfig, odeint, odeint_batch

F64 = torch.float64
K = torch.tensor([0.5, 1.0, 2.0], dtype=F64)  # decay rates, time units^-1
Y0 = torch.tensor([1.0, -2.0, 0.5], dtype=F64)


def decay(t, y):
    return -K * y


def exact_decay(t, t0=0.0):
    """y(t) = y0 exp(-k (t - t0)) for t (T,) -> (T, 3)."""
    return Y0 * torch.exp(-K * (t[:, None] - t0))


def max_rel_err(ys, exact):
    return ((ys - exact).abs() / exact.abs()).max().item()


# Per-method settings and the largest relative error accepted on [-1, 2] (observed errors are 1.25-5x smaller;
# euler's is O(step) and sits close to its bound).
# The adaptive tolerances do not bound the global error: low-order methods accumulate, and dopri8/bosh3
# answer query times by an interpolant that is less accurate than their steps (see SolverConfig).
METHODS = {
    "euler": ({"step_size": 0.01}, 5e-2),
    "midpoint": ({"step_size": 0.01}, 5e-4),
    "rk4": ({"step_size": 0.05}, 1e-5),
    "explicit_adams": ({"step_size": 0.01}, 5e-7),
    "implicit_adams": ({"step_size": 0.01}, 2e-9),
    "dopri5": ({"rtol": 1e-8, "atol": 1e-10}, 1e-7),
    "dopri8": ({"rtol": 1e-8, "atol": 1e-10}, 5e-5),
    "bosh3": ({"rtol": 1e-6, "atol": 1e-8}, 1e-3),
    "fehlberg2": ({"rtol": 1e-6, "atol": 1e-8}, 2e-3),
    "adaptive_heun": ({"rtol": 1e-5, "atol": 1e-7}, 2e-4),
}


@pytest.mark.parametrize("method", list(METHODS))
def test_exponential_decay_forward_and_backward_in_time(method):
    options, tol = METHODS[method]
    cfg = SolverConfig(method=method, **options)
    forward = torch.tensor([0.0, 0.3, 0.75, 1.0, 1.5, 2.0], dtype=F64)
    backward = torch.tensor([0.0, -0.25, -0.5, -1.0], dtype=F64)  # t[0] = t0 = 0: solved backwards
    for t in (forward, backward):
        ys = odeint(decay, Y0, t, solver=cfg)
        assert ys.shape == (len(t), 3) and ys.dtype == F64
        assert torch.equal(ys[0], Y0)
        assert max_rel_err(ys, exact_decay(t)) < tol, method


@pytest.mark.parametrize("method,order", [("euler", 1), ("midpoint", 2), ("rk4", 4)])
def test_fixed_step_methods_converge_at_their_order(method, order):
    t = torch.tensor([0.0, 1.0], dtype=F64)
    errs = [
        (odeint(decay, Y0, t, solver=SolverConfig(method=method, step_size=h))[-1] - exact_decay(t)[-1]).abs().max()
        for h in (0.1, 0.05)
    ]
    assert errs[0] / errs[1] == pytest.approx(2**order, rel=0.15)


def test_float32_state_keeps_its_dtype():
    ys = odeint(decay, Y0.float(), torch.tensor([0.0, 1.0]), solver=SolverConfig(method="rk4", step_size=0.05))
    assert ys.dtype == torch.float32
    assert torch.allclose(ys.double(), exact_decay(torch.tensor([0.0, 1.0], dtype=F64)), rtol=1e-5)


DOPRI = SolverConfig(method="dopri5", rtol=1e-9, atol=1e-11)


def test_unsorted_repeated_times_come_back_in_caller_order():
    t = torch.tensor([1.0, 0.2, 1.0, -0.5, 0.0, 0.7, 0.2, -0.5], dtype=F64)
    ys = odeint(decay, Y0, t, t0=0.0, solver=DOPRI)
    assert ys.shape == (8, 3)
    assert torch.allclose(ys, exact_decay(t), rtol=1e-8, atol=0)
    assert torch.equal(ys[0], ys[2]) and torch.equal(ys[1], ys[6]) and torch.equal(ys[3], ys[7])
    assert torch.equal(ys[4], Y0)  # t == t0 gives y0 itself


def test_default_t0_is_the_callers_first_time_not_the_smallest():
    t = torch.tensor([1.0, 0.0, 2.0], dtype=F64)
    ys = odeint(decay, Y0, t, solver=DOPRI)
    assert torch.equal(ys[0], Y0)
    assert torch.allclose(ys, exact_decay(t, t0=1.0), rtol=1e-8, atol=0)


def test_t0_between_query_times():
    t = torch.tensor([0.0, 0.5, 1.5, 2.0, 1.0], dtype=F64)
    ys = odeint(decay, Y0, t, t0=torch.tensor(1.0), solver=DOPRI)
    assert torch.allclose(ys, exact_decay(t, t0=1.0), rtol=1e-8, atol=0)
    assert torch.equal(ys[4], Y0)


def test_all_times_equal_t0_needs_no_solve():
    calls = []
    ys = odeint(lambda t, y: calls.append(1) or -y, Y0, [0.5, 0.5], t0=0.5)
    assert torch.equal(ys, Y0.expand(2, 3)) and not calls


def test_time_dependent_dynamics_see_true_time_in_both_directions():
    # dy/dt = cos(t)  =>  y(t) = y0 + sin(t) - sin(t0); wrong time signs in the backward part would show.
    y0 = torch.tensor([0.3], dtype=F64)
    t = torch.tensor([-2.0, -0.5, 0.5, 3.0], dtype=F64)
    ys = odeint(lambda t, y: torch.cos(t).expand_as(y), y0, t, t0=1.0, solver=DOPRI)
    exact = y0 + torch.sin(t)[:, None] - math.sin(1.0)
    assert torch.allclose(ys, exact, rtol=0, atol=1e-8)


def test_state_of_any_shape():
    y0 = torch.randn(2, 3, 4, dtype=F64)
    t = torch.tensor([0.0, 0.5, -0.5], dtype=F64)
    ys = odeint(lambda t, y: -y, y0, t, solver=DOPRI)
    assert ys.shape == (3, 2, 3, 4)
    assert torch.allclose(ys, y0 * torch.exp(-t).view(3, 1, 1, 1), rtol=1e-8)


class Tanh(nn.Module):
    """A small smooth nonlinear autonomous field dy/dt = tanh(W y + b) - 0.1 y."""

    def __init__(self, dim: int = 3, dtype=F64):
        super().__init__()
        self.lin = nn.Linear(dim, dim, dtype=dtype)

    def forward(self, t, y):
        return torch.tanh(self.lin(y)) - 0.1 * y


def test_odeint_batch_matches_separate_solves():
    torch.manual_seed(1)
    func = Tanh()
    y0 = torch.randn(3, 3, dtype=F64)
    t0 = torch.tensor([0.0, 0.4, -1.0], dtype=F64)
    t = torch.tensor([[0.1, 0.5, 1.2, 2.0],
                      [1.0, 0.4, 0.2, 0.9],  # unsorted, one time equal to t0, one before it
                      [-1.0, -0.3, 0.3, 0.3]], dtype=F64)  # repeats
    out = odeint_batch(func, y0, t, t0=t0, solver=DOPRI)
    assert out.shape == (3, 4, 3)
    for b in range(3):
        ref = odeint(func, y0[b], t[b], t0=t0[b], solver=DOPRI)
        assert torch.allclose(out[b], ref, rtol=1e-7, atol=1e-9), b
    assert torch.equal(out[1, 1], y0[1]) and torch.equal(out[2, 2], out[2, 3])


def test_odeint_batch_float_t0_and_fixed_steps():
    func = Tanh()
    y0 = torch.randn(2, 3, dtype=F64)
    t = torch.tensor([[0.25, 0.5], [0.75, 1.0]], dtype=F64)
    cfg = SolverConfig(method="rk4", step_size=0.125)
    out = odeint_batch(func, y0, t, t0=0.0, solver=cfg)
    for b in range(2):
        assert torch.allclose(out[b], odeint(func, y0[b : b + 1], t[b], t0=0.0, solver=cfg)[:, 0], atol=1e-12)


def test_odeint_batch_func_sees_elapsed_time():
    # dy/ds = s  =>  y = y0 + s^2 / 2 with s the time since the sample's own start.
    y0 = torch.zeros(2, 1, dtype=F64)
    t0 = torch.tensor([10.0, -5.0], dtype=F64)
    t = t0[:, None] + torch.tensor([[1.0, 2.0], [0.5, -1.0]], dtype=F64)
    out = odeint_batch(lambda s, y: s.expand_as(y), y0, t, t0=t0, solver=DOPRI)
    assert torch.allclose(out[..., 0], (t - t0[:, None]) ** 2 / 2, atol=1e-9)


def test_odeint_batch_gradients_match_separate_solves():
    func = Tanh()
    y0 = torch.randn(2, 3, dtype=F64, requires_grad=True)
    t = torch.tensor([[0.2, 0.7], [0.3, -0.4]], dtype=F64)
    t0 = torch.tensor([0.0, 0.1], dtype=F64)
    cfg = SolverConfig(method="rk4", step_size=0.05)
    w = torch.randn(2, 2, 3, dtype=F64)

    (odeint_batch(func, y0, t, t0=t0, solver=cfg) * w).sum().backward()
    g_y0, g_w = y0.grad.clone(), func.lin.weight.grad.clone()
    y0.grad = None
    func.zero_grad()
    sum((odeint(func, y0[b], t[b], t0=t0[b], solver=cfg) * w[b]).sum() for b in range(2)).backward()
    # Not bit-identical: the batched solve steps on the union of both grids.
    assert torch.allclose(g_y0, y0.grad, rtol=1e-6)
    assert torch.allclose(g_w, func.lin.weight.grad, rtol=1e-6)


def test_gradcheck_through_odeint_both_directions():
    t = torch.tensor([0.3, -0.4, 0.0, 0.6], dtype=F64)
    cfg = SolverConfig(method="rk4", step_size=0.1)

    def run(y0, k):
        return odeint(lambda tt, y: -k * y + torch.sin(tt) * y**2, y0, t, t0=0.0, solver=cfg)

    y0 = torch.tensor([0.5, -0.3], dtype=F64, requires_grad=True)
    k = torch.tensor([0.7, 1.3], dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(run, (y0, k))


def test_gradcheck_through_odeint_batch():
    t = torch.tensor([[0.2, 0.5], [0.4, -0.2]], dtype=F64)
    cfg = SolverConfig(method="midpoint", step_size=0.1)
    y0 = torch.tensor([[0.5, -0.3], [0.1, 0.2]], dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda y: odeint_batch(lambda s, z: -z**3, y, t, t0=0.0, solver=cfg), (y0,))


def test_adjoint_gradients_equal_direct_gradients():
    torch.manual_seed(2)
    func = Tanh()
    y0 = torch.randn(4, 3, dtype=F64, requires_grad=True)
    t = torch.tensor([0.0, 0.5, -0.5, 1.5, 1.0], dtype=F64)
    w = torch.randn(5, 4, 3, dtype=F64)
    grads = []
    for adjoint in (False, True):
        cfg = SolverConfig(method="dopri5", rtol=1e-10, atol=1e-12, adjoint=adjoint)
        y0.grad = None
        func.zero_grad()
        ys = odeint(func, y0, t, solver=cfg)
        (ys * w).sum().backward()
        grads.append([y0.grad.clone()] + [p.grad.clone() for p in func.parameters()])
    for direct, adj in zip(*grads):
        assert torch.allclose(adj, direct, rtol=1e-4, atol=1e-8)


def test_adjoint_with_a_bound_method_trains_the_modules_parameters():
    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.k = nn.Parameter(torch.tensor(0.8, dtype=F64))

        def dynamics(self, t, y):
            return -self.k * y

    model = Model()
    cfg = SolverConfig(method="dopri5", rtol=1e-10, atol=1e-12, adjoint=True)
    odeint(model.dynamics, Y0, [0.0, 1.0], solver=cfg)[-1].sum().backward()
    # d/dk sum(y0 exp(-k)) = -sum(y0) exp(-k)
    assert model.k.grad.item() == pytest.approx(-Y0.sum().item() * math.exp(-0.8), rel=1e-6)


def test_adjoint_with_a_plain_function_is_refused():
    with pytest.raises(InputError, match="nn.Module"):
        odeint(decay, Y0, [0.0, 1.0], solver=SolverConfig(adjoint=True))


@pytest.mark.parametrize("t,match", [
    (torch.tensor([0.0, math.nan]), "NaN or infinite"),
    (torch.tensor([0.0, math.inf]), "NaN or infinite"),
    (torch.zeros(2, 3), r"shape \(T,\)"),
    (torch.zeros(0), "T >= 1"),
    (torch.tensor(1.0), r"shape \(T,\)"),
    ("abc", "sequence of numbers"),
])
def test_bad_times_raise_input_error(t, match):
    with pytest.raises(InputError, match=match):
        odeint(decay, Y0, t)


def test_bad_state_or_t0_raise_input_error():
    t = torch.tensor([0.0, 1.0], dtype=F64)
    with pytest.raises(InputError, match="y0 contains NaN"):
        odeint(decay, torch.tensor([1.0, math.nan, 0.0], dtype=F64), t)
    with pytest.raises(InputError, match="floating-point"):
        odeint(decay, torch.ones(3, dtype=torch.long), t)
    with pytest.raises(InputError, match="torch.Tensor"):
        odeint(decay, [1.0, 2.0, 3.0], t)
    with pytest.raises(InputError, match="t0=.*not finite"):
        odeint(decay, Y0, t, t0=math.inf)
    with pytest.raises(InputError, match="single time"):
        odeint(decay, Y0, t, t0=torch.zeros(2))
    with pytest.raises(InputError, match="SolverConfig"):
        odeint(decay, Y0, t, solver={"method": "rk4"})


def test_bad_batch_inputs_raise_input_error():
    y0 = torch.zeros(2, 3)
    with pytest.raises(InputError, match=r"\(B, T\)"):
        odeint_batch(decay, y0, torch.zeros(4), t0=0.0)
    with pytest.raises(InputError, match="batch size 2"):
        odeint_batch(decay, y0, torch.zeros(3, 4), t0=0.0)
    with pytest.raises(InputError, match=r"t0 has shape \(3,\)"):
        odeint_batch(decay, y0, torch.zeros(2, 4), t0=torch.zeros(3))
    with pytest.raises(InputError, match="t0 contains NaN"):
        odeint_batch(decay, y0, torch.zeros(2, 4), t0=torch.tensor([0.0, math.nan]))
    with pytest.raises(InputError, match="NaN or infinite times"):
        odeint_batch(decay, y0, torch.full((2, 4), math.inf), t0=0.0)


def test_adaptive_solver_failure_is_reported_as_divergence():
    cfg = SolverConfig(method="dopri5", rtol=1e-9, atol=1e-12, max_num_steps=5)
    with pytest.raises(TrainingDivergedError, match="max_num_steps exceeded"):
        odeint(decay, Y0, torch.tensor([0.0, 10.0], dtype=F64), solver=cfg)
    with pytest.raises(TrainingDivergedError, match="non-finite"):
        odeint(lambda t, y: y * math.inf, Y0, torch.tensor([0.0, 1.0], dtype=F64), solver=SolverConfig("dopri5"))
