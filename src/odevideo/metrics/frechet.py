"""Frechet distance between Gaussians fitted to features (FID, FVD, FID-C3D).

The Frechet (2-Wasserstein) distance between ``N(mu1, sigma1)`` and ``N(mu2, sigma2)`` is::

    d^2 = ||mu1 - mu2||^2 + tr(sigma1) + tr(sigma2) - 2 tr((sigma1 sigma2)^(1/2))

Everything is computed in float64 on the CPU with numpy. Two ways to get the last trace:

* ``method="eigh"`` (default, numpy only): ``tr((s1 s2)^(1/2)) = sum_i sqrt(lambda_i)`` with
  ``lambda_i`` the eigenvalues of the symmetric positive semi-definite matrix ``s1^(1/2) s2 s1^(1/2)``
  (which has the same spectrum as ``s1 s2``); ``s1^(1/2)`` comes from ``numpy.linalg.eigh``;
  eigenvalues below ``D * machine-eps * largest`` (round-off, including negative ones) are set to 0 in
  both steps. This is the formulation of TF-GAN's ``frechet_classifier_distance_from_activations``
  (used by the reference FVD). It stays real and
  well defined for singular covariances (fewer samples than feature dimensions, e.g. 2048 videos with
  4096-d C3D fc7 features as in the paper's protocol).
* ``method="sqrtm"`` (needs scipy): ``scipy.linalg.sqrtm(s1 @ s2)`` as in pytorch-fid / TTUR: if the
  result is not finite, ``eps`` is added to both diagonals and it is recomputed; an imaginary part
  larger than ``1e-3`` on the diagonal raises :class:`InputError`, a smaller one is dropped.

For well-conditioned covariances both agree to round-off (tested).

Statistics: :func:`gaussian_stats` returns the sample mean and the *unbiased* covariance
(``numpy.cov``, divisor ``N - 1``), as pytorch-fid, TTUR, TF-GAN and the TGAN / TGANv2 scoring code do.
:class:`GaussianStatsAccumulator` computes the same numbers batch by batch (Chan et al.'s pairwise
update, float64), so features never have to be held in memory at once.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from odevideo._atomic import atomic_write
from odevideo.errors import DatasetError, InputError

__all__ = [
    "frechet_distance",
    "gaussian_stats",
    "GaussianStatsAccumulator",
    "save_gaussian_stats",
    "load_gaussian_stats",
    "iter_batches",
]

_METHODS = ("eigh", "sqrtm")


def _as_float64(value, name: str) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().to(torch.float64).numpy()
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be a numeric array or tensor, got {type(value).__name__}") from exc
    return array


def _check_stats(mu, sigma, label: str) -> tuple[np.ndarray, np.ndarray]:
    mu = _as_float64(mu, f"mu{label}")
    sigma = _as_float64(sigma, f"sigma{label}")
    mu = np.atleast_1d(mu)
    if mu.ndim != 1:
        raise InputError(f"frechet_distance: mu{label} must be a vector (D,), got shape {mu.shape}")
    d = mu.shape[0]
    sigma = np.atleast_2d(sigma)
    if sigma.shape != (d, d):
        raise InputError(
            f"frechet_distance: sigma{label} must have shape ({d}, {d}) to match mu{label}, got {sigma.shape}"
        )
    if not (np.isfinite(mu).all() and np.isfinite(sigma).all()):
        raise InputError(f"frechet_distance: mu{label} / sigma{label} contain NaN or inf values")
    return mu, sigma


def _clip_round_off(values: np.ndarray) -> np.ndarray:
    """Eigenvalues of a PSD matrix with negative and round-off-sized ones (< D * eps * max) set to 0."""
    top = float(values.max()) if values.size else 0.0
    floor = max(top, 0.0) * values.shape[0] * np.finfo(np.float64).eps
    return np.where(values > floor, values, 0.0)


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    """Symmetric square root of a (numerically) positive semi-definite matrix."""
    sym = (matrix + matrix.T) / 2.0
    values, vectors = np.linalg.eigh(sym)
    return (vectors * np.sqrt(_clip_round_off(values))) @ vectors.T


def _trace_sqrt_product_eigh(sigma1: np.ndarray, sigma2: np.ndarray) -> float:
    root1 = _psd_sqrt(sigma1)
    inner = root1 @ sigma2 @ root1
    inner = (inner + inner.T) / 2.0
    values = np.linalg.eigvalsh(inner)
    return float(np.sqrt(_clip_round_off(values)).sum())


def _trace_sqrt_product_sqrtm(sigma1: np.ndarray, sigma2: np.ndarray, eps: float) -> float:
    try:
        import scipy.linalg
    except ImportError as exc:  # pragma: no cover - scipy is in the test extra
        raise InputError(
            "frechet_distance(method='sqrtm') needs scipy (pip install scipy); method='eigh' needs only numpy"
        ) from exc
    covmean = scipy.linalg.sqrtm(sigma1 @ sigma2)
    if isinstance(covmean, tuple):  # older scipy with disp=False semantics
        covmean = covmean[0]
    if not np.isfinite(covmean).all():
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = scipy.linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
        if isinstance(covmean, tuple):  # pragma: no cover
            covmean = covmean[0]
    if np.iscomplexobj(covmean):
        imaginary = np.abs(np.diagonal(covmean).imag).max()
        if imaginary > 1e-3:
            raise InputError(
                f"frechet_distance: sqrtm(sigma1 @ sigma2) has an imaginary component of {imaginary:.3g}; "
                f"the covariances are too ill-conditioned for method='sqrtm' (use method='eigh' or more samples)"
            )
        covmean = covmean.real
    return float(np.trace(covmean))


def frechet_distance(mu1, sigma1, mu2, sigma2, *, method: str = "eigh", eps: float = 1e-6) -> float:
    """Squared Frechet distance between ``N(mu1, sigma1)`` and ``N(mu2, sigma2)`` (float64).

    Args:
        mu1, mu2: means, shape ``(D,)`` (numpy arrays, tensors or sequences).
        sigma1, sigma2: covariances, shape ``(D, D)``.
        method: ``"eigh"`` (default; eigen-decomposition, numpy only, the TF-GAN / reference-FVD
            formulation) or ``"sqrtm"`` (``scipy.linalg.sqrtm``, the pytorch-fid formulation).
        eps: diagonal offset used by ``"sqrtm"`` only when the first square root is not finite.

    Returns:
        A Python float ``>= 0`` up to round-off (small negative round-off is returned as is).
    """
    if method not in _METHODS:
        raise InputError(f"frechet_distance: method must be one of {_METHODS}, got {method!r}")
    mu1, sigma1 = _check_stats(mu1, sigma1, "1")
    mu2, sigma2 = _check_stats(mu2, sigma2, "2")
    if mu1.shape != mu2.shape:
        raise InputError(f"frechet_distance: the two means have different sizes {mu1.shape} and {mu2.shape}")
    diff = mu1 - mu2
    if method == "eigh":
        tr_covmean = _trace_sqrt_product_eigh(sigma1, sigma2)
    else:
        tr_covmean = _trace_sqrt_product_sqrtm(sigma1, sigma2, float(eps))
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * tr_covmean)


def _as_feature_matrix(features, name: str = "features") -> np.ndarray:
    array = _as_float64(features, name)
    if array.ndim != 2:
        raise InputError(f"{name} must have shape (N, D), got {array.shape}")
    if not np.isfinite(array).all():
        raise InputError(f"{name} contain NaN or inf values")
    return array


def gaussian_stats(features) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``(D,)`` and unbiased covariance ``(D, D)`` (divisor ``N - 1``) of ``(N, D)`` features, float64."""
    array = _as_feature_matrix(features)
    if array.shape[0] < 2:
        raise InputError(f"gaussian_stats: need at least 2 feature vectors for a covariance, got {array.shape[0]}")
    mu = array.mean(axis=0)
    sigma = np.cov(array, rowvar=False)
    return mu, np.atleast_2d(sigma)


