"""Tests of the proxy registry, every registered proxy, known values and AVT."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from _tiny_nets import tiny_batch, tiny_model
from saswot.config import ProxyBatch
from saswot.errors import ScoreError, UnknownNameError
from saswot.proxies import (
    REGISTRY,
    SENTINEL,
    ProxyContext,
    ProxyRegistry,
    ProxySpec,
    ScoringSettings,
    Stat,
    resolve_proxies,
    resolve_proxy,
    score_network,
    score_network_detailed,
)
from saswot.proxies._avt import AVTStats, avt_normalise, calibrate_avt
from saswot.proxies._score import calibrate_avt_from_models
from saswot.proxies.measures.epe_nas import image_labels
from saswot.proxies.measures.jacov import jacov_from_jacobian
from saswot.proxies.measures.saswot_minus import saswot_minus_count
from saswot.proxies._stats import LayerStats, NetStats

EXPECTED = {
    "fisher", "flops", "grad_norm", "grasp", "epe_nas", "jacov", "nwot", "params",
    "snip", "synflow", "zen", "l2_norm", "plain", "saswot_minus", "saswot",
}
AVT = AVTStats({"saswot_minus": (0.0, 100.0), "nwot": (0.0, 40.0)})
#: Settings of the tiny networks (5 classes), with and without AVT statistics.
S5 = ScoringSettings(ProxyBatch(num_classes=5))
S5_AVT = ScoringSettings(ProxyBatch(num_classes=5), avt=AVT)


def _score(name: str, model: nn.Module, seed: int = 0) -> float:
    x, y = tiny_batch(seed=seed)
    return score_network(model, x, y, [name], S5_AVT)[name]


def test_registry_has_every_issue_proxy() -> None:
    assert EXPECTED <= set(REGISTRY.names())
    assert REGISTRY.get("synflow").requires == frozenset()  # its own pass
    assert REGISTRY.get("grasp").requires == {Stat.GRAD_GRAPH}
    assert REGISTRY.get("params").requires == {Stat.COUNTS}
    saswot = REGISTRY.get("saswot")
    assert saswot.needs_avt and saswot.avt_terms == ("saswot_minus", "nwot")
    assert saswot.requires == {Stat.LAYERS, Stat.NWOT_KERNEL}  # inherited from its terms


@pytest.mark.parametrize("name", sorted(REGISTRY.names()))
def test_every_proxy_finite_deterministic_and_model_untouched(name: str) -> None:
    spec = REGISTRY.get(name)
    model = tiny_model().eval()
    model.c1.weight.grad = torch.full_like(model.c1.weight, 0.5)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    calls: list[int] = []
    model.c2.register_forward_hook(lambda *a: calls.append(1))
    a = _score(name, model)
    b = _score(name, model)
    assert math.isfinite(a) and a != SENTINEL, f"{name} gave {a}"
    assert a == pytest.approx(b, rel=1e-9, abs=1e-12)
    assert not model.training
    assert calls == []
    assert torch.equal(model.c1.weight.grad, torch.full_like(model.c1.weight, 0.5))
    assert model.c2.weight.grad is None
    assert len(model.c2._forward_hooks) == 1
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), f"{name} changed {k}"


def test_shared_pass_gives_same_values_as_separate_calls() -> None:
    x, y = tiny_batch()
    model = tiny_model()
    together = score_network(model, x, y, ["snip", "nwot", "jacov", "saswot"], S5_AVT)
    for name, value in together.items():
        assert score_network(model, x, y, [name], S5_AVT)[name] == pytest.approx(value, rel=1e-9)


def test_registry_rejects_duplicates_and_unknown_names() -> None:
    reg = ProxyRegistry()

    @reg.register("one", requires=())
    def one(ctx: ProxyContext) -> float:
        """Always one."""
        return 1.0

    assert reg.get("one").description == "Always one."
    with pytest.raises(ValueError, match="already registered"):
        reg.register("one")(one)
    with pytest.raises(UnknownNameError, match="Valid proxies"):
        resolve_proxy("no_such_proxy")
    with pytest.raises(UnknownNameError):
        resolve_proxies("")
    assert [s.name for s in resolve_proxies("snip,nwot,snip")] == ["snip", "nwot"]
    assert len(resolve_proxies("all")) == len(REGISTRY)


def test_params_flops_l2_norm_known_values() -> None:
    model = tiny_model()
    with torch.no_grad():
        for m in (model.c1, model.c2, model.classifier):
            m.weight.fill_(0.5)
    x, y = tiny_batch(size=8)
    s = score_network(model, x, y, ["params", "flops", "l2_norm"], S5)
    n_params = (3 * 6 * 9) + 12 + (6 * 6 * 9 + 6) + 12 + (6 * 5 + 5)
    assert s["params"] == pytest.approx(n_params / 1e6)
    # MACs: c1 8x8, c2 4x4 (+bias), classifier 4x4 (+bias); BN 2*numel; ReLU/LeakyReLU numel
    conv = 9 * 3 * 6 * 64 + (9 * 6 * 6 * 16 + 6 * 16) + (6 * 5 * 16 + 5 * 16)
    other = 2 * 6 * 64 + 6 * 64 + 2 * 6 * 16 + 6 * 16
    assert s["flops"] == pytest.approx((conv + other) / 1e6)
    l2 = sum(0.5 * math.sqrt(m.weight.numel()) for m in (model.c1, model.c2, model.classifier))
    assert s["l2_norm"] == pytest.approx(l2)


def _ctx_with_layers(layers: list[LayerStats]) -> ProxyContext:
    ctx = ProxyContext(
        model=nn.Identity(), images=torch.zeros(2, 3, 2, 2), labels=torch.zeros(2, 2, 2), settings=ScoringSettings(ProxyBatch(num_classes=2))
    )
    ctx._stats = NetStats(layers=layers, nwot_kernel=None, input_grad=None, features=None, logits_shape=(), loss=0.0)
    return ctx


def test_saswot_minus_toy() -> None:
    w = torch.zeros(2, 3)  # softmax along dim 0 -> 0.5 everywhere
    g = torch.tensor([[0.6, 0.4, -1.0], [0.7, 0.5, 0.51]])
    assert saswot_minus_count(w, g) == 3
    layer = LayerStats("l", "linear", w, g, torch.zeros(2, 2))
    ctx = _ctx_with_layers([layer, layer])
    assert REGISTRY.get("saswot_minus_v1").fn(ctx) == 6.0  # previous reading; the shipped one: test_saswot_minus.py
    # snip/plain/grad_norm on the same toy
    assert REGISTRY.get("snip").fn(_ctx_with_layers([LayerStats("l", "linear", torch.ones(2, 3), g, torch.zeros(1))])) == pytest.approx(
        float(g.abs().sum())
    )


def test_saswot_combines_avt_normalised_terms() -> None:
    x, y = tiny_batch()
    model = tiny_model()
    s = score_network(model, x, y, ["saswot", "saswot_minus", "nwot"], S5_AVT)
    assert s["saswot"] == pytest.approx(s["saswot_minus"] / 100.0 + s["nwot"] / 40.0)
    with pytest.raises(ScoreError, match="AVT"):
        score_network(model, x, y, ["saswot"], S5)


def test_avt_calibration_and_roundtrip(tmp_path) -> None:
    stats = calibrate_avt({"a": [1.0, 3.0, float("nan"), SENTINEL], "b": [0.0, 10.0]}, {"note": "x"})
    assert stats.ranges == {"a": (1.0, 3.0), "b": (0.0, 10.0)}
    assert stats.meta["excluded"] == {"a": 2, "b": 0}
    assert avt_normalise(2.0, "a", stats) == 0.5
    assert avt_normalise(5.0, "a", stats) == 2.0  # not clipped
    path = stats.write(tmp_path / "avt.json")
    assert AVTStats.read(path).ranges == stats.ranges
    with pytest.raises(ScoreError):
        calibrate_avt({"a": [1.0, 1.0]})
    with pytest.raises(ScoreError):
        avt_normalise(1.0, "zzz", stats)
    with pytest.raises(UnknownNameError):
        AVTStats.load("no-such-space")
    x, y = tiny_batch()
    items = [(tiny_model(seed=s), x, y) for s in range(3)]
    from_models = calibrate_avt_from_models(items, S5, proxies=("nwot", "snip"))
    assert set(from_models.ranges) == {"nwot", "snip"}
    assert from_models.meta["n"] == 3


def test_nan_becomes_sentinel_and_is_reported() -> None:
    reg_name = "test_always_nan"  # a spec object, not registered: the global registry stays clean
    spec = ProxySpec(name=reg_name, fn=lambda ctx: float("nan"), requires=())
    x, y = tiny_batch()
    rep = score_network_detailed(tiny_model(), x, y, [spec, "l2_norm"], S5)
    assert rep.scores[reg_name] == SENTINEL
    assert reg_name in rep.failed and "l2_norm" not in rep.failed


def test_jacov_and_epe_helpers() -> None:
    jac = torch.eye(3).numpy()
    # corrcoef of the identity rows: 1 on diagonal, -0.5 elsewhere -> eigenvalues 0, 1.5, 1.5
    k = 1e-5
    expected = -sum(math.log(l + k) + 1 / (l + k) for l in (0.0, 1.5, 1.5))
    assert jacov_from_jacobian(jac) == pytest.approx(expected, rel=1e-6)
    assert math.isnan(jacov_from_jacobian(torch.ones(3, 4).numpy()))  # constant rows
    labels = torch.tensor([[[1, 1], [2, 255]], [[255, 255], [255, 255]]])
    assert image_labels(labels, 5).tolist() == [1, -1]


def test_grasp_on_the_shared_graph_equals_its_own_double_backward_pass() -> None:
    from saswot.proxies.measures.grasp import grasp_own_pass
    from saswot.proxies._stats import prepare_copy

    model = tiny_model(seed=3)
    x, y = tiny_batch(seed=3)
    shared = score_network(model, x, y, ["grasp", "snip", "jacov"], S5)["grasp"]
    own = grasp_own_pass(prepare_copy(model), x, y)
    assert shared == pytest.approx(own, rel=1e-9, abs=1e-12)
    # a context without the graph (stats already collected without it) falls back to the own pass
    ctx = ProxyContext(model=model, images=x, labels=y, settings=S5, requires=frozenset({Stat.LAYERS}))
    assert ctx.stats.extra == {}
    assert REGISTRY.get("grasp").fn(ctx) == pytest.approx(own, rel=1e-9, abs=1e-12)


def test_synflow_identity_batchnorm_equals_removing_batchnorm() -> None:
    from saswot.proxies.measures.synflow import _strip_bn
    from saswot.proxies._stats import prepare_copy

    model = tiny_model(seed=4)
    x, y = tiny_batch(seed=4)
    with torch.no_grad():  # non-trivial BN statistics and affine parameters must not matter
        model.b1.running_mean.fill_(3.0)
        model.b1.running_var.fill_(7.0)
        model.b2.weight.fill_(-2.0)
    ctx = ProxyContext(model=model, images=x, labels=y, settings=S5)
    value = REGISTRY.get("synflow").fn(ctx)
    stripped = prepare_copy(model)
    _strip_bn(stripped)
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in stripped.modules())
    removed = REGISTRY.get("synflow").fn(ProxyContext(model=stripped, images=x, labels=y, settings=S5))
    assert value == pytest.approx(removed, rel=1e-6)
    work = ctx.work_copy()  # the shared copy is left as it was: BN in train mode, eps restored
    assert work.b1.training and work.b1.eps == model.b1.eps
    assert torch.equal(work.c1.weight, model.c1.weight)


class _AddConstant(nn.Module):
    """x + c: an additive constant that is not a bias, so the network is not homogeneous."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + 1.0


