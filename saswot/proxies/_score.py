"""Proxy resolution and scoring: names, proxy files and ensembles -> specs -> scores.

A proxy is a function ``fn(ctx: ProxyContext) -> float`` registered by name with
:func:`register_proxy` (a bound method of the explicit :data:`REGISTRY` object) together with the
statistics it reads (:class:`Stat`). :func:`score_network` resolves the proxies it is given
(registry names, proxy JSON files, single-network ensembles), builds one
:class:`ProxyContext` whose shared statistics pass collects exactly the union of what they
require, and runs them under one frozen :class:`ScoringSettings`.

Non-finite scores become :data:`SENTINEL` (``-1e8``, NAS-Bench-Suite-Zero's convention): the
value ranks below every real score, and :func:`score_network_detailed` reports which proxies
produced it and why.

The definitions this module builds on live in :mod:`saswot.proxies._spec` (:class:`ProxySpec`,
:class:`Stat`, the registry), :mod:`saswot.proxies._spec` (:class:`ProxyContext`) and
:mod:`saswot.proxies._settings` (:class:`ScoringSettings`); they are re-exported here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from saswot.errors import NA_PREFIX, SaswotError, UnknownNameError
from saswot.proxies._avt import AVTStats, calibrate_avt
from saswot.proxies._ensemble import (
    Ensemble,
    EnsembleCalibration,
    ensemble_spec,
    is_ensemble,
    load_calibration,
    parse_ensemble,
    proxy_of,
    split_proxy_list,
)
from saswot.proxies._proxyfile import load_proxy_file
from saswot.proxies._settings import ScoringSettings
from saswot.proxies._spec import (
    DEFAULT_REQUIRES,
    DIRECT_CONTEXT_STATS,
    REGISTRY,
    SENTINEL,
    SHARED_PASS_STATS,
    ProxyContext,
    ProxyRegistry,
    ProxySpec,
    Stat,
    conv_linear_layers,
    register_proxy,
    required_stats,
)

__all__ = [
    "DEFAULT_REQUIRES",
    "DIRECT_CONTEXT_STATS",
    "NA_PREFIX",
    "REGISTRY",
    "SENTINEL",
    "SHARED_PASS_STATS",
    "ProxyContext",
    "ProxyRegistry",
    "ProxySpec",
    "ScoreReport",
    "ScoringSettings",
    "Stat",
    "conv_linear_layers",
    "ensemble_proxy_spec",
    "make_context",
    "register_proxy",
    "required_stats",
    "resolve_proxies",
    "resolve_proxy",
    "sanitize",
    "score_network",
    "score_network_detailed",
]


def resolve_proxy(name_or_path: str | ProxySpec) -> ProxySpec:
    """Turn a registry name, the path of a proxy JSON file or a single-network ensemble
    (``ensemble:a,b@micro``, ``aznas@macro``) into a :class:`ProxySpec`.

    Raises:
        UnknownNameError: unknown name (the message lists the valid names).
        ScoreError: an ensemble without a stored calibration.
    """
    if isinstance(name_or_path, ProxySpec):
        return name_or_path
    text = str(name_or_path).strip()
    if is_ensemble(text):  # single-network ensemble, scored against its stored calibration
        return ensemble_proxy_spec(text)
    if text.endswith(".json"):
        return load_proxy_file(Path(text))
    return REGISTRY.get(text)


def ensemble_proxy_spec(ens: Ensemble | str, calib: EnsembleCalibration | None = None) -> ProxySpec:
    """A :class:`ProxySpec` scoring one network with an ensemble in real time.

    The calibration is ``calib`` or the one the ensemble names (``@micro``, ``@path.json``).
    Members (registry names or proxy files) are resolved with :func:`resolve_proxy` and computed
    through the context, so they share its statistics pass.

    Raises:
        ScoreError: no calibration given or named.
    """
    e = parse_ensemble(ens) if isinstance(ens, str) else ens
    calib = calib if calib is not None else load_calibration(e)
    members = {w: resolve_proxy(w) for w in dict.fromkeys(proxy_of(m)[0] for m in e.members)}
    return ensemble_spec(e, members, calib)


def resolve_proxies(arg: str | Sequence[str | ProxySpec]) -> list[ProxySpec]:
    """``"all"``, a comma-separated string or a sequence of names/paths/specs -> specs.

    Raises:
        UnknownNameError: an unknown name, or an empty list.
    """
    if isinstance(arg, str):
        plain, ensembles = split_proxy_list(arg)  # "ensemble:a,b" keeps its commas
        items: list[str | ProxySpec] = [*plain, *(e.name for e in ensembles)]
    else:
        items = list(arg)
    if not items:
        raise UnknownNameError(f"no proxy given. Valid proxies: {', '.join(REGISTRY.names())}, or 'all'.")
    specs: list[ProxySpec] = []
    for item in items:  # 'all' may be combined with other names or files: "all,my-proxy.json"
        if isinstance(item, str) and item.strip() == "all":
            specs.extend(REGISTRY)
        else:
            specs.append(resolve_proxy(item))
    seen: set[str] = set()
    unique = []
    for s in specs:
        if s.name not in seen:
            seen.add(s.name)
            unique.append(s)
    return unique


@dataclass
class ScoreReport:
    """Scores of one network plus the proxies that failed (score replaced by :data:`SENTINEL`).

    A reason starting with :data:`NA_PREFIX` means the proxy raised an error on this network (its
    score is not available); any other reason, that it gave a non-finite value.
    """

    scores: dict[str, float]
    failed: dict[str, str]

    @property
    def unavailable(self) -> dict[str, str]:
        """``{proxy: reason}`` of the proxies that raised an error on this network."""
        return {k: v for k, v in self.failed.items() if v.startswith(NA_PREFIX)}


def proxy_error_reason(exc: BaseException) -> str:
    """The one-line reason recorded for a proxy that raised ``exc`` on a network."""
    text = " ".join(str(exc).split())
    if len(text) > 300:
        text = text[:297] + "..."
    return f"{NA_PREFIX}{type(exc).__name__}: {text}" if text else f"{NA_PREFIX}{type(exc).__name__}"


def _is_per_network_failure(exc: Exception) -> bool:
    """True if ``exc``, raised by a proxy, concerns this network only (the other proxies and networks go on).

    Resource exhaustion (the run's settings must change) and saswot's own errors (a missing AVT
    range, a batch too small for zico, a proxy that reads statistics it did not declare: the same
    for every network) stop the run instead.
    """
    return not isinstance(exc, (MemoryError, torch.OutOfMemoryError, SaswotError))


def sanitize(value: float) -> tuple[float, str | None]:
    """Map a non-finite value to :data:`SENTINEL`; returns (value, reason or None)."""
    if value is None or not math.isfinite(value):
        return SENTINEL, f"non-finite value {value}"
    return float(value), None


def make_context(
    model: nn.Module,
    images: Tensor,
    labels: Tensor,
    specs: Sequence[ProxySpec],
    settings: ScoringSettings,
) -> ProxyContext:
    """A :class:`ProxyContext` whose shared pass collects exactly what ``specs`` require."""
    return ProxyContext(
        model=model,
        images=images,
        labels=labels,
        settings=settings,
        requires=required_stats(specs),
    )


def score_network_detailed(
    model: nn.Module,
    images: Tensor,
    labels: Tensor,
    proxies: str | Sequence[str | ProxySpec],
    settings: ScoringSettings,
) -> ScoreReport:
    """Score one network with several proxies sharing one statistics pass.

    Args:
        model: the network (never modified).
        images: N x 3 x H x W batch.
        labels: N x H x W labels.
        proxies: names, proxy files, ensembles or specs (a string: comma-separated, or ``"all"``).
        settings: the scoring settings (proxy batch and AVT statistics).

    Returns:
        A :class:`ScoreReport`; failed proxies get :data:`SENTINEL` and a reason. A proxy that
        raises an error on this network (an op without a double backward, a shape it cannot
        handle) costs only its own score: its reason starts with :data:`NA_PREFIX` and the other
        proxies are computed as usual. Out-of-memory errors still stop the call.
    """
    specs = resolve_proxies(proxies if isinstance(proxies, str) else list(proxies))
    ctx = make_context(model, images, labels, specs, settings)
    scores: dict[str, float] = {}
    failed: dict[str, str] = {}
    with torch.random.fork_rng(devices=[]):
        for spec in specs:
            try:
                raw = ctx.values[spec.name] if spec.name in ctx.values else float(spec.fn(ctx))
            except Exception as exc:
                if not _is_per_network_failure(exc):
                    raise
                scores[spec.name] = SENTINEL
                failed[spec.name] = proxy_error_reason(exc)
                continue
            ctx.values.setdefault(spec.name, raw)
            value, reason = sanitize(raw)
            scores[spec.name] = value
            if reason:
                failed[spec.name] = f"{reason}: {spec.nan_reason}" if spec.nan_reason else reason
    return ScoreReport(scores=scores, failed=failed)


def score_network(
    model: nn.Module,
    images: Tensor,
    labels: Tensor,
    proxies: str | Sequence[str | ProxySpec],
    settings: ScoringSettings,
) -> dict[str, float]:
    """Scores ``{proxy: value}`` of one network (NaN/inf -> :data:`SENTINEL`).

    Same arguments as :func:`score_network_detailed`, which also says which proxies failed.
    """
    return score_network_detailed(model, images, labels, proxies, settings).scores


def calibrate_avt_from_models(
    items: Iterable[tuple[nn.Module, Tensor, Tensor]],
    settings: ScoringSettings,
    *,
    proxies: Sequence[str] = ("saswot_minus", "nwot"),
    meta: Mapping[str, Any] | None = None,
) -> AVTStats:
    """AVT min/max from ``(model, images, labels)`` triples (e.g. a FasterSeg sample).

    Each model is scored with ``proxies`` under ``settings`` (one shared statistics pass) and
    :func:`calibrate_avt` is applied to the score lists.
    """
    lists: dict[str, list[float]] = {p: [] for p in proxies}
    for model, images, labels in items:
        s = score_network(model, images, labels, list(proxies), settings)
        for p in proxies:
            lists[p].append(s[p])
    return calibrate_avt(lists, meta)
