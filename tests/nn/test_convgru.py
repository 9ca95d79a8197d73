import pytest
import torch

from odevideo.errors import InputError
from odevideo.nn import ConvGRUCell, ConvODEFunc, ODEConvGRUEncoder
from odevideo.solvers import SolverConfig, odeint


def _randomize(module, scale=0.3, seed=0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * scale)


def _enc(**kw):
    torch.manual_seed(0)
    enc = ODEConvGRUEncoder(3, 4, ode_hidden=4, **kw)
    _randomize(enc.dynamics)  # non-zero dynamics, so the time gaps matter
    return enc


def test_convgru_cell_shapes_and_gating():
    cell = ConvGRUCell(3, 5)
    x, h = torch.randn(2, 3, 6, 6), torch.randn(2, 5, 6, 6)
    out = cell(x, h)
    assert out.shape == (2, 5, 6, 6)
    with pytest.raises(InputError):
        cell(torch.randn(2, 4, 6, 6), h)
    with pytest.raises(InputError):
        ConvGRUCell(3, 5, kernel=2)


def test_conv_ode_func_zero_init_and_shape():
    f = ConvODEFunc(6, 3, layers=2)
    h = torch.randn(2, 6, 4, 4)
    assert torch.equal(f(torch.tensor(0.0), h), torch.zeros_like(h))
    f2 = ConvODEFunc(6, 3, layers=1, zero_init=False)
    assert f2(torch.tensor(0.0), h).abs().sum() > 0


def _manual_backward_euler(enc, x, times, mask):
    """One sample at a time: the authors' recursion, h <- h + f(h) * (t_i - t_prev), then the GRU update."""
    outs = []
    for b in range(x.shape[0]):
        h = torch.zeros(1, 4, *x.shape[-2:])
        prev = None
        for i in reversed(range(x.shape[1])):
            if not mask[b, i]:
                continue
            if prev is not None:
                h = h + enc.dynamics(torch.tensor(0.0), h) * (times[b, i] - prev)
            h = enc.cell(x[b : b + 1, i], h)
            prev = times[b, i]
        outs.append(h)
    return torch.cat(outs)


def test_default_is_one_euler_step_per_gap_backwards_with_per_sample_times():
    enc = _enc()
    x = torch.randn(2, 4, 3, 4, 4)
    times = torch.tensor([[0.0, 0.1, 0.35, 0.4], [0.0, 0.3, 0.5, 1.1]])
    mask = torch.tensor([[True, True, False, True], [True, False, True, True]])
    out = enc(x, times, mask)
    torch.testing.assert_close(out, _manual_backward_euler(enc, x, times, mask), rtol=1e-5, atol=1e-6)


def test_masked_steps_are_no_ops_and_equal_dropping_the_frames():
    enc = _enc()
    x = torch.randn(1, 5, 3, 4, 4)
    times = torch.tensor([[0.0, 0.1, 0.2, 0.3, 0.4]])
    mask = torch.tensor([[True, False, True, False, True]])
    out = enc(x, times, mask)
    x2 = x.clone()
    x2[:, ~mask[0]] = 1e3  # content of unobserved frames must not matter
    torch.testing.assert_close(enc(x2, times, mask), out)
    keep = mask[0]
    torch.testing.assert_close(enc(x[:, keep], times[:, keep], None), out, rtol=1e-5, atol=1e-6)


def test_batched_irregular_grids_equal_separate_runs():
    enc = _enc(solver=SolverConfig("rk4"))
    x = torch.randn(3, 4, 3, 4, 4)
    times = torch.tensor([[0.0, 0.1, 0.2, 0.3], [0.0, 0.5, 0.6, 2.0], [1.0, 1.2, 1.25, 1.9]])
    mask = torch.tensor([[True] * 4, [True, True, False, True], [False, True, True, True]])
    out = enc(x, times, mask)
    for b in range(3):
        torch.testing.assert_close(
            enc(x[b : b + 1], times[b : b + 1], mask[b : b + 1]), out[b : b + 1], rtol=1e-5, atol=1e-6
        )


def test_unit_time_scaling_is_exact_for_autonomous_dynamics():
    enc = _enc(solver=SolverConfig("dopri5", rtol=1e-7, atol=1e-8))
    h0 = torch.randn(2, 4, 4, 4) * 0.5
    gap = torch.tensor([-0.3, 0.7])
    got = enc.flow(h0, gap)
    for b in range(2):
        ref = odeint(enc.dynamics, h0[b : b + 1], torch.tensor([0.0, float(gap[b])]),
                     solver=SolverConfig("dopri5", rtol=1e-7, atol=1e-8))[-1]
        torch.testing.assert_close(got[b : b + 1], ref, rtol=1e-4, atol=1e-5)


def test_forward_direction_and_gradients():
    enc = _enc(run_backwards=False)
    x = torch.randn(2, 3, 3, 4, 4, requires_grad=True)
    times = torch.tensor([[0.0, 0.1, 0.2]]).expand(2, -1)
    out = enc(x, times)
    assert out.shape == (2, 4, 4, 4)
    out.sum().backward()
    assert x.grad.abs().sum() > 0
    assert enc.dynamics.nfe_forward > 0


def test_bad_inputs():
    enc = _enc()
    with pytest.raises(InputError):
        enc(torch.randn(2, 3, 5, 4, 4), torch.zeros(2, 3))
    with pytest.raises(InputError):
        enc(torch.randn(2, 3, 3, 4, 4), torch.zeros(2, 4))
    with pytest.raises(InputError):
        enc(torch.randn(2, 3, 3, 4, 4), torch.zeros(2, 3), torch.ones(2, 3))


def test_conv_ode_func_rate_scales_the_vector_field():
    torch.manual_seed(0)
    base = ConvODEFunc(4, 4, 1, zero_init=False)
    fast = ConvODEFunc(4, 4, 1, zero_init=False, rate=10.0)
    fast.load_state_dict(base.state_dict())
    h = torch.randn(2, 4, 5, 5)
    t = torch.tensor(0.0)
    torch.testing.assert_close(fast(t, h), 10.0 * base(t, h))
    with pytest.raises(InputError, match="rate"):
        ConvODEFunc(4, rate=0.0)
