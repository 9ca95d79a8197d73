"""Per-frame video metrics: MSE / MAE (two conventions), PSNR, SSIM, LPIPS.

All metrics take ``pred, target`` of shape ``(B, T, C, H, W)`` (or ``(N, C, H, W)``) with values in
``[0, data_range]`` (``data_range=1.0`` by default) and return float64 values per frame, shape
``(B, T)`` (or ``(N,)``). Use :func:`aggregate` to average them. See
:mod:`odevideo.metrics.frame_metrics` and :mod:`odevideo.metrics.lpips` for the conventions.
"""

from odevideo.metrics.frame_metrics import (
    SSIM_K1,
    SSIM_K2,
    SSIM_SIGMA,
    SSIM_TRUNCATE,
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
from odevideo.metrics.lpips import LPIPS, default_weights_dir, lpips_per_frame

__all__ = [
    "LPIPS",
    "SSIM_K1",
    "SSIM_K2",
    "SSIM_SIGMA",
    "SSIM_TRUNCATE",
    "SSIM_WIN_SIZE",
    "aggregate",
    "default_weights_dir",
    "lpips_per_frame",
    "mae_per_frame_sum",
    "mae_per_pixel",
    "mse_per_frame_sum",
    "mse_per_pixel",
    "psnr",
    "psnr_from_mean_mse",
    "ssim",
]
