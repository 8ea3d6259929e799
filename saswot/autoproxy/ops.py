"""The primitive ops of the proxy search space; they live in :mod:`saswot.expr.ops` (re-exported)."""

from saswot.expr.ops import (
    AGGREGATIONS,
    BINARY_OPS,
    COSINE_EPS,
    INVERT_EPS,
    MAX_GRAM_ELEMS,
    MAX_LAYER_ELEMS,
    PAIRWISE_EPS,
    REDUCTIONS,
    UNARY_OPS,
    BinaryOp,
    OpShapeError,
    Shape,
    UnaryOp,
    binary_shape,
    reduce_layer,
    unary_shape,
)

__all__ = [
    "AGGREGATIONS",
    "BINARY_OPS",
    "COSINE_EPS",
    "INVERT_EPS",
    "MAX_GRAM_ELEMS",
    "MAX_LAYER_ELEMS",
    "PAIRWISE_EPS",
    "REDUCTIONS",
    "UNARY_OPS",
    "BinaryOp",
    "OpShapeError",
    "Shape",
    "UnaryOp",
    "binary_shape",
    "reduce_layer",
    "unary_shape",
]
