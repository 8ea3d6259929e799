"""Primitive operations of the proxy search space (paper: 20 unary and 13 binary ops).

Every op works on a *batch of layers*: a tensor ``x`` of shape ``(L, *S)`` holds L layer
tensors of the same per-layer shape ``S``, and ``s`` (shape ``(L,)``) holds each layer's
*sampling factor* -- how many elements of the full statistic each stored element stands for
(1 when nothing was subsampled, see :mod:`saswot.proxies.expr.packed`). Ops are pure: they
never modify their input. Each op also has a shape function on the per-layer shape ``S`` that
raises :class:`OpShapeError` for inputs it cannot take, so illegal candidates are rejected on
shapes alone, before any tensor arithmetic (the paper's early rejection).

The exact definition of every op (and how it differs from the EMQ-era code) is written down in
``docs/proxy-search.md``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import torch
from torch import Tensor

Shape = tuple[int, ...]

#: Per-layer element bound for any intermediate tensor (e.g. gram matrices); larger is invalid.
MAX_LAYER_ELEMS = 1 << 20
#: Entry bound of one layer's gram matrix: (a*b)^2 <= 2^16, i.e. at most 256 rows. Gram matrices
#: of weight tensors (a*b = O*I') are quadratic in the channel count and dominated the scoring
#: time at 2^20 entries (1 s per candidate over 50 archs), so larger ones are invalid.
MAX_GRAM_ELEMS = 1 << 16
#: Epsilon of ``invert`` (paper code: 1/(x + 1e-9)).
INVERT_EPS = 1e-9
#: Epsilon of ``pairwise_distance`` (torch's F.pairwise_distance default).
PAIRWISE_EPS = 1e-6
#: Epsilon of the norms in ``cosine_similarity``.
COSINE_EPS = 1e-8


class OpShapeError(ValueError):
    """An op cannot take inputs of these per-layer shapes (candidate is invalid)."""


@dataclass(frozen=True)
class UnaryOp:
    """A unary op: ``fn(x, s) -> (y, s_out)`` on a layer batch and its per-layer shape rule."""

    name: str
    fn: Callable[[Tensor, Tensor], tuple[Tensor, Tensor]]
    shape: Callable[[Shape], Shape]
    description: str


@dataclass(frozen=True)
class BinaryOp:
    """A binary op: ``fn(x, sx, y, sy) -> (z, s_out)`` and its per-layer shape rule."""

    name: str
    fn: Callable[[Tensor, Tensor, Tensor, Tensor], tuple[Tensor, Tensor]]
    shape: Callable[[Shape, Shape], Shape]
    description: str


# ----------------------------------------------------------------------------- helpers


def _flat(x: Tensor) -> Tensor:
    return x.reshape(x.shape[0], -1)


def _numel(shape: Shape) -> int:
    return math.prod(shape)


def _ones(x: Tensor) -> Tensor:
    return torch.ones(x.shape[0], dtype=x.dtype, device=x.device)


def _same(shape: Shape) -> Shape:
    return shape


def _scalar(shape: Shape) -> Shape:
    return ()


def _elementwise(f: Callable[[Tensor], Tensor]) -> Callable[[Tensor, Tensor], tuple[Tensor, Tensor]]:
    def fn(x: Tensor, s: Tensor) -> tuple[Tensor, Tensor]:
        return f(x), s

    return fn


def _broadcast(a: Shape, b: Shape) -> Shape:
    try:
        return tuple(torch.broadcast_shapes(a, b))
    except RuntimeError as exc:
        raise OpShapeError(f"shapes {a} and {b} do not broadcast") from exc


def _align(x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """Pad the per-layer rank of the lower-rank operand (after the layer dim) for broadcasting."""
    rx, ry = x.dim(), y.dim()
    if rx < ry:
        x = x.reshape(x.shape[:1] + (1,) * (ry - rx) + x.shape[1:])
    elif ry < rx:
        y = y.reshape(y.shape[:1] + (1,) * (rx - ry) + y.shape[1:])
    return x, y


def _pick_scale(xs: Shape, sx: Tensor, ys: Shape, sy: Tensor) -> Tensor:
    """Sampling factor of a broadcast result: that of the operand with more elements."""
    return sx if _numel(xs) >= _numel(ys) else sy


# ----------------------------------------------------------------------------- unary ops


def _sum(x: Tensor, s: Tensor) -> tuple[Tensor, Tensor]:
    return _flat(x).sum(1) * s, _ones(x)


def _frobenius(x: Tensor, s: Tensor) -> tuple[Tensor, Tensor]:
    return torch.sqrt(_flat(x).pow(2).sum(1) * s), _ones(x)


def _mean(x: Tensor, s: Tensor) -> tuple[Tensor, Tensor]:
    return _flat(x).mean(1), _ones(x)


def _l1norm(x: Tensor, s: Tensor) -> tuple[Tensor, Tensor]:
    return _flat(x).abs().mean(1), _ones(x)


def _normalize(x: Tensor, s: Tensor) -> tuple[Tensor, Tensor]:
    f = _flat(x)
    if f.shape[1] < 2:
        return torch.zeros_like(x), s
    std, mean = torch.std_mean(f, dim=1, keepdim=True)  # unbiased std, one pass
    y = torch.nan_to_num((f - mean) / std, nan=0.0, posinf=math.inf, neginf=-math.inf)
    return y.reshape(x.shape), s


def _softmax(x: Tensor, s: Tensor) -> tuple[Tensor, Tensor]:
    if x.dim() == 1:  # a 0-d layer tensor: softmax over a single element
        return torch.ones_like(x), s
    return torch.softmax(x, dim=1), s


def _logsoftmax(x: Tensor, s: Tensor) -> tuple[Tensor, Tensor]:
    if x.dim() == 1:
        return torch.zeros_like(x), s
    return torch.log_softmax(x, dim=1), s


def _slogdet_shape(shape: Shape) -> Shape:
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise OpShapeError(f"slogdet needs square matrices in the last two dims, got {shape}")
    return shape[:-2]


def _logabsdet_small(x: Tensor) -> Tensor:
    """log|det| of 1x1, 2x2 or 3x3 matrices by the closed-form determinant.

    Conv kernels are 1x1 or 3x3, and batched LU (``torch.linalg.slogdet``) on hundreds of
    thousands of tiny matrices is ~6x slower on the CPU than these elementwise products.
    A singular matrix gives -inf, as slogdet does. In float32 the result differs from LU by
    at most ~2e-2 in log space, for nearly singular matrices only (cancellation).
    """
    m = x
    n = m.shape[-1]
    if n == 1:
        det = m[..., 0, 0]
    elif n == 2:
        det = m[..., 0, 0] * m[..., 1, 1] - m[..., 0, 1] * m[..., 1, 0]
    else:
        a, b, c = m[..., 0, 0], m[..., 0, 1], m[..., 0, 2]
        d, e, f = m[..., 1, 0], m[..., 1, 1], m[..., 1, 2]
        g, h, i = m[..., 2, 0], m[..., 2, 1], m[..., 2, 2]
        det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)
    return det.abs().log()


def _slogdet(x: Tensor, s: Tensor) -> tuple[Tensor, Tensor]:
    if x.shape[-1] <= 3:
        return _logabsdet_small(x), s
    return torch.linalg.slogdet(x).logabsdet, s


def _gram_shape(shape: Shape) -> Shape:
    if len(shape) != 4:
        raise OpShapeError(f"gram-matrix needs a 4-d tensor, got {shape}")
    rows = shape[0] * shape[1]
    if rows * rows > MAX_GRAM_ELEMS:
        raise OpShapeError(f"gram-matrix of {shape} would have {rows}x{rows} entries (too large)")
    return (rows, rows)


def _gram(x: Tensor, s: Tensor) -> tuple[Tensor, Tensor]:
    n, a, b, c, d = x.shape
    f = x.reshape(n, a * b, c * d)
    return f @ f.transpose(1, 2) / float(a * b * c * d), s


def _log(x: Tensor) -> Tensor:
    return torch.where(x > 0, x, torch.ones_like(x)).log()


def _abslog(x: Tensor) -> Tensor:
    a = x.abs()
    return torch.where(a > 0, a, torch.ones_like(a)).log()


_UNARY_LIST = [
    UnaryOp("pow2", _elementwise(lambda x: x * x), _same, "elementwise pow: x^2"),
    UnaryOp("sum", _sum, _scalar, "to-sum-scalar: sum of all elements of the layer tensor"),
    UnaryOp("exp", _elementwise(torch.exp), _same, "elementwise exp: e^x"),
    UnaryOp(
        "normalize",
        _normalize,
        _same,
        "(x - mean)/std over the layer (unbiased std); NaN entries (constant or 1-element) -> 0",
    ),
    UnaryOp("relu", _elementwise(torch.relu), _same, "elementwise relu: max(x, 0)"),
    UnaryOp("sign", _elementwise(torch.sign), _same, "elementwise sign in {-1, 0, 1}"),
    UnaryOp("invert", _elementwise(lambda x: 1.0 / (x + INVERT_EPS)), _same, "1/(x + 1e-9)"),
    UnaryOp("slogdet", _slogdet, _slogdet_shape, "log|det| of the square matrices in the last two dims"),
    UnaryOp("frobenius", _frobenius, _scalar, "frobenius norm: sqrt(sum x^2) over the layer"),
    UnaryOp("normalized_sum", _mean, _scalar, "elementwise normalized sum: sum x / numel"),
    UnaryOp("l1norm", _l1norm, _scalar, "mean |x| over the layer (the paper code's 'l1norm')"),
    UnaryOp("softmax", _softmax, _same, "softmax along the layer tensor's dim 0"),
    UnaryOp("sigmoid", _elementwise(torch.sigmoid), _same, "1/(1 + e^-x)"),
    UnaryOp("logsoftmax", _logsoftmax, _same, "log-softmax along the layer tensor's dim 0"),
    UnaryOp("mean", _mean, _scalar, "to-mean-scalar: mean of all elements"),
    UnaryOp(
        "gram", _gram, _gram_shape, "gram-matrix F F^T / numel, F = x reshaped (a*b) x (c*d); 4-d only, a*b <= 256"
    ),
    UnaryOp("log", _elementwise(_log), _same, "log x, with x <= 0 replaced by 1 (-> 0)"),
    UnaryOp("abslog", _elementwise(_abslog), _same, "log|x|, with x == 0 replaced by 1 (-> 0)"),
    UnaryOp("abs", _elementwise(torch.abs), _same, "elementwise |x|"),
    UnaryOp("noop", _elementwise(lambda x: x), _same, "identity"),
]

# ----------------------------------------------------------------------------- binary ops


def _ew_binary(
    f: Callable[[Tensor, Tensor], Tensor],
) -> Callable[[Tensor, Tensor, Tensor, Tensor], tuple[Tensor, Tensor]]:
    def fn(x: Tensor, sx: Tensor, y: Tensor, sy: Tensor) -> tuple[Tensor, Tensor]:
        xs, ys = tuple(x.shape[1:]), tuple(y.shape[1:])
        a, b = _align(x, y)
        return f(a, b), _pick_scale(xs, sx, ys, sy)

    return fn


def _ew_shape(a: Shape, b: Shape) -> Shape:
    return _broadcast(a, b)


def _matmul_shape(a: Shape, b: Shape) -> Shape:
    if len(a) < 2 or len(b) < 2:
        raise OpShapeError(f"matmul needs matrices (>= 2 dims), got {a} and {b}")
    if a[-1] != b[-2]:
        raise OpShapeError(f"matmul inner sizes differ: {a} @ {b}")
    batch = _broadcast(a[:-2], b[:-2])
    out = batch + (a[-2], b[-1])
    if _numel(out) > MAX_LAYER_ELEMS:
        raise OpShapeError(f"matmul result {out} is too large")
    return out


def _matmul(x: Tensor, sx: Tensor, y: Tensor, sy: Tensor) -> tuple[Tensor, Tensor]:
    a, b = _align(x, y)
    return torch.matmul(a, b), sx


def _hamming_shape(a: Shape, b: Shape) -> Shape:
    if len(a) < 1 or len(b) < 1:
        raise OpShapeError("hamming distance needs tensors with at least one dim")
    out = _broadcast(a, b)
    return out[1:]


def _hamming(x: Tensor, sx: Tensor, y: Tensor, sy: Tensor) -> tuple[Tensor, Tensor]:
    xs, ys = tuple(x.shape[1:]), tuple(y.shape[1:])
    a, b = _align(x, y)
    diff = ((a > 0) != (b > 0)).to(x.dtype)
    return diff.sum(1), _pick_scale(xs, sx, ys, sy)


def _pairwise_shape(a: Shape, b: Shape) -> Shape:
    if len(a) < 1 or len(b) < 1:
        raise OpShapeError("pairwise distance needs tensors with at least one dim")
    return _broadcast(a, b)[:-1]


def _pairwise(x: Tensor, sx: Tensor, y: Tensor, sy: Tensor) -> tuple[Tensor, Tensor]:
    xs, ys = tuple(x.shape[1:]), tuple(y.shape[1:])
    a, b = _align(x, y)
    return torch.linalg.vector_norm(a - b + PAIRWISE_EPS, dim=-1), _pick_scale(xs, sx, ys, sy)


def _mean_loss(f: Callable[[Tensor], Tensor]) -> Callable[[Tensor, Tensor, Tensor, Tensor], tuple[Tensor, Tensor]]:
    def fn(x: Tensor, sx: Tensor, y: Tensor, sy: Tensor) -> tuple[Tensor, Tensor]:
        a, b = _align(x, y)
        d = f(a - b)
        return _flat(d).mean(1), _ones(x)

    return fn


def _cosine_shape(a: Shape, b: Shape) -> Shape:
    if len(a) < 1 or len(b) < 1:
        raise OpShapeError("cosine similarity needs tensors with at least one dim")
    if a[0] != b[0] or _numel(a[1:]) != _numel(b[1:]):
        raise OpShapeError(f"cosine similarity needs equal row counts and row lengths: {a} vs {b}")
    return ()


def _cosine(x: Tensor, sx: Tensor, y: Tensor, sy: Tensor) -> tuple[Tensor, Tensor]:
    n, rows = x.shape[0], x.shape[1]
    a = x.reshape(n, rows, -1)
    b = y.reshape(n, rows, -1)
    dot = (a * b).sum(-1)
    na = torch.linalg.vector_norm(a, dim=-1).clamp_min(COSINE_EPS)
    nb = torch.linalg.vector_norm(b, dim=-1).clamp_min(COSINE_EPS)
    return (dot / (na * nb)).sum(1), _ones(x)


def _kl_shape(a: Shape, b: Shape) -> Shape:
    _broadcast(a, b)
    return ()


def _kl(x: Tensor, sx: Tensor, y: Tensor, sy: Tensor) -> tuple[Tensor, Tensor]:
    a, b = _align(x, y)
    a, b = torch.broadcast_tensors(a, b)
    rows = a.shape[1] if a.dim() > 1 else 1
    pointwise = torch.xlogy(b, b) - b * a
    return _flat(pointwise).sum(1) / float(rows), _ones(x)


_BINARY_LIST = [
    BinaryOp("add", _ew_binary(torch.add), _ew_shape, "elementwise sum x + y (broadcast)"),
    BinaryOp("eq", _ew_binary(lambda a, b: (a == b).to(a.dtype)), _ew_shape, "equal to: 1[x == y]"),
    BinaryOp("sub", _ew_binary(torch.sub), _ew_shape, "elementwise difference x - y"),
    BinaryOp("mul", _ew_binary(torch.mul), _ew_shape, "elementwise product x * y"),
    BinaryOp("lt", _ew_binary(lambda a, b: (a < b).to(a.dtype)), _ew_shape, "lesser than: 1[x < y]"),
    BinaryOp("gt", _ew_binary(lambda a, b: (a > b).to(a.dtype)), _ew_shape, "greater than: 1[x > y]"),
    BinaryOp("matmul", _matmul, _matmul_shape, "matrix multiplication x @ y (torch.matmul, >= 2 dims)"),
    BinaryOp(
        "hamming", _hamming, _hamming_shape, "hamming distance of 1[x > 0] and 1[y > 0] summed over dim 0 (shape[1:])"
    ),
    BinaryOp("pairwise_distance", _pairwise, _pairwise_shape, "||x - y + 1e-6||_2 along the last dim"),
    BinaryOp("l1_loss", _mean_loss(torch.abs), _kl_shape, "mean |x - y|"),
    BinaryOp(
        "cosine_similarity",
        _cosine,
        _cosine_shape,
        "sum over rows (dim 0) of cos(x_row, y_row), rows = tensors reshaped to (shape[0], -1)",
    ),
    BinaryOp("kl_div", _kl, _kl_shape, "KL with x as log-probs, y as probs: sum(y log y - y x) / shape[0] (batchmean)"),
    BinaryOp("mse_loss", _mean_loss(lambda d: d * d), _kl_shape, "mean (x - y)^2"),
]

UNARY_OPS: Mapping[str, UnaryOp] = MappingProxyType({op.name: op for op in _UNARY_LIST})
"""The 20 unary ops by name (read-only)."""

BINARY_OPS: Mapping[str, BinaryOp] = MappingProxyType({op.name: op for op in _BINARY_LIST})
"""The 13 binary ops by name (read-only)."""

#: Per-layer reductions of the binary op's output.
REDUCTIONS: tuple[str, ...] = ("sum", "mean")
#: Aggregations over the layers of a network.
AGGREGATIONS: tuple[str, ...] = ("sum", "mean")


def reduce_layer(x: Tensor, s: Tensor, how: str) -> Tensor:
    """Reduce each layer tensor of a batch to one number (``sum`` is scaled by ``s``)."""
    f = _flat(x) if x.dim() > 1 else x.reshape(-1, 1)
    if how == "sum":
        return f.sum(1) * s
    if how == "mean":
        return f.mean(1)
    raise OpShapeError(f"unknown reduction '{how}' (choose from {', '.join(REDUCTIONS)})")


def unary_shape(name: str, shape: Shape) -> Shape:
    """Per-layer output shape of a unary op; raises :class:`OpShapeError` if illegal."""
    out = UNARY_OPS[name].shape(shape)
    if _numel(out) > MAX_LAYER_ELEMS:
        raise OpShapeError(f"{name} output {out} too large")
    return out


def binary_shape(name: str, a: Shape, b: Shape) -> Shape:
    """Per-layer output shape of a binary op; raises :class:`OpShapeError` if illegal."""
    out = BINARY_OPS[name].shape(a, b)
    if _numel(out) > MAX_LAYER_ELEMS:
        raise OpShapeError(f"{name} output {out} too large")
    return out
