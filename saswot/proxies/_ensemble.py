"""Ensembles of proxies scored on one network in real time, against a stored calibration.

An ensemble is written ``ensemble:a,b,c`` (AZ-NAS-style log-rank aggregation) or
``ensemble-avt:a,b,c`` (sum of AVT-normalised scores); a member written ``-name`` enters with its
score negated (a proxy that ranks a space backwards); ``aznas`` names the log-rank ensemble of
AZ-NAS's four components. Optionally ``@micro`` / ``@macro`` / ``@path.json`` at the end names the
stored calibration used to score a single network.

The pool of architectures being ranked is replaced by a stored calibration sample
(:class:`EnsembleCalibration`: each member's sorted scores on a seeded sample of unlabelled
architectures of the space). Log-rank uses the network's mid-rank within the sample,
(#below + #equal / 2 + 1/2) / (n + 1) in (0, 1); AVT uses the sample's min/max. An ensemble's
:class:`~saswot.proxies.ProxySpec` (:func:`ensemble_spec`) requires the union of its members'
statistics and AVT terms, so its members share the statistics pass of the call.

Aggregation over a pool (``saswot rank``) is :mod:`saswot.workflows.ensemble_rank`, which builds on this module.
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

from saswot.errors import ScoreError, UnknownNameError
from saswot.proxies._avt import avt_scale
from saswot.proxies._spec import SENTINEL, ProxySpec, required_stats
from saswot.utils.io import read_json, write_json

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
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
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
            read_json(
                path,
                "ensemble calibration file",
                "Create it with saswot.workflows.ensemble_rank.EnsembleCalibration.fit.",
            )
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
                "(saswot.workflows.ensemble_rank.EnsembleCalibration.fit over unlabelled architectures of your space)"
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
            ScoreError: the sample's range is empty (:func:`saswot.proxies._avt.avt_scale`).
        """
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


def load_calibration(ens: Ensemble) -> EnsembleCalibration:
    """The calibration an ensemble names (``@micro``, ``@macro``, ``@path.json``).

    Raises:
        ScoreError: the ensemble names none.
    """
    if not ens.calibration:
        raise ScoreError(
            f"scoring one network with {ens.name} needs stored calibration: append @micro, @macro or "
            "@calibration.json (or rank a pool with `saswot rank`, which aggregates over the pool)"
        )
    return EnsembleCalibration.load(ens.calibration)


@dataclass(frozen=True, eq=False)
class EnsembleScore:
    """The proxy function of an ensemble scored on one network (a value, so it pickles).

    Attributes:
        ensemble: the ensemble.
        members: ``(member proxy as written, without its sign; its spec)`` per distinct member.
        calibration: the stored calibration sample.
    """

    ensemble: Ensemble
    members: tuple[tuple[str, ProxySpec], ...]
    calibration: EnsembleCalibration

    def __call__(self, ctx: Any) -> float:
        raw: dict[str, float] = {}
        for written, spec in self.members:  # members share the context's memo and statistics pass
            if spec.name not in ctx.values:
                ctx.values[spec.name] = float(spec.fn(ctx))
            raw[written] = ctx.values[spec.name]
        return single_score(self.ensemble, raw, self.calibration, SENTINEL)


def ensemble_spec(ens: Ensemble, members: Mapping[str, ProxySpec], calib: EnsembleCalibration) -> ProxySpec:
    """A :class:`~saswot.proxies.ProxySpec` scoring one network with ``ens`` against ``calib``.

    Args:
        ens: the ensemble.
        members: the resolved spec of every member proxy, keyed as written without its sign
            (``proxy_of(member)[0]``).
        calib: the calibration sample.
    """
    specs = [members[proxy_of(m)[0]] for m in ens.members]
    distinct = tuple((w, members[w]) for w in dict.fromkeys(proxy_of(m)[0] for m in ens.members))
    return ProxySpec(
        name=ens.name,
        fn=EnsembleScore(ens, distinct, calib),
        requires=required_stats(specs),
        avt_terms=tuple(dict.fromkeys(t for s in specs for t in s.avt_terms)),
        description=f"{ens.method} ensemble of {', '.join(ens.members)}",
        cache_id=f"{ens.name}#{','.join(s.cache_key for s in specs)}#calib-{calib.fingerprint()}",
    )
