"""Candidate rankers of the FasterSeg space that ``fasterseg_models_loso.py --scan`` judges.

Each candidate (:class:`Candidate`) is a feature function of a decoded network and a model maker.
It stands for a question whether the shipped configuration (the pairwise ranker on
``structure-paths``, features clipped to the labelled range) leaves ranking quality behind:

* more architecture features appended to ``structure-paths``: each branch's theoretical receptive
  field, its convolution layers at each scale, zoomed (down-up) cells at each scale, the number of
  branches and the stem and head widths;
* the same linear ranker fitted differently: soft targets from the seed noise (the probability
  that one network's noise-free mIoU is above the other's, given the noise of one seed), or pairs
  weighted by their label gap;
* nonlinear models: a Gaussian process, gradient boosting, SVR, kernel ridge, and linear models on
  the features' pairwise products.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.stats import norm
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import RBF, ConstantKernel, DotProduct, WhiteKernel
from sklearn.kernel_ridge import KernelRidge
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler
from sklearn.svm import SVR

from saswot.search.predictor import FewShotPredictor, PredictorConfig
from saswot.search.ranker import PairwiseRanker, draw_pairs
from saswot.spaces.fasterseg.arch import Cell, FasterSegArch
from saswot.spaces.fasterseg.features import CONV_LAYERS, feature_set
from saswot.spaces.fasterseg.grid import SCALES

#: Receptive field (input pixels) and jump of the stem's output: a 3×3/2 conv, then two blocks of a
#: 3×3/2 and a 3×3/1 conv (1/2 -> 1/4 -> 1/8).
STEM_RF, STEM_JUMP = 39.0, 8.0


@dataclass(frozen=True)
class Candidate:
    """A ranker to judge: features of a network, and a maker of a model with ``fit``/``predict``."""

    features: Callable[[FasterSegArch], list[float]]
    make: Callable[[int], Any]
    what: dict[str, Any] = field(default_factory=dict)


def config_candidate(model: str, features: str, clip: bool) -> Candidate:
    """A ``saswot predictor fit`` configuration as a candidate."""
    config = PredictorConfig(model=model, features=features, max_features=0.5, min_samples_leaf=2, clip_features=clip)
    return Candidate(lambda a: feature_set(a, features), lambda seed: FewShotPredictor(config, seed=seed),
                     {"model": model, "features": features, "clip_features": clip})


def receptive_field(cells: list[Cell]) -> float:
    """Theoretical receptive field, in input pixels, of the last cell of a branch.

    Every 3×3 convolution widens it by twice the current jump; a zoomed cell runs its convolutions
    at half resolution (twice the jump), and a down cell doubles the jump after it.
    """
    rf, jump = STEM_RF, STEM_JUMP
    for c in cells:
        layers = CONV_LAYERS[c.op]
        if c.op.endswith("downup"):
            rf += layers * 4 * jump
            jump *= c.stride
        else:
            rf += 2 * jump
            jump *= c.stride
            rf += (layers - 1) * 2 * jump
    return rf


def _branches(arch: FasterSegArch) -> dict[int, list[Cell]]:
    return {b.last: cells for b, cells in zip(arch.branches, arch.branch_cells())}


def rf_features(arch: FasterSegArch) -> list[float]:
    """log2 receptive field of the 1/16 and the 1/32 branch (0 without one), and of the widest."""
    rf = {last: math.log2(receptive_field(cells)) for last, cells in _branches(arch).items()}
    return [rf.get(1, 0.0), rf.get(2, 0.0), max(rf.values())]


def layers_per_scale(arch: FasterSegArch) -> list[float]:
    """Convolution layers of the 1/16 and the 1/32 branch at each scale they visit."""
    by = _branches(arch)
    return [float(sum(CONV_LAYERS[c.op] for c in by.get(last, []) if c.scale_in == s))
            for last in (1, 2) for s in range(last + 1)]


def zoomed_per_scale(arch: FasterSegArch) -> list[float]:
    """Zoomed (down-up) cells at each scale, shared cells once."""
    cells = arch.unique_cells()
    return [float(sum(c.op.endswith("downup") for c in cells if c.scale_in == s)) for s in range(len(SCALES))]


def widths(arch: FasterSegArch) -> list[float]:
    """Branches, stem width and head width."""
    return [float(len(arch.branches)), float(arch.stem_width), float(arch.head_width)]


def paths_plus(*extra: Callable[[FasterSegArch], list[float]]) -> Callable[[FasterSegArch], list[float]]:
    """``structure-paths`` with ``extra`` features appended."""
    return lambda a: feature_set(a, "structure-paths") + [v for f in extra for v in f(a)]


class NoiseAwareRanker:
    """The pairwise linear ranker with soft targets or gap-weighted pairs (clipped to the labelled range).

    ``mode="soft"``: each pair is fitted in both outcomes, weighted by the probability that its order
    holds without seed noise, Φ(Δy / (σ·√2)) for one-seed labels of noise ``sigma``; ``"gap"``: each
    pair's observed order, weighted by |Δy|.
    """

    def __init__(self, mode: str = "soft", sigma: float = 0.01, c: float = 0.1, seed: int = 0,
                 max_pairs: int = 200_000) -> None:
        self.mode, self.sigma, self.c, self.seed, self.max_pairs = mode, sigma, c, seed, max_pairs

    def fit(self, x: np.ndarray, y: np.ndarray) -> NoiseAwareRanker:
        x, y = np.asarray(x, float), np.asarray(y, float)
        self._lo, self._hi = x.min(axis=0), x.max(axis=0)
        i, j = draw_pairs(y, self.max_pairs, self.seed, distinct=False)
        self._scaler = StandardScaler().fit(x)
        xs = self._scaler.transform(x)
        d = xs[i] - xs[j]
        if self.mode == "soft":
            p, w = norm.cdf((y[i] - y[j]) / (self.sigma * math.sqrt(2))), np.ones(i.size)
        else:
            p, w = (y[i] > y[j]).astype(float), np.abs(y[i] - y[j])
        rows = np.vstack([d, -d, d, -d])
        target = np.r_[np.ones(i.size), np.zeros(i.size), np.zeros(i.size), np.ones(i.size)]
        weight = np.r_[w * p, w * p, w * (1 - p), w * (1 - p)]
        ok = weight > 1e-9
        model = LogisticRegression(C=self.c, fit_intercept=False, max_iter=5000)
        self._coef = model.fit(rows[ok], target[ok], sample_weight=weight[ok] / weight[ok].mean()).coef_[0]
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self._scaler.transform(np.clip(np.asarray(x, float), self._lo, self._hi)) @ self._coef)


class ProductRanker:
    """The pairwise ranker on the standardised features and their pairwise products."""

    def __init__(self, c: float = 0.01, seed: int = 0) -> None:
        self.c, self.seed = c, seed

    def fit(self, x: np.ndarray, y: np.ndarray) -> ProductRanker:
        self._expand = make_pipeline(StandardScaler(), PolynomialFeatures(2, include_bias=False)).fit(x)
        self._rank = PairwiseRanker(c=self.c, seed=self.seed).fit(self._expand.transform(x), y)
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self._rank.predict(self._expand.transform(x))


def _gp(linear: bool) -> Any:
    kernel = ConstantKernel(1.0) * RBF(length_scale=5.0, length_scale_bounds=(0.5, 100.0))
    if linear:
        kernel = kernel + ConstantKernel(0.1) * DotProduct(1.0)
    return make_pipeline(StandardScaler(), GaussianProcessRegressor(kernel + WhiteKernel(0.5), normalize_y=True,
                                                                    random_state=0))


def _paths(a: FasterSegArch) -> list[float]:
    return feature_set(a, "structure-paths")


def _structure(a: FasterSegArch) -> list[float]:
    return feature_set(a, "structure")


#: The shipped configuration, the reference of ``--scan``.
SHIPPED = config_candidate("rank", "structure-paths", True)


def _plus(*extra: Callable[[FasterSegArch], list[float]]) -> Candidate:
    """The shipped configuration with ``extra`` features appended to ``structure-paths``."""
    return Candidate(paths_plus(*extra), SHIPPED.make, {**SHIPPED.what, "extra": [f.__name__ for f in extra]})


#: The candidates of ``--scan``; the first is the shipped configuration, the reference.
SCAN: dict[str, Candidate] = {
    "rank / structure-paths, clipped (shipped)": SHIPPED,
    "+ receptive fields": _plus(rf_features),
    "+ layers per scale": _plus(layers_per_scale),
    "+ zoomed cells per scale": _plus(zoomed_per_scale),
    "+ branches, stem and head widths": _plus(widths),
    "+ receptive fields, layers per scale": _plus(rf_features, layers_per_scale),
    "+ all four": _plus(rf_features, layers_per_scale, zoomed_per_scale, widths),
    "soft targets (one seed's noise 0.01)": Candidate(_paths, lambda s: NoiseAwareRanker("soft", 0.01, seed=s)),
    "soft targets (one seed's noise 0.02)": Candidate(_paths, lambda s: NoiseAwareRanker("soft", 0.02, seed=s)),
    "pairs weighted by their gap": Candidate(_paths, lambda s: NoiseAwareRanker("gap", seed=s)),
    "Gaussian process (RBF)": Candidate(_paths, lambda s: _gp(False)),
    "Gaussian process (RBF + linear)": Candidate(_paths, lambda s: _gp(True)),
    "gradient boosting": Candidate(_paths, lambda s: HistGradientBoostingRegressor(
        max_depth=3, learning_rate=0.05, max_iter=200, min_samples_leaf=10, random_state=s)),
    "SVR (RBF)": Candidate(_paths, lambda s: make_pipeline(StandardScaler(), SVR(C=1.0, epsilon=0.005))),
    "kernel ridge (RBF)": Candidate(_paths, lambda s: make_pipeline(StandardScaler(),
                                                                      KernelRidge(alpha=1.0, kernel="rbf", gamma=0.01))),
    "rank on structure and its pairwise products": Candidate(_structure, lambda s: ProductRanker(seed=s)),
    "ridge on structure and its pairwise products": Candidate(_structure, lambda s: make_pipeline(
        StandardScaler(), PolynomialFeatures(2, include_bias=False), StandardScaler(),
        RidgeCV(alphas=np.logspace(-1, 4, 30)))),
}
