"""Proxy JSON files (written by ``saswot search-proxy``) as registry-compatible proxies.

A proxy file holds at least ``{"expression": "<canonical string>"}``. Optional fields:
``name`` (default: the file stem), ``combine_with`` (``"nwot"`` or null) and ``avt``
(``{"ranges": {"expression": {"min", "max"}, "nwot": {"min", "max"}}}``, required when
``combine_with`` is ``"nwot"``): the score is then ``avt(expression) + avt(nwot)``, paper Eq. 3
with the expression in place of SasWOT-minus, normalised with the ranges stored in the file (so
the proxy needs no ``ctx.avt``).

The expression language comes from :mod:`saswot.proxies.expr`; nothing here imports the search.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from saswot.errors import CorruptDataError
from saswot.proxies._avt import avt_scale
from saswot.proxies._spec import REGISTRY, ProxySpec, Stat
from saswot.proxies.expr import Expression, expression_value, parse_expression
from saswot.utils.io import read_json

#: Combinations a proxy file may ask for (registered proxies read through ``ctx.value``).
COMBINATIONS = ("nwot",)


def _avt(value: float, rng: Mapping[str, Any], what: str) -> float:
    return avt_scale(value, float(rng["min"]), float(rng["max"]), what)


@dataclass(frozen=True, eq=False)
class ExpressionProxy:
    """The proxy function of a proxy file: ``expression`` alone, or ``avt(expression) + avt(nwot)``
    when ``ranges`` is given. A value (not a closure), so proxies from files can be sent to worker
    processes (:mod:`saswot.runtime.parallel`)."""

    expr: Expression
    ranges: Mapping[str, Any] | None = None

    def __call__(self, ctx: Any) -> float:
        value = expression_value(self.expr, ctx.stats)
        if self.ranges is None:
            return value
        nwot = ctx.value("nwot")
        if not (math.isfinite(value) and math.isfinite(nwot)):
            return float("nan")
        return _avt(value, self.ranges["expression"], "expression") + _avt(nwot, self.ranges["nwot"], "nwot")


def proxy_spec_from_dict(data: Mapping[str, Any], name: str, cache_id: str, combine: str | None = "file") -> ProxySpec:
    """Build a :class:`saswot.proxies.ProxySpec` from a proxy file's content.

    The expression reads the per-layer statistics of the shared pass (:attr:`Stat.LAYERS`); a
    proxy combined with NWOT also requires what ``nwot`` requires.

    Args:
        data: the parsed proxy file.
        name: registry name of the proxy.
        cache_id: identity in score caches.
        combine: ``"file"`` to use the file's ``combine_with``; ``None`` for the expression
            alone; ``"nwot"`` to force the AVT combination with NWOT.

    Raises:
        CorruptDataError: no expression, an unknown combination or missing AVT ranges.
    """
    if "expression" not in data:
        raise CorruptDataError(f"proxy file for '{name}' has no 'expression' field (expected a canonical string)")
    expr = parse_expression(str(data["expression"]))
    mode = data.get("combine_with") if combine == "file" else combine
    if mode is not None and mode not in COMBINATIONS:
        raise CorruptDataError(f"proxy '{name}': unknown combine_with '{mode}' (supported: {', '.join(COMBINATIONS)})")
    requires = frozenset({Stat.LAYERS})
    if mode == "nwot":
        ranges = (data.get("avt") or {}).get("ranges") or {}
        if "expression" not in ranges or "nwot" not in ranges:
            raise CorruptDataError(
                f"proxy '{name}' combines with nwot but has no avt.ranges for 'expression' and 'nwot'; "
                "re-run `saswot search-proxy` to write them"
            )
        fn = ExpressionProxy(expr, ranges)
        description = f"avt({expr.formula()}) + avt(nwot)"
        requires |= REGISTRY.requirements([mode], user=name)
    else:
        fn = ExpressionProxy(expr)
        description = expr.formula()
    used = frozenset(str(k) for k in [*(data.get("search_keys") or []), *(data.get("val_keys") or [])])
    chosen_on = (str(data["space"]), used) if used and data.get("space") else None
    return ProxySpec(
        name=name, fn=fn, requires=requires, description=description, cache_id=cache_id, chosen_on=chosen_on
    )


def load_proxy_file(path: str | Path, combine: str | None = "file") -> ProxySpec:
    """A :class:`saswot.proxies.ProxySpec` for a proxy JSON file (``saswot rank --proxies x.json``).

    Raises:
        DataNotFoundError / CorruptDataError: missing or malformed file.
    """
    p = Path(path)
    data = read_json(p, "proxy file", "Create one with `saswot search-proxy --out proxy.json`.")
    if not isinstance(data, Mapping):
        raise CorruptDataError(f"proxy file '{p}' must hold a JSON object")
    name = str(data.get("name") or p.stem)
    digest = hashlib.sha256(
        json.dumps({k: data.get(k) for k in ("expression", "combine_with", "avt")}, sort_keys=True).encode()
    ).hexdigest()[:12]
    return proxy_spec_from_dict(data, name, f"{name}@{digest}", combine)
