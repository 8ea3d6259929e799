"""SasWOT- readings: softmax axes, loss scaling, reductions, and the shipped reading, by hand."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from saswot.config import ProxyBatch
from saswot.errors import UnknownNameError
from saswot.proxies import REGISTRY, ProxyContext, ScoringSettings, score_network
from saswot.proxies.measures.saswot_minus import (
    AXES,
    PAPER_READING,
    V1_READING,
    Reading,
    aggregate,
    all_readings,
    count_table,
    layer_count,
    reading_value,
    saswot_minus_variant,
    valid_pixels,
    weight_softmax,
)
from saswot.proxies._stats import LayerStats, NetStats, collect_stats


def _linear_net() -> nn.Module:
    """Linear(3 -> 2), no bias, W = 0: every softmax of W is uniform over its axis."""
    net = nn.Linear(3, 2, bias=False)
    with torch.no_grad():
        net.weight.zero_()
    return net


def _batch() -> tuple[torch.Tensor, torch.Tensor]:
    """Three inputs; the third label is ignored, so 2 labels are valid.

    With W = 0 the class probabilities are (1/2, 1/2), so dL/dW (cross entropy, mean over the 2
    valid labels) = ((p - e_0) x_1^T + (p - e_1) x_2^T) / 2
    = ([[-.5, -1, 0], [.5, 1, 0]] + [[1.5, 0, .5], [-1.5, 0, -.5]]) / 2
    = [[.5, -.5, .25], [-.5, .5, -.25]]; the sum-reduced gradient is twice that.
    """
    x = torch.tensor([[1.0, 2.0, 0.0], [3.0, 0.0, 1.0], [5.0, 5.0, 5.0]])
    y = torch.tensor([0, 1, 255])
    return x, y


#: Hand-computed counts on the linear net. softmax(0) is 1/2 along dim 0, 1/3 along dim 1 / the
#: last dim / the filter, 1/6 over the flattened tensor. mean: G = [[.5,-.5,.25],[-.5,.5,-.25]];
#: sum: 2G = [[1,-1,.5],[-1,1,-.5]]; strict "<" (0.5 < 0.5 is false).
HAND_COUNTS = {
    ("dim0", "mean"): 0,  # 1/2 < G nowhere
    ("dim1", "mean"): 2,  # 1/3 < .5 twice
    ("last", "mean"): 2,
    ("filter", "mean"): 2,
    ("flat", "mean"): 3,  # 1/6 < .5, .5, .25
    ("dim0", "sum"): 2,  # 1/2 < 1 twice
    ("dim1", "sum"): 3,  # 1/3 < 1, 1, .5
    ("last", "sum"): 3,
    ("filter", "sum"): 3,
    ("flat", "sum"): 3,
}


def test_gradient_of_the_hand_example() -> None:
    x, y = _batch()
    stats = collect_stats(_linear_net(), x, y, need_input_grad=False, need_nwot=False)
    assert valid_pixels(y) == 2
    assert torch.equal(stats.layers[0].grad, torch.tensor([[0.5, -0.5, 0.25], [-0.5, 0.5, -0.25]]))


@pytest.mark.parametrize("reading", all_readings(), ids=lambda r: r.key)
def test_every_reading_on_the_tiny_network(reading: Reading) -> None:
    x, y = _batch()
    count = HAND_COUNTS[(reading.axis, reading.loss)]
    expected = count / 6 if reading.per_layer == "fraction" else float(count)  # one layer: sum == mean
    spec = saswot_minus_variant(reading.key)
    assert spec.name == f"saswot_minus[{reading.key}]"
    assert score_network(_linear_net(), x, y, [spec], ScoringSettings(ProxyBatch(num_classes=2)))[spec.name] == pytest.approx(expected)


def test_shipped_reading_on_the_tiny_network() -> None:
    """The registered proxies: saswot_minus (the study's reading) and saswot_minus_v1."""
    x, y = _batch()
    s = score_network(_linear_net(), x, y, ["saswot_minus", "saswot_minus_v1"], ScoringSettings(ProxyBatch(num_classes=2)))
    assert PAPER_READING == Reading("filter", "mean", "count", "sum")
    assert s["saswot_minus"] == 2.0  # softmax over each row (filter) of 0 is 1/3 < G = .5 twice
    assert V1_READING == Reading("dim0", "mean", "count", "sum")
    assert s["saswot_minus_v1"] == 0.0  # the previous default: 1/2 < G nowhere
    assert REGISTRY.get("saswot_minus").cache_key != REGISTRY.get("saswot_minus_v1").cache_key
    assert REGISTRY.get("saswot_minus_v1").cache_key == "saswot_minus"  # old cached scores stay valid


def test_weight_softmax_axes() -> None:
    w = torch.arange(24, dtype=torch.float32).reshape(2, 3, 2, 2) / 10
    ones = {
        "dim0": w.new_ones(3, 2, 2),
        "dim1": w.new_ones(2, 2, 2),
        "last": w.new_ones(2, 3, 2),
        "filter": w.new_ones(2),
        "flat": w.new_ones(()),
    }
    sums = {
        "dim0": weight_softmax(w, "dim0").sum(0),
        "dim1": weight_softmax(w, "dim1").sum(1),
        "last": weight_softmax(w, "last").sum(-1),
        "filter": weight_softmax(w, "filter").reshape(2, -1).sum(1),
        "flat": weight_softmax(w, "flat").sum(),
    }
    for axis in AXES:
        assert weight_softmax(w, axis).shape == w.shape
        assert torch.allclose(sums[axis], ones[axis])
    with pytest.raises(UnknownNameError):
        weight_softmax(w, "dim2")


def test_layer_count_scale_and_aggregation() -> None:
    w = torch.zeros(2, 3)
    g = torch.tensor([[0.6, 0.4, -1.0], [0.2, 0.3, 0.1]])
    assert layer_count(w, g, "dim0") == 1  # 1/2 < .6
    assert layer_count(w, g, "dim1") == 2  # 1/3 < .6, .4
    assert layer_count(w, g, "flat") == 4  # 1/6 < .6, .4, .2, .3
    assert layer_count(w, g, "dim0", scale=4.0) == 4  # 1/2 < 2.4, 1.6, .8, 1.2
    assert layer_count(w, g, "flat", scale=4.0) == 5
    assert aggregate([2, 3], [6, 4], "count", "sum") == 5.0
    assert aggregate([2, 3], [6, 4], "count", "mean") == 2.5
    assert aggregate([2, 3], [6, 4], "fraction", "sum") == pytest.approx(2 / 6 + 3 / 4)
    assert aggregate([2, 3], [6, 4], "fraction", "mean") == pytest.approx((2 / 6 + 3 / 4) / 2)
    assert aggregate([], [], "count", "sum") == 0.0


def test_count_table_matches_reading_value() -> None:
    from _tiny_nets import tiny_batch, tiny_model

    x, y = tiny_batch()
    stats = collect_stats(tiny_model(), x, y, need_input_grad=False, need_nwot=False)
    n = valid_pixels(y)
    table = count_table(stats.layers, n)
    numels = [layer.weight.numel() for layer in stats.layers]
    for r in all_readings():
        got = aggregate(table[f"{r.axis}/{r.loss}"], numels, r.per_layer, r.over_layers)
        assert got == reading_value(stats.layers, n, r)


def test_reading_parse_roundtrip_and_errors() -> None:
    for r in all_readings():
        assert Reading.parse(r.key) == r
    assert len({r.key for r in all_readings()}) == 40
    with pytest.raises(UnknownNameError):
        Reading.parse("dim0/mean/count")
    with pytest.raises(UnknownNameError):
        Reading("dim0", "median", "count", "sum")


def test_shipped_reading_two_layers_by_hand() -> None:
    """saswot_minus sums per-filter-softmax counts over layers; saswot_minus_v1 differs (dim 0)."""
    lin = LayerStats("a", "linear", torch.zeros(2, 3), torch.tensor([[0.6, 0.4, -1.0], [0.2, 0.3, 0.1]]), torch.zeros(1))
    conv_g = torch.tensor([0.3, 0.2, 0.26, -1.0]).reshape(1, 2, 1, 2)
    conv = LayerStats("b", "conv", torch.zeros(1, 2, 1, 2), conv_g, torch.zeros(1))
    ctx = ProxyContext(
        model=nn.Identity(), images=torch.zeros(2, 3, 2, 2), labels=torch.zeros(2, 2, 2), settings=ScoringSettings(ProxyBatch(num_classes=2))
    )
    ctx._stats = NetStats(layers=[lin, conv], nwot_kernel=None, input_grad=None, features=None, logits_shape=(), loss=0.0)
    # filter softmax: 1/3 per row of the linear W (< .6, .4 -> 2), 1/4 over the conv filter (< .3, .26 -> 2)
    assert REGISTRY.get("saswot_minus").fn(ctx) == 4.0
    # dim 0: 1/2 over the 2 rows (< .6 -> 1); the conv has one output channel, softmax 1 (-> 0)
    assert REGISTRY.get("saswot_minus_v1").fn(ctx) == 1.0
