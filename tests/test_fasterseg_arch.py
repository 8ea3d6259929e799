"""FasterSeg arch format, built-in student, builder shapes and cost counting."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from saswot.errors import CorruptDataError, DataNotFoundError, InvalidArchError, UnknownNameError
from saswot.spaces.fasterseg import FasterSegArch, build_network, load_arch, save_arch
from saswot.spaces.fasterseg.cost import arch_cost, count_conv_macs, count_params, meta_network
from saswot.spaces.fasterseg.decode import SpaceConfig, decode
from saswot.spaces.fasterseg.genome import sample_genome


def test_builtin_fasterseg_params_and_macs() -> None:
    arch = load_arch("fasterseg")
    cost = arch_cost(arch, (1024, 2048))
    assert cost.params_m == pytest.approx(3.42, rel=0.01)
    assert cost.gmacs == pytest.approx(27.8, rel=0.03)
    assert arch.shared_prefix() == 3
    assert [len(b.ops) for b in arch.branches] == [10, 9]
    net = build_network(arch, seed=0)
    assert count_params(net) == round(cost.params_m * 1e6)


def test_analytic_macs_match_hooks() -> None:
    rng = np.random.default_rng(3)
    archs = [load_arch("fasterseg")] + [decode(sample_genome(rng), SpaceConfig()) for _ in range(2)]
    for arch in archs:
        for res in [(64, 96), (45, 61)]:
            assert round(arch_cost(arch, res).gmacs * 1e9) == count_conv_macs(meta_network(arch), res)


@pytest.mark.parametrize("res", [(360, 480), (720, 960), (1024, 2048)])
def test_builder_shapes_meta(res: tuple[int, int]) -> None:
    net = meta_network(load_arch("fasterseg"), num_classes=11)
    out = net(torch.empty(1, 3, *res, device="meta"))
    assert tuple(out.shape) == (1, 11, *res)


def test_builder_real_odd_sizes_and_aux() -> None:
    arch = load_arch("fasterseg")
    net = build_network(arch, num_classes=5, aux_heads=True, seed=1)
    net.train()
    main, a32, a16 = net(torch.randn(2, 3, 45, 61))
    assert main.shape == a32.shape == a16.shape == (2, 5, 45, 61)
    net.eval()
    with torch.no_grad():
        out = net(torch.randn(1, 3, 97, 131))
    assert isinstance(out, torch.Tensor) and out.shape == (1, 5, 97, 131)
    assert any(isinstance(m, torch.nn.ReLU) for m in net.modules())


def test_seeded_build_is_reproducible_and_leaves_rng() -> None:
    arch = load_arch("fasterseg")
    state = torch.random.get_rng_state()
    a, b = build_network(arch, seed=7), build_network(arch, seed=7)
    assert torch.equal(torch.random.get_rng_state(), state)
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)


def test_json_round_trip(tmp_path) -> None:
    rng = np.random.default_rng(0)
    for arch in [load_arch("fasterseg"), decode(sample_genome(rng), SpaceConfig())]:
        again = FasterSegArch.from_json(json.loads(json.dumps(arch.to_json())))
        assert again == arch and again.key() == arch.key()
        path = save_arch(arch, tmp_path / "a.json")
        assert load_arch(str(path)) == arch


def test_key_round_trip_and_bad_keys() -> None:
    rng = np.random.default_rng(3)
    archs = [load_arch("fasterseg")] + [decode(sample_genome(rng), SpaceConfig()) for _ in range(20)]
    for arch in archs:
        again = FasterSegArch.from_key(arch.key())
        assert again.branches == arch.branches and again.key() == arch.key()
        assert (again.stem_width, again.head_width) == (arch.stem_width, arch.head_width)
        assert load_arch(arch.key()).key() == arch.key()  # load_arch takes a key where it takes a path
    assert len({a.key() for a in archs}) > 1
    for bad, why in [
        ("s8h8|L32:c1/8/4", "only the last cell"),
        ("s8h8|L32:q1/8/4,c1/8/h", "unknown operator code or scale"),
        ("s8h8|L64:c1/8/4,c1/8/h", "unknown operator code or scale"),
        ("s8h8|L32:c1/8/4,c1/8v", "not a FasterSeg architecture key"),
        ("x8h8|L32:c1/8/h", "not a FasterSeg architecture key"),
    ]:
        with pytest.raises(InvalidArchError, match=why):
            load_arch(bad)


def _write(tmp_path, obj) -> str:
    p = tmp_path / "arch.json"
    p.write_text(obj if isinstance(obj, str) else json.dumps(obj))
    return str(p)


def test_illegal_and_corrupt_arch_files(tmp_path) -> None:
    good = load_arch("fasterseg").to_json()
    with pytest.raises(CorruptDataError):
        load_arch(_write(tmp_path, "{not json"))
    bad_op = json.loads(json.dumps(good))
    bad_op["branches"][0]["ops"][0] = "skip"
    with pytest.raises(InvalidArchError, match="skip"):
        load_arch(_write(tmp_path, bad_op))
    bad_path = json.loads(json.dumps(good))
    bad_path["branches"][0]["path"][4] = 2
    with pytest.raises(InvalidArchError, match="monotone"):
        load_arch(_write(tmp_path, bad_path))
    bad_width = json.loads(json.dumps(good))
    bad_width["branches"][1]["widths"][0] = 5
    with pytest.raises(InvalidArchError, match="width"):
        load_arch(_write(tmp_path, bad_width))
    short = json.loads(json.dumps(good))
    short["branches"][1]["widths"] = short["branches"][1]["widths"][:-1]
    with pytest.raises(InvalidArchError, match="widths"):
        load_arch(_write(tmp_path, short))
    with pytest.raises(InvalidArchError):
        load_arch(_write(tmp_path, {"branches": "x"}))
    with pytest.raises(DataNotFoundError):
        load_arch(str(tmp_path / "missing.json"))
    with pytest.raises(UnknownNameError):
        load_arch("fastersegg")


@pytest.mark.parametrize(
    "src,dst",
    [((18, 24), (144, 192)), ((7, 5), (45, 61)), ((1, 4), (3, 9)), ((6, 6), (1, 1)), ((12, 16), (6, 8))],
)
def test_resize_matmul_matches_interpolate_values_and_gradients(src: tuple[int, int], dst: tuple[int, int]) -> None:
    from saswot.spaces.fasterseg.ops import resize_matmul

    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, *src, generator=g).contiguous(memory_format=torch.channels_last).requires_grad_()
    up = torch.randn(2, 3, *dst, generator=g)
    ref = torch.nn.functional.interpolate(x, size=dst, mode="bilinear", align_corners=True)
    (gx_ref,) = torch.autograd.grad((ref * up).sum(), x)
    out = resize_matmul(x, dst)
    (gx,) = torch.autograd.grad((out * up).sum(), x)
    assert out.shape == ref.shape
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(gx, gx_ref, rtol=1e-4, atol=1e-4)


def test_training_forward_upsamples_heads_by_matmul_only_in_training(monkeypatch: pytest.MonkeyPatch) -> None:
    # the training build's train-mode forward resizes its three heads with the matrix products;
    # swapping them for F.interpolate gives the same outputs, and no other forward calls them
    from saswot.spaces.fasterseg import builder as fb

    net = build_network(load_arch("fasterseg"), num_classes=5, aux_heads=True, seed=1).train()
    x = torch.randn(2, 3, 64, 96, generator=torch.Generator().manual_seed(2))
    fast = net(x)
    calls: list[tuple[int, int]] = []

    def interpolate(t: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        calls.append(size)
        return torch.nn.functional.interpolate(t, size=size, mode="bilinear", align_corners=True)

    monkeypatch.setattr(fb, "resize_matmul", interpolate)
    ref = net(x)
    assert calls == [(64, 96)] * 3
    for got, want in zip(fast, ref):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)
    calls.clear()
    net.eval()
    with torch.no_grad():
        net(x)
    build_network(load_arch("fasterseg"), num_classes=5, seed=1).train()(x)
    assert calls == []
