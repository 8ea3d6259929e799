"""AVT normalisation (SasWOT Eq. 4): (x - min_S) / (max_S - min_S) with min/max pre-computed.

The statistics come from a seeded, pre-sampled set S of architectures of one search space and
are stored (``saswot/data/avt/<space>.json`` for the TransNAS-Bench-101 micro/macro spaces), so a
single new network is normalised in real time. Values outside S's range are NOT clipped: they fall
below 0 or above 1, which keeps the ranking of out-of-range networks. Sentinel scores (failed
proxies) are left out of the min/max and counted in ``meta["excluded"]``.
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

from saswot.errors import ScoreError, UnknownNameError
from saswot.proxies._spec import SENTINEL
from saswot.utils.io import read_json, write_json


@dataclass(frozen=True)
class AVTStats:
    """Per-proxy (min, max) over a calibration set, plus how it was made (``meta``)."""

    ranges: Mapping[str, tuple[float, float]]
    meta: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {
            "ranges": {k: {"min": v[0], "max": v[1]} for k, v in sorted(self.ranges.items())},
            "meta": dict(self.meta),
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> AVTStats:
        """Inverse of :meth:`to_json`."""
        try:
            ranges = {k: (float(v["min"]), float(v["max"])) for k, v in obj["ranges"].items()}
            meta = dict(obj.get("meta") or {})
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ScoreError(
                f"malformed AVT statistics ({type(exc).__name__}: {exc}); expected {{'ranges': {{proxy: {{min, max}}}}}}"
            ) from exc
        return cls(ranges=ranges, meta=meta)

    @classmethod
    def read(cls, path: str | Path) -> AVTStats:
        """Load from a JSON file."""
        return cls.from_json(read_json(path, "AVT statistics file", "Create it with `saswot avt-calibrate`."))

    def write(self, path: str | Path) -> Path:
        """Atomically write to a JSON file."""
        return write_json(path, self.to_json())

    @classmethod
    def load(cls, space: str) -> AVTStats:
        """The statistics shipped with saswot for ``space`` (``micro``, ``macro``)."""
        available = packaged_spaces()
        if space not in available:
            raise UnknownNameError(
                f"no packaged AVT statistics for space '{space}' (available: {', '.join(available) or 'none'}). "
                "Calibrate your own with `saswot avt-calibrate` or saswot.proxies._avt.calibrate_avt."
            )
        text = resources.files("saswot").joinpath("data", "avt", f"{space}.json").read_text()
        return cls.from_json(json.loads(text))

    def fingerprint(self) -> str:
        """Short hash of the ranges (used in score caches)."""
        blob = json.dumps({k: list(v) for k, v in sorted(self.ranges.items())})
        return hashlib.sha256(blob.encode()).hexdigest()[:12]


def packaged_spaces() -> list[str]:
    """Spaces with AVT statistics in ``saswot/data/avt``."""
    folder = resources.files("saswot").joinpath("data", "avt")
    if not folder.is_dir():
        return []
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".json"))


def calibrate_avt(scores: Mapping[str, Sequence[float]], meta: Mapping[str, Any] | None = None) -> AVTStats:
    """AVT min/max from score lists ``{proxy: [score of each calibration architecture]}``.

    Non-finite values and :data:`SENTINEL` are excluded (and counted in ``meta["excluded"]``).

    Raises:
        ScoreError: a proxy has no finite score or a zero range (max == min).
    """
    ranges: dict[str, tuple[float, float]] = {}
    excluded: dict[str, int] = {}
    for name, values in scores.items():
        good = [float(v) for v in values if v is not None and math.isfinite(v) and v != SENTINEL]
        excluded[name] = len(values) - len(good)
        if not good:
            raise ScoreError(f"cannot calibrate AVT for '{name}': no finite score among {len(values)} architectures")
        lo, hi = min(good), max(good)
        if hi <= lo:
            raise ScoreError(
                f"cannot calibrate AVT for '{name}': all {len(good)} scores equal {lo}; use more or more varied architectures"
            )
        ranges[name] = (lo, hi)
    info = dict(meta or {})
    info["excluded"] = excluded
    info["n"] = max((len(v) for v in scores.values()), default=0)
    return AVTStats(ranges=ranges, meta=info)


def avt_scale(value: float, lo: float, hi: float, what: str) -> float:
    """The one AVT normalisation: ``(value - lo) / (hi - lo)``, not clipped; non-finite stays non-finite.

    Every AVT-normalised score in saswot (SasWOT, proxy files combined with NWOT, AVT ensembles)
    goes through this function, so an empty range behaves the same everywhere.

    Raises:
        ScoreError: the range is empty (``hi <= lo``): the calibration saw no spread.
    """
    if not hi > lo:
        raise ScoreError(
            f"the AVT range of '{what}' is empty (min {lo}, max {hi}); recalibrate it on more, or more "
            "varied, architectures"
        )
    return (float(value) - lo) / (hi - lo)


def avt_normalise(value: float, proxy: str, stats: AVTStats) -> float:
    """(value - min) / (max - min) for ``proxy`` (see :func:`avt_scale`).

    Raises:
        ScoreError: ``stats`` has no range for ``proxy``, or an empty one.
    """
    if proxy not in stats.ranges:
        raise ScoreError(f"AVT statistics have no range for proxy '{proxy}' (have: {', '.join(sorted(stats.ranges))})")
    lo, hi = stats.ranges[proxy]
    return avt_scale(value, lo, hi, proxy)
