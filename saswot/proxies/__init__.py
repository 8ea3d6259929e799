"""Zero-cost proxies: an explicit registry, one module per proxy, one shared statistics pass.

The machinery (private modules) is kept apart from the measures (:mod:`saswot.proxies.measures`,
one module per measure, imported by an explicit list), so importing this package registers every
measure.

Public API: :data:`REGISTRY`, :class:`ProxySpec`, :class:`Stat`, :func:`register_proxy`,
:class:`ScoringSettings`, :class:`ProxyContext`, :func:`make_context`, :func:`resolve_proxy`,
:func:`resolve_proxies`, :func:`score_network`, :func:`score_network_detailed`, :data:`SENTINEL`.

Modules, bottom to top: :mod:`~saswot.proxies._settings` (the frozen scoring settings),
:mod:`~saswot.proxies._spec` (specs, required statistics, the registry),
:mod:`~saswot.proxies._spec` (what a proxy reads), :mod:`~saswot.proxies._avt`,
:mod:`~saswot.proxies._proxyfile` (proxy JSON files, over :mod:`saswot.proxies.expr`),
:mod:`~saswot.proxies._ensemble` (single-network ensembles) and
:mod:`~saswot.proxies._score` (resolution and scoring); then one module per proxy. Nothing
here imports the proxy search (:mod:`saswot.search.proxy_search`) or scipy.
"""

from __future__ import annotations

from saswot.proxies import measures
from saswot.proxies._proxyfile import load_proxy_file
from saswot.proxies._score import (
    NA_PREFIX,
    REGISTRY,
    SENTINEL,
    ProxyContext,
    ProxyRegistry,
    ProxySpec,
    ScoreReport,
    ScoringSettings,
    Stat,
    make_context,
    register_proxy,
    resolve_proxies,
    resolve_proxy,
    score_network,
    score_network_detailed,
)

__all__ = [
    "NA_PREFIX",
    "REGISTRY",
    "SENTINEL",
    "ProxyContext",
    "ProxyRegistry",
    "ProxySpec",
    "ScoreReport",
    "ScoringSettings",
    "Stat",
    "load_proxy_file",
    "make_context",
    "measures",
    "register_proxy",
    "resolve_proxies",
    "resolve_proxy",
    "score_network",
    "score_network_detailed",
]
