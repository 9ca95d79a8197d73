"""Inception Score from class probabilities (Salimans et al. 2016).

For one split of ``n`` predictions ``p(y|x_i)`` with marginal ``p(y) = mean_i p(y|x_i)``::

    IS = exp( mean_i KL(p(y|x_i) || p(y)) ) = exp( mean_i sum_y p(y|x_i) (log p(y|x_i) - log p(y)) )

:func:`inception_score` cuts the ``N`` rows into ``splits`` consecutive parts
``[i N // splits, (i + 1) N // splits)`` (the OpenAI ``improved-gan`` / TGANv2 split rule), scores each
and returns the mean and the population standard deviation (``numpy.std``, ``ddof=0``) of the split
scores. Terms with ``p(y|x) = 0`` contribute 0 (the ``0 log 0 = 0`` convention), so uniform
predictions give exactly 1 and one-hot predictions spread evenly over ``K`` classes give ``K``.

Matching published code:

* TGAN (v1) ``calc_inception.py`` and the paper's ``evaluation_metrics.py``: one split over all samples,
  ``eps = 1e-7`` inside both logarithms -> ``inception_score(probs, splits=1, eps=1e-7)``. The paper
  reports mean +- std over 10 batches of 2048 videos, which is ``inception_score(probs_of_20480,
  splits=10, eps=1e-7)`` when the batches are consecutive.
* TGANv2 ``inception_score``: ``eps = 1e-20`` added to the probabilities; numerically the same as
  ``eps=0`` here for any realistic input.
"""

from __future__ import annotations

import numpy as np
import torch

from odevideo.errors import InputError

__all__ = ["inception_score", "inception_score_split"]


def _as_probs(probs) -> np.ndarray:
    if isinstance(probs, torch.Tensor):
        probs = probs.detach().cpu().to(torch.float64).numpy()
    array = np.asarray(probs, dtype=np.float64)
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] == 0:
        raise InputError(f"inception_score: probs must have shape (N, K) with N, K >= 1, got {array.shape}")
    if not np.isfinite(array).all():
        raise InputError("inception_score: probs contain NaN or inf values")
    if (array < 0).any():
        raise InputError("inception_score: probs must be non-negative (pass softmax outputs, not logits)")
    row_sums = array.sum(axis=1)
    if not np.allclose(row_sums, 1.0, atol=1e-3):
        worst = float(np.abs(row_sums - 1.0).max())
        raise InputError(
            f"inception_score: each row of probs must sum to 1 (softmax outputs), worst row is off by {worst:.3g}"
        )
    return array


def inception_score_split(probs: np.ndarray, eps: float = 0.0) -> float:
    """exp(mean KL(p(y|x) || p(y))) for one block of ``(n, K)`` float64 probabilities."""
    marginal = probs.mean(axis=0, keepdims=True)
    if eps > 0:
        terms = probs * (np.log(probs + eps) - np.log(marginal + eps))
    else:
        positive = probs > 0
        safe_p = np.where(positive, probs, 1.0)
        safe_m = np.where(positive, np.broadcast_to(marginal, probs.shape), 1.0)
        terms = np.where(positive, probs * (np.log(safe_p) - np.log(safe_m)), 0.0)
    return float(np.exp(terms.sum(axis=1).mean()))


def inception_score(probs, splits: int = 10, eps: float = 0.0) -> tuple[float, float]:
    """Inception Score of ``(N, K)`` class probabilities: ``(mean, std)`` over ``splits`` parts.

    Args:
        probs: softmax outputs (numpy array or tensor), rows summing to 1.
        splits: number of consecutive parts (1 <= splits <= N); 10 is the usual choice.
        eps: added inside both logarithms (``1e-7`` reproduces the TGAN / paper code); 0 uses the exact
            ``0 log 0 = 0`` convention.
    """
    array = _as_probs(probs)
    n = array.shape[0]
    splits = int(splits)
    if splits < 1 or splits > n:
        raise InputError(f"inception_score: splits must be between 1 and N={n}, got {splits}")
    if eps < 0:
        raise InputError(f"inception_score: eps must be >= 0, got {eps}")
    scores = np.array(
        [inception_score_split(array[i * n // splits : (i + 1) * n // splits], float(eps)) for i in range(splits)]
    )
    return float(scores.mean()), float(scores.std())
