"""The pairwise ranking model: it learns an order from pairs, predicts on the label scale, is seeded."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from saswot.errors import ScoreError
from saswot.search.predictor import FewShotPredictor, PredictorConfig
from saswot.search.ranker import PairwiseRanker


def _linear(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5)) * np.array([1.0, 10.0, 0.1, 1.0, 1.0])  # unequal scales: standardised inside
    y = 0.30 + 0.02 * x[:, 0] - 0.001 * x[:, 1] + 0.003 * rng.normal(size=n)
    return x, y


def test_it_recovers_the_order_of_a_linear_target() -> None:
    x, y = _linear(160)
    r = PairwiseRanker().fit(x[:80], y[:80])
    assert stats.kendalltau(r.predict(x[80:]), y[80:]).statistic > 0.7
    # the two informative features carry the weight, with the signs of the target
    assert r.coef_ is not None and r.coef_[0] > 0 > r.coef_[1]
    assert np.abs(r.coef_[[0, 1]]).min() > 3 * np.abs(r.coef_[[2, 3, 4]]).max()


def test_predictions_are_on_the_label_scale_and_keep_the_utility_order() -> None:
    x, y = _linear(60)
    r = PairwiseRanker().fit(x, y)
    p = r.predict(x)
    assert abs(p.mean() - y.mean()) < 1e-9  # the least-squares line passes through the means
    assert 0.2 < p.std() / y.std() <= 1.0
    assert r.coef_ is not None
    u = r._scaler.transform(x) @ r.coef_  # type: ignore[union-attr]
    assert np.array_equal(np.argsort(p), np.argsort(u))


def test_pair_subsample_is_seeded() -> None:
    x, y = _linear(40)  # 780 pairs
    a = PairwiseRanker(max_pairs=100, seed=3).fit(x, y).predict(x)
    assert np.array_equal(a, PairwiseRanker(max_pairs=100, seed=3).fit(x, y).predict(x))
    assert not np.array_equal(a, PairwiseRanker(max_pairs=100, seed=4).fit(x, y).predict(x))
    full = PairwiseRanker(seed=3).fit(x, y).predict(x)
    assert np.array_equal(full, PairwiseRanker(seed=4).fit(x, y).predict(x))  # no draw below the cap


def test_refusals() -> None:
    x, _ = _linear(10)
    with pytest.raises(ScoreError, match="different labels"):
        PairwiseRanker().fit(x, np.full(10, 0.25))
    with pytest.raises(ScoreError, match="before fit"):
        PairwiseRanker().predict(x)
    with pytest.raises(ScoreError, match="finite labels"):
        PairwiseRanker().fit(x, np.r_[np.linspace(0, 1, 9), np.nan])
    bad = x.copy()
    bad[2, 1] = np.nan
    with pytest.raises(ScoreError, match="rank model needs finite features"):
        FewShotPredictor(PredictorConfig(model="rank")).fit(bad, np.linspace(0, 1, 10))


@pytest.mark.parametrize("model", ["ridge", "rank"])
def test_clipped_features_make_a_trust_region(model: str) -> None:
    x, y = _linear(50)
    far = x[:3].copy()
    far[:, 0] = x[:, 0].max() + np.array([1.0, 10.0, 100.0])  # past the labelled range, along the best feature
    edge = far.copy()
    edge[:, 0] = x[:, 0].max()
    clipped = FewShotPredictor(PredictorConfig(model=model, clip_features=True)).fit(x, y)
    assert np.allclose(clipped.predict(far), clipped.predict(edge))  # no gain from extrapolating
    free = FewShotPredictor(PredictorConfig(model=model)).fit(x, y)
    assert np.all(np.diff(free.predict(far)) > 0)  # the plain linear model keeps rewarding it
    assert np.array_equal(clipped.predict(x), free.predict(x))  # inside the range nothing changes
