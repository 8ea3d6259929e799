"""Training-free ensembles of proxies: rank aggregation over a pool, or AVT-normalised sum.

An ensemble is written ``ensemble:a,b,c`` (AZ-NAS-style log-rank aggregation) or
``ensemble-avt:a,b,c`` (sum of AVT-normalised scores); a member written ``-name`` enters with its
score negated (a proxy that ranks a space backwards); ``aznas`` names the log-rank ensemble of
AZ-NAS's four components. Optionally ``@micro`` / ``@macro`` / ``@path.json`` at the end names the
stored calibration used to score a single network (see below).

Two ways to score:

* **over a pool** (``saswot rank``): :func:`pool_scores` aggregates the members' scores of the
  architectures being ranked. Log-rank: rank_m(i) in 1..N (ascending, 1 = worst, ties share their
  mean rank) and score(i) = sum_m log(rank_m(i) / N). AVT: (x - min) / (max - min) over the pool,
  summed. Sentinel scores (failed proxies) rank below every real score.
* **one network in real time** (``search-arch``, :func:`ensemble_proxy_spec`): the pool is
  replaced by a stored calibration sample (:class:`EnsembleCalibration`: each member's sorted
  scores on a seeded sample of unlabelled architectures of the space). Log-rank uses the
  network's mid-rank within the sample, (#below + #equal / 2 + 1/2) / (n + 1) in (0, 1); AVT uses
  the sample's min/max. The two ways order a pool identically when the pool is the sample.

The single-network side (parsing, calibration, the ensemble's proxy spec) lives in
:mod:`saswot.proxies._ensemble`, which the proxy registry imports; this module adds the pool
aggregation on top and re-exports those names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy.stats import rankdata

from saswot.errors import ScoreError
from saswot.proxies._ensemble import (
    ALIASES,
    METHODS,
    PREFIXES,
    Ensemble,
    EnsembleCalibration,
    EnsembleScore,
    ensemble_spec,
    is_ensemble,
    load_calibration,
    member_names,
    parse_ensemble,
    proxy_of,
    single_score,
    split_proxy_list,
)
from saswot.proxies._score import REGISTRY, ensemble_proxy_spec, resolve_proxy

__all__ = [
    "ALIASES",
    "METHODS",
    "PREFIXES",
    "Ensemble",
    "EnsembleCalibration",
    "EnsembleScore",
    "add_ensemble_scores",
    "ensemble_proxy_spec",
    "ensemble_spec",
    "is_ensemble",
    "load_calibration",
    "member_names",
    "parse_ensemble",
    "pool_scores",
    "proxy_of",
    "single_score",
    "split_for_rank",
    "split_proxy_list",
]


def _as_array(values: Sequence[float], sentinel: float, sign: float = 1.0) -> np.ndarray:
    """``sign`` * scores as float64, non-finite values and the sentinel set to -inf (rank last)."""
    raw = np.asarray(values, dtype=np.float64)
    failed = ~np.isfinite(raw) | (raw == sentinel)
    x = sign * raw
    x[failed] = -np.inf
    return x


def pool_scores(ens: Ensemble, member_scores: Mapping[str, Sequence[float]], sentinel: float = -1e8) -> np.ndarray:
    """Ensemble score of every architecture of a pool from its members' scores (same order).

    Raises:
        ScoreError: a member is missing or the lists differ in length.
    """
    missing = [m for m in ens.members if proxy_of(m)[0] not in member_scores]
    if missing:
        raise ScoreError(f"ensemble {ens.name}: no scores for member(s) {', '.join(missing)}")
    arrays = [_as_array(member_scores[proxy_of(m)[0]], sentinel, proxy_of(m)[1]) for m in ens.members]
    n = arrays[0].size
    if any(a.size != n for a in arrays) or n == 0:
        raise ScoreError(f"ensemble {ens.name}: member score lists must be non-empty and of equal length")
    total = np.zeros(n)
    for a in arrays:
        if ens.method == "logrank":
            total += np.log(rankdata(a, method="average") / n)
        else:
            finite = a[np.isfinite(a)]
            if finite.size == 0 or finite.max() == finite.min():
                continue  # a constant member carries no ranking information
            lo, hi = finite.min(), finite.max()
            total += np.where(np.isfinite(a), (a - lo) / (hi - lo), -1.0)
    return total


def add_ensemble_scores(per_arch: Mapping[str, Any], ensembles: Sequence[Ensemble], sentinel: float = -1e8) -> None:
    """Post-process ``saswot rank``'s per-architecture scores: add each ensemble's pool score.

    ``per_arch`` maps arch key -> an object with a ``scores`` dict holding every member's score
    (``saswot.workflows.score.ArchScores``); the ensemble score is written into the same dict under
    ``ens.name``.
    """
    keys = list(per_arch)
    for ens in ensembles:
        proxies = {proxy_of(m)[0] for m in ens.members}
        member_lists = {p: [per_arch[k].scores[_member_key(p)] for k in keys] for p in proxies}
        for k, v in zip(keys, pool_scores(ens, member_lists, sentinel)):
            per_arch[k].scores[ens.name] = float(v)


def _member_key(member: str) -> str:
    """Name a member is stored under in score dicts (file proxies are stored by their spec name)."""
    if member.endswith(".json"):
        return resolve_proxy(member).name
    return member


def split_for_rank(text: str) -> tuple[str | list[str], list[Ensemble]]:
    """A ``--proxies`` value -> (what :func:`saswot.proxies.resolve_proxies` should score, ensembles).

    The proxies to score are the plain ones plus every ensemble member (``"all"`` stays ``"all"``
    when no ensemble is given, and is expanded to the registry names otherwise).
    """
    plain, ensembles = split_proxy_list(text)
    if not ensembles:
        return text, []
    if "all" in plain:
        plain = [p for p in plain if p != "all"] + REGISTRY.names()
    return list(dict.fromkeys([*plain, *member_names(ensembles)])), ensembles
