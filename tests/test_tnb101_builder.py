"""Builder + counter: exact params/FLOPs vs NAS-Bench-Suite-Zero, shapes, init, counting rules."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from saswot.spaces.tnb101.lookup import TNBBenchmark
from saswot.utils.counting import count_model, leaf_flops
from saswot.errors import DataNotFoundError
from saswot.runtime.seeding import make_rng
from saswot.spaces.tnb101.builder import SegmentationDecoder, Stem, build_network
from saswot.spaces.tnb101.encoding import parse_arch
from saswot.spaces.tnb101.ops import FactorizedReduce, Zero

SHAPE = (1, 3, 256, 256)

# (space, key, params (M), MFLOPs) exactly as NAS-Bench-Suite-Zero recorded them.
WORKED = [
    ("micro", "(1, 0, 0, 2, 1, 0)", 11.902545, 1198.81728),
    ("micro", "(0, 1, 1, 2, 3, 3)", 27.248209, 4223.827968),
    ("micro", "(3, 3, 3, 3, 3, 3)", 52.435793, 9423.58528),
    ("macro", "(1, 2, 4, 2, 0, 0)", 22.210641, 25113.985024),
    ("macro", "(2, 1, 2, 4, 0, 0)", 22.653521, 33382.531072),
    ("macro", "(1, 2, 1, 1, 1, 3)", 10.558289, 18631.294976),
    ("macro", "(4, 1, 3, 3, 3, 1)", 11.034449, 1800.275968),
]


@pytest.mark.parametrize("space,key,params_m,mflops", WORKED)
def test_worked_examples_match_exactly(space: str, key: str, params_m: float, mflops: float) -> None:
    counts = count_model(build_network(parse_arch(key, space), device="meta"), SHAPE)
    assert counts.params / 1e6 == params_m
    assert counts.flops / 1e6 == mflops
    assert counts.params_m == params_m and counts.mflops == mflops


def _bench(space: str) -> TNBBenchmark:
    try:
        return TNBBenchmark.load(TNBBenchmark.default_path(space), space)
    except DataNotFoundError as exc:  # data root not configured: nothing to compare with
        pytest.skip(str(exc))


@pytest.mark.parametrize("space", ["micro", "macro"])
def test_seeded_sample_matches_recorded_counts(space: str) -> None:
    bench = _bench(space)
    archs = bench.sample(12, make_rng(20261125))
    assert len(set(archs)) == 12
    for arch in archs:
        counts = count_model(build_network(arch, device="meta"), SHAPE)
        assert counts.params / 1e6 == bench.reference_score(arch, "params"), arch.arch_str
        assert counts.flops / 1e6 == bench.reference_score(arch, "flops"), arch.arch_str


def test_stem_counts() -> None:
    counts = count_model(Stem(), SHAPE)
    assert counts.params == 19_488
    assert counts.flops / 1e6 == 91.7504


@pytest.mark.parametrize(
    "c_enc,nu,hw,params,mflops",
    [
        (512, 5, 8, 11_024_177, 935.591936),
        (128, 3, 32, 7_485_233, 7888.24064),
        (256, 6, 4, 8_664_881, 369.13152),
        (512, 4, 16, 11_024_177, 3050.766336),
    ],
)
def test_decoder_counts(c_enc: int, nu: int, hw: int, params: int, mflops: float) -> None:
    with torch.device("meta"):
        dec = SegmentationDecoder(c_enc, nu)
    counts = count_model(dec, (1, c_enc, hw, hw))
    assert counts.params == params
    assert counts.flops / 1e6 == mflops
    assert sum(isinstance(m, nn.ConvTranspose2d) for m in dec.modules()) == nu


@pytest.mark.parametrize(
    "space,key,hw",
    [("micro", "(1, 0, 0, 2, 1, 0)", 64), ("macro", "(4, 1, 3, 3, 3, 1)", 64), ("macro", "(4, 1, 3, 3, 3, 1)", 96)],
)
def test_forward_shape(space: str, key: str, hw: int) -> None:
    model = build_network(parse_arch(key, space), seed=0).eval()
    with torch.no_grad():
        out = model(torch.rand(2, 3, hw, hw))
    assert out.shape == (2, 17, hw, hw)
    assert torch.isfinite(out).all()


def test_num_classes_and_classifier_hook_point() -> None:
    model = build_network(parse_arch("64-1242-basic"), num_classes=11, seed=0).eval()
    assert model.classifier is model.decoder.classifier
    assert isinstance(model.classifier, nn.Conv2d)
    assert (model.classifier.in_channels, model.classifier.out_channels) == (32, 11)
    seen: list[tuple[int, ...]] = []
    handle = model.classifier.register_forward_hook(lambda m, i, o: seen.append(tuple(i[0].shape)))
    with torch.no_grad():
        out = model(torch.rand(1, 3, 64, 64))
    handle.remove()
    assert seen == [(1, 32, 64, 64)]
    assert out.shape == (1, 11, 64, 64)


def test_only_module_activations_and_conv2d_layers() -> None:
    model = build_network(parse_arch("(3, 1, 2, 3, 0, 1)", "micro"), device="meta")
    kinds = {type(m) for m in model.modules() if next(m.children(), None) is None}
    assert nn.ReLU in kinds and nn.LeakyReLU in kinds and nn.Conv2d in kinds
    assert kinds <= {
        nn.ReLU, nn.LeakyReLU, nn.Conv2d, nn.ConvTranspose2d, nn.BatchNorm2d, nn.Identity, nn.ConstantPad2d, Zero,
    }
    assert hasattr(model, "encoder") and hasattr(model, "decoder")


def test_seeded_init_is_deterministic_and_leaves_global_rng() -> None:
    arch = parse_arch("(1, 0, 0, 2, 1, 0)", "micro")
    before = torch.random.get_rng_state()
    a = build_network(arch, seed=3).state_dict()
    b = build_network(arch, seed=3).state_dict()
    c = build_network(arch, seed=4).state_dict()
    assert torch.equal(torch.random.get_rng_state(), before)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["encoder.stem.0.weight"], c["encoder.stem.0.weight"])


def test_encoder_init_and_shortcut_bn_quirk() -> None:
    model = build_network(parse_arch("64-1242-basic"), seed=0)
    w = model.encoder.stem[0].weight.detach()  # 3->32 conv, fan_out = 32*9
    assert abs(float(w.std()) - (2.0 / (32 * 9)) ** 0.5) < 0.03
    assert model.encoder.stem[0].bias is None
    bns = [m for m in model.encoder.modules() if isinstance(m, nn.BatchNorm2d)]
    assert all(torch.equal(m.weight, torch.ones_like(m.weight)) for m in bns)
    quirky = [m for m in bns if m.eps == 1.0 and m.momentum == 1.0]
    # Blocks with a projection shortcut: first block of modules 2, 4, 2 (channel change or stride).
    assert len(quirky) == 3
    assert all(m.affine and m.track_running_stats for m in quirky)


def test_dead_micro_cell_outputs_zeros_but_keeps_its_edges() -> None:
    arch = parse_arch("(1, 1, 0, 0, 0, 0)", "micro")  # node 3 only receives 'none' edges
    model = build_network(arch, seed=0).eval()
    with torch.no_grad():
        feat = model.encoder(torch.rand(1, 3, 64, 64))
    assert feat.shape == (1, 512, 2, 2)
    assert torch.count_nonzero(feat) == 0
    counts = count_model(build_network(arch, device="meta"), SHAPE)
    assert counts.params > 11_024_177 + 19_488  # reduction skip edges (FactorizedReduce) still count


def test_zero_and_factorized_reduce_shapes() -> None:
    x = torch.rand(2, 64, 5, 7)
    assert Zero(64, 128, 2)(x).shape == (2, 128, 3, 4)
    assert torch.count_nonzero(Zero(64, 64, 1)(x)) == 0
    fr = FactorizedReduce(64, 128)
    assert fr(x).shape == (2, 128, 3, 4)
    assert sum(p.numel() for p in fr.parameters()) == 64 * 128 + 2 * 128


def test_count_model_does_not_mutate_and_meta_equals_real() -> None:
    model = build_network(parse_arch("(4, 1, 3, 3, 3, 1)", "macro"), seed=0)
    model.train()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    meta = count_model(model, (1, 3, 64, 64))
    real = count_model(model, (1, 3, 64, 64), device="real")
    assert (meta.params, meta.flops) == (real.params, real.flops)
    assert model.training and all(m.training for m in model.modules())
    assert all(not m._forward_hooks for m in model.modules())
    after = model.state_dict()
    assert all(torch.equal(state[k], after[k]) for k in state)  # BN running stats untouched


class _Custom(nn.Module):
    """An unknown leaf type with parameters: 0 FLOPs, params still counted."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale.sum()


