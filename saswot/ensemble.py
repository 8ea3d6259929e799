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
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import rankdata

from saswot.errors import ScoreError, UnknownNameError
from saswot.io import read_json, write_json

#: Aggregation methods.
METHODS = ("logrank", "avt")
#: Prefix of each method in a proxy list.
PREFIXES = {"ensemble": "logrank", "ensemble-avt": "avt"}
#: Named ensembles.
ALIASES: dict[str, tuple[str, tuple[str, ...]]] = {
    "aznas": ("logrank", ("az_expressivity", "az_progressivity", "az_trainability", "az_complexity")),
}


@dataclass(frozen=True)
class Ensemble:
    """A set of member proxies and how their scores are combined.

    Attributes:
        members: member proxy names (registry names or proxy JSON paths).
        method: ``"logrank"`` or ``"avt"``.
        calibration: space name or calibration JSON path used for single-network scoring (or None).
        alias: the named ensemble this is (``"aznas"``), else None.
    """

    members: tuple[str, ...]
    method: str = "logrank"
    calibration: str | None = None
    alias: str | None = None

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise UnknownNameError(f"unknown ensemble method '{self.method}'; use one of: {', '.join(METHODS)}")
        if len(self.members) < 1:
            raise UnknownNameError("an ensemble needs at least one member proxy")

    @property
    def name(self) -> str:
        """Canonical string (parses back with :func:`parse_ensemble`)."""
        if self.alias:
            head = self.alias
        else:
            prefix = "ensemble" if self.method == "logrank" else "ensemble-avt"
            head = f"{prefix}:{','.join(self.members)}"
        return head + (f"@{self.calibration}" if self.calibration else "")


def is_ensemble(text: str) -> bool:
    """True if ``text`` names an ensemble (``ensemble:...``, ``ensemble-avt:...`` or an alias)."""
    t = text.strip()
    head = t.split("@", 1)[0]
    return head in ALIASES or any(t.startswith(p + ":") for p in PREFIXES)


def parse_ensemble(text: str) -> Ensemble:
    """Parse ``ensemble:a,b``, ``ensemble-avt:a,b`` or an alias, each with optional ``@calibration``.

    Raises:
        UnknownNameError: not an ensemble, or no member.
    """
    t = text.strip()
    calibration = None
    if "@" in t:
        t, calibration = (s.strip() for s in t.rsplit("@", 1))
    if t in ALIASES:
        method, members = ALIASES[t]
        return Ensemble(members, method, calibration or None, alias=t)
    prefix, sep, rest = t.partition(":")
    if not sep or prefix not in PREFIXES:
        raise UnknownNameError(
            f"'{text}' is not an ensemble: write ensemble:NAME,NAME,... or ensemble-avt:NAME,... "
            f"or one of {', '.join(ALIASES)}"
        )
    members = tuple(dict.fromkeys(m.strip() for m in rest.split(",") if m.strip()))
    return Ensemble(members, PREFIXES[prefix], calibration or None)


def split_proxy_list(text: str) -> tuple[list[str], list[Ensemble]]:
    """Split a ``--proxies`` value into plain proxy names and ensembles.

    Groups are separated by ``;``. A group that names an ensemble (``ensemble:a,b,c``: its commas
    separate members) is one ensemble; any other group is a comma-separated list in which a bare
    alias (``aznas``) is an ensemble and every other item a proxy. Without ``;``, a string that
    starts with an ensemble prefix is one ensemble, so ``ensemble:nwot,flops,auto-micro`` works.
    """
    plain: list[str] = []
    ensembles: list[Ensemble] = []
    for group in (g.strip() for g in text.split(";")):
        if not group:
            continue
        if any(group.startswith(p + ":") for p in PREFIXES):
            ensembles.append(parse_ensemble(group))
            continue
        for item in (s.strip() for s in group.split(",")):
            if not item:
                continue
            if is_ensemble(item):
                ensembles.append(parse_ensemble(item))
            else:
                plain.append(item)
    return plain, ensembles


def proxy_of(member: str) -> tuple[str, float]:
    """``"-grasp"`` -> ("grasp", -1.0); ``"nwot"`` -> ("nwot", 1.0)."""
    return (member[1:], -1.0) if member.startswith("-") else (member, 1.0)


