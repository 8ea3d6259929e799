"""grasp on networks without a double backward (MobileNetV3-style hardswish / hardsigmoid)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from saswot.config import ProxyBatch
from saswot.proxies import ScoringSettings, score_network_detailed
from saswot.proxies.measures.grasp import grasp_finite_difference, grasp_own_pass
from saswot.proxies._stats import prepare_copy

S4 = ScoringSettings(ProxyBatch(num_classes=4))


class SoftHardswish(nn.Module):
    """hardswish written with clamp: the same values, and a double backward."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return x * torch.clamp(x + 3.0, 0.0, 6.0) / 6.0


class SoftHardsigmoid(nn.Module):
    """hardsigmoid written with clamp: the same values, and a double backward."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return torch.clamp(x + 3.0, 0.0, 6.0) / 6.0


class MobileSeg(nn.Module):
    """conv-BN-hardswish, a squeeze-excitation gate with hardsigmoid, a 1x1 classifier."""

    def __init__(self, act: type[nn.Module], gate: type[nn.Module], width: int = 6, classes: int = 4) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.BatchNorm2d(width), act())
        self.se_reduce = nn.Conv2d(width, 3, 1)
        self.se_expand = nn.Conv2d(3, width, 1)
        self.gate = gate()
        self.act = act()
        self.head = nn.Conv2d(width, classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        f = self.stem(x)
        s = self.gate(self.se_expand(self.act(self.se_reduce(f.mean((2, 3), keepdim=True)))))
        return self.head(f * s)


def _pair(seed: int = 0) -> tuple[nn.Module, nn.Module]:
    torch.manual_seed(seed)
    hard = MobileSeg(nn.Hardswish, nn.Hardsigmoid)
    soft = MobileSeg(SoftHardswish, SoftHardsigmoid)
    soft.load_state_dict(hard.state_dict())
    return hard, soft


def _batch(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(2, 3, 8, 8, generator=g), torch.randint(0, 4, (2, 8, 8), generator=g)


def test_hardsigmoid_has_no_double_backward_so_the_fallback_is_needed() -> None:
    x = torch.randn(5, requires_grad=True)
    (g,) = torch.autograd.grad(torch.nn.functional.hardsigmoid(x * 2).sum(), x, create_graph=True)
    with pytest.raises(RuntimeError):
        torch.autograd.grad(g.sum(), x)


def test_grasp_on_a_mobilenetv3_style_network_matches_the_exact_value_of_its_twin() -> None:
    hard, soft = _pair()
    x, y = _batch()
    report = score_network_detailed(hard, x, y, ["grasp", "snip"], S4)
    assert not report.failed, report.failed
    exact = score_network_detailed(soft, x, y, ["grasp"], S4).scores["grasp"]
    assert math.isfinite(report.scores["grasp"]) and exact != 0.0
    assert report.scores["grasp"] == pytest.approx(exact, rel=1e-2, abs=1e-6)
    # the own-pass entry point takes the same fallback
    own = grasp_own_pass(prepare_copy(hard), x, y)
    assert own == pytest.approx(exact, rel=1e-2, abs=1e-6)


def test_the_finite_difference_product_matches_the_double_backward_on_a_smooth_network() -> None:
    torch.manual_seed(1)
    net = nn.Sequential(nn.Conv2d(3, 5, 3, padding=1), nn.Tanh(), nn.Conv2d(5, 5, 3, padding=1), nn.GELU(), nn.Conv2d(5, 4, 1))
    x, y = _batch(1)
    exact = grasp_own_pass(prepare_copy(net), x, y)
    numeric = grasp_finite_difference(prepare_copy(net), x, y)
    assert numeric == pytest.approx(exact, rel=1e-2)


def test_the_fallback_leaves_the_callers_network_untouched() -> None:
    hard, _ = _pair(2)
    before = {k: v.clone() for k, v in hard.state_dict().items()}
    x, y = _batch(2)
    score_network_detailed(hard, x, y, ["grasp"], S4)
    for k, v in hard.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert all(p.grad is None for p in hard.parameters())