def test_counting_rules_for_generic_layers() -> None:
    net = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1, groups=1, bias=True),  # 9*3*8*16*16 + 8*16*16
        nn.BatchNorm2d(8, affine=False),  # 8*16*16
        nn.LeakyReLU(0.1),  # 8*16*16
        nn.MaxPool2d(2),  # input numel 8*16*16
        nn.ConvTranspose2d(8, 4, 2, stride=2),  # 0
        nn.Upsample(scale_factor=2),  # output numel 4*32*32*... -> 4*32*32
        nn.AdaptiveAvgPool2d(1),  # input numel 4*32*32
        nn.Flatten(),  # 0
        nn.Linear(4, 10),  # 4*10
        _Custom(),  # 0 flops, 5 params
    )
    counts = count_model(net, (2, 3, 16, 16))
    n = 2
    expected = n * (9 * 3 * 8 * 256 + 8 * 256) + n * 8 * 256 + n * 8 * 256 + n * 8 * 256 + 0
    expected += n * 4 * 32 * 32 + n * 4 * 32 * 32 + 0 + n * 4 * 10 + 0
    assert counts.flops == expected
    params = (3 * 8 * 9 + 8) + 0 + (8 * 4 * 4 + 4) + (4 * 10 + 10) + 5
    assert counts.params == params
    kinds = [lc.kind for lc in counts.layers]
    assert kinds[0] == "Conv2d" and kinds[-1] == "_Custom"
    assert counts.layers[-1].params == 5 and counts.layers[-1].flops == 0