class GaussianStatsAccumulator:
    """Streaming mean and covariance of feature vectors, in float64.

    ``update(features)`` with ``(N, D)`` batches (any N >= 1), then :meth:`stats` gives the same
    ``(mu, sigma)`` as :func:`gaussian_stats` on all rows at once (unbiased covariance). Accumulators
    over disjoint parts can be combined with :meth:`merge`.
    """

    def __init__(self, dim: int | None = None) -> None:
        self.count = 0
        self.dim = None if dim is None else int(dim)
        self._mean: np.ndarray | None = None
        self._m2: np.ndarray | None = None

    def update(self, features) -> GaussianStatsAccumulator:
        batch = _as_feature_matrix(features)
        n_b = batch.shape[0]
        if n_b == 0:
            return self
        if self.dim is None:
            self.dim = batch.shape[1]
        if batch.shape[1] != self.dim:
            raise InputError(f"GaussianStatsAccumulator: expected {self.dim}-d features, got {batch.shape[1]}-d")
        mean_b = batch.mean(axis=0)
        centered = batch - mean_b
        m2_b = centered.T @ centered
        self._combine(n_b, mean_b, m2_b)
        return self

    def _combine(self, n_b: int, mean_b: np.ndarray, m2_b: np.ndarray) -> None:
        if self.count == 0:
            self.count, self._mean, self._m2 = n_b, mean_b.copy(), m2_b.copy()
            return
        n_a = self.count
        total = n_a + n_b
        delta = mean_b - self._mean
        self._mean = self._mean + delta * (n_b / total)
        self._m2 = self._m2 + m2_b + np.outer(delta, delta) * (n_a * n_b / total)
        self.count = total

    def merge(self, other: GaussianStatsAccumulator) -> GaussianStatsAccumulator:
        """Add the rows seen by ``other`` (another accumulator) to this one."""
        if not isinstance(other, GaussianStatsAccumulator):
            raise InputError(f"merge: expected a GaussianStatsAccumulator, got {type(other).__name__}")
        if other.count == 0:
            return self
        if self.dim is not None and other.dim != self.dim:
            raise InputError(f"merge: feature sizes differ ({self.dim} and {other.dim})")
        self.dim = other.dim
        self._combine(other.count, other._mean, other._m2)
        return self

    @property
    def mean(self) -> np.ndarray:
        if self.count == 0:
            raise InputError("GaussianStatsAccumulator: no features were added yet")
        return self._mean.copy()

    @property
    def cov(self) -> np.ndarray:
        if self.count < 2:
            raise InputError(f"GaussianStatsAccumulator: need at least 2 feature vectors, have {self.count}")
        return self._m2 / (self.count - 1)

    def stats(self) -> tuple[np.ndarray, np.ndarray]:
        """``(mu, sigma)`` of everything added so far."""
        return self.mean, self.cov


