"""Classical frame interpolation (:mod:`odevideo.interpolation`): exact values on hand-made frames, the flow
interpolation on a texture moved by a known whole number of pixels, DIS flow on that pair, and bad input."""

import pytest
import torch
from torch.nn import functional as F

from odevideo.errors import InputError
from odevideo.interpolation import (
    CLASSICAL,
    ClassicalInterpolator,
    dis_flow,
    dis_flow_interpolate,
    flow_interpolate,
    has_opencv,
    linear_blend,
    load_interpolator,
    repeat_previous,
)

needs_cv2 = pytest.mark.skipif(not has_opencv(), reason="DIS flow needs opencv-python-headless")

H, W, PAD = 48, 64, 12
SHIFT = (4, 2)  # (x, y) pixels: frame1 is frame0's content moved 4 right and 2 down; half way it is (2, 1)


def _canvas() -> torch.Tensor:
    """A smooth random RGB texture, larger than the frames (every crop below lies inside it)."""
    g = torch.Generator().manual_seed(0)
    x = torch.rand(1, 3, H + 2 * PAD, W + 2 * PAD, generator=g)
    k = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0])
    k = (k[:, None] * k[None]) / 256
    return F.conv2d(F.pad(x, (2, 2, 2, 2), mode="reflect"), k.expand(3, 1, 5, 5), groups=3)


def _moved(canvas: torch.Tensor, dx: int, dy: int) -> torch.Tensor:
    """The frame whose content is the canvas's moved ``dx`` right and ``dy`` down: ``out[y, x] = c[y - dy, x - dx]``."""
    return canvas[..., PAD - dy:PAD - dy + H, PAD - dx:PAD - dx + W]


