"""Few-shot performance predictor: a small scikit-learn model over proxy scores (and optionally the
architecture encoding), fitted on k labelled architectures of a space, ranking the rest.

Features: one column per proxy (raw scores; failed scores keep the sentinel -1e8, which a tree
model treats as "below everything"), optionally followed by the one-hot TransNAS-Bench-101
encoding (:func:`encoding_features`). Models (:data:`MODELS`): scikit-learn's random forest,
extra trees and gradient boosting regressors, ridge regression on standardised features with
its penalty chosen by leave-one-out cross-validation (:data:`RIDGE_ALPHAS`; deterministic), and a
linear pairwise ranker (:class:`saswot.search.ranker.PairwiseRanker`), fitted on which of two
labelled architectures trained better.
Everything is seeded by an explicit integer.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats
from sklearn.ensemble import ExtraTreesRegressor, GradientBoostingRegressor, RandomForestRegressor
from sklearn.linear_model import RidgeCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from saswot import __version__
from saswot.errors import SENTINEL, CorruptDataError, ScoreError, UnknownNameError
from saswot.search.ranker import PairwiseRanker
from saswot.spaces import get_space
from saswot.utils.io import read_json, write_json

#: Supported model kinds.
MODELS = ("rf", "et", "gbr", "ridge", "rank")
#: The models that need finite features (a failed proxy score cannot be one of them).
LINEAR_MODELS = ("ridge", "rank")
#: Penalties the ridge model chooses from (leave-one-out error on the labelled rows).
RIDGE_ALPHAS = tuple(float(a) for a in np.logspace(-2, 3, 21))


@dataclass(frozen=True)
class PredictorConfig:
    """Model and features of a :class:`FewShotPredictor`.

    Attributes:
        model: ``"rf"`` (random forest), ``"et"`` (extra trees), ``"gbr"`` (gradient boosting),
            ``"ridge"`` (ridge regression on standardised features) or ``"rank"`` (a linear ranker
            fitted on pairs, :class:`~saswot.search.ranker.PairwiseRanker`); the tree settings below
            apply to the trees only.
        n_estimators: trees.
        max_depth: tree depth (None: unlimited; gradient boosting default 3).
        min_samples_leaf: smallest leaf.
        learning_rate: gradient boosting only.
        max_features: fraction of features tried per split (forests).
        use_encoding: append the one-hot architecture encoding to the proxy scores.
        proxies: proxy columns used (empty: all given).
        features: the space's feature set a fitted predictor encodes architectures with
            (``SearchSpace.feature_sets``; empty: the space's default).
        clip_features: clip every feature to the range of the labelled rows before predicting. A
            trust region for a search: an architecture past the labelled range scores as if at its
            edge, so the search cannot gain by extrapolating the model.
    """

    model: str = "rf"
    n_estimators: int = 300
    max_depth: int | None = None
    min_samples_leaf: int = 1
    learning_rate: float = 0.05
    max_features: float = 1.0
    use_encoding: bool = False
    proxies: tuple[str, ...] = field(default_factory=tuple)
    features: str = ""
    clip_features: bool = False

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
        self._range: tuple[np.ndarray, np.ndarray] | None = None

    def _make(self) -> Any:
        c = self.config
        if c.model == "ridge":
            return make_pipeline(StandardScaler(), RidgeCV(alphas=RIDGE_ALPHAS))
        if c.model == "rank":
            return PairwiseRanker(seed=self.seed)
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
        if self.config.model in LINEAR_MODELS:
            name = self.config.model
            if not np.isfinite(x).all():
                raise ScoreError(f"the {name} model needs finite features; some rows hold NaN or infinity")
            if (x == SENTINEL).any():
                raise ScoreError(
                    f"the {name} model needs finite features, but some rows hold a failed proxy score; "
                    "use a tree model (--model rf) or leave the failing proxy out"
                )
        self._range = (x.min(axis=0), x.max(axis=0)) if self.config.clip_features else None
        self._model = self._make().fit(x, yy)
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predicted accuracies of feature rows ``x``.

        Raises:
            ScoreError: called before :meth:`fit`.
        """
        if self._model is None:
            raise ScoreError("predict() called before fit()")
        rows = np.asarray(x, dtype=np.float64)
        if self._range is not None:
            rows = np.clip(rows, *self._range)
        return np.asarray(self._model.predict(rows), dtype=np.float64)


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


# ----------------------------------------------------------------------------- fitted predictor files
#: Format tag of a predictor file (``saswot predictor fit``).
PREDICTOR_FORMAT = "saswot-predictor"
PREDICTOR_VERSION = 1
#: Labelled-set sizes of the learning curve a fit reports (those that leave at least 8 to rank).
CURVE_KS = (16, 32, 64, 128)


def split_kendall(
    x: np.ndarray, y: np.ndarray, config: PredictorConfig, k: int, repeats: int, seed: int
) -> dict[str, Any]:
    """Fit on ``k`` random rows and Kendall-rank the others, ``repeats`` times (split ``i``: ``default_rng([seed, k, i])``).

    Returns:
        ``{"k", "n_test", "repeats", "mean", "std"}`` (Kendall τ-b).
    """
    taus = []
    for i in range(repeats):
        perm = np.random.default_rng([int(seed), int(k), i]).permutation(len(y))
        train, test = perm[:k], perm[k:]
        pred = FewShotPredictor(config, seed=i).fit(x[train], y[train]).predict(x[test])
        taus.append(float(stats.kendalltau(pred, y[test]).statistic))
    arr = np.asarray(taus)
    return {
        "k": int(k),
        "n_test": int(len(y) - k),
        "repeats": int(repeats),
        "mean": float(np.nanmean(arr)),
        "std": float(np.nanstd(arr)),
    }


def _encode(space: str, arch: Any, feature_set: str = "") -> list[float] | None:
    """``space.encode(arch, feature_set)`` (empty: the default set), or None for a space without an encoding."""
    encode = getattr(get_space(space), "encode", None)
    if encode is None:
        return None
    return encode(arch, feature_set) if feature_set else encode(arch)


class FittedPredictor:
    """A few-shot predictor of one space's ground truth from its architecture encoding.

    It is defined by its labelled rows (architecture keys, their encodings and accuracies), the
    model settings and a seed; the model is fitted when the object is made, so the same file gives
    the same predictions on the same installation. Its score of an architecture is the predicted
    ground truth (the benchmark's ``val_accuracy`` unit; larger is better).

    Args:
        space: the search space's name (its ``encode`` gives the features).
        config: model settings.
        seed: model seed.
        keys: canonical keys of the labelled architectures.
        x: their encodings (rows).
        y: their ground truth.
        meta: provenance and validation figures kept in the file.
    """

    def __init__(
        self,
        space: str,
        config: PredictorConfig,
        seed: int,
        keys: Sequence[str],
        x: np.ndarray,
        y: np.ndarray,
        meta: Mapping[str, Any] | None = None,
    ) -> None:
        self.space = space
        self.config = config
        self.seed = int(seed)
        self.keys = list(keys)
        self.x = np.asarray(x, dtype=np.float64)
        self.y = np.asarray(y, dtype=np.float64)
        self.meta = dict(meta or {})
        self.model = FewShotPredictor(config, seed=self.seed).fit(self.x, self.y)

    def features(self, arch: Any) -> np.ndarray:
        """The encoding of ``arch`` (anything the space parses) as one row."""
        enc = _encode(self.space, arch, self.config.features)
        if enc is None or len(enc) != self.x.shape[1]:
            raise ScoreError(
                f"space '{self.space}' encodes architectures with {0 if enc is None else len(enc)} features but "
                f"the predictor was fitted on {self.x.shape[1]}; fit it again with `saswot predictor fit`"
            )
        return np.asarray([enc], dtype=np.float64)

    def score(self, arch: Any) -> float:
        """Predicted ground truth of ``arch``."""
        return float(self.model.predict(self.features(arch))[0])

    def score_many(self, archs: Sequence[Any]) -> list[float]:
        """Predicted ground truth of several architectures."""
        if not archs:
            return []
        rows = np.vstack([self.features(a) for a in archs])
        return [float(v) for v in self.model.predict(rows)]

    def to_json(self) -> dict[str, Any]:
        """The predictor file's content."""
        return {
            "format": PREDICTOR_FORMAT,
            "version": PREDICTOR_VERSION,
            "space": self.space,
            "config": self.config.to_json(),
            "seed": self.seed,
            "keys": self.keys,
            "x": self.x.tolist(),
            "y": self.y.tolist(),
            "meta": self.meta,
        }

    @classmethod
    def from_json(cls, d: Any, where: str = "predictor file") -> FittedPredictor:
        """Inverse of :meth:`to_json` (refits the model).

        Raises:
            CorruptDataError: not a predictor file, or inconsistent rows.
        """
        if not isinstance(d, dict) or d.get("format") != PREDICTOR_FORMAT:
            raise CorruptDataError(f"{where} is not a saswot predictor file; make one with `saswot predictor fit`")
        try:
            cfg = dict(d["config"])
            cfg["proxies"] = tuple(cfg.get("proxies", ()))
            config = PredictorConfig(**cfg)
            x = np.asarray(d["x"], dtype=np.float64)
            y = np.asarray(d["y"], dtype=np.float64)
            keys = [str(k) for k in d["keys"]]
            if x.ndim != 2 or len(keys) != x.shape[0] or y.shape != (x.shape[0],) or not np.isfinite(x).all():
                raise ValueError(f"{len(keys)} keys, x {x.shape}, y {y.shape}")
            return cls(str(d["space"]), config, int(d["seed"]), keys, x, y, d.get("meta", {}))
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise CorruptDataError(f"{where} is damaged ({exc}); fit it again with `saswot predictor fit`") from exc

    def save(self, path: Any) -> None:
        """Write the predictor file (atomically)."""
        write_json(path, self.to_json())

    @classmethod
    def load(cls, path: Any) -> FittedPredictor:
        """Read a predictor file.

        Raises:
            DataNotFoundError, CorruptDataError.
        """
        return cls.from_json(read_json(path, "predictor file"), f"predictor file '{path}'")


def labelled_set(
    space: str, bench: Sequence[Any] | None = None, feature_set: str = ""
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Keys, encodings and ground truth of the labelled architectures of ``space``.

    Args:
        space: a space with ground truth and an encoding.
        bench: benchmark files (several are pooled, an architecture in more than one gets the
            mean); None: the space's default ground truth.
        feature_set: the space's encoding to use (empty: its default).

    Raises:
        UnknownNameError: the space has no ground truth or no encoding.
        ScoreError: fewer than 4 labelled architectures.
    """
    sp = get_space(space, "benchmark")
    pooled: dict[str, list[float]] = {}
    for path in list(bench or [None]):
        b = sp.benchmark(path)
        if b is None:
            raise UnknownNameError(f"space '{space}' has no ground truth to fit a predictor on")
        for key, value in b.ground_truths().items():
            pooled.setdefault(key, []).append(float(value))
    keys = sorted(pooled)
    if len(keys) < 4:
        raise ScoreError(f"only {len(keys)} labelled architectures; a predictor needs at least 4")
    if _encode(space, keys[0], feature_set) is None:
        raise UnknownNameError(f"space '{space}' defines no architecture encoding to fit a predictor on")
    x = np.asarray([_encode(space, k, feature_set) for k in keys], dtype=np.float64)
    y = np.asarray([float(np.mean(pooled[k])) for k in keys])
    return keys, x, y


def fit_predictor(
    space: str,
    bench: Sequence[Any] | None = None,
    config: PredictorConfig | None = None,
    seed: int = 0,
    repeats: int = 50,
) -> FittedPredictor:
    """Fit a predictor on every labelled architecture of ``space`` and validate it on held-out ones.

    The validation (kept in ``meta``) fits on random halves and on ``k`` ∈ :data:`CURVE_KS`
    labelled architectures and ranks the rest (:func:`split_kendall`, ``repeats`` splits each).
    """
    config = config or PredictorConfig(model="rf", max_features=0.5, min_samples_leaf=2, use_encoding=True)
    keys, x, y = labelled_set(space, bench, config.features)
    n = len(keys)
    meta: dict[str, Any] = {
        "archs": n,
        "bench": [str(b) for b in bench] if bench else None,
        "y_min": float(y.min()),
        "y_max": float(y.max()),
        "validation": {
            "half": split_kendall(x, y, config, n // 2, repeats, seed) if repeats else None,
            "curve": [split_kendall(x, y, config, k, repeats, seed) for k in CURVE_KS if k <= n - 8 and k != n // 2]
            if repeats
            else [],
        },
        "version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    return FittedPredictor(space, config, seed, keys, x, y, meta)


#: How a predictor is named where a proxy is expected: ``predictor:FILE`` or ``predictor:NAME``.
PREDICTOR_PREFIX = "predictor:"
_DATA_DIR = Path(__file__).resolve().parent.parent / "data"


def is_predictor_ref(text: Any) -> bool:
    """Whether ``text`` names a predictor (``predictor:FILE`` or ``predictor:NAME``)."""
    return isinstance(text, str) and text.startswith(PREDICTOR_PREFIX)


def shipped_predictors(space: str) -> list[str]:
    """Names of the predictors shipped for ``space`` (``saswot/data/<space>/predictor-<name>.json``)."""
    folder = _DATA_DIR / space
    return sorted(p.stem[len("predictor-") :] for p in folder.glob("predictor-*.json")) if folder.is_dir() else []


def resolve_predictor_path(ref: str, space: str | None = None) -> Path:
    """The file of ``predictor:FILE`` or of a shipped ``predictor:NAME`` of ``space`` (of any space
    that ships one of that name when ``space`` is None).

    Raises:
        UnknownNameError: neither an existing file nor a shipped name.
    """
    text = ref[len(PREDICTOR_PREFIX) :] if is_predictor_ref(ref) else ref
    path = Path(text)
    if path.is_file():
        return path
    if space is not None and (_DATA_DIR / space / f"predictor-{text}.json").is_file():
        return _DATA_DIR / space / f"predictor-{text}.json"
    if space is None and is_predictor_ref(ref):  # a shipped name of whichever space ships it
        found = sorted(_DATA_DIR.glob(f"*/predictor-{text}.json"))
        if len(found) == 1:
            return found[0]
        if found:
            raise UnknownNameError(
                f"several spaces ship a predictor '{text}' ({', '.join(p.parent.name for p in found)}); "
                "give its file instead"
            )
    names = shipped_predictors(space) if space else []
    raise UnknownNameError(
        f"no predictor file '{text}'"
        + (
            f" and no shipped predictor of that name for '{space}' (shipped: {', '.join(names) or 'none'})"
            if space
            else ""
        )
        + "; make one with `saswot predictor fit --out FILE`"
    )


@dataclass(frozen=True)
class PredictorSpec:
    """What a search or a ranking needs to know of a predictor objective (the fields of a proxy spec it reads)."""

    name: str
    cache_key: str
    needs_avt: bool = False


class PredictorObjective:
    """A predictor file as the fitness of a segmenter search: the predicted ground truth of an architecture.

    No network is built or run. Picklable (the fitted model travels with it to worker processes).

    Args:
        ref: ``predictor:FILE``, ``predictor:NAME`` (shipped for ``space``) or a file path.
        space: the space searched; must be the predictor's.
    """

    def __init__(self, ref: str, space: str) -> None:
        self.path = resolve_predictor_path(ref, space)
        self.predictor = FittedPredictor.load(self.path)
        if self.predictor.space != space:
            raise UnknownNameError(
                f"predictor '{self.path}' was fitted on space '{self.predictor.space}', not '{space}'; "
                f"fit one on '{space}' with `saswot predictor fit --space {space}`"
            )
        digest = hashlib.sha256(self.path.read_bytes()).hexdigest()[:12]
        label = ref if is_predictor_ref(ref) else f"{PREDICTOR_PREFIX}{ref}"
        self.spec = PredictorSpec(name=label, cache_key=f"{label}#{digest}")
        self.avt = None

    @property
    def name(self) -> str:
        """The objective's name (``predictor:...``)."""
        return self.spec.name

    def __call__(self, arch: Any) -> float | None:
        """Predicted ground truth of ``arch`` (None if it is not finite)."""
        value = self.predictor.score(arch)
        return value if np.isfinite(value) else None
