"""Rank correlations between proxy scores and ground truth (scipy), single and over random samples."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from scipy import stats

from saswot.errors import ScoreError

METRICS = ("kendall", "spearman", "pearson")


def correlations(scores: Sequence[float], truth: Sequence[float]) -> dict[str, float]:
    """Kendall tau-b, Spearman rho and Pearson r of ``scores`` vs ``truth`` (fractions).

    A constant input gives NaN for that metric (scipy's behaviour), never an exception.

    Raises:
        ScoreError: different lengths or fewer than 2 values.
    """
    x = np.asarray(scores, dtype=np.float64)
    y = np.asarray(truth, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ScoreError(f"scores and ground truth must be 1-D of equal length, got {x.shape} and {y.shape}")
    if x.size < 2:
        raise ScoreError(f"need at least 2 architectures to correlate, got {x.size}")
    if np.all(x == x[0]) or np.all(y == y[0]):
        return {m: float("nan") for m in METRICS}
    return {
        "kendall": float(stats.kendalltau(x, y).statistic),
        "spearman": float(stats.spearmanr(x, y).statistic),
        "pearson": float(stats.pearsonr(x, y).statistic),
    }


def sample_indices(n: int, samples: int, sample_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """``samples`` index sets of ``min(sample_size, n)`` distinct items out of ``n``."""
    if n < 2:
        raise ScoreError(f"need at least 2 scored architectures, got {n}")
    size = min(sample_size, n)
    return [np.sort(rng.choice(n, size=size, replace=False)) for _ in range(samples)]


def sampled_correlations(
    scores: Sequence[float], truth: Sequence[float], index_sets: Sequence[np.ndarray]
) -> dict[str, dict[str, float]]:
    """Mean and std (population, ddof=0) of each correlation over the given index sets.

    NaN correlations (constant sample) are left out of the mean and counted in ``"nan"``.
    """
    x = np.asarray(scores, dtype=np.float64)
    y = np.asarray(truth, dtype=np.float64)
    per: dict[str, list[float]] = {m: [] for m in METRICS}
    for idx in index_sets:
        c = correlations(x[idx], y[idx])
        for m in METRICS:
            per[m].append(c[m])
    out: dict[str, dict[str, float]] = {}
    for m, vals in per.items():
        arr = np.asarray(vals)
        good = arr[np.isfinite(arr)]
        out[m] = {
            "mean": float(good.mean()) if good.size else float("nan"),
            "std": float(good.std()) if good.size else float("nan"),
            "nan": int(arr.size - good.size),
        }
    return out


def correlation_table(
    scores: Mapping[str, Sequence[float]],
    truth: Sequence[float],
    samples: int,
    sample_size: int,
    seed: int,
) -> dict[str, dict[str, dict[str, float]]]:
    """Per proxy, mean/std correlations over the same ``samples`` random subsets of the archs."""
    rng = np.random.default_rng(seed)
    index_sets = sample_indices(len(truth), samples, sample_size, rng)
    return {name: sampled_correlations(vals, truth, index_sets) for name, vals in scores.items()}
