"""The proxy expression language: ops, expressions and their evaluation over per-layer statistics.

Depends on torch and numpy only (no search machinery), so the proxy registry can load and score
proxy files without importing the proxy search (:mod:`saswot.search.proxy_search`), which is built
on top of this package.

Public API: :class:`Expression`, :func:`parse_expression`, :data:`SASWOT_MINUS`,
:data:`UNARY_OPS`, :data:`BINARY_OPS`, :class:`OpShapeError`, :class:`ArchStats`,
:class:`PackedStats`, :func:`arch_stats_from_netstats`, :func:`expression_value`.
"""

from saswot.proxies.expr.expression import SASWOT_MINUS, Expression, ExpressionSyntaxError, parse_expression
from saswot.proxies.expr.packed import ArchStats, LayerTensors, PackedStats, arch_stats_from_netstats, expression_value
from saswot.proxies.expr.primitives import BINARY_OPS, UNARY_OPS, OpShapeError

__all__ = [
    "BINARY_OPS",
    "SASWOT_MINUS",
    "UNARY_OPS",
    "ArchStats",
    "Expression",
    "ExpressionSyntaxError",
    "LayerTensors",
    "OpShapeError",
    "PackedStats",
    "arch_stats_from_netstats",
    "expression_value",
    "parse_expression",
]