@pytest.fixture(scope="module")
def pair():
    c = _canvas()
    f0, f1, half = _moved(c, 0, 0), _moved(c, *SHIFT), _moved(c, SHIFT[0] // 2, SHIFT[1] // 2)
    flow01 = torch.zeros(1, 2, H, W)
    flow01[:, 0], flow01[:, 1] = SHIFT  # frame0's pixel at x is at x + SHIFT in frame1
    return f0, f1, half, flow01, -flow01


def _inner(x: torch.Tensor, m: int) -> torch.Tensor:
    return x[..., m:-m, m:-m]


# ------------------------------------------------------------------ hand-made values
def test_linear_blend_and_repeat_previous_exact_values():
    f0 = torch.tensor([[[[0.0, 0.2], [0.4, 1.0]]], [[[1.0, 1.0], [0.0, 0.5]]]])  # (2, 1, 2, 2)
    f1 = torch.tensor([[[[1.0, 0.6], [0.4, 0.0]]], [[[0.0, 0.5], [1.0, 0.5]]]])
    got = linear_blend(f0, f1, torch.tensor([0.25, 0.5]))
    want = torch.tensor([[[[0.25, 0.3], [0.4, 0.75]]], [[[0.5, 0.75], [0.5, 0.5]]]])
    torch.testing.assert_close(got, want, rtol=0, atol=1e-7)
    assert torch.equal(linear_blend(f0, f1, 0.0), f0) and torch.equal(linear_blend(f0, f1, 1.0), f1)
    # repeat_previous: frame0 for every tau < 1, frame1 at tau = 1 (per clip)
    assert torch.equal(repeat_previous(f0, f1, torch.tensor([0.0, 0.999])), f0)
    assert torch.equal(repeat_previous(f0, f1, torch.tensor([0.5, 1.0])), torch.stack([f0[0], f1[1]]))
    assert torch.equal(repeat_previous(f0, f1, 1.0), f1)


def test_zero_flow_is_the_linear_blend(pair):
    f0, f1 = pair[0], pair[1]
    zero = torch.zeros(1, 2, H, W)
    for tau in (0.0, 0.3, 0.5, 0.8, 1.0):
        torch.testing.assert_close(flow_interpolate(f0, f1, tau, zero, zero), linear_blend(f0, f1, tau),
                                   rtol=0, atol=1e-6)


def test_true_flows_give_the_half_way_frame(pair):
    f0, f1, half, flow01, flow10 = pair
    got = flow_interpolate(f0, f1, 0.5, flow01, flow10)
    # inside: both warps sample whole pixels of the true half-way frame (the borders repeat edge pixels)
    torch.testing.assert_close(_inner(got, max(SHIFT)), _inner(half, max(SHIFT)), rtol=0, atol=1e-5)
    assert (_inner(linear_blend(f0, f1, 0.5) - half, 4)).abs().mean() > 0.02  # a blend is not the moved frame
    # tau = 1/4: content moved by (1, 0.5): away from whole pixels it is a bilinear sample, close but not exact
    quarter = flow_interpolate(f0, f1, 0.25, flow01, flow10)
    assert (_inner(quarter - _moved(_canvas(), 1, 0), 4)).abs().mean() < (_inner(f0 - f1, 4)).abs().mean()


def test_ends_are_the_end_frames_exactly(pair):
    f0, f1, _, flow01, flow10 = pair
    assert torch.equal(flow_interpolate(f0, f1, 0.0, flow01, flow10), f0)
    assert torch.equal(flow_interpolate(f0, f1, 1.0, flow01, flow10), f1)
    two0, two1 = torch.cat([f0, f1]), torch.cat([f1, f0])
    flows = torch.cat([flow01, flow10]), torch.cat([flow10, flow01])
    out = flow_interpolate(two0, two1, torch.tensor([0.0, 1.0]), *flows)
    assert torch.equal(out[0], f0[0]) and torch.equal(out[1], f0[0])
    for name in CLASSICAL:
        if name == "dis_flow" and not has_opencv():
            continue
        ends = ClassicalInterpolator(name).interpolate(f0[0], f1[0], torch.tensor([0.0, 1.0]))
        assert torch.equal(ends[0], f0[0]) and torch.equal(ends[1], f1[0]), name


@needs_cv2
def test_dis_flow_finds_the_shift(pair):
    f0, f1, half, flow01, flow10 = pair
    est01, est10 = dis_flow(f0, f1)
    assert est01.shape == est10.shape == (1, 2, H, W) and est01.dtype == torch.float32
    m = 8  # away from the borders, where content enters or leaves the frame
    for est, true in ((est01, flow01), (est10, flow10)):
        err = _inner((est - true).abs(), m)
        assert err.mean() < 0.1 and err.max() < 0.5, (err.mean(), err.max())
    got = dis_flow_interpolate(f0, f1, 0.5)
    blend_err = _inner((linear_blend(f0, f1, 0.5) - half).abs(), m).mean()
    assert _inner((got - half).abs(), m).mean() < 0.05 * blend_err


def test_bad_tau_and_shapes_are_refused(pair):
    f0, f1, _, flow01, flow10 = pair
    for fn in (repeat_previous, linear_blend):
        for tau in (-0.1, 1.5, float("nan"), torch.tensor([0.5, 0.5])):
            with pytest.raises(InputError, match="tau"):
                fn(f0, f1, tau)
        with pytest.raises(InputError, match="shape"):
            fn(f0, f1[..., :-1], 0.5)
        with pytest.raises(InputError, match="shape"):
            fn(f0[0], f1[0], 0.5)  # (C, H, W): a batch dimension is needed
    with pytest.raises(InputError, match="tau"):
        flow_interpolate(f0, f1, 2.0, flow01, flow10)
    interp = ClassicalInterpolator("linear_blend")
    with pytest.raises(InputError, match="taus"):
        interp.interpolate(f0[0], f1[0], torch.tensor([0.5, 1.2]))
    with pytest.raises(InputError, match="one shape"):
        interp.interpolate(f0[0], f1[0, :2], torch.tensor([0.5]))
    with pytest.raises(InputError, match="unknown classical"):
        ClassicalInterpolator("cubic")
    if has_opencv():
        with pytest.raises(InputError, match="8x8"):
            dis_flow(f0[..., :6, :6], f1[..., :6, :6])
        with pytest.raises(InputError, match="preset"):
            dis_flow(f0, f1, preset="slow")


@pytest.mark.parametrize("name", list(CLASSICAL))
def test_interpolator_interface_shape(pair, name):
    if name == "dis_flow" and not has_opencv():
        pytest.skip("DIS flow needs opencv-python-headless")
    f0, f1, half = pair[0][0], pair[1][0], pair[2][0]
    interp = load_interpolator(name)
    assert isinstance(interp, ClassicalInterpolator) and interp.name == name
    taus = torch.tensor([0.0, 0.25, 0.5, 1.0])
    out = interp.interpolate(f0, f1, taus)
    assert out.shape == (4, 3, H, W) and out.dtype == f0.dtype
    assert interp.interpolate(f0, f1, torch.tensor([])).shape == (0, 3, H, W)
    # each query time is the batch function's answer for that tau
    fn = CLASSICAL[name]
    torch.testing.assert_close(out[2:3], fn(f0[None], f1[None], 0.5), rtol=0, atol=1e-6)
    if name == "dis_flow":
        assert _inner((out[2] - half).abs(), 8).mean() < 0.01
