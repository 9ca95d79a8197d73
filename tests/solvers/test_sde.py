"""sdeint: Ornstein-Uhlenbeck statistics, general noise, seeds, adjoint, input checks."""

from __future__ import annotations

import math

import pytest
import torch
import torchsde

from odevideo.errors import InputError
from odevideo.solvers import SDEFunction, SDESolverConfig, sdeint

F64 = torch.float64
THETA, SIGMA, X0 = 2.0, 1.0, 1.0  # dX = -theta X dt + sigma dW, X(0) = x0; time units
N_PATHS = 4000


class OU(SDEFunction):
    def __init__(self, theta=THETA, sigma=SIGMA, **kwargs):
        super().__init__(**kwargs)
        self.theta = torch.nn.Parameter(torch.tensor(theta, dtype=F64))
        self.sigma = torch.nn.Parameter(torch.tensor(sigma, dtype=F64))

    def f(self, t, y):
        return -self.theta * y

    def g(self, t, y):
        return self.sigma * torch.ones_like(y)


def ou_moments(t):
    mean = X0 * math.exp(-THETA * t)
    var = SIGMA**2 / (2 * THETA) * (1 - math.exp(-2 * THETA * t))
    return mean, var


# With additive noise the Ito and Stratonovich readings agree, so every method must hit the same moments.
@pytest.mark.parametrize("method,sde_type", [
    ("euler", "ito"), ("srk", "ito"), ("midpoint", "stratonovich"), ("log_ode", "stratonovich"),
])
def test_ornstein_uhlenbeck_mean_and_variance(method, sde_type):
    cfg = SDESolverConfig(method=method, dt=0.01, sde_type=sde_type)
    y0 = torch.full((N_PATHS, 1), X0, dtype=F64)
    ys = sdeint(OU(sde_type=sde_type), y0, torch.tensor([0.5, 1.0]), t0=0.0, solver=cfg, seed=1234)
    assert ys.shape == (2, N_PATHS, 1) and ys.dtype == F64
    for i, t in enumerate((0.5, 1.0)):
        mean, var = ou_moments(t)
        # Statistical tolerance: 4 standard errors of the sample mean / sample variance (Gaussian), plus
        # 0.005 for the O(dt) bias of the cruder schemes (Euler: ~0.003 in both at t=1 with dt=0.01).
        se_mean = math.sqrt(var / N_PATHS)
        se_var = var * math.sqrt(2 / (N_PATHS - 1))
        assert abs(ys[i].mean().item() - mean) < 4 * se_mean + 0.005, (t, ys[i].mean().item(), mean)
        assert abs(ys[i].var().item() - var) < 4 * se_var + 0.005, (t, ys[i].var().item(), var)


def test_general_noise_covariance():
    # dY = G dW with G (2 x 3): Cov[Y(t)] = t G G^T; needs the Brownian size (B, 3) taken from g's shape.
    G = torch.tensor([[1.0, 0.5, 0.0], [0.0, -0.5, 0.8]], dtype=F64)

    class Const(SDEFunction):
        def f(self, t, y):
            return torch.zeros_like(y)

        def g(self, t, y):
            return G.expand(y.shape[0], 2, 3)

    cfg = SDESolverConfig(method="euler", dt=0.05, noise_type="general")
    ys = sdeint(Const(noise_type="general"), torch.zeros(N_PATHS, 2, dtype=F64), [0.0, 2.0], solver=cfg, seed=7)
    cov = torch.cov(ys[-1].T)
    want = 2.0 * G @ G.T
    # Entry-wise standard error of a sample covariance: sqrt((S_ii S_jj + S_ij^2) / N).
    se = ((want.diag()[:, None] * want.diag()[None, :] + want**2) / N_PATHS).sqrt()
    assert ((cov - want).abs() < 4 * se).all(), (cov, want)


def test_same_seed_same_paths_and_different_seed_different_paths():
    y0 = torch.zeros(8, 2, dtype=F64)
    t = torch.linspace(0, 1, 5)
    a = sdeint(OU(), y0, t, seed=3)
    assert torch.equal(a, sdeint(OU(), y0, t, seed=3))
    assert not torch.allclose(a[1:], sdeint(OU(), y0, t, seed=4)[1:])
    gen = torch.Generator().manual_seed(11)
    b = sdeint(OU(), y0, t, seed=gen)
    assert torch.equal(b, sdeint(OU(), y0, t, seed=torch.Generator().manual_seed(11)))
    assert not torch.equal(b, sdeint(OU(), y0, t, seed=gen))  # the generator has moved on


def test_torch_manual_seed_makes_the_default_repeatable():
    y0 = torch.zeros(8, 2, dtype=F64)
    t = torch.linspace(0, 1, 5)
    torch.manual_seed(5)
    a = sdeint(OU(), y0, t)
    torch.manual_seed(5)
    assert torch.equal(a, sdeint(OU(), y0, t))


