"""The structural module clone behind prepare_copy(share_weights=True)."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import pytest
import torch
from torch import nn

from _tiny_nets import tiny_model
from saswot.runtime.module_clone import clone_sharing_weights, is_immutable
from saswot.proxies._stats import prepare_copy
from saswot.spaces.tnb101.builder import build_network
from saswot.spaces.tnb101.encoding import parse_arch


@dataclass(frozen=True)
class _Frozen:
    ops: tuple


@dataclass
class _Mutable:
    ops: tuple


def test_is_immutable_accepts_only_values_that_cannot_change() -> None:
    assert is_immutable((1, 2.0, "a", None, torch.float32, torch.Size([2]), (True,)))
    assert is_immutable(_Frozen(ops=(1, 2)))
    assert not is_immutable(_Frozen(ops=([1],)))  # frozen, but holds a list
    assert not is_immutable(_Mutable(ops=(1,)))
    assert not is_immutable([1, 2])
    assert not is_immutable(((1,), [2]))
    assert not is_immutable(torch.zeros(1))


@pytest.mark.parametrize("arch", ["64-41414-1_02_333", "64-1242-basic"])
def test_clone_of_a_tnb_network_matches_a_deep_copy(arch: str) -> None:
    model = build_network(parse_arch(arch), 17, seed=0)
    before = [b.clone() for b in model.buffers()]
    clone = clone_sharing_weights(model)
    assert clone is not None, "TNB networks are plain module trees"
    reference = copy.deepcopy(model)
    assert [n for n, _ in clone.named_modules()] == [n for n, _ in model.named_modules()]
    assert [type(m) for m in clone.modules()] == [type(m) for m in model.modules()]
    for (name, p), q in zip(model.named_parameters(), clone.parameters()):
        assert q is not p and q.data_ptr() == p.data_ptr(), name  # new leaf, same storage
    for b, c in zip(model.buffers(), clone.buffers()):
        assert c.data_ptr() != b.data_ptr() and torch.equal(b, c)  # private buffers
    x = torch.randn(2, 3, 32, 32)
    clone.train()
    reference.train()
    assert torch.equal(clone(x), reference(x))  # same computation, bit for bit
    for b, c, r in zip(before, clone.buffers(), reference.buffers()):
        assert torch.equal(c, r)  # the clone's statistics moved exactly like the deep copy's
    assert all(torch.equal(b, a) for b, a in zip(before, model.buffers()))  # the caller's did not move


def test_clone_keeps_ties_and_shared_modules() -> None:
    shared = nn.Linear(4, 4)
    net = nn.Sequential(shared, nn.ReLU(), shared, nn.Linear(4, 4))
    net[3].weight = net[0].weight  # tied weight
    clone = clone_sharing_weights(net)
    assert clone is not None
    assert clone[0] is clone[2] and clone[0] is not shared
    assert clone[3].weight is clone[0].weight


def test_clone_declines_trees_it_cannot_copy_exactly() -> None:
    class WithList(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 3, 1)
            self.history: list[int] = []  # mutable state: a shared list would leak into the caller

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            self.history.append(1)
            return self.conv(x)

    class WithTensor(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.scale = torch.ones(1)  # a plain tensor attribute, not a buffer

    assert clone_sharing_weights(WithList()) is None
    assert clone_sharing_weights(WithTensor()) is None
    assert clone_sharing_weights(nn.LSTM(3, 3)) is None  # RNNs customise their state
    model = WithList()
    copied = prepare_copy(model, share_weights=True)  # falls back to copy.deepcopy
    copied(torch.randn(1, 3, 4, 4))
    assert model.history == [] and copied.history == [1]
    assert copied.conv.weight.data_ptr() == model.conv.weight.data_ptr()


def test_prepare_copy_structural_and_deepcopy_paths_agree() -> None:
    model = tiny_model(seed=3)
    fast = prepare_copy(model, share_weights=True)
    slow = prepare_copy(model)
    x = torch.randn(2, 3, 16, 16)
    assert torch.equal(fast(x), slow(x))
    assert [n for n, _ in fast.named_parameters()] == [n for n, _ in slow.named_parameters()]
    assert all(p.requires_grad and p.grad is None for p in fast.parameters())