def _overflowing_net(extra: nn.Module | None = None) -> nn.Sequential:
    """16 conv layers multiplying the all-ones signal by ~960 each (float32 overflows > 3.4e38),
    with biases, ReLUs, an average pool and an upsampling (all positively homogeneous)."""
    layers: list[nn.Module] = [nn.Conv2d(3, 64, 1), nn.ReLU()]
    for i in range(15):
        layers += [nn.Conv2d(64, 64, 1, bias=i % 2 == 0), nn.ReLU()]
        if i == 3:
            layers += [nn.AvgPool2d(2), nn.Upsample(scale_factor=2, mode="bilinear")]
        if i == 5 and extra is not None:
            layers.append(extra)
    net = nn.Sequential(*layers, nn.Conv2d(64, 5, 1))
    with torch.no_grad():
        for m in net:
            if isinstance(m, nn.Conv2d):
                m.weight.fill_(15.0)
                if m.bias is not None:
                    m.bias.fill_(-0.5)  # |b| = 0.5 in the synflow pass
    return net


def _synflow_with_passes(net: nn.Module) -> tuple[float, list[tuple[torch.dtype, int]]]:
    """synflow of ``net`` and the (dtype, scale exponent) of every pass it ran."""
    from saswot.proxies.measures.synflow import synflow_sum

    x, y = tiny_batch()
    passes: list[tuple[torch.dtype, int]] = []
    raw = synflow_sum(ProxyContext(model=net, images=x, labels=y, settings=S5), passes)
    value = REGISTRY.get("synflow").fn(ProxyContext(model=net, images=x, labels=y, settings=S5))
    assert value == math.log(raw)
    return value, passes


