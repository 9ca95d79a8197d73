"""NFECounter: forward evaluations and vector-Jacobian products, direct and adjoint."""

from __future__ import annotations

import torch
from torch import nn

from odevideo.solvers import NFECounter, SolverConfig, odeint, odeint_batch

F64 = torch.float64


class Decay(nn.Module):
    def __init__(self):
        super().__init__()
        self.k = nn.Parameter(torch.tensor(0.5, dtype=F64))

    def forward(self, t, y):
        return -self.k * y


# Step 0.125 is exact in binary, so the step grids below have exactly the counted number of steps.
EULER = SolverConfig(method="euler", step_size=0.125)


def test_direct_backprop_counts_one_vjp_per_evaluation():
    f = NFECounter(Decay())
    y0 = torch.ones(3, dtype=F64, requires_grad=True)
    ys = odeint(f, y0, torch.tensor([0.0, 0.5, 1.0], dtype=F64), solver=EULER)
    assert (f.nfe_forward, f.nfe_backward) == (8, 0)  # 1 / 0.125 steps, one evaluation each
    ys[-1].sum().backward()
    assert (f.nfe_forward, f.nfe_backward) == (8, 8)
    assert f.func.k.grad is not None


def test_adjoint_counts_its_reevaluations_and_vjps():
    f = NFECounter(Decay())
    y0 = torch.ones(3, dtype=F64, requires_grad=True)
    cfg = SolverConfig(method="euler", step_size=0.125, adjoint=True)
    ys = odeint(f, y0, torch.tensor([0.0, 0.5, 1.0], dtype=F64), solver=cfg)
    assert (f.nfe_forward, f.nfe_backward) == (8, 0)  # forward pass runs without a graph
    ys.sum().backward()
    # The adjoint solves back over both intervals (4 + 4 euler steps): one evaluation + one VJP per step.
    assert (f.nfe_forward, f.nfe_backward) == (16, 8)
    assert f.func.k.grad is not None and y0.grad is not None


def test_steps_at_output_times_and_both_directions():
    f = NFECounter(lambda t, y: -y)
    t = torch.tensor([0.5, -0.5, 0.25, 1.0], dtype=F64)
    odeint(f, torch.ones(2, dtype=F64), t, t0=0.0, solver=SolverConfig(method="euler"))
    assert (f.nfe_forward, f.nfe_backward) == (4, 0)  # back: 0 -> -0.5; forward: 0 -> 0.25 -> 0.5 -> 1
    f.reset()
    assert (f.nfe_forward, f.nfe_backward) == (0, 0)
    odeint(f, torch.ones(2, dtype=F64), t, t0=0.0, solver=EULER)
    assert f.nfe_forward == 4 + 8


def test_odeint_batch_solves_once_for_the_whole_batch():
    f = NFECounter(lambda t, y: -y)
    t = torch.tensor([[0.25, 0.5], [0.5, 1.0], [0.75, 1.0]], dtype=F64)
    y0 = torch.ones(3, 2, dtype=F64, requires_grad=True)
    out = odeint_batch(f, y0, t, t0=0.0, solver=SolverConfig(method="euler"))
    assert f.nfe_forward == 4  # union of elapsed times {0.25, 0.5, 0.75, 1}
    out.sum().backward()
    assert f.nfe_backward == 4


def test_wrapping_a_module_keeps_its_parameters_visible():
    inner = Decay()
    f = NFECounter(inner)
    assert list(f.parameters()) == [inner.k]
    assert "nfe_forward=0" in repr(f)
