"""Proxy expressions: an immutable tree genome with a canonical string that parses back.

Genome (paper Fig. 2 / EMQ "tree"): two branches, each one input statistic (``A`` layer
output, ``G`` = dL/dW, ``W`` weight) followed by ``k`` unary ops; one binary op combines the two
branch tensors of a layer *elementwise on tensors* (not on per-layer means); the result is
reduced per layer (``sum`` -- scaled by the sampling factor -- or ``mean``) and aggregated over
the network's Conv2d/Linear layers (``sum`` or ``mean``).

Canonical string, e.g. SasWOT-minus::

    sum_layers(sum(lt(noop(softmax(W)), noop(relu(G)))))

Only op *names* are stored, never indices.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from saswot.errors import InvalidArchError, UnknownNameError
from saswot.proxies.expr.primitives import (
    AGGREGATIONS,
    BINARY_OPS,
    REDUCTIONS,
    UNARY_OPS,
    OpShapeError,
    Shape,
    binary_shape,
    unary_shape,
)

#: The per-layer statistics an expression can read.
INPUTS: tuple[str, ...] = ("A", "G", "W")
INPUT_DESCRIPTIONS: Mapping[str, str] = {
    "A": "layer output (activation), N x C x P sampled positions",
    "G": "dL/dW, gradient of the segmentation loss w.r.t. the weight",
    "W": "weight of the Conv2d/Linear layer",
}

_INFIX = {"add": "+", "sub": "-", "mul": "*", "lt": "<", "gt": ">", "eq": "==", "matmul": "@"}


class ExpressionSyntaxError(InvalidArchError):
    """A proxy expression string could not be parsed."""


@dataclass(frozen=True)
class Expression:
    """A proxy formula (immutable; equal formulas compare and hash equal).

    Attributes:
        inputs: the statistic read by branch 1 and branch 2 (each one of ``A``, ``G``, ``W``).
        unary: for each branch, the unary op names applied in order (first op first).
        binary: the binary op combining the two branch tensors of a layer.
        reduce: per-layer reduction of the binary result (``sum`` or ``mean``).
        aggregate: aggregation of the per-layer values over layers (``sum`` or ``mean``).
    """

    inputs: tuple[str, str]
    unary: tuple[tuple[str, ...], tuple[str, ...]]
    binary: str
    reduce: str = "sum"
    aggregate: str = "sum"

    def __post_init__(self) -> None:
        if len(self.inputs) != 2 or len(self.unary) != 2:
            raise InvalidArchError("an expression has exactly two branches")
        for x in self.inputs:
            if x not in INPUTS:
                raise UnknownNameError(f"unknown expression input '{x}' (choose from {', '.join(INPUTS)})")
        for branch in self.unary:
            for op in branch:
                if op not in UNARY_OPS:
                    raise UnknownNameError(f"unknown unary op '{op}' (choose from {', '.join(UNARY_OPS)})")
        if self.binary not in BINARY_OPS:
            raise UnknownNameError(f"unknown binary op '{self.binary}' (choose from {', '.join(BINARY_OPS)})")
        if self.reduce not in REDUCTIONS:
            raise UnknownNameError(f"unknown reduction '{self.reduce}' (choose from {', '.join(REDUCTIONS)})")
        if self.aggregate not in AGGREGATIONS:
            raise UnknownNameError(f"unknown aggregation '{self.aggregate}' (choose from {', '.join(AGGREGATIONS)})")

    # ------------------------------------------------------------------ strings

    def branch_str(self, i: int) -> str:
        """Canonical string of branch ``i`` (0 or 1)."""
        text = self.inputs[i]
        for op in self.unary[i]:
            text = f"{op}({text})"
        return text

    def canonical(self) -> str:
        """The canonical string (parses back with :func:`parse_expression`)."""
        inner = f"{self.binary}({self.branch_str(0)}, {self.branch_str(1)})"
        return f"{self.aggregate}_layers({self.reduce}({inner}))"

    def __str__(self) -> str:
        return self.canonical()

    def formula(self) -> str:
        """Human-readable formula (identity ops dropped, comparisons infix)."""
        b = []
        for i in range(2):
            text = self.inputs[i]
            for op in self.unary[i]:
                if op != "noop":
                    text = f"{op}({text})"
            b.append(text)
        if self.binary in _INFIX:
            inner = f"{b[0]} {_INFIX[self.binary]} {b[1]}"
            inner = f"[{inner}]" if self.binary in ("lt", "gt", "eq") else f"({inner})"
        else:
            inner = f"{self.binary}({b[0]}, {b[1]})"
        red = "Σ_elements" if self.reduce == "sum" else "mean_elements"
        agg = "Σ_layers" if self.aggregate == "sum" else "mean_layers"
        return f"{agg} {red} {inner}"

    # ------------------------------------------------------------------ shapes

    def output_shape(self, shapes: Mapping[str, Shape]) -> Shape:
        """Per-layer shape of the binary result for one layer with input ``shapes``.

        Raises:
            OpShapeError: the expression cannot be applied to a layer of these shapes.
        """
        outs = []
        for i in range(2):
            s = tuple(shapes[self.inputs[i]])
            for op in self.unary[i]:
                s = unary_shape(op, s)
            outs.append(s)
        return binary_shape(self.binary, outs[0], outs[1])

    def is_legal(self, layer_shapes: Iterable[Mapping[str, Shape]]) -> bool:
        """True if every layer (given by its input shapes) admits this expression."""
        try:
            for shapes in layer_shapes:
                self.output_shape(shapes)
        except OpShapeError:
            return False
        return True

    # ------------------------------------------------------------------ json

    def to_json(self) -> dict:
        """JSON form (names only)."""
        return {"expression": self.canonical()}

    @classmethod
    def from_json(cls, data: Mapping | str) -> Expression:
        """Inverse of :meth:`to_json` (also accepts the bare canonical string)."""
        if isinstance(data, str):
            return parse_expression(data)
        if "expression" not in data:
            raise InvalidArchError("expression JSON needs an 'expression' field with the canonical string")
        return parse_expression(str(data["expression"]))


# ---------------------------------------------------------------------- parsing

_TOKEN = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*|\(|\)|,)")


def _tokenize(text: str) -> list[str]:
    pos, out = 0, []
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ExpressionSyntaxError(
                f"cannot parse expression '{text}' at character {pos}: expected a name, '(', ')' or ','"
            )
        out.append(m.group(1))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


def _parse_call(tokens: list[str], i: int, text: str) -> tuple[tuple, int]:
    """Parse ``name`` or ``name(arg, ...)`` starting at token i -> ((name, args), next i)."""
    if i >= len(tokens) or tokens[i] in "(),":
        raise ExpressionSyntaxError(f"cannot parse expression '{text}': expected a name at token {i}")
    name = tokens[i]
    i += 1
    if i < len(tokens) and tokens[i] == "(":
        i += 1
        args = []
        while True:
            node, i = _parse_call(tokens, i, text)
            args.append(node)
            if i < len(tokens) and tokens[i] == ",":
                i += 1
                continue
            if i < len(tokens) and tokens[i] == ")":
                return (name, tuple(args)), i + 1
            raise ExpressionSyntaxError(f"cannot parse expression '{text}': missing ')'")
    return (name, ()), i


def _branch(node: tuple, text: str) -> tuple[str, tuple[str, ...]]:
    ops: list[str] = []
    while node[1]:
        if len(node[1]) != 1:
            raise ExpressionSyntaxError(f"in '{text}': unary op '{node[0]}' takes one argument")
        ops.append(node[0])
        node = node[1][0]
    return node[0], tuple(reversed(ops))


def parse_expression(text: str) -> Expression:
    """Parse a canonical expression string such as ``sum_layers(sum(lt(softmax(W), relu(G))))``.

    Raises:
        ExpressionSyntaxError: malformed text. UnknownNameError: unknown op or input name.
    """
    tokens = _tokenize(text)
    node, end = _parse_call(tokens, 0, text)
    if end != len(tokens):
        raise ExpressionSyntaxError(f"unexpected text after the expression in '{text}'")
    agg_name, args = node
    if not agg_name.endswith("_layers") or len(args) != 1:
        raise ExpressionSyntaxError(f"'{text}': an expression starts with sum_layers(...) or mean_layers(...)")
    red_name, args = args[0]
    if len(args) != 1:
        raise ExpressionSyntaxError(f"'{text}': the per-layer reduction (sum/mean) takes one argument")
    bin_name, args = args[0]
    if len(args) != 2:
        raise ExpressionSyntaxError(f"'{text}': the binary op '{bin_name}' needs two arguments")
    x1, u1 = _branch(args[0], text)
    x2, u2 = _branch(args[1], text)
    return Expression(
        inputs=(x1, x2), unary=(u1, u2), binary=bin_name, reduce=red_name, aggregate=agg_name[: -len("_layers")]
    )


def random_expression(rng: np.random.Generator, depth: int = 2) -> Expression:
    """A uniformly random expression with ``depth`` unary ops per branch."""
    unary = sorted(UNARY_OPS)
    binary = sorted(BINARY_OPS)

    def pick(seq: Sequence[str]) -> str:
        return seq[int(rng.integers(len(seq)))]

    return Expression(
        inputs=(pick(INPUTS), pick(INPUTS)),
        unary=(tuple(pick(unary) for _ in range(depth)), tuple(pick(unary) for _ in range(depth))),
        binary=pick(binary),
        reduce=pick(REDUCTIONS),
        aggregate=pick(AGGREGATIONS),
    )


#: SasWOT-minus (paper Eq. 2): Σ_layers Σ 1[softmax(W) < relu(dL/dW)].
SASWOT_MINUS = Expression(inputs=("W", "G"), unary=(("softmax", "noop"), ("relu", "noop")), binary="lt")