def _synflow_float64(net: nn.Module) -> float:
    from saswot.proxies.measures.synflow import _abs_tensors, _synflow_pass

    x, y = tiny_batch()
    ctx = ProxyContext(model=net, images=x, labels=y, settings=S5)
    return _synflow_pass(net, _abs_tensors(net, torch.float64), ctx, torch.float64)[1]


def test_synflow_scaled_float32_equals_float64_when_float32_overflows() -> None:
    from saswot.proxies.measures.synflow import _abs_tensors, _synflow_pass

    net = _overflowing_net()
    x, y = tiny_batch()
    ctx = ProxyContext(model=net, images=x, labels=y, settings=S5)
    r32, total32 = _synflow_pass(net, _abs_tensors(net, torch.float32), ctx, torch.float32)
    assert math.isinf(r32) and math.isinf(total32)  # the plain float32 pass overflows
    expected = _synflow_float64(net)
    assert math.log(expected) > math.log(3.4e38) + 20
    value, calls = _synflow_with_passes(net)
    assert value == pytest.approx(math.log(expected), abs=1e-5)  # float32: 1e-5 relative on the raw sum
    assert all(dtype == torch.float32 for dtype, _ in calls)  # no float64 pass was needed
    assert any(k > 0 for _, k in calls)


def test_synflow_strips_batchnorm_without_running_statistics() -> None:
    from saswot.proxies.measures.synflow import _strip_bn
    from saswot.proxies._stats import prepare_copy

    model = tiny_model(seed=8)
    model.b1 = nn.BatchNorm2d(model.b1.num_features, track_running_stats=False)  # no running stats
    x, y = tiny_batch(seed=8)
    value = REGISTRY.get("synflow").fn(ProxyContext(model=model, images=x, labels=y, settings=S5))
    stripped = prepare_copy(model)
    _strip_bn(stripped)
    removed = REGISTRY.get("synflow").fn(ProxyContext(model=stripped, images=x, labels=y, settings=S5))
    assert math.isfinite(value) and value == pytest.approx(removed, rel=1e-12)
    assert isinstance(model.b1, nn.BatchNorm2d)  # the caller's model keeps its BatchNorm


