"""Zero-cost proxies: an explicit registry, one module per proxy, one shared statistics pass.

Importing this package imports every module in it (with :mod:`pkgutil`), so a proxy module
dropped into the folder registers itself and cannot be forgotten; optional modules written by
others (e.g. ``auto_proxies.py``) are picked up when present and need not exist.

Public API: :data:`REGISTRY`, :class:`ProxySpec`, :class:`Stat`, :func:`register_proxy`,
:class:`ScoringSettings`, :class:`ProxyContext`, :func:`make_context`, :func:`resolve_proxy`,
:func:`resolve_proxies`, :func:`score_network`, :func:`score_network_detailed`, :data:`SENTINEL`.

Modules, bottom to top: :mod:`~saswot.proxies.settings` (the frozen scoring settings),
:mod:`~saswot.proxies.spec` (specs, required statistics, the registry),
:mod:`~saswot.proxies.context` (what a proxy reads), :mod:`~saswot.proxies.avt`,
:mod:`~saswot.proxies.proxyfile` (proxy JSON files, over :mod:`saswot.expr`),
:mod:`~saswot.proxies.ensemble` (single-network ensembles) and
:mod:`~saswot.proxies.registry` (resolution and scoring); then one module per proxy. Nothing
here imports the proxy search (:mod:`saswot.autoproxy`) or scipy.
"""

from __future__ import annotations

import importlib
import pkgutil

from saswot.proxies.registry import (
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


def _import_all() -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name != "registry":
            importlib.import_module(f"{__name__}.{info.name}")


_import_all()

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
    "make_context",
    "register_proxy",
    "resolve_proxies",
    "resolve_proxy",
    "score_network",
    "score_network_detailed",
]
