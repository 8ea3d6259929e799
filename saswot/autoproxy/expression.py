"""Proxy expressions; they live in :mod:`saswot.expr.expression` (re-exported here)."""

from saswot.expr.expression import (
    INPUT_DESCRIPTIONS,
    INPUTS,
    SASWOT_MINUS,
    Expression,
    ExpressionSyntaxError,
    parse_expression,
    random_expression,
)

__all__ = [
    "INPUTS",
    "INPUT_DESCRIPTIONS",
    "SASWOT_MINUS",
    "Expression",
    "ExpressionSyntaxError",
    "parse_expression",
    "random_expression",
]