def iter_batches(data, batch_size: int, name: str = "videos"):
    """Yield tensors of at most ``batch_size`` rows from a tensor, or pass through an iterable of tensors.

    Lets the feature extractors take either everything at once (``(N, ...)`` tensor) or a stream of
    batches (e.g. a generator that samples videos batch by batch).
    """
    if int(batch_size) < 1:
        raise InputError(f"batch_size must be >= 1, got {batch_size}")
    batch_size = int(batch_size)
    if isinstance(data, torch.Tensor):
        if data.shape[0] == 0:
            raise InputError(f"{name} is empty (shape {tuple(data.shape)})")
        for start in range(0, data.shape[0], batch_size):
            yield data[start : start + batch_size]
        return
    if isinstance(data, np.ndarray):
        yield from iter_batches(torch.from_numpy(data), batch_size, name)
        return
    try:
        iterator = iter(data)
    except TypeError as exc:
        raise InputError(f"{name} must be a tensor or an iterable of tensors, got {type(data).__name__}") from exc
    for item in iterator:
        if isinstance(item, np.ndarray):
            item = torch.from_numpy(item)
        if not isinstance(item, torch.Tensor):
            raise InputError(f"{name}: every batch must be a tensor, got {type(item).__name__}")
        for start in range(0, item.shape[0], batch_size):
            yield item[start : start + batch_size]


def save_gaussian_stats(path: str | os.PathLike, mu, sigma) -> Path:
    """Write ``mu`` and ``sigma`` (float64) to an ``.npz`` file (keys ``mu``, ``sigma``), atomically."""
    mu, sigma = _check_stats(mu, sigma, "")

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            np.savez(handle, mu=mu, sigma=sigma)

    try:
        return atomic_write(path, write)
    except OSError as exc:
        raise DatasetError(f"could not write feature statistics to {path} ({exc})") from exc


def load_gaussian_stats(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read ``(mu, sigma)`` from an ``.npz`` file with keys ``mu``/``sigma`` (pytorch-fid, this library)
    or ``mean``/``cov`` (the TGANv2 statistics files). Raises :class:`DatasetError` if missing or malformed."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(
            f"feature statistics not found at {path}; compute them with gaussian_stats / save_gaussian_stats"
        )
    try:
        with np.load(path, allow_pickle=False) as data:
            keys = set(data.files)
            for mu_key, sigma_key in (("mu", "sigma"), ("mean", "cov")):
                if mu_key in keys and sigma_key in keys:
                    mu, sigma = data[mu_key], data[sigma_key]
                    break
            else:
                raise DatasetError(
                    f"{path} has keys {sorted(keys)}; expected 'mu' and 'sigma' (or 'mean' and 'cov')"
                )
    except DatasetError:
        raise
    except Exception as exc:
        raise DatasetError(f"could not read feature statistics from {path} ({type(exc).__name__}: {exc})") from exc
    try:
        return _check_stats(mu, sigma, "")
    except InputError as exc:
        raise DatasetError(f"{path}: {exc}") from exc
