"""Tests of the one-pass statistics collector."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from _tiny_nets import TinySeg, tiny_batch, tiny_model
from saswot.proxies._stats import collect_stats, find_classifier, seg_loss


def test_layers_in_forward_order_with_shapes() -> None:
    model = tiny_model()
    x, y = tiny_batch()
    st = collect_stats(model, x, y, need_features=True, num_classes=5)
    assert [l.name for l in st.layers] == ["c1", "c2", "classifier"]
    for layer, mod in zip(st.layers, [model.c1, model.c2, model.classifier]):
        assert layer.kind == "conv"
        assert layer.weight.shape == mod.weight.shape == layer.grad.shape
        assert layer.act.shape[:2] == (4, mod.out_channels)
        assert layer.fisher is not None and layer.fisher.shape == (mod.out_channels,)
    assert st.layers[0].fan_in == 3 * 9
    assert st.input_grad is not None and st.input_grad.shape == x.shape
    assert st.features is not None and st.features.shape == (4, 6, 4, 4)
    assert st.logits_shape == (4, 5, 4, 4)
    assert st.relu_modules == 2  # ReLU and LeakyReLU
    assert st.nwot_kernel is not None and st.nwot_kernel.dtype == torch.float64


def test_grads_match_plain_backward_and_loss_upsamples() -> None:
    model = tiny_model()
    x, y = tiny_batch()
    st = collect_stats(model, x, y)
    ref = tiny_model()
    ref.train()
    ref.drop.eval()
    loss = seg_loss(ref(x), y)
    loss.backward()
    assert math.isclose(st.loss, float(loss.detach()), rel_tol=1e-6)
    assert torch.allclose(st.layers[1].grad, ref.c2.weight.grad, atol=1e-7)


def test_activation_subsampling_is_bounded_and_fixed() -> None:
    model = tiny_model()
    x, y = tiny_batch(size=16)
    a = collect_stats(model, x, y, act_max_elems=24, need_nwot=False, need_input_grad=False)
    b = collect_stats(model, x, y, act_max_elems=24, need_nwot=False, need_input_grad=False)
    assert a.layers[0].act.shape == (4, 6, 4)  # 24 // 6 spatial positions of 256
    assert torch.equal(a.layers[0].act, b.layers[0].act)


def test_caller_model_untouched() -> None:
    model = tiny_model().eval()
    calls = []
    handle = model.c1.register_forward_hook(lambda *a: calls.append(1))
    model.c2.weight.grad = torch.ones_like(model.c2.weight)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    collect_stats(model, *tiny_batch())
    assert not model.training
    assert calls == []  # the caller's hook never saw the statistics pass
    assert torch.equal(model.c2.weight.grad, torch.ones_like(model.c2.weight))
    assert model.c1.weight.grad is None
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert len(model.c1._forward_hooks) == 1
    handle.remove()


def test_tuple_output_uses_main_logits() -> None:
    x, y = tiny_batch()
    a = collect_stats(tiny_model(aux=True), x, y)
    b = collect_stats(tiny_model(aux=False), x, y)
    assert a.loss == pytest.approx(b.loss)


def test_nwot_kernel_hand_computed() -> None:
    """One ReLU whose input codes are c1=[1,0,1,1], c2=[1,1,0,0], c3=[0,0,0,1]."""

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.relu = nn.ReLU()
            self.classifier = nn.Conv2d(2, 3, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.classifier(self.relu(x))

    codes = torch.tensor([[1, 0, 1, 1], [1, 1, 0, 0], [0, 0, 0, 1]], dtype=torch.float32)
    x = (codes * 2 - 1).reshape(3, 2, 1, 2)  # 1 -> +1, 0 -> -1
    y = torch.zeros(3, 1, 2, dtype=torch.long)
    st = collect_stats(Net(), x, y)
    expected = torch.tensor([[4, 1, 2], [1, 4, 1], [2, 1, 4]], dtype=torch.float64)
    assert torch.equal(st.nwot_kernel, expected)


def test_find_classifier_fallback() -> None:
    net = nn.Sequential(nn.Conv2d(3, 4, 1), nn.ReLU(), nn.Conv2d(4, 7, 1))
    assert find_classifier(net, 7) is net[2]
    with pytest.raises(ValueError):
        find_classifier(net, 9)
    assert isinstance(TinySeg().classifier, nn.Conv2d)


def test_prepare_copy_can_share_weight_storage_without_sharing_parameters() -> None:
    from saswot.proxies._stats import prepare_copy

    model = tiny_model(seed=6)
    model.c1.weight.requires_grad_(False)  # a frozen layer stays frozen in the caller
    calls: list[int] = []
    model.c1.register_forward_hook(lambda *_: calls.append(1))
    net = prepare_copy(model, share_weights=True)
    assert net.c1.weight.data_ptr() == model.c1.weight.data_ptr()  # no data copy
    assert net.c1.weight is not model.c1.weight and net.c1.weight.requires_grad
    assert not model.c1.weight.requires_grad
    assert net.b1.running_mean.data_ptr() != model.b1.running_mean.data_ptr()  # buffers are private
    net(torch.randn(2, 3, 16, 16))
    assert calls == []  # the caller's hooks are not copied
    private = prepare_copy(model)
    assert private.c1.weight.data_ptr() != model.c1.weight.data_ptr()


def test_tune_malloc_is_accepted_by_glibc() -> None:
    import platform

    from saswot.runtime.allocator import tune_malloc

    result = tune_malloc()
    assert isinstance(result, bool)
    if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
        assert result


def test_collect_on_exit_frees_the_blocks_cycles_and_respects_an_outer_freeze() -> None:
    import gc
    import weakref

    from saswot.runtime.allocator import collect_on_exit

    class Node:
        pass

    gc.unfreeze()
    alive = [object()]
    with collect_on_exit():
        assert gc.get_freeze_count() >= len(alive)  # older objects are skipped by collections
        node = Node()
        node.self_ref = node  # a reference cycle, as hook closures make
        dead = weakref.ref(node)
        del node
        assert dead() is not None
    assert dead() is None  # collected on exit
    assert gc.get_freeze_count() == 0
    gc.freeze()
    try:
        outer = gc.get_freeze_count()
        with collect_on_exit():
            pass
        assert gc.get_freeze_count() >= outer  # the caller's freeze is left in place
    finally:
        gc.unfreeze()
