import pytest
import torch

from odevideo.errors import InputError
from odevideo.methods.video_gan.temporal_common import count_parameters
from odevideo.methods.video_gan.temporal_discrete import MoCoGANMotionGenerator, TGANTemporalGenerator
from odevideo.methods.video_gan.temporal_ode import ODETemporalGenerator, mocogan_ode, tgan_ode
from odevideo.methods.video_gan.temporal_sde import SDETemporalGenerator, tgan_sde


def _z(b=2, d=4, seed=0):
    return torch.randn(b, d, generator=torch.Generator().manual_seed(seed))


def _set_constant_f(gen: ODETemporalGenerator, c: float) -> torch.Tensor:
    """Zero weights and bias atanh(c) in f's single layer, so f == c everywhere; returns c as a tensor."""
    layer = gen.func.f.net[0]
    with torch.no_grad():
        layer.weight.zero_()
        layer.bias.fill_(torch.atanh(torch.tensor(c)).item())
    return torch.tensor(c)


# ---------------------------------------------------------------------------------------------------------------
# parameter counts (the paper's numbers, TGAN latent 100 / MoCoGAN motion 16)


def test_parameter_counts_match_the_paper():
    assert count_parameters(TGANTemporalGenerator()) == 826_468
    assert count_parameters(MoCoGANMotionGenerator(16)) == 1_632
    assert count_parameters(tgan_ode("single", fcn=False)) == 10_100
    assert count_parameters(tgan_ode("single")) == 638_424
    assert count_parameters(tgan_ode("two_layer")) == 648_524
    assert count_parameters(tgan_ode("equal_params")) == 825_002
    assert count_parameters(tgan_sde()) == 648_524
    assert count_parameters(mocogan_ode("single")) == 2_400
    assert count_parameters(mocogan_ode("equal_params")) == 1_633


def test_equal_params_from_target_picks_nearest_width():
    gen = tgan_ode("equal_params", param_target=826_468)
    assert gen.hidden_dim == 985 and count_parameters(gen) == 826_409
    assert mocogan_ode("equal_params", param_target=1_632).hidden_dim == 49  # the authors' width
    with pytest.raises(InputError, match="exactly one"):
        ODETemporalGenerator(4, f_type="equal_params")


def test_higher_order_and_time_dependent_counts():
    d = 100
    # top_derivative: f is D -> D; `order` Linear(D, D) maps give the initial states
    assert count_parameters(tgan_ode(order=2, fcn=False)) == 10_100 + 2 * 10_100
    assert count_parameters(tgan_ode(order=3, fcn=False)) == 10_100 + 3 * 10_100
    # general: f is order*D -> D
    assert count_parameters(tgan_ode(order=3, construction="general", fcn=False)) == 3 * d * d + d + 3 * 10_100
    assert count_parameters(ODETemporalGenerator(d, order=2, initial_states="zeros")) == 10_100
    assert count_parameters(ODETemporalGenerator(d, time_dependent=True)) == 10_100 + d
    assert count_parameters(torch.nn.Linear(3, 2)) == 8


# ---------------------------------------------------------------------------------------------------------------
# shapes and the discrete grids


def test_discrete_generators_shapes_and_frame_selection():
    tgan = TGANTemporalGenerator(z_dim=8, out_dim=6, channels=(16, 8, 8, 8)).eval()
    z = _z(3, 8)
    full = tgan(z)
    assert full.shape == (3, 16, 6)
    torch.testing.assert_close(tgan(z, torch.tensor([3, 0, 15])), full[:, [3, 0, 15]])
    rows = tgan(z, torch.tensor([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]))
    torch.testing.assert_close(rows[1], full[1, 2:4])

    moco = MoCoGANMotionGenerator(5)
    g = torch.Generator().manual_seed(0)
    out = moco(_z(2, 5), torch.arange(6), generator=g)
    assert out.shape == (2, 6, 5)
    noise = torch.randn(2, 6, 5)
    a = moco(_z(2, 5), torch.arange(6), noise=noise)
    torch.testing.assert_close(moco(_z(2, 5), [5, 2], noise=noise), a[:, [5, 2]])


@pytest.mark.parametrize("times, match", [([0.5], "not a whole frame"), ([-1], "before the first frame"),
                                          ([16], "past the last frame")])
def test_tgan_rejects_off_grid_times(times, match):
    tgan = TGANTemporalGenerator(z_dim=4, out_dim=4, channels=(8, 8, 8, 8)).eval()
    with pytest.raises(InputError, match=match):
        tgan(_z(2, 4), times)


def test_bad_inputs_raise_input_error():
    moco = MoCoGANMotionGenerator(4)
    with pytest.raises(InputError, match="discrete temporal generator"):
        moco(_z(2, 4), [0.0, 0.5])
    ode = ODETemporalGenerator(4)
    with pytest.raises(InputError, match="finite"):
        ode(_z(2, 4), [0.0, float("nan")])
    with pytest.raises(InputError, match="batch size 2"):
        ode(_z(2, 4), torch.zeros(3, 2))
    with pytest.raises(InputError, match=r"shape \(B, 4\)"):
        ode(_z(2, 3), [0.0, 1.0])
    with pytest.raises(InputError):
        ODETemporalGenerator(4, order=4)
    with pytest.raises(InputError):
        ODETemporalGenerator(4, construction="lower")


# ---------------------------------------------------------------------------------------------------------------
# continuous time: frame rate, backwards, higher orders


