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


def test_zeros_padding_reads_black_outside_the_image_and_matches_border_inside():
    img = _img()
    flow = torch.zeros(2, 2, 8, 10)
    flow[:, 0] = -2.0  # backward flow: columns 0 and 1 sample from outside the left edge
    border, zeros = warp(img, flow), warp(img, flow, "zeros")
    torch.testing.assert_close(zeros[..., 2:], border[..., 2:], rtol=0, atol=1e-6)
    torch.testing.assert_close(zeros[..., :2], torch.zeros_like(zeros[..., :2]), rtol=0, atol=1e-6)
    torch.testing.assert_close(border[..., :2], img[..., :1].expand(-1, -1, -1, 2), rtol=0, atol=1e-5)
    half = torch.full((2, 2, 8, 10), 0.0)
    half[:, 0] = -0.5  # column 0 blends the first pixel with the zero outside it
    torch.testing.assert_close(warp(img, half, "zeros")[..., 0], 0.5 * img[..., 0], rtol=0, atol=1e-5)
    with pytest.raises(InputError, match="padding"):
        warp(img, flow, "reflection")


def test_half_pixel_flow_interpolates_bilinearly():
    img = _img()
    flow = torch.zeros(2, 2, 8, 10)
    flow[:, 0] = 0.5
    out = warp(img, flow)
    torch.testing.assert_close(out[..., :-1], 0.5 * (img[..., :-1] + img[..., 1:]), rtol=0, atol=1e-5)


def test_bicubic_half_pixel_flow_uses_the_cubic_convolution_weights():
    """PyTorch's cubic convolution (a = -0.75) at a half-pixel offset weighs the four nearest columns
    -3/32, 19/32, 19/32, -3/32; zero flow is still the identity."""
    img = _img()
    torch.testing.assert_close(warp(img, torch.zeros(2, 2, 8, 10), sampling="bicubic"), img, rtol=0, atol=1e-5)
    flow = torch.zeros(2, 2, 8, 10)
    flow[:, 0] = 0.5
    out = warp(img, flow, sampling="bicubic")
    ref = (19 * (img[..., 1:-2] + img[..., 2:-1]) - 3 * (img[..., :-3] + img[..., 3:])) / 32
    torch.testing.assert_close(out[..., 1:-2], ref, rtol=0, atol=1e-5)
    with pytest.raises(InputError, match="sampling"):
        warp(img, flow, sampling="nearest")


def test_bicubic_keeps_fine_detail_that_bilinear_sampling_smooths():
    """A sinusoid of period 5 px moved by a sub-pixel flow: the bicubic warp is several times closer to the
    analytically moved sinusoid than the bilinear one (why the interpolator offers it)."""
    x = torch.arange(40.0)
    shift = 0.4
    img = torch.sin(2 * torch.pi * x / 5).expand(1, 1, 6, 40).contiguous()
    truth = torch.sin(2 * torch.pi * (x + shift) / 5)[4:-4]
    flow = torch.zeros(1, 2, 6, 40)
    flow[:, 0] = shift
    err = {s: (warp(img, flow, sampling=s)[0, 0, 3, 4:-4] - truth).abs().max().item() for s in ("bilinear", "bicubic")}
    assert err["bicubic"] < err["bilinear"] / 3, err


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


# --- global transforms (affine_warp, CodeToAffine) ---------------------------------------------------------------


def test_affine_warp_identity_is_exact_and_a_shift_moves_by_whole_pixels():
    from odevideo.nn.warping import affine_warp

    img = _img(h=8, w=10)
    eye = torch.tensor([[1.0, 0, 0], [0, 1, 0]]).expand(2, 2, 3)
    torch.testing.assert_close(affine_warp(img, eye), img, rtol=0, atol=1e-6)
    # align_corners=False: a shift of s half-frames is s * W / 2 pixels; +2 px in x shows the pixel 2 to the right
    theta = eye.clone()
    theta[:, 0, 2] = 2 * 2 / 10
    theta[:, 1, 2] = -1 * 2 / 8  # -1 px in y
    out = affine_warp(img, theta)
    torch.testing.assert_close(out[:, :, 1:, :8], img[:, :, :7, 2:], rtol=0, atol=1e-5)
    # border padding: what comes from outside repeats the edge pixel
    torch.testing.assert_close(out[:, :, 1:, 8], img[:, :, :7, 9], rtol=0, atol=1e-5)
    with pytest.raises(InputError, match="theta"):
        affine_warp(img, eye[:1])


def test_code_to_affine_starts_near_identity_bounds_its_shift_and_passes_gradients():
    from odevideo.nn.warping import CodeToAffine

    head = CodeToAffine(5, "translate", max_shift=0.5)
    codes = torch.randn(7, 5, generator=torch.Generator().manual_seed(1))
    theta = head(codes)
    assert theta.shape == (7, 2, 3)
    torch.testing.assert_close(theta[:, :, :2], torch.eye(2).expand(7, 2, 2))  # translation only
    assert theta[:, :, 2].abs().max() < 0.2  # near-identity at init (weights N(0, 0.02^2))
    with torch.no_grad():
        head.linear.bias.fill_(100.0)
    assert torch.allclose(head(codes)[:, :, 2], torch.full((7, 2), 0.5))  # saturates at max_shift, not beyond
    affine = CodeToAffine(5, "affine")
    theta = affine(codes)
    assert theta.shape == (7, 2, 3) and not torch.equal(theta[:, :, :2], torch.eye(2).expand(7, 2, 2))
    assert ((theta[:, :, :2] - torch.eye(2)).abs() < 0.5).all()
    theta.sum().backward()
    assert affine.linear.weight.grad is not None and affine.linear.weight.grad.abs().sum() > 0
    for bad, match in (({"kind": "rotate"}, "kind"), ({"max_shift": 0}, "max_shift"), ({"code_dim": 0}, "code_dim")):
        kw = {"code_dim": 5, **bad}
        with pytest.raises(InputError, match=match):
            CodeToAffine(**kw)
    with pytest.raises(InputError, match=r"\(N, 5\)"):
        head(torch.zeros(3, 4))