def member_names(ensembles: Sequence[Ensemble]) -> list[str]:
    """Every proxy the ensembles' members read, in order, without duplicates (signs dropped)."""
    return list(dict.fromkeys(proxy_of(m)[0] for e in ensembles for m in e.members))


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


@dataclass(frozen=True)
class EnsembleCalibration:
    """Each proxy's scores on a calibration sample of unlabelled architectures (stored sorted).

    Attributes:
        values: ``{proxy: sorted finite scores}``.
        meta: how the sample was made (space, settings, seed, architecture keys).
    """

    values: Mapping[str, tuple[float, ...]]
    meta: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def fit(
        cls, scores: Mapping[str, Sequence[float]], meta: Mapping[str, Any] | None = None, sentinel: float = -1e8
    ) -> EnsembleCalibration:
        """From ``{proxy: [score of each calibration architecture]}`` (failed scores dropped).

        Raises:
            ScoreError: a proxy without any finite score.
        """
        values: dict[str, tuple[float, ...]] = {}
        for name, vals in scores.items():
            good = sorted(float(v) for v in vals if v is not None and math.isfinite(v) and v != sentinel)
            if not good:
                raise ScoreError(f"cannot calibrate '{name}': no finite score among {len(vals)} architectures")
            values[name] = tuple(good)
        return cls(values=values, meta=dict(meta or {}))

    def to_json(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {"values": {k: list(v) for k, v in sorted(self.values.items())}, "meta": dict(self.meta)}

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> EnsembleCalibration:
        """Inverse of :meth:`to_json`."""
        try:
            values = {k: tuple(sorted(float(x) for x in v)) for k, v in obj["values"].items()}
        except (KeyError, TypeError, ValueError) as exc:
            raise ScoreError(
                f"malformed ensemble calibration ({exc}); expected {{'values': {{proxy: [...]}}}}"
            ) from exc
        return cls(values=values, meta=dict(obj.get("meta", {})))

    def write(self, path: str | Path) -> Path:
        """Atomically write to a JSON file."""
        return write_json(path, self.to_json())

    @classmethod
    def read(cls, path: str | Path) -> EnsembleCalibration:
        """Load from a JSON file."""
        return cls.from_json(
            read_json(path, "ensemble calibration file", "Create it with saswot.ensemble.EnsembleCalibration.fit.")
        )

    @classmethod
    def load(cls, space_or_path: str) -> EnsembleCalibration:
        """The calibration shipped for a space (``micro``, ``macro``) or one read from a ``.json`` path."""
        if space_or_path.endswith(".json"):
            return cls.read(space_or_path)
        res = resources.files("saswot").joinpath("data", "ensemble", f"{space_or_path}.json")
        if not res.is_file():
            raise UnknownNameError(
                f"no shipped ensemble calibration for '{space_or_path}'; give a calibration .json path "
                "(saswot.ensemble.EnsembleCalibration.fit over unlabelled architectures of your space)"
            )
        return cls.from_json(json.loads(res.read_text()))

    def fingerprint(self) -> str:
        """Short hash of the stored values (used in cache keys)."""
        blob = json.dumps({k: list(v) for k, v in sorted(self.values.items())})
        return hashlib.sha256(blob.encode()).hexdigest()[:12]

    def quantile(self, proxy: str, value: float, sign: float = 1.0) -> float:
        """Mid-rank of ``sign * value`` among ``sign *`` the sample, (below + equal/2 + 1/2) / (n + 1).

        A failed (non-finite) value ranks below the whole sample. Returns a value in (0, 1).

        Raises:
            ScoreError: no calibration values for ``proxy``.
        """
        ref = np.sort(sign * np.asarray(self._values(proxy)))
        value = sign * value if math.isfinite(value) else -math.inf
        below = int(np.searchsorted(ref, value, side="left"))
        equal = int(np.searchsorted(ref, value, side="right")) - below
        return (below + equal / 2 + 0.5) / (ref.size + 1)

    def avt(self, proxy: str, value: float, sign: float = 1.0) -> float:
        """(s*value - min) / (max - min) of ``s *`` the sample, s = ``sign`` (not clipped; failed: -1).

        Raises:
            ScoreError: the sample's range is empty (:func:`saswot.proxies.avt.avt_scale`).
        """
        from saswot.proxies.avt import avt_scale

        ref = sorted(sign * v for v in self._values(proxy))
        if not math.isfinite(value):
            return -1.0
        return avt_scale(sign * value, ref[0], ref[-1], proxy)

    def _values(self, proxy: str) -> tuple[float, ...]:
        if proxy not in self.values:
            raise ScoreError(
                f"ensemble calibration has no values for '{proxy}' (have: {', '.join(sorted(self.values))})"
            )
        return self.values[proxy]


def single_score(
    ens: Ensemble, values: Mapping[str, float], calib: EnsembleCalibration, sentinel: float = -1e8
) -> float:
    """Ensemble score of one network from its members' raw scores and a stored calibration."""
    total = 0.0
    for m in ens.members:
        proxy, sign = proxy_of(m)
        v = float(values[proxy])
        v = -math.inf if (not math.isfinite(v) or v == sentinel) else v
        total += math.log(calib.quantile(proxy, v, sign)) if ens.method == "logrank" else calib.avt(proxy, v, sign)
    return total


def ensemble_proxy_spec(ens: Ensemble | str, calib: EnsembleCalibration | None = None) -> Any:
    """A :class:`saswot.proxies.ProxySpec` scoring one network with ``ens`` in real time.

    The calibration is ``calib`` or the one the ensemble names (``@micro``, ``@path.json``).
    Members are computed through the context (``ctx.value``), so they share its statistics pass.

    Raises:
        ScoreError: no calibration given or named.
    """
    from saswot.proxies.registry import SENTINEL, ProxySpec, resolve_proxy

    e = parse_ensemble(ens) if isinstance(ens, str) else ens
    if calib is None:
        if not e.calibration:
            raise ScoreError(
                f"scoring one network with {e.name} needs stored calibration: append @micro, @macro or "
                "@calibration.json (or rank a pool with `saswot rank`, which aggregates over the pool)"
            )
        calib = EnsembleCalibration.load(e.calibration)
    specs = [resolve_proxy(proxy_of(m)[0]) for m in e.members]
    by_name = {s.name: s for s in specs}

    def fn(ctx: Any) -> float:
        raw = {}
        for name, spec in by_name.items():
            if name not in ctx.values:
                ctx.values[name] = float(spec.fn(ctx))
            raw[name] = ctx.values[name]
        return single_score(
            e, {proxy_of(m)[0]: raw[resolve_proxy(proxy_of(m)[0]).name] for m in e.members}, calib, SENTINEL
        )

    return ProxySpec(
        name=e.name,
        fn=fn,
        needs_grad=any(s.needs_grad for s in specs),
        needs_labels=any(s.needs_labels for s in specs),
        own_pass=any(s.own_pass for s in specs),
        description=f"{e.method} ensemble of {', '.join(e.members)}",
        needs_avt=any(s.needs_avt for s in specs),
        needs_nwot=any(s.needs_nwot for s in specs),
        needs_input_grad=any(s.needs_input_grad for s in specs),
        needs_grad_graph=any(s.needs_grad_graph for s in specs),
        cache_id=f"{e.name}#{','.join(s.cache_key for s in specs)}#calib-{calib.fingerprint()}",
    )


def add_ensemble_scores(per_arch: Mapping[str, Any], ensembles: Sequence[Ensemble], sentinel: float = -1e8) -> None:
    """Post-process ``saswot rank``'s per-architecture scores: add each ensemble's pool score.

    ``per_arch`` maps arch key -> an object with a ``scores`` dict holding every member's score
    (``saswot.rank.ArchScores``); the ensemble score is written into the same dict under
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
        from saswot.proxies.registry import resolve_proxy

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
        from saswot.proxies.registry import REGISTRY

        plain = [p for p in plain if p != "all"] + REGISTRY.names()
    return list(dict.fromkeys([*plain, *member_names(ensembles)])), ensembles
