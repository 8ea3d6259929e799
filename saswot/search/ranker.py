"""A linear ranking model fitted on pairs of labelled architectures.

A search keeps the top of a ranking, so the predictor only has to order architectures. The model
here learns exactly that: on standardised features, a logistic regression without intercept on the
feature differences of pairs of labelled architectures, predicting which of the two trained better
(a RankNet-style linear ranker). Every pair is used once in each order, so the fit is symmetric; with
more than ``max_pairs`` pairs, a seeded draw of them is. Its utility ``x · w`` is then mapped onto
the label scale by the least-squares line through the training rows (slope kept positive), so the
predictions read as accuracies and keep the utility's order.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from saswot.errors import ScoreError

#: Inverse penalty of the pairwise logistic regression (on standardised features).
RANK_C = 0.1
#: Pairs used at most (a seeded draw beyond that; 256 architectures give 32,640).
RANK_MAX_PAIRS = 200_000


def draw_pairs(y: np.ndarray, max_pairs: int, seed: int, distinct: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs ``i < j`` of the labels ``y`` to fit a ranker on.

    Only pairs with different labels when ``distinct``; beyond ``max_pairs`` pairs, a draw of them
    seeded by ``seed`` (in index order).
    """
    i, j = np.triu_indices(y.size, 1)
    if distinct:
        differ = y[i] != y[j]
        i, j = i[differ], j[differ]
    if i.size > max_pairs:
        pick = np.sort(np.random.default_rng(seed).choice(i.size, max_pairs, replace=False))
        i, j = i[pick], j[pick]
    return i, j


class PairwiseRanker:
    """Linear pairwise ranker with predictions on the label scale (scikit-learn style ``fit``/``predict``).

    Args:
        c: inverse penalty of the logistic regression.
        max_pairs: most pairs fitted; more are subsampled with ``seed``.
        seed: seed of that subsample.
    """

    def __init__(self, c: float = RANK_C, max_pairs: int = RANK_MAX_PAIRS, seed: int = 0) -> None:
        self.c = float(c)
        self.max_pairs = int(max_pairs)
        self.seed = int(seed)
        self._scaler: StandardScaler | None = None
        self.coef_: np.ndarray | None = None
        self._line: tuple[float, float] = (0.0, 1.0)

    def fit(self, x: Any, y: Any) -> PairwiseRanker:
        """Fit on feature rows ``x`` and labels ``y``.

        Raises:
            ScoreError: a label that is NaN or infinite, or fewer than two distinct labels (no pair
                to learn an order from).
        """
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if not np.isfinite(y).all():
            raise ScoreError("the rank model needs finite labels; some architectures have a NaN or infinite accuracy")
        i, j = draw_pairs(y, self.max_pairs, self.seed)
        if i.size == 0:
            raise ScoreError("the rank model needs at least two architectures with different labels")
        self._scaler = StandardScaler().fit(x)
        xs = self._scaler.transform(x)
        diff = xs[i] - xs[j]
        won = (y[i] > y[j]).astype(np.int64)
        pairs = np.vstack([diff, -diff])
        target = np.concatenate([won, 1 - won])
        model = LogisticRegression(C=self.c, fit_intercept=False, max_iter=5000).fit(pairs, target)
        self.coef_ = np.asarray(model.coef_[0], dtype=np.float64)
        u = xs @ self.coef_
        spread = float(u.std())
        slope = float(np.cov(u, y, bias=True)[0, 1] / spread**2) if spread > 0 else 0.0
        if slope <= 0:  # an order the training rows do not follow: keep it, on the labels' spread
            slope = float(y.std() / spread) if spread > 0 else 1.0
        self._line = (float(y.mean() - slope * u.mean()), slope)
        return self

    def predict(self, x: Any) -> np.ndarray:
        """Predicted labels of feature rows ``x`` (the utility's order, on the label scale).

        Raises:
            ScoreError: called before :meth:`fit`.
        """
        if self._scaler is None or self.coef_ is None:
            raise ScoreError("predict() called before fit()")
        u = self._scaler.transform(np.asarray(x, dtype=np.float64)) @ self.coef_
        return np.asarray(self._line[0] + self._line[1] * u, dtype=np.float64)
