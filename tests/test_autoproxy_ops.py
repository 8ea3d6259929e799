"""Unary/binary ops of the proxy search space: values, shapes, early rejection, purity."""

from __future__ import annotations

import math

import pytest
import torch

from saswot.proxies.expr.primitives import (
    BINARY_OPS,
    UNARY_OPS,
    OpShapeError,
    binary_shape,
    reduce_layer,
    unary_shape,
)

SHAPES = [(4, 3, 3, 3), (5, 6), (2, 4, 7), (3,), ()]


def _u(name: str, x: torch.Tensor, s: float = 1.0) -> torch.Tensor:
    """Apply a unary op to one layer tensor (batch of 1)."""
    y, _ = UNARY_OPS[name].fn(x.unsqueeze(0), torch.tensor([s]))
    return y[0]


def _b(name: str, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    z, _ = BINARY_OPS[name].fn(x.unsqueeze(0), torch.ones(1), y.unsqueeze(0), torch.ones(1))
    return z[0]


def test_op_counts_match_paper() -> None:
    assert len(UNARY_OPS) == 20
    assert len(BINARY_OPS) == 13


@pytest.mark.parametrize("name", sorted(UNARY_OPS))
@pytest.mark.parametrize("shape", SHAPES)
def test_unary_shape_rule_matches_output_and_is_pure(name: str, shape: tuple) -> None:
    x = torch.randn((3, *shape), generator=torch.Generator().manual_seed(1))
    before = x.clone()
    try:
        expected = unary_shape(name, shape)
    except OpShapeError:
        return  # rejected on shapes alone
    y, s = UNARY_OPS[name].fn(x, torch.ones(3))
    assert tuple(y.shape) == (3, *expected)
    assert s.shape == (3,)
    assert torch.equal(x, before), "ops must not modify their input"


@pytest.mark.parametrize("name", sorted(BINARY_OPS))
@pytest.mark.parametrize("shapes", [((4, 3, 3, 3), (4, 3, 3, 3)), ((5, 6), ()), ((2, 4, 4), (2, 4, 4)),
                                    ((5, 6), (6, 5)), ((3,), (3,))])
def test_binary_shape_rule_matches_output(name: str, shapes: tuple) -> None:
    a, b = shapes
    g = torch.Generator().manual_seed(2)
    x, y = torch.randn((2, *a), generator=g), torch.rand((2, *b), generator=g)
    xb, yb = x.clone(), y.clone()
    try:
        expected = binary_shape(name, a, b)
    except OpShapeError:
        return
    z, s = BINARY_OPS[name].fn(x, torch.ones(2), y, torch.ones(2))
    assert tuple(z.shape) == (2, *expected)
    assert torch.equal(x, xb) and torch.equal(y, yb)


def test_unary_values_hand_computed() -> None:
    x = torch.tensor([[1.0, -2.0], [0.0, 4.0]])
    assert torch.allclose(_u("pow2", x), torch.tensor([[1.0, 4.0], [0.0, 16.0]]))
    assert _u("sum", x).item() == pytest.approx(3.0)
    assert _u("sum", x, s=2.5).item() == pytest.approx(7.5)  # sampling factor scales sums
    assert _u("frobenius", x).item() == pytest.approx(math.sqrt(21.0))
    assert _u("mean", x).item() == pytest.approx(0.75)
    assert _u("normalized_sum", x).item() == pytest.approx(0.75)
    assert _u("l1norm", x).item() == pytest.approx(7.0 / 4.0)
    assert torch.allclose(_u("relu", x), torch.tensor([[1.0, 0.0], [0.0, 4.0]]))
    assert torch.equal(_u("sign", x), torch.tensor([[1.0, -1.0], [0.0, 1.0]]))
    # log of non-positive values is defined as log(1) = 0 (no NaN / -inf)
    assert torch.allclose(_u("log", x), torch.tensor([[0.0, 0.0], [0.0, math.log(4.0)]]))
    assert torch.allclose(_u("abslog", x), torch.tensor([[0.0, math.log(2.0)], [0.0, math.log(4.0)]]))
    # softmax along dim 0: columns sum to one
    sm = _u("softmax", x)
    assert torch.allclose(sm.sum(0), torch.ones(2))
    assert sm[0, 0].item() == pytest.approx(math.exp(1) / (math.exp(1) + 1))
    assert torch.allclose(_u("logsoftmax", x), torch.log(sm))
    assert _u("slogdet", x).item() == pytest.approx(math.log(4.0))  # det = 1*4 - (-2)*0
    n = _u("normalize", x)
    assert n.mean().item() == pytest.approx(0.0, abs=1e-6) and n.flatten().std().item() == pytest.approx(1.0)
    assert torch.equal(_u("normalize", torch.ones(3, 3)), torch.zeros(3, 3))  # constant -> 0, not NaN
    assert _u("invert", torch.tensor([2.0])).item() == pytest.approx(0.5)


def test_gram_matrix() -> None:
    x = torch.arange(8, dtype=torch.float32).reshape(1, 2, 2, 2)
    g = _u("gram", x)
    f = x.reshape(2, 4)
    assert torch.allclose(g, f @ f.T / 8.0)


def test_binary_values_hand_computed() -> None:
    a = torch.tensor([[1.0, 0.0], [3.0, -1.0]])
    b = torch.tensor([[2.0, 0.0], [1.0, 1.0]])
    assert torch.equal(_b("lt", a, b), torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
    assert torch.equal(_b("gt", a, b), torch.tensor([[0.0, 0.0], [1.0, 0.0]]))
    assert torch.equal(_b("eq", a, b), torch.tensor([[0.0, 1.0], [0.0, 0.0]]))
    assert torch.allclose(_b("matmul", a, b), a @ b)
    # hamming: 1[a>0] = [[1,0],[1,0]], 1[b>0] = [[1,0],[1,1]] -> differences summed over dim 0
    assert torch.equal(_b("hamming", a, b), torch.tensor([0.0, 1.0]))
    assert _b("l1_loss", a, b).item() == pytest.approx((1 + 0 + 2 + 2) / 4)
    assert _b("mse_loss", a, b).item() == pytest.approx((1 + 0 + 4 + 4) / 4)
    pd = _b("pairwise_distance", a, b)
    assert pd[0].item() == pytest.approx(math.hypot(-1 + 1e-6, 1e-6), rel=1e-5)
    # cosine similarity compares a with b (not a with itself)
    cos = _b("cosine_similarity", a, b).item()
    expected = (2 / (1 * math.sqrt(4))) + ((3 - 1) / (math.sqrt(10) * math.sqrt(2)))
    assert cos == pytest.approx(expected, rel=1e-5)
    assert _b("cosine_similarity", a, a).item() == pytest.approx(2.0, rel=1e-5)
    # kl: a as log-probs, b as probs, batchmean (sum / rows)
    lp = torch.log(torch.tensor([[0.5, 0.5], [0.25, 0.75]]))
    p = torch.tensor([[0.5, 0.5], [0.5, 0.5]])
    exp_kl = float((p * (p.log() - lp)).sum() / 2)
    assert _b("kl_div", lp, p).item() == pytest.approx(exp_kl, rel=1e-5)


def test_hamming_works_on_broadcast_scalar() -> None:
    a = torch.tensor([[1.0, -1.0], [2.0, 0.5]])
    z = _b("hamming", a, torch.tensor(0.0))
    assert torch.equal(z, torch.tensor([2.0, 1.0]))


@pytest.mark.parametrize("op,shape", [("slogdet", (4, 3)), ("slogdet", (5,)), ("gram", (2, 4, 7)),
                                      ("gram", (5, 6)), ("gram", (512, 8, 3, 3))])
def test_invalid_unary_shapes_rejected(op: str, shape: tuple) -> None:
    with pytest.raises(OpShapeError):
        unary_shape(op, shape)


@pytest.mark.parametrize("op,a,b", [("matmul", (5, 6), (5, 6)), ("matmul", (3,), (3,)),
                                    ("hamming", (), (3,)), ("cosine_similarity", (4, 3), (3, 4)),
                                    ("add", (4, 3), (5, 3)), ("pairwise_distance", (), ())])
def test_invalid_binary_shapes_rejected(op: str, a: tuple, b: tuple) -> None:
    with pytest.raises(OpShapeError):
        binary_shape(op, a, b)


def test_reduce_layer_sum_scaled_and_mean() -> None:
    x = torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 6.0]])
    s = torch.tensor([2.0, 1.0])
    assert torch.allclose(reduce_layer(x, s, "sum"), torch.tensor([12.0, 6.0]))
    assert torch.allclose(reduce_layer(x, s, "mean"), torch.tensor([2.0, 2.0]))
