"""Proxy JSON files as registry proxies; they live in :mod:`saswot.proxies.proxyfile` (re-exported)."""

from saswot.expr import expression_value
from saswot.proxies.proxyfile import COMBINATIONS, ExpressionProxy, _avt, load_proxy_file, proxy_spec_from_dict

__all__ = [
    "COMBINATIONS",
    "ExpressionProxy",
    "_avt",
    "expression_value",
    "load_proxy_file",
    "proxy_spec_from_dict",
]
