import pytest
import torch

from odevideo.errors import InputError
from odevideo.nn import compose, warp


def _img(n=2, c=3, h=8, w=10):
    return torch.rand(n, c, h, w, generator=torch.Generator().manual_seed(0))


def test_zero_flow_is_identity():
    img = _img()
    out = warp(img, torch.zeros(2, 2, 8, 10))
    torch.testing.assert_close(out, img, rtol=0, atol=1e-5)


@pytest.mark.parametrize("dx,dy", [(1, 0), (0, 2), (-2, 1), (3, -1)])
def test_integer_flow_shifts_by_that_many_pixels_in_the_interior(dx, dy):
    img = _img()
    flow = torch.zeros(2, 2, 8, 10)
    flow[:, 0], flow[:, 1] = float(dx), float(dy)
    out = warp(img, flow)
    # backward warping: out[y, x] = img[y + dy, x + dx] wherever that source pixel exists
    ys = slice(max(0, -dy), 8 - max(0, dy))
    xs = slice(max(0, -dx), 10 - max(0, dx))
    src_y = slice(ys.start + dy, ys.stop + dy)
    src_x = slice(xs.start + dx, xs.stop + dx)
    torch.testing.assert_close(out[:, :, ys, xs], img[:, :, src_y, src_x], rtol=0, atol=1e-5)


def test_border_padding_repeats_edge_pixels():
    img = _img()
    flow = torch.zeros(2, 2, 8, 10)
    flow[:, 0] = 100.0  # far to the right: every sample clamps to the last column
    out = warp(img, flow)
    torch.testing.assert_close(out, img[:, :, :, -1:].expand_as(img), rtol=0, atol=1e-5)


def test_half_pixel_flow_interpolates_bilinearly():
    img = _img()
    flow = torch.zeros(2, 2, 8, 10)
    flow[:, 0] = 0.5
    out = warp(img, flow)
    torch.testing.assert_close(out[..., :-1], 0.5 * (img[..., :-1] + img[..., 1:]), rtol=0, atol=1e-5)


def test_gradient_flows_to_flow_and_image():
    img = _img().requires_grad_()
    flow = (torch.randn(2, 2, 8, 10) * 0.7).requires_grad_()
    (warp(img, flow) ** 2).sum().backward()
    assert flow.grad is not None and flow.grad.abs().sum() > 0
    assert img.grad is not None and img.grad.abs().sum() > 0


def test_compose_is_convex_combination():
    a, d = _img(), -_img()
    m = torch.rand(2, 1, 8, 10)
    torch.testing.assert_close(compose(a, d, m), m * a + (1 - m) * d)
    torch.testing.assert_close(compose(a, d, torch.ones(2, 1, 8, 10)), a)
    torch.testing.assert_close(compose(a, d, torch.zeros(2, 1, 8, 10)), d)


def test_bad_shapes():
    with pytest.raises(InputError):
        warp(_img(), torch.zeros(2, 3, 8, 10))
    with pytest.raises(InputError):
        warp(_img(), torch.zeros(2, 2, 8, 9))
