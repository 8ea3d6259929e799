"""Automatic proxy discovery: expressions over per-layer statistics, searched by evolution.

The expression language (ops, expressions, their evaluation) lives in :mod:`saswot.expr` and the
proxy-file loader in :mod:`saswot.proxies.proxyfile`; both are re-exported here, next to the
search (:class:`ProxySearchProblem`, :class:`StatCache`).

Public API: :class:`Expression`, :func:`parse_expression`, :data:`SASWOT_MINUS`,
:data:`UNARY_OPS`, :data:`BINARY_OPS`, :class:`ProxySearchProblem`, :class:`StatCache`,
:class:`PackedStats`, :func:`load_proxy_file`, :func:`expression_value`.
"""

from saswot.autoproxy.problem import ProxySearchProblem
from saswot.autoproxy.statcache import StatCache
from saswot.expr import (
    BINARY_OPS,
    SASWOT_MINUS,
    UNARY_OPS,
    ArchStats,
    Expression,
    ExpressionSyntaxError,
    OpShapeError,
    PackedStats,
    expression_value,
    parse_expression,
)
from saswot.proxies.proxyfile import load_proxy_file, proxy_spec_from_dict

__all__ = [
    "BINARY_OPS",
    "SASWOT_MINUS",
    "UNARY_OPS",
    "ArchStats",
    "Expression",
    "ExpressionSyntaxError",
    "OpShapeError",
    "PackedStats",
    "ProxySearchProblem",
    "StatCache",
    "expression_value",
    "load_proxy_file",
    "parse_expression",
    "proxy_spec_from_dict",
]
