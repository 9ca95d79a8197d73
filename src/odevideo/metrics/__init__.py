"""Per-frame video metrics: MSE / MAE (two conventions), PSNR, SSIM, LPIPS.

Video-generation metrics (distributions of samples, not per frame): Inception Score and FID on C3D
features (:mod:`odevideo.metrics.c3d`, :mod:`odevideo.metrics.inception_score`), FVD with I3D
(:mod:`odevideo.metrics.i3d`), frame-level FID with Inception (:mod:`odevideo.metrics.frame_fid`), all
built on :mod:`odevideo.metrics.frechet`.

All metrics take ``pred, target`` of shape ``(B, T, C, H, W)`` (or ``(N, C, H, W)``) with values in
``[0, data_range]`` (``data_range=1.0`` by default) and return float64 values per frame, shape
``(B, T)`` (or ``(N,)``). Use :func:`aggregate` to average them. See
:mod:`odevideo.metrics.frame_metrics` and :mod:`odevideo.metrics.lpips` for the conventions.
"""

from odevideo.metrics.c3d import C3D, C3D_PARAMETER_COUNT, c3d_features, c3d_fid, c3d_probs, load_mean_clip
from odevideo.metrics.digit_consistency import (
    DigitClassifier,
    classifier_accuracy,
    digit_consistency,
    train_digit_classifier,
)
from odevideo.metrics.frame_fid import InceptionFeatureExtractor, frame_features, frame_fid
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
from odevideo.metrics.frechet import (
    GaussianStatsAccumulator,
    frechet_distance,
    gaussian_stats,
    load_gaussian_stats,
    save_gaussian_stats,
)
from odevideo.metrics.i3d import I3D, fvd, i3d_features
from odevideo.metrics.inception_score import inception_score
from odevideo.metrics.lpips import LPIPS, default_weights_dir, lpips_per_frame
from odevideo.metrics.tf1_resize import resize_bilinear_tf1

__all__ = [
    "DigitClassifier",
    "classifier_accuracy",
    "digit_consistency",
    "train_digit_classifier",
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
    "GaussianStatsAccumulator",
    "frechet_distance",
    "gaussian_stats",
    "load_gaussian_stats",
    "save_gaussian_stats",
    "inception_score",
    "C3D",
    "C3D_PARAMETER_COUNT",
    "c3d_features",
    "c3d_fid",
    "c3d_probs",
    "load_mean_clip",
    "I3D",
    "fvd",
    "i3d_features",
    "resize_bilinear_tf1",
    "InceptionFeatureExtractor",
    "frame_features",
    "frame_fid",
]
