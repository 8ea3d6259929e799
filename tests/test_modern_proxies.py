"""Known-value tests of MeCo, ZiCo, SWAP and the AZ-NAS components on hand-built tensors and tiny nets."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from _tiny_nets import tiny_batch, tiny_model
from saswot.proxies import ScoringSettings
from saswot.config import ProxyBatch
from saswot.proxies import score_network
from saswot.proxies._featpass import primary_blocks
from saswot.proxies.measures.aznas import feature_entropy, progressivity, trainability
from saswot.proxies.measures.meco import min_correlation_eigenvalue
from saswot.proxies.measures.swap import VIEWS, count_distinct_patterns, pattern_codes, sample_views
from saswot.proxies.measures.zico import zico_from_grads
from saswot.spaces.tnb101.builder import build_network


def test_meco_eigenvalue_of_known_correlation() -> None:
    x = torch.tensor([1.0, -1.0, 1.0, -1.0])
    y = torch.tensor([1.0, 1.0, -1.0, -1.0])
    # corr(x, x + y) = 1 / sqrt(2): eigenvalues 1 -+ 1/sqrt(2)
    assert min_correlation_eigenvalue(torch.stack([x, x + y])) == pytest.approx(1 - 1 / math.sqrt(2))
    assert min_correlation_eigenvalue(torch.stack([x, y])) == pytest.approx(1.0)
    # three channels over two positions: singular by rank
    assert min_correlation_eigenvalue(torch.randn(3, 2)) == 0.0
    # a constant channel is uncorrelated with the rest (unit row)
    assert min_correlation_eigenvalue(torch.stack([x, y, torch.ones(4)])) == pytest.approx(1.0)
    assert math.isnan(min_correlation_eigenvalue(torch.randn(3, 1)))


def test_meco_through_an_identity_conv() -> None:
    conv = nn.Conv2d(2, 2, 1, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.eye(2).reshape(2, 2, 1, 1))
    x = torch.tensor([1.0, -1.0, 1.0, -1.0])
    y = torch.tensor([1.0, 1.0, -1.0, -1.0])
    images = torch.stack([x, x + y]).reshape(1, 2, 2, 2).repeat(2, 1, 1, 1)
    images[1] = torch.randn(2, 2, 2)  # only the first image counts
    labels = torch.zeros(2, 2, 2, dtype=torch.long)
    s = score_network(conv, images, labels, ["meco"], ScoringSettings(ProxyBatch(num_classes=2)))["meco"]
    assert s == pytest.approx(1 - 1 / math.sqrt(2))


def test_zico_known_values() -> None:
    layer1 = ([torch.tensor([1.0, 2.0])], [torch.tensor([3.0, 2.0])])  # element 1: 2 / 1; element 2: std 0
    layer2 = ([torch.tensor([-1.0])], [torch.tensor([1.0])])  # mean|g| 1, std 1 -> log 1 = 0
    per_batch = [layer1[0] + layer2[0], layer1[1] + layer2[1]]
    assert zico_from_grads(per_batch) == pytest.approx(math.log(2.0))
    three = [[torch.tensor([1.0])], [torch.tensor([2.0])], [torch.tensor([3.0])]]
    assert zico_from_grads(three) == pytest.approx(math.log(2.0 / math.sqrt(2.0 / 3.0)), rel=1e-6)


def test_zico_is_finite_on_a_tiny_net_and_needs_two_images() -> None:
    x, y = tiny_batch()
    assert math.isfinite(score_network(tiny_model(), x, y, ["zico"], ScoringSettings(ProxyBatch(num_classes=5)))["zico"])
    with pytest.raises(Exception, match="at least 2"):
        score_network(tiny_model(), x[:1], y[:1], ["zico"], ScoringSettings(ProxyBatch(num_classes=5)))


def test_swap_counts_distinct_sample_wise_patterns() -> None:
    pre = torch.tensor([[1.0, -1.0, 1.0, 1.0], [-1.0, -1.0, 1.0, 1.0], [1.0, 1.0, -1.0, -1.0]])
    codes = pattern_codes(pre)  # units: (1,0,1) (0,0,1) (1,1,0) (1,1,0)
    assert codes.tolist() == [5, 4, 3, 3]
    assert count_distinct_patterns([codes]) == 3
    assert count_distinct_patterns([codes, torch.tensor([3, 7])]) == 4
    assert count_distinct_patterns([]) == 0


def test_swap_views_and_bound() -> None:
    x, y = tiny_batch(n=2)
    views = sample_views(x)
    assert views.shape == (VIEWS * 2, *x.shape[1:])
    assert torch.equal(views[:2], x) and torch.equal(views[2:4], x.flip(-1))
    s = score_network(tiny_model(), x, y, ["swap"], ScoringSettings(ProxyBatch(num_classes=5)))["swap"]
    units = 6 * 8 * 8 + 6 * 4 * 4  # inputs of the ReLU and the LeakyReLU of TinySeg
    assert 1 <= s <= min(units, 2 ** (VIEWS * 2))


def test_az_expressivity_entropy_of_known_spectra() -> None:
    c = 4
    eye = torch.eye(c)
    iso = torch.cat([eye, -eye]).reshape(2 * c, c, 1, 1)  # covariance 2I/... : uniform spectrum
    assert feature_entropy(iso) == pytest.approx(math.log(c))
    rank_one = torch.randn(10, 1) * torch.ones(1, c)
    assert feature_entropy(rank_one.reshape(10, c, 1, 1)) == pytest.approx(0.0, abs=1e-6)
    assert feature_entropy(torch.zeros(3, c, 2, 2)) == 0.0


def test_az_progressivity_and_trainability() -> None:
    assert progressivity([1.0, 3.0, 2.5]) == pytest.approx(-0.5)
    assert math.isnan(progressivity([1.0]))
    assert trainability([2.0, 1.0]) == pytest.approx(-0.5)  # sigma 2: -2 - 1/2 + 2
    assert trainability([1.0, 1.0, 1.0]) == 0.0
    assert math.isnan(trainability([0.0, 1.0]))


def test_primary_blocks_of_a_tnb_network() -> None:
    net = build_network("(1, 2, 0, 3, 1, 2)", 17, seed=0)
    blocks = primary_blocks(net)
    cells = len(net.encoder.layers)
    assert len(blocks) == 1 + cells + len(net.decoder.layers)  # stem's last unit, cells, decoder layers
    assert all(b in blocks for b in net.encoder.layers)


def test_az_components_share_one_pass() -> None:
    x, y = tiny_batch()
    model = tiny_model()
    names = ["az_expressivity", "az_progressivity", "az_trainability", "az_complexity"]
    together = score_network(model, x, y, names, ScoringSettings(ProxyBatch(num_classes=5)))
    for n in names:
        assert score_network(model, x, y, [n], ScoringSettings(ProxyBatch(num_classes=5)))[n] == pytest.approx(together[n], rel=1e-9)
    assert together["az_complexity"] == score_network(model, x, y, ["flops"], ScoringSettings(ProxyBatch(num_classes=5)))["flops"]
