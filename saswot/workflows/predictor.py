"""Few-shot performance predictor: a small scikit-learn model over proxy scores (and optionally the
architecture encoding), fitted on k labelled architectures of a space, ranking the rest.

Features: one column per proxy (raw scores; failed scores keep the sentinel -1e8, which a tree
model treats as "below everything"), optionally followed by the one-hot TransNAS-Bench-101
encoding (:func:`encoding_features`). Models (:data:`MODELS`): scikit-learn's random forest,
extra trees and gradient boosting regressors. Everything is seeded by an explicit integer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from scipy import stats
from sklearn.ensemble import ExtraTreesRegressor, GradientBoostingRegressor, RandomForestRegressor

from saswot.errors import ScoreError, UnknownNameError
from saswot.spaces import get_space

#: Supported model kinds.
MODELS = ("rf", "et", "gbr")


@dataclass(frozen=True)
class PredictorConfig:
    """Model and features of a :class:`FewShotPredictor`.

    Attributes:
        model: ``"rf"`` (random forest), ``"et"`` (extra trees) or ``"gbr"`` (gradient boosting).
        n_estimators: trees.
        max_depth: tree depth (None: unlimited; gradient boosting default 3).
        min_samples_leaf: smallest leaf.
        learning_rate: gradient boosting only.
        max_features: fraction of features tried per split (forests).
        use_encoding: append the one-hot architecture encoding to the proxy scores.
        proxies: proxy columns used (empty: all given).
    """

    model: str = "rf"
    n_estimators: int = 300
    max_depth: int | None = None
    min_samples_leaf: int = 1
    learning_rate: float = 0.05
    max_features: float = 1.0
    use_encoding: bool = False
    proxies: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise UnknownNameError(f"unknown predictor model '{self.model}'; use one of: {', '.join(MODELS)}")

    def to_json(self) -> dict[str, Any]:
        """Plain dict."""
        d = asdict(self)
        d["proxies"] = list(self.proxies)
        return d


def encoding_features(key: str, space: str) -> list[float]:
    """The architecture encoding of ``key`` given by its search space (``SearchSpace.encode``), e.g. one-hot digits.

    Raises:
        UnknownNameError: unknown space, or a space without an encoding.
    """

    sp = get_space(space)
    encode = getattr(sp, "encode", None)
    features = encode(key) if encode is not None else None
    if features is None:
        raise UnknownNameError(f"space '{space}' defines no architecture encoding (SearchSpace.encode)")
    return list(features)


def feature_matrix(
    scores: Sequence[Mapping[str, float]],
    proxies: Sequence[str],
    *,
    keys: Sequence[str] | None = None,
    space: str | None = None,
) -> np.ndarray:
    """Rows of proxy scores (``proxies`` order), plus the encoding when ``keys`` and ``space`` are given."""
    x = np.asarray([[float(s[p]) for p in proxies] for s in scores], dtype=np.float64)
    if keys is not None and space is not None:
        enc = np.asarray([encoding_features(k, space) for k in keys], dtype=np.float64)
        x = np.hstack([x, enc]) if x.size else enc
    return x


class FewShotPredictor:
    """A seeded scikit-learn regressor of accuracy from proxy-score features."""

    def __init__(self, config: PredictorConfig, seed: int = 0) -> None:
        self.config = config
        self.seed = int(seed)
        self._model: Any = None

    def _make(self) -> Any:
        c = self.config
        if c.model == "gbr":
            return GradientBoostingRegressor(
                n_estimators=c.n_estimators,
                learning_rate=c.learning_rate,
                max_depth=c.max_depth or 3,
                min_samples_leaf=c.min_samples_leaf,
                subsample=1.0,
                random_state=self.seed,
            )
        cls = RandomForestRegressor if c.model == "rf" else ExtraTreesRegressor
        return cls(
            n_estimators=c.n_estimators,
            max_depth=c.max_depth,
            min_samples_leaf=c.min_samples_leaf,
            max_features=c.max_features,
            random_state=self.seed,
            n_jobs=1,
        )

    def fit(self, x: np.ndarray, y: Sequence[float] | np.ndarray) -> FewShotPredictor:
        """Fit on feature rows ``x`` and accuracies ``y``.

        Raises:
            ScoreError: fewer than 2 rows or mismatched lengths.
        """
        x = np.asarray(x, dtype=np.float64)
        yy = np.asarray(y, dtype=np.float64)
        if x.ndim != 2 or x.shape[0] != yy.size or yy.size < 2:
            raise ScoreError(f"need at least 2 labelled rows with matching targets, got X {x.shape} and y {yy.shape}")
        self._model = self._make().fit(x, yy)
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predicted accuracies of feature rows ``x``.

        Raises:
            ScoreError: called before :meth:`fit`.
        """
        if self._model is None:
            raise ScoreError("predict() called before fit()")
        return np.asarray(self._model.predict(np.asarray(x, dtype=np.float64)), dtype=np.float64)


def fewshot_eval(
    x: np.ndarray,
    y: Sequence[float],
    k: int,
    draws: int,
    config: PredictorConfig,
    seed: int,
) -> dict[str, Any]:
    """Fit on ``k`` random labelled rows and rank the others, ``draws`` times.

    The i-th draw takes its k rows with ``numpy.random.default_rng([seed, k, i])`` and fits the
    model with seed ``i``; Kendall tau-b and Spearman rho are computed between predictions and
    ground truth over every row not drawn.

    Returns:
        ``{"k", "draws", "kendall": {mean, std, values}, "spearman": {...}, "n_eval"}``.

    Raises:
        ScoreError: k leaves fewer than 2 rows to evaluate.
    """
    yy = np.asarray(y, dtype=np.float64)
    n = yy.size
    if k < 2 or n - k < 2:
        raise ScoreError(f"k = {k} with {n} architectures leaves nothing to train on or to rank")
    kend, spear = [], []
    for i in range(draws):
        rng = np.random.default_rng([int(seed), int(k), i])
        train = np.zeros(n, dtype=bool)
        train[rng.choice(n, size=k, replace=False)] = True
        pred = FewShotPredictor(config, seed=i).fit(x[train], yy[train]).predict(x[~train])
        kend.append(float(stats.kendalltau(pred, yy[~train]).statistic))
        spear.append(float(stats.spearmanr(pred, yy[~train]).statistic))

    def summary(v: list[float]) -> dict[str, Any]:
        arr = np.asarray(v)
        return {"mean": float(np.nanmean(arr)), "std": float(np.nanstd(arr)), "values": v}

    return {"k": k, "draws": draws, "n_eval": n - k, "kendall": summary(kend), "spearman": summary(spear)}