def test_synflow_scaling_is_exact_where_float32_does_not_overflow() -> None:
    from saswot.proxies.measures.synflow import _BN, _abs_tensors, _identity_batchnorm, _synflow_pass

    model = tiny_model(seed=5)
    x, y = tiny_batch(seed=5)
    ctx = ProxyContext(model=model, images=x, labels=y, settings=S5)
    net = ctx.work_copy()
    tensors = _abs_tensors(net, torch.float32)
    with _identity_batchnorm([m for m in net.modules() if isinstance(m, _BN)]):
        plain = _synflow_pass(net, tensors, ctx, torch.float32)
        for k in (7, 40):  # powers of two scale every value exactly
            assert _synflow_pass(net, tensors, ctx, torch.float32, scale_exp=k) == plain


def test_synflow_falls_back_to_float64_for_a_non_homogeneous_network() -> None:
    net = _overflowing_net(extra=_AddConstant())
    value, calls = _synflow_with_passes(net)
    assert calls[-1] == (torch.float64, 0)  # the homogeneity check rejected the scaled pass
    assert value == pytest.approx(math.log(_synflow_float64(net)), rel=1e-12)


def test_zen_gaussian_init_does_not_depend_on_the_number_of_threads() -> None:
    from saswot.proxies.measures.zen import gaussian_tensors

    model = tiny_model(seed=7)
    serial = gaussian_tensors(model, 3, model, workers=1)
    parallel = gaussian_tensors(model, 3, model, workers=3)
    assert serial.keys() == parallel.keys()
    assert all(torch.equal(serial[k], parallel[k]) for k in serial)
    assert not torch.equal(serial["c2.weight"].flatten()[:8], serial["classifier.weight"].flatten()[:8])
    other_seed = gaussian_tensors(model, 4, model)
    assert not torch.equal(serial["c1.weight"], other_seed["c1.weight"])
    assert torch.equal(model.c1.weight, tiny_model(seed=7).c1.weight)  # the model is not modified
