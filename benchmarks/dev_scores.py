"""Shared by ``ensemble_search.py`` and ``fewshot_predictor.py``: per-architecture proxy scores of the
development architectures (read from a ``saswot rank`` score cache) and their search / validation
split.

The split keeps every architecture whose label chose anything shipped with saswot out of the
validation split: the 50 search architectures of the shipped discovered proxies (``auto-*``,
``saswot search-proxy --search-archs 50 --val-archs 100 --seed 0``, drawn with
:func:`saswot.search.proxy_search.split_archs`) always go to the search split; the other scored
architectures are shuffled with ``seed`` and cut so that the two splits have equal size.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from saswot.search.proxy_search import split_archs
from saswot.spaces.tnb101.lookup import TNBBenchmark
from saswot.utils.correlation import correlations, sample_indices
from saswot.utils.io import read_json
from saswot.proxies import REGISTRY
from saswot.config import ProxyBatch
from saswot.workflows.score import settings_fingerprint

#: Proxies left out of every choice (none: every registered proxy's definition is final and cached).
EXCLUDED: tuple[str, ...] = ()
TASK = "segmentsemantic"


@dataclass
class DevScores:
    """Scores and ground truth of the scored development architectures of one space."""

    space: str
    keys: list[str]
    truth: dict[str, float]
    scores: dict[str, dict[str, float]]  # arch key -> {proxy: score}
    proxies: list[str]
    search: list[str]
    val: list[str]

    def column(self, proxy: str, keys: Sequence[str]) -> np.ndarray:
        """Scores of ``proxy`` for ``keys``."""
        return np.asarray([self.scores[k][proxy] for k in keys], dtype=np.float64)

    def truths(self, keys: Sequence[str]) -> np.ndarray:
        """Ground truth of ``keys``."""
        return np.asarray([self.truth[k] for k in keys], dtype=np.float64)


def load_dev_scores(space: str, cache: Path, data_root: str | None = None, seed: int = 0,
                    min_proxies: Sequence[str] = ()) -> DevScores:
    """Read the cache written by ``saswot rank --cache CACHE`` at the default settings.

    The proxies kept are ``min_proxies`` and every proxy that at least half of the cached
    architectures have; the architectures kept are those scored by all of them.
    """
    bm = TNBBenchmark.load(TNBBenchmark.default_path(space, data_root), space)
    truth = bm.ground_truths(TASK)
    folder = Path(cache) / settings_fingerprint(space, ProxyBatch())
    by_key = {spec.cache_key: spec.name for spec in REGISTRY if spec.name not in EXCLUDED and not spec.needs_avt}
    cached: dict[str, dict[str, float]] = {}
    for path in sorted(folder.glob("*.json")):
        data = read_json(path, "score cache file")
        if data.get("arch") in truth:
            cached[data["arch"]] = {by_key[k]: float(v) for k, v in data.get("scores", {}).items() if k in by_key}
    counts: dict[str, int] = {}
    for named in cached.values():
        for p in named:
            counts[p] = counts.get(p, 0) + 1
    # the proxies most architectures have (an interrupted run leaves some with fewer), and the
    # architectures that have all of them
    proxies = sorted(set(min_proxies) | {p for p, c in counts.items() if c >= len(cached) / 2})
    scores = {a: named for a, named in cached.items() if all(p in named for p in proxies)}
    if len(scores) < 10:
        raise SystemExit(f"only {len(scores)} scored architectures for {space} in {folder}; run saswot rank first")
    keys = [k for k in bm.keys(TASK) if k in scores]
    search, val = dev_split(bm, keys, seed)
    return DevScores(space, keys, {k: float(truth[k]) for k in keys}, scores, proxies, search, val)


def dev_split(bm: Any, keys: Sequence[str], seed: int) -> tuple[list[str], list[str]]:
    """Search / validation split of ``keys`` (see the module doc)."""
    auto_search, _ = split_archs(bm, 50, 100, 0)
    pool = set(keys)
    forced = [a.key for a in auto_search if a.key in pool]
    rest = [k for k in keys if k not in set(forced)]
    order = np.random.default_rng(seed).permutation(len(rest))
    rest = [rest[i] for i in order]
    n_search = max(0, len(keys) // 2 - len(forced))
    return forced + rest[:n_search], rest[n_search:]


def sampled(scores: np.ndarray, truth: np.ndarray, samples: int, size: int, seed: int) -> dict[str, dict[str, float]]:
    """Mean / std of Kendall, Spearman, Pearson over ``samples`` random subsets of ``size``."""
    rng = np.random.default_rng(seed)
    per: dict[str, list[float]] = {"kendall": [], "spearman": [], "pearson": []}
    for idx in sample_indices(len(truth), samples, size, rng):
        for m, v in correlations(scores[idx], truth[idx]).items():
            per[m].append(v)
    out = {}
    for m, vals in per.items():
        good = [v for v in vals if not math.isnan(v)]
        out[m] = {"mean": float(np.mean(good)) if good else float("nan"), "std": float(np.std(good)) if good else float("nan")}
    return out


def fmt(c: dict[str, float]) -> str:
    """``mean ± std`` x100."""
    return "nan" if math.isnan(c["mean"]) else f"{100 * c['mean']:.2f} ± {100 * c['std']:.2f}"
