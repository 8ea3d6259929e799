"""Automatic proxy discovery: expressions over per-layer statistics, searched by evolution.

Public API: :class:`Expression`, :func:`parse_expression`, :data:`SASWOT_MINUS`,
:data:`UNARY_OPS`, :data:`BINARY_OPS`, :class:`ProxySearchProblem`, :class:`StatCache`,
:class:`PackedStats`, :func:`load_proxy_file`, :func:`expression_value`.
"""

from saswot.autoproxy.expression import SASWOT_MINUS, Expression, ExpressionSyntaxError, parse_expression
from saswot.autoproxy.loader import expression_value, load_proxy_file, proxy_spec_from_dict
from saswot.autoproxy.ops import BINARY_OPS, UNARY_OPS, OpShapeError
from saswot.autoproxy.problem import ProxySearchProblem
from saswot.autoproxy.statcache import ArchStats, PackedStats, StatCache

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
