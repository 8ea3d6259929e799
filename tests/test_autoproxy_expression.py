"""Expression genome: canonical strings, parsing, legality, and SasWOT-minus as a genome."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from torch import nn

from saswot.proxies.expr import (
    SASWOT_MINUS,
    Expression,
    ExpressionSyntaxError,
    PackedStats,
    expression_value,
    parse_expression,
)
from saswot.proxies.expr.expression import random_expression
from saswot.search.statcache import arch_stats_from_netstats
from saswot.errors import UnknownNameError
from saswot.proxies.measures.saswot_minus import saswot_minus_count
from saswot.proxies._stats import collect_stats


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _tiny_net(seed: int, width: int = 4) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(),
                         nn.Conv2d(width, 5, 1), nn.ReLU(), nn.Conv2d(5, 3, 3, padding=1))


def _batch() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return torch.randn(2, 3, 8, 8, generator=g), torch.randint(0, 3, (2, 8, 8), generator=g)


def test_round_trip_random_genomes() -> None:
    rng = np.random.default_rng(0)
    for depth in (1, 2, 3):
        for _ in range(200):
            e = random_expression(rng, depth)
            text = e.canonical()
            assert parse_expression(text) == e
            assert Expression.from_json(e.to_json()) == e
            assert parse_expression(text.replace(", ", " ,  ")) == e  # whitespace-insensitive


def test_saswot_minus_string_and_formula() -> None:
    assert SASWOT_MINUS.canonical() == "sum_layers(sum(lt(noop(softmax(W)), noop(relu(G)))))"
    assert SASWOT_MINUS.formula() == "Σ_layers Σ_elements [softmax(W) < relu(G)]"


def test_expression_is_immutable_and_hashable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        SASWOT_MINUS.binary = "gt"  # type: ignore[misc]
    assert len({SASWOT_MINUS, parse_expression(SASWOT_MINUS.canonical())}) == 1


@pytest.mark.parametrize("text", ["", "sum_layers(", "sum(lt(W, G))", "sum_layers(sum(lt(W)))",
                                  "sum_layers(sum(lt(W, G))) extra", "sum_layers(sum(lt(W; G)))"])
def test_malformed_strings_rejected(text: str) -> None:
    with pytest.raises(ExpressionSyntaxError):
        parse_expression(text)


@pytest.mark.parametrize("text", ["sum_layers(sum(lt(foo(W), G)))", "sum_layers(sum(nope(W, G)))",
                                  "sum_layers(sum(lt(X, G)))", "max_layers(sum(lt(W, G)))"])
def test_unknown_names_rejected(text: str) -> None:
    with pytest.raises(UnknownNameError):
        parse_expression(text)


def test_legality_on_shapes() -> None:
    layer = {"W": (4, 3, 3, 3), "G": (4, 3, 3, 3), "A": (2, 4, 16)}
    assert SASWOT_MINUS.is_legal([layer])
    bad = parse_expression("sum_layers(sum(add(noop(W), noop(A))))")  # (4,3,3,3) + (2,4,16)
    assert not bad.is_legal([layer])
    ok = parse_expression("sum_layers(mean(add(mean(W), noop(A))))")  # scalar broadcasts
    assert ok.is_legal([layer])


def test_saswot_minus_genome_equals_library_proxy() -> None:
    x, y = _batch()
    for seed in range(3):
        net = _tiny_net(seed)
        with torch.no_grad():  # sharpen the softmax so that some gradients exceed it
            for m in net.modules():
                if isinstance(m, nn.Conv2d):
                    m.weight.mul_(40.0)
        stats = collect_stats(net, x, y)
        expected = sum(saswot_minus_count(l.weight, l.grad) for l in stats.layers)
        got = expression_value(SASWOT_MINUS, stats)
        assert expected > 0
        assert got == pytest.approx(float(expected))


def test_packed_scores_equal_one_by_one() -> None:
    x, y = _batch()
    archs = [arch_stats_from_netstats(str(i), collect_stats(_tiny_net(i, 2 + i % 3), x, y)) for i in range(5)]
    packed = PackedStats(archs)
    rng = np.random.default_rng(3)
    checked = 0
    while checked < 15:
        e = random_expression(rng)
        if not e.is_legal(packed.layer_shapes()):
            continue
        together = packed.scores(e)
        alone = np.array([PackedStats([a]).scores(e)[0] for a in archs])
        np.testing.assert_allclose(together, alone, rtol=1e-5, equal_nan=True)
        checked += 1
