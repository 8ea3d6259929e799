"""Few-shot predictor on synthetic data, and the architecture encoding."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from saswot.errors import ScoreError, UnknownNameError
from saswot.search.predictor import (
    MODELS,
    FewShotPredictor,
    PredictorConfig,
    encoding_features,
    feature_matrix,
    fewshot_eval,
)


def _synthetic(n: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))
    y = 2.0 * x[:, 0] + np.sin(x[:, 1]) + 0.1 * rng.normal(size=n)
    return x, y


@pytest.mark.parametrize("model", MODELS)
def test_fit_predict_ranks_unseen_rows(model: str) -> None:
    x, y = _synthetic()
    p = FewShotPredictor(PredictorConfig(model=model, n_estimators=50), seed=0).fit(x[:100], y[:100])
    assert stats.spearmanr(p.predict(x[100:]), y[100:]).statistic > 0.85
    again = FewShotPredictor(PredictorConfig(model=model, n_estimators=50), seed=0).fit(x[:100], y[:100])
    assert np.array_equal(p.predict(x[100:]), again.predict(x[100:]))


def test_ridge_refuses_failed_proxy_scores() -> None:
    x, y = _synthetic(20)
    x[3, 1] = -1e8  # the registry's sentinel of a failed score
    with pytest.raises(ScoreError, match="finite features"):
        FewShotPredictor(PredictorConfig(model="ridge")).fit(x, y)
    # a tree model takes the sentinel as "below everything"
    assert FewShotPredictor(PredictorConfig(model="rf", n_estimators=5)).fit(x, y).predict(x).shape == (20,)


def test_fewshot_eval_is_seeded_and_more_labels_help() -> None:
    x, y = _synthetic()
    cfg = PredictorConfig(model="rf", n_estimators=30)
    a = fewshot_eval(x, y, 10, 3, cfg, seed=1)
    assert a == fewshot_eval(x, y, 10, 3, cfg, seed=1)
    assert a["n_eval"] == 190 and len(a["spearman"]["values"]) == 3
    assert fewshot_eval(x, y, 100, 3, cfg, seed=1)["spearman"]["mean"] > a["spearman"]["mean"]
    with pytest.raises(ScoreError):
        fewshot_eval(x, y, 199, 1, cfg, seed=0)


def test_errors_and_encoding() -> None:
    with pytest.raises(UnknownNameError):
        PredictorConfig(model="svm")
    with pytest.raises(ScoreError, match="before fit"):
        FewShotPredictor(PredictorConfig()).predict(np.zeros((1, 2)))
    micro = encoding_features("(3, 2, 0, 3, 1, 3)", "micro")
    assert len(micro) == 24 and sum(micro) == 6 and micro[3] == 1.0 and micro[4 + 2] == 1.0
    macro = encoding_features("(3, 4, 1, 2, 0, 0)", "macro")
    assert len(macro) == 30 and macro[3] == 1.0 and macro[5 * 4 + 0] == 1.0
    m = feature_matrix([{"a": 1.0, "b": 2.0}], ["b", "a"], keys=["(1, 1, 1, 1, 1, 1)"], space="micro")
    assert m.shape == (1, 26) and m[0, 0] == 2.0
