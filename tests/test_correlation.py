"""Correlation code against scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from saswot.utils.correlation import correlation_table, correlations, sample_indices, sampled_correlations
from saswot.errors import ScoreError


def test_matches_scipy_with_ties() -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 5, 40).astype(float)  # ties -> tau-b matters
    y = x + rng.normal(0, 1.5, 40)
    c = correlations(x, y)
    assert c["kendall"] == pytest.approx(stats.kendalltau(x, y).statistic)
    assert c["spearman"] == pytest.approx(stats.spearmanr(x, y).statistic)
    assert c["pearson"] == pytest.approx(stats.pearsonr(x, y).statistic)
    assert correlations([1, 2, 3], [3, 2, 1])["kendall"] == pytest.approx(-1.0)


def test_constant_input_gives_nan_and_bad_input_raises() -> None:
    assert all(math.isnan(v) for v in correlations([1, 1, 1], [1, 2, 3]).values())
    with pytest.raises(ScoreError):
        correlations([1, 2], [1, 2, 3])
    with pytest.raises(ScoreError):
        correlations([1], [1])


def test_sampled_mean_std() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=30)
    y = x + rng.normal(size=30)
    sets = sample_indices(30, 5, 10, np.random.default_rng(3))
    out = sampled_correlations(x, y, sets)
    taus = [stats.kendalltau(x[i], y[i]).statistic for i in sets]
    assert out["kendall"]["mean"] == pytest.approx(np.mean(taus))
    assert out["kendall"]["std"] == pytest.approx(np.std(taus))
    assert out["kendall"]["nan"] == 0
    table = correlation_table({"a": x, "b": -x}, y, 5, 10, seed=3)
    assert table["a"]["kendall"]["mean"] == pytest.approx(out["kendall"]["mean"])
    assert table["b"]["kendall"]["mean"] == pytest.approx(-out["kendall"]["mean"])
    # more than available -> whole set every time, std 0
    full = correlation_table({"a": x}, y, 3, 100, seed=0)
    assert full["a"]["kendall"]["std"] == pytest.approx(0.0)