@pytest.mark.parametrize("order", [1, 2])
def test_higher_frame_rate_samples_the_same_trajectory(order):
    torch.manual_seed(0)
    gen = ODETemporalGenerator(4, order=order, fcn=(8,))
    z = _z(2, 4)
    coarse = gen(z, torch.tensor([0.0, 1.0, 2.0]))
    fine = gen(z, torch.tensor([0.0, 0.5, 1.0, 1.5, 2.0]))
    assert coarse.shape == (2, 3, 4) and fine.shape == (2, 5, 4)
    torch.testing.assert_close(fine[:, ::2], coarse, atol=1e-5, rtol=1e-5)
    # per-sample time rows give the same answers
    rows = gen(z, torch.tensor([[0.0, 2.0], [1.0, 1.5]]))
    torch.testing.assert_close(rows[0], fine[0, [0, 4]], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(rows[1], fine[1, [2, 3]], atol=1e-5, rtol=1e-5)


def test_backwards_times_integrate_before_the_first_frame():
    torch.manual_seed(0)
    gen = ODETemporalGenerator(4)
    z = _z(2, 4)
    out = gen(z, torch.tensor([-2.0, -0.5, 0.0, 1.0]))
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out[:, 2], z)  # no FCN, order 1: frame 0 is z itself
    c = _set_constant_f(gen, 0.3)  # dx/dt = c: x(t) = z + c t, also for t < 0
    t = torch.tensor([-2.0, -0.5, 0.0, 1.0])
    torch.testing.assert_close(gen(z, t), z[:, None] + c * t[None, :, None])


@pytest.mark.parametrize("order", [2, 3])
def test_top_derivative_lower_states_are_exact_integrals(order):
    torch.manual_seed(0)
    gen = ODETemporalGenerator(3, order=order, frame_dt=0.5)
    z = _z(2, 3)
    c = _set_constant_f(gen, -0.4)  # x^(order) = c
    frames = torch.tensor([-1.0, 0.0, 0.5, 2.0])
    traj = gen.trajectory(z, frames)  # (B, T, order, D)
    assert traj.shape == (2, 4, order, 3)
    x0 = gen.initial_state(z).view(2, order, 3)  # x(0), x'(0), ... from the linear maps of z
    t = (frames * 0.5)[None, :, None]  # solver time
    for k in range(order):  # x^(k)(t) = sum_j x^(k+j)(0) t^j / j! + c t^(order-k) / (order-k)!
        expect = sum(x0[:, None, k + j] * t**j / torch.exp(torch.lgamma(torch.tensor(j + 1.0)))
                     for j in range(order - k))
        expect = expect + c * t ** (order - k) / torch.exp(torch.lgamma(torch.tensor(order - k + 1.0)))
        torch.testing.assert_close(traj[:, :, k], expect, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(gen(z, frames), traj[:, :, 0])


@pytest.mark.parametrize("order", [2, 3])
def test_general_construction_runs_and_uses_lower_states(order):
    torch.manual_seed(0)
    general = ODETemporalGenerator(3, order=order, construction="general", initial_states="zeros")
    top = ODETemporalGenerator(3, order=order, construction="top_derivative", initial_states="zeros")
    assert general.func.f.net[0].in_features == 3 * order and top.func.f.net[0].in_features == 3
    z = _z(2, 3)
    out = general(z, torch.tensor([-1.0, 0.0, 1.0, 2.0]))
    assert out.shape == (2, 4, 3) and torch.isfinite(out).all()
    torch.testing.assert_close(out[:, 1], z)  # initial_states="zeros": x(0) = z, derivatives 0
    assert top(z, [0.0, 1.0]).shape == (2, 2, 3)
    td = ODETemporalGenerator(3, order=order, construction="general", time_dependent=True)
    assert td(z, [0.0, 1.0]).shape == (2, 2, 3)


# ---------------------------------------------------------------------------------------------------------------
# SDE


def test_sde_seeded_paths_are_repeatable_and_differ_across_seeds():
    torch.manual_seed(0)
    gen = SDETemporalGenerator(3, fcn=(6,))
    z = _z(2, 3)
    t = torch.tensor([0.0, 1.0, 2.0, -1.0])
    a = gen(z, t, seed=7)
    assert a.shape == (2, 4, 3) and torch.isfinite(a).all()
    torch.testing.assert_close(gen(z, t, seed=7), a)
    b = gen(z, t, seed=8)
    assert not torch.allclose(a[:, 1:3], b[:, 1:3])  # forward part
    assert not torch.allclose(a[:, 3], b[:, 3])  # backward part
    torch.testing.assert_close(a[:, 0], b[:, 0])  # frame 0 is deterministic: FCN(z)
    rows = gen(z, torch.tensor([[0.0, 1.0], [2.0, -1.0]]), seed=7)
    assert rows.shape == (2, 2, 3)


def test_sde_rejects_bad_seed():
    gen = SDETemporalGenerator(3)
    with pytest.raises(InputError, match="seed"):
        gen(_z(2, 3), [0.0, 1.0], seed="x")


def test_sde_denser_grid_over_the_same_span_gives_the_same_path():
    torch.manual_seed(0)
    gen = SDETemporalGenerator(3)
    z = _z(2, 3)
    coarse = gen(z, [0.0, 1.0, 2.0, -1.0], seed=3)
    fine = gen(z, [0.0, 0.5, 1.0, 1.5, 2.0, -0.5, -1.0], seed=3)
    torch.testing.assert_close(fine[:, [0, 2, 4, 6]], coarse)
    # the forward path does not depend on whether backward times were asked for
    torch.testing.assert_close(gen(z, [0.0, 1.0, 2.0], seed=3), coarse[:, :3])