def test_reused_leaf_is_charged_once_and_grouped_conv() -> None:
    relu = nn.ReLU()
    net = nn.Sequential(nn.Conv2d(4, 8, 1, groups=2, bias=False), relu, relu)
    counts = count_model(net, (1, 4, 2, 2))
    assert counts.flops == 1 * 1 * 4 * (8 // 2) * 4 + 8 * 4
    assert leaf_flops(nn.Identity(), torch.zeros(1), torch.zeros(1)) == 0


def test_tied_weights_are_counted_once() -> None:
    first, second = nn.Linear(4, 4), nn.Linear(4, 4)
    second.weight = first.weight
    counts = count_model(nn.Sequential(first, nn.ReLU(), second), (2, 4))
    assert counts.params == 16 + 4 + 4
    assert counts.flops == 2 * 4 * 4 + 2 * 4 + 2 * 4 * 4


class _DataDependent(nn.Module):
    """A forward that needs real values (cannot run on meta tensors)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return y if float(y.abs().sum()) >= 0 else -y


def test_data_dependent_forward_falls_back_to_real_pass() -> None:
    counts = count_model(_DataDependent(), (1, 3, 4, 4))
    assert counts.flops == 3 * 4 * 16 + 4 * 16
    assert counts.params == 3 * 4 + 4
