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
    dis_flow_or_blend_interpolate,
    flow_confidence,
    flow_interpolate,
    flow_or_blend_interpolate,
    has_opencv,
    linear_blend,
    load_interpolator,
    repeat_previous,
)
from odevideo.interpolation.classical import local_mean

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
        if name.startswith("dis_flow") and not has_opencv():
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


@needs_cv2
def test_dis_flow_at_the_frames_own_resolution_finds_a_small_object_the_preset_misses():
    """A 10x10 px object moved 2 px right over a still texture: the medium preset matches 12 px patches on the
    half-size level and misses it; matched at the frames' own resolution (``finest_scale=0``) it is found."""
    f0, f1 = _moved(_canvas(), 0, 0).clone(), _moved(_canvas(), 0, 0).clone()
    obj = torch.rand(1, 3, 10, 10, generator=torch.Generator().manual_seed(5))
    y, x, dx = 20, 24, 2
    f0[..., y:y + 10, x:x + 10] = obj
    f1[..., y:y + 10, x + dx:x + dx + 10] = obj
    errors = {}
    for scale in (None, 0):
        est, _ = dis_flow(f0, f1, finest_scale=scale)
        inside = est[0, :, y + 1:y + 9, x + 1:x + 9]
        errors[scale] = float((inside[0] - dx).abs().mean() + inside[1].abs().mean())
        assert float(est[0, :, :, :16].abs().mean()) < 0.05  # the still background stays still
    assert errors[0] < 0.2 and errors[None] > 1.0, errors
    for bad in (-1, 5, 1.5, True):
        with pytest.raises(InputError, match="finest_scale"):
            dis_flow(f0, f1, finest_scale=bad)


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
    if name.startswith("dis_flow") and not has_opencv():
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
    if name.startswith("dis_flow"):
        assert _inner((out[2] - half).abs(), 8).mean() < 0.01


# ------------------------------------------------------------------ the flow where it holds, the blend elsewhere
def test_local_mean_is_a_normalised_gaussian_on_either_grid():
    delta = torch.zeros(1, 1, 21, 21)
    delta[..., 10, 10] = 1.0
    got = local_mean(delta, 1.5)  # the direct path: a separable Gaussian of std 1.5 px
    r = torch.arange(-10, 11, dtype=torch.float32)
    g = torch.exp(-r ** 2 / (2 * 1.5 ** 2))
    g = g / g[(r.abs() <= 4)].sum()  # the kernel is cut at 3 sigma (4 px) and normalised there
    g = torch.where(r.abs() <= 4, g, 0.0)
    torch.testing.assert_close(got[0, 0], g[:, None] * g[None, :], rtol=0, atol=1e-6)  # separable: g(y) g(x)
    torch.testing.assert_close(got.sum(), torch.tensor(1.0), rtol=0, atol=1e-6)
    const = torch.full((2, 3, 40, 50), 0.37)
    for sigma in (0.8, 3.0, 9.0):  # 9 px: on a grid 4x coarser
        torch.testing.assert_close(local_mean(const, sigma), const, rtol=0, atol=1e-6)
    # a smooth map: the coarse-grid mean is the direct Gaussian's within a small fraction of the map's range
    # (away from the borders, where the two pad on grids of different spacing)
    yy, xx = torch.meshgrid(torch.linspace(0, 3, 96), torch.linspace(0, 4, 128), indexing="ij")
    smooth = (torch.sin(xx) * torch.cos(yy))[None, None]
    half = int(3 * 8.0)
    k = torch.exp(-torch.arange(-half, half + 1.0) ** 2 / (2 * 8.0 ** 2))
    k = k / k.sum()
    direct = F.conv2d(F.pad(smooth, (half, half, 0, 0), mode="replicate"), k.view(1, 1, 1, -1))
    direct = F.conv2d(F.pad(direct, (0, 0, half, half), mode="replicate"), k.view(1, 1, -1, 1))
    err = (local_mean(smooth, 8.0) - direct).abs()
    assert err[..., 16:-16, 16:-16].max() < 0.01 and err.max() < 0.06
    with pytest.raises(InputError, match="sigma"):
        local_mean(const, 0.0)


def test_flow_confidence_exact_values_on_constant_maps():
    """Frames 0.2 apart, warps 0.1 apart (constant maps): c = (0.04 + eps) / (0.04 + 0.01 + 2 eps)."""
    f0, f1 = torch.full((1, 3, 16, 16), 0.3), torch.full((1, 3, 16, 16), 0.5)
    w0, w1 = torch.full((1, 3, 16, 16), 0.4), torch.full((1, 3, 16, 16), 0.5)
    c = flow_confidence(f0, f1, w0, w1)
    assert c.shape == (1, 1, 16, 16)
    torch.testing.assert_close(c, torch.full_like(c, (0.04 + 1e-6) / (0.05 + 2e-6)), rtol=0, atol=1e-5)
    assert flow_confidence(f0, f1, w1, w1).min() > 0.9999  # warps that agree: the flow
    assert flow_confidence(f0, f0, w0, w1).max() < 1e-3  # unmoved frames that agree: the blend
    torch.testing.assert_close(flow_confidence(f0, f1, f0, f1), torch.full_like(c, 0.5), rtol=0, atol=1e-6)


def test_a_wrong_flow_on_a_still_texture_leaves_it_still(pair):
    f0 = pair[0]
    wrong01 = torch.zeros(1, 2, H, W)
    wrong01[:, 0] = 3.0  # the frames are identical: any flow is wrong
    dragged = flow_interpolate(f0, f0, 0.5, wrong01, -wrong01)
    kept = flow_or_blend_interpolate(f0, f0, 0.5, wrong01, -wrong01)
    err_flow, err_kept = _inner((dragged - f0).abs(), 6).mean(), _inner((kept - f0).abs(), 6).mean()
    assert err_flow > 0.01 and err_kept < 1e-3 * err_flow, (err_flow, err_kept)


def test_the_true_flow_is_kept_where_its_warps_agree(pair):
    f0, f1, half, flow01, flow10 = pair
    for tau in (0.0, 1.0):  # the end frames themselves
        end = flow_or_blend_interpolate(f0, f1, tau, flow01, flow10)
        torch.testing.assert_close(end, f0 if tau == 0 else f1, rtol=0, atol=0)
    got = flow_or_blend_interpolate(f0, f1, 0.5, flow01, flow10, sampling="bicubic")
    ref = flow_interpolate(f0, f1, 0.5, flow01, flow10)
    m = 10
    assert _inner((got - ref).abs(), m).max() < 1e-3  # the warps agree inside: c = 1
    assert _inner((got - half).abs(), m).mean() < 1e-3
    with pytest.raises(InputError, match="tau"):
        flow_or_blend_interpolate(f0, f1, 1.5, flow01, flow10)


@needs_cv2
def test_dis_flow_or_blend_is_the_flow_interpolation_on_a_moved_texture(pair):
    f0, f1, half = pair[0], pair[1], pair[2]
    got = dis_flow_or_blend_interpolate(f0, f1, 0.5)
    blend_err = _inner((linear_blend(f0, f1, 0.5) - half).abs(), 8).mean()
    assert _inner((got - half).abs(), 8).mean() < 0.05 * blend_err