def test_given_brownian_motion_is_used():
    y0 = torch.zeros(4, 1, dtype=F64)
    t = torch.tensor([0.0, 0.5, 1.0])

    def bm():
        return torchsde.BrownianInterval(t0=0.0, t1=1.0, size=(4, 1), dtype=F64, entropy=9, dt=0.01)

    # Pure noise (f = 0, g = 1) with Euler: the path is the Brownian motion itself.
    class Noise(SDEFunction):
        def f(self, t, y):
            return torch.zeros_like(y)

        def g(self, t, y):
            return torch.ones_like(y)

    ys = sdeint(Noise(), y0, t, bm=bm())
    ref = bm()
    assert torch.allclose(ys[1], ref(0.0, 0.5)) and torch.allclose(ys[2], ref(0.0, 1.0))


def test_first_time_equal_to_t0_returns_y0():
    y0 = torch.randn(5, 2, dtype=F64)
    ys = sdeint(OU(), y0, [0.0, 0.3], t0=0.0, seed=0)
    assert torch.equal(ys[0], y0)
    assert torch.equal(sdeint(OU(), y0, [0.0])[0], y0)


def test_sde_without_type_attributes_takes_them_from_the_config():
    class Plain:
        def f(self, t, y):
            return -y

        def g(self, t, y):
            return torch.ones_like(y)

    cfg = SDESolverConfig(method="midpoint", sde_type="stratonovich")
    ys = sdeint(Plain(), torch.zeros(3, 2), [0.0, 1.0], solver=cfg, seed=0)
    assert ys.shape == (2, 3, 2) and torch.isfinite(ys).all()


def test_adjoint_gradients_match_direct_gradients():
    # Same Brownian path both times; Stratonovich + midpoint, whose adjoint is consistent with the forward solve.
    grads = []
    for adjoint in (False, True):
        sde = OU(sde_type="stratonovich")
        y0 = torch.full((32, 1), 1.0, dtype=F64, requires_grad=True)
        bm = torchsde.BrownianInterval(t0=0.0, t1=1.0, size=(32, 1), dtype=F64, entropy=5, dt=0.02)
        cfg = SDESolverConfig(method="midpoint", dt=0.02, sde_type="stratonovich", adjoint=adjoint)
        ys = sdeint(sde, y0, [0.0, 0.5, 1.0], solver=cfg, bm=bm)
        (ys[1:] ** 2).sum().backward()
        grads.append(torch.stack([sde.theta.grad, sde.sigma.grad, y0.grad.sum()]))
    assert torch.allclose(grads[1], grads[0], rtol=1e-2)


def test_bad_inputs_raise_input_error():
    y0 = torch.zeros(4, 2)
    with pytest.raises(InputError, match="strictly increasing"):
        sdeint(OU(), y0, [0.0, 1.0, 0.5])
    with pytest.raises(InputError, match="strictly increasing"):
        sdeint(OU(), y0, [0.0, 0.5, 0.5])
    with pytest.raises(InputError, match="before t0"):
        sdeint(OU(), y0, [0.0, 1.0], t0=0.5)
    with pytest.raises(InputError, match="NaN or infinite"):
        sdeint(OU(), y0, [0.0, math.nan])
    with pytest.raises(InputError, match=r"\(B, D\)"):
        sdeint(OU(), torch.zeros(4), [0.0, 1.0])
    with pytest.raises(InputError, match="y0 contains NaN"):
        sdeint(OU(), torch.full((4, 2), math.inf), [0.0, 1.0])
    with pytest.raises(InputError, match="noise_type='diagonal' but the solver config says 'general'"):
        sdeint(OU(), y0, [0.0, 1.0], solver=SDESolverConfig(noise_type="general"))
    with pytest.raises(InputError, match="either bm or seed"):
        sdeint(OU(), y0, [0.0, 1.0], seed=1, bm=torchsde.BrownianInterval(t0=0.0, t1=1.0, size=(4, 2)))
    with pytest.raises(InputError, match="levy_area_approximation"):
        sdeint(OU(), y0, [0.0, 1.0], solver=SDESolverConfig(method="srk"),
               bm=torchsde.BrownianInterval(t0=0.0, t1=1.0, size=(4, 2)))
    with pytest.raises(InputError, match="seed"):
        sdeint(OU(), y0, [0.0, 1.0], seed=-1)
    with pytest.raises(InputError, match="drift"):
        sdeint(object(), y0, [0.0, 1.0])


def test_adjoint_needs_a_module():
    class Plain:
        noise_type, sde_type = "diagonal", "ito"

        def f(self, t, y):
            return -y

        def g(self, t, y):
            return torch.ones_like(y)

    with pytest.raises(InputError, match="nn.Module"):
        sdeint(Plain(), torch.zeros(2, 1), [0.0, 1.0], solver=SDESolverConfig(adjoint=True))
