"""PSNR / SSIM / MSE / MAE per frame, checked against scikit-image and numpy."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

skimage_metrics = pytest.importorskip("skimage.metrics")

from odevideo.errors import InputError, OdevideoError  # noqa: E402
from odevideo.metrics import (  # noqa: E402
    SSIM_WIN_SIZE,
    aggregate,
    mae_per_frame_sum,
    mae_per_pixel,
    mse_per_frame_sum,
    mse_per_pixel,
    psnr,
    psnr_from_mean_mse,
    ssim,
)


def _pair(shape, data_range=1.0, seed=0, noise=0.1):
    g = torch.Generator().manual_seed(seed)
    target = torch.rand(shape, generator=g, dtype=torch.float64) * data_range
    pred = (target + noise * data_range * torch.randn(shape, generator=g, dtype=torch.float64)).clamp(0, data_range)
    return pred, target


def _structured(shape, data_range=1.0, seed=0):
    """Smooth gradients, stripes and a square: SSIM behaves very differently from noise images."""
    *lead, c, h, w = shape
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, h, dtype=torch.float64),
                            torch.linspace(0, 1, w, dtype=torch.float64), indexing="ij")
    n = int(np.prod(lead)) * c
    frames = []
    for i in range(n):
        phase = float(torch.rand((), generator=g, dtype=torch.float64)) * 6.28
        img = 0.5 + 0.25 * torch.sin(12 * xx + phase) * torch.cos(7 * yy) + 0.2 * (xx - yy)
        r0, c0 = (i * 3) % (h // 2), (i * 5) % (w // 2)
        img[r0 : r0 + h // 3, c0 : c0 + w // 3] = 0.9
        frames.append(img.clamp(0, 1))
    target = torch.stack(frames).reshape(shape) * data_range
    pred = torch.roll(target, shifts=1, dims=-1) * 0.9 + 0.05 * data_range
    return pred, target


def _sk_ssim(pred_frame, target_frame, data_range):
    return skimage_metrics.structural_similarity(
        target_frame, pred_frame, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
        data_range=data_range, channel_axis=0,
    )


def _per_frame_ref(fn, pred, target):
    p = pred.reshape(-1, *pred.shape[-3:]).numpy()
    t = target.reshape(-1, *target.shape[-3:]).numpy()
    return np.array([fn(p[i], t[i]) for i in range(p.shape[0])]).reshape(pred.shape[:-3])


CASES = [
    ((2, 3, 1, 16, 16), 1.0, "random"),
    ((2, 3, 3, 32, 24), 1.0, "random"),
    ((1, 4, 1, 64, 64), 255.0, "random"),
    ((3, 2, 3, 11, 13), 255.0, "random"),
    ((2, 2, 1, 40, 48), 1.0, "structured"),
    ((1, 3, 3, 33, 29), 255.0, "structured"),
    ((5, 3, 20, 20), 1.0, "random"),  # (N, C, H, W)
]


def _make(shape, data_range, kind):
    return _pair(shape, data_range) if kind == "random" else _structured(shape, data_range)


@pytest.mark.parametrize("shape,data_range,kind", CASES)
def test_ssim_matches_skimage(shape, data_range, kind):
    pred, target = _make(shape, data_range, kind)
    ours = ssim(pred, target, data_range=data_range)
    assert ours.shape == shape[:-3] and ours.dtype == torch.float64
    ref = _per_frame_ref(lambda p, t: _sk_ssim(p, t, data_range), pred, target)
    np.testing.assert_allclose(ours.numpy(), ref, rtol=0, atol=1e-6)


@pytest.mark.parametrize("shape,data_range,kind", CASES)
def test_psnr_and_mse_match_reference(shape, data_range, kind):
    pred, target = _make(shape, data_range, kind)
    ref_psnr = _per_frame_ref(
        lambda p, t: skimage_metrics.peak_signal_noise_ratio(t, p, data_range=data_range), pred, target
    )
    np.testing.assert_allclose(psnr(pred, target, data_range).numpy(), ref_psnr, rtol=0, atol=1e-6)
    p, t = pred.numpy(), target.numpy()
    axes = (-3, -2, -1)
    np.testing.assert_allclose(mse_per_pixel(pred, target).numpy(), ((p - t) ** 2).mean(axis=axes), rtol=1e-12)
    np.testing.assert_allclose(mse_per_frame_sum(pred, target).numpy(), ((p - t) ** 2).sum(axis=axes), rtol=1e-12)
    np.testing.assert_allclose(mae_per_pixel(pred, target).numpy(), np.abs(p - t).mean(axis=axes), rtol=1e-12)
    np.testing.assert_allclose(mae_per_frame_sum(pred, target).numpy(), np.abs(p - t).sum(axis=axes), rtol=1e-12)


def test_float32_and_uint8_inputs_computed_in_float64():
    pred, target = _pair((2, 2, 3, 16, 16))
    ref = ssim(pred, target)
    np.testing.assert_allclose(ssim(pred.float(), target.float()).numpy(), ref.numpy(), atol=1e-6)
    p8 = (pred * 255).round().to(torch.uint8)
    t8 = (target * 255).round().to(torch.uint8)
    ours = ssim(p8, t8, data_range=255)
    sk = _per_frame_ref(lambda a, b: _sk_ssim(a.astype(np.float64), b.astype(np.float64), 255.0), p8, t8)
    np.testing.assert_allclose(ours.numpy(), sk, atol=1e-6)
    assert psnr(p8, t8, 255).dtype == torch.float64  # no uint8 overflow in the difference
    assert float(mse_per_pixel(torch.zeros(1, 1, 2, 2, dtype=torch.uint8),
                               torch.full((1, 1, 2, 2), 255, dtype=torch.uint8))) == 255.0**2


def test_identities():
    pred, target = _pair((2, 3, 3, 16, 16))
    np.testing.assert_allclose(ssim(target, target).numpy(), 1.0, atol=1e-12)
    assert torch.isinf(psnr(target, target)).all() and (psnr(target, target) > 0).all()
    shifted = target + 0.1  # constant offset: mse = 0.01 exactly -> 20 dB
    np.testing.assert_allclose(psnr(shifted, target).numpy(), 20.0, atol=1e-9)
    np.testing.assert_allclose(psnr(shifted * 255, target * 255, data_range=255).numpy(), 20.0, atol=1e-9)
    c, h, w = target.shape[-3:]
    np.testing.assert_allclose(mse_per_frame_sum(pred, target).numpy(),
                               (mse_per_pixel(pred, target) * c * h * w).numpy(), rtol=1e-12)
    np.testing.assert_allclose(mae_per_frame_sum(pred, target).numpy(),
                               (mae_per_pixel(pred, target) * c * h * w).numpy(), rtol=1e-12)
    # symmetry
    np.testing.assert_allclose(ssim(pred, target).numpy(), ssim(target, pred).numpy(), atol=1e-12)
    assert (ssim(pred, target) < 1).all()


def test_per_frame_semantics_and_averaging():
    pred, target = _pair((3, 4, 1, 16, 16))
    pred[1, 2] = target[1, 2]  # one perfect frame
    for fn in (mse_per_pixel, mae_per_pixel, ssim, psnr):
        values = fn(pred, target)
        assert values.shape == (3, 4)
        flat = fn(pred.reshape(12, 1, 16, 16), target.reshape(12, 1, 16, 16))
        assert flat.shape == (12,)
        np.testing.assert_array_equal(values.reshape(-1).numpy(), flat.numpy())
        # each frame is computed independently of its neighbours
        np.testing.assert_allclose(float(values[2, 1]), float(fn(pred[2:3, 1:2], target[2:3, 1:2])[0, 0]))
    assert float(mse_per_pixel(pred, target)[1, 2]) == 0.0
    assert float(ssim(pred, target)[1, 2]) == pytest.approx(1.0, abs=1e-12)
    assert math.isinf(float(psnr(pred, target)[1, 2]))

    mse = mse_per_pixel(pred, target)
    summary = aggregate(mse)
    assert summary["count"] == 12
    assert summary["mean"] == pytest.approx(float(mse.mean()))
    assert summary["std"] == pytest.approx(float(mse.std(unbiased=False)))
    np.testing.assert_allclose(summary["per_timestep"], mse.mean(dim=0).numpy())
    mask = torch.zeros(3, 4, dtype=torch.bool)
    mask[:, 2:] = True
    mask[0, 3] = False
    masked = aggregate(mse, mask)
    assert masked["count"] == 5
    assert masked["mean"] == pytest.approx(float(mse[mask].mean()))
    assert math.isnan(masked["per_timestep"][0]) and math.isnan(masked["per_timestep"][1])
    assert masked["per_timestep"][3] == pytest.approx(float(mse[1:, 3].mean()))


def test_psnr_conventions():
    pred, target = _pair((4, 5, 1, 16, 16), noise=0.05)
    pred[0] = (target[0] + 0.2 * torch.randn(target[0].shape, dtype=torch.float64)).clamp(0, 1)
    mean_of_psnr = float(psnr(pred, target).mean())
    mse_mean = mse_per_pixel(pred, target).mean()
    dataset_psnr = psnr_from_mean_mse(float(mse_mean))
    assert isinstance(dataset_psnr, float)
    assert dataset_psnr == pytest.approx(10 * math.log10(1.0 / float(mse_mean)))
    assert dataset_psnr < mean_of_psnr  # Jensen: per-frame average is never smaller
    as_tensor = psnr_from_mean_mse(mse_per_pixel(pred, target), data_range=1.0)
    np.testing.assert_allclose(as_tensor.numpy(), psnr(pred, target).numpy(), rtol=1e-12)
    assert psnr_from_mean_mse(0.0) == math.inf
    assert psnr_from_mean_mse(0.01 * 255**2, data_range=255) == pytest.approx(20.0)
    with pytest.raises(InputError):
        psnr_from_mean_mse(-1.0)


def test_ssim_vectorised_chunks(monkeypatch):
    from odevideo.metrics import frame_metrics

    pred, target = _pair((2, 5, 3, 16, 16))
    full = ssim(pred, target)
    monkeypatch.setattr(frame_metrics, "_SSIM_CHUNK_ELEMENTS", 5 * 16 * 16 * 4)  # 4 images per chunk
    np.testing.assert_array_equal(ssim(pred, target).numpy(), full.numpy())


@pytest.mark.parametrize("fn", [mse_per_pixel, mse_per_frame_sum, mae_per_pixel, mae_per_frame_sum, psnr, ssim])
def test_bad_inputs(fn):
    pred, target = _pair((2, 3, 1, 16, 16))
    with pytest.raises(InputError, match="same shape"):
        fn(pred, target[:, :2])
    with pytest.raises(InputError, match=r"\(B, T, C, H, W\)"):
        fn(pred[0, 0], target[0, 0])
    bad = pred.clone()
    bad[1, 1, 0, 3, 3] = float("nan")
    with pytest.raises(InputError, match="non-finite"):
        fn(bad, target)
    bad[1, 1, 0, 3, 3] = float("inf")
    with pytest.raises(InputError, match="non-finite"):
        fn(pred, bad)
    with pytest.raises(OdevideoError):
        fn(pred.bool(), target.bool())


def test_bad_data_range_and_small_frames():
    pred, target = _pair((1, 2, 1, 16, 16))
    for value in (0, -1.0, float("nan"), "big"):
        with pytest.raises(InputError, match="data_range"):
            psnr(pred, target, data_range=value)
        with pytest.raises(InputError, match="data_range"):
            ssim(pred, target, data_range=value)
    small_p, small_t = _pair((1, 2, 1, SSIM_WIN_SIZE - 1, 16))
    with pytest.raises(InputError, match="at least 11x11"):
        ssim(small_p, small_t)
    with pytest.raises(InputError, match=r"\(B, T\)"):
        aggregate(torch.zeros(3))
    with pytest.raises(InputError, match="no frames"):
        aggregate(torch.zeros(2, 2), torch.zeros(2, 2, dtype=torch.bool))
    with pytest.raises(InputError, match="mask"):
        aggregate(torch.zeros(2, 2), torch.zeros(2, 3, dtype=torch.bool))
