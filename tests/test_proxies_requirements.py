"""What a proxy requires, declared once; the frozen scoring settings; the registry's imports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from _tiny_nets import tiny_batch, tiny_model
from saswot.config import ProxyBatch
from saswot.errors import ScoreError, UnknownNameError
from saswot.proxies import (
    REGISTRY,
    ProxyContext,
    ProxyRegistry,
    ProxySpec,
    ScoringSettings,
    Stat,
    make_context,
    resolve_proxy,
    score_network,
    score_network_detailed,
)
from saswot.proxies._avt import AVTStats
from saswot.proxies._spec import SHARED_PASS_STATS, required_stats

AVT = AVTStats({"saswot_minus": (0.0, 100.0), "nwot": (0.0, 40.0)})
S5 = ScoringSettings(ProxyBatch(num_classes=5), avt=AVT)


def test_importing_the_proxies_imports_no_search_machinery() -> None:
    code = (
        "import saswot.proxies, sys; "
        "assert 'scipy' not in sys.modules, 'scipy'; "
        "bad = [m for m in sys.modules if m.startswith(('saswot.search.proxy_search', 'saswot.search.proxy_problem', "
        "'saswot.search'))]; "
        "assert not bad, bad"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("name", sorted(REGISTRY.names()))
def test_declared_requirements_suffice_and_the_pass_collects_exactly_them(name: str) -> None:
    spec = REGISTRY.get(name)
    x, y = tiny_batch()
    ctx = make_context(tiny_model(), x, y, [spec], S5)
    assert ctx.requires == spec.requires
    spec.fn(ctx)  # an undeclared ctx.stats / ctx.counts() / ctx.value(...) read raises ScoreError
    if not spec.requires & SHARED_PASS_STATS:
        assert ctx._stats is None, f"{name} ran the shared pass without requiring it"
        return
    st = ctx.stats
    assert (st.nwot_kernel is not None) == (Stat.NWOT_KERNEL in spec.requires)
    assert (st.input_grad is not None) == (Stat.INPUT_GRAD in spec.requires)
    assert (st.features is not None) == (Stat.FEATURES in spec.requires)


def test_the_shared_pass_collects_the_union_of_the_scored_proxies() -> None:
    specs = [REGISTRY.get(n) for n in ("nwot", "jacov", "synflow")]
    assert required_stats(specs) == {Stat.NWOT_KERNEL, Stat.INPUT_GRAD}
    x, y = tiny_batch()
    ctx = make_context(tiny_model(), x, y, specs, S5)
    assert ctx.stats.nwot_kernel is not None and ctx.stats.input_grad is not None
    assert "grad_graph" not in ctx.stats.extra
    own = make_context(tiny_model(), x, y, [REGISTRY.get("synflow"), REGISTRY.get("l2_norm")], S5)
    with pytest.raises(ScoreError, match="requires"):
        own.stats  # noqa: B018 -- nothing of the shared pass was required


def test_avt_terms_are_inherited_and_read_through_the_context() -> None:
    saswot = REGISTRY.get("saswot")
    assert saswot.avt_terms == ("saswot_minus", "nwot") and saswot.needs_avt
    assert saswot.requires == REGISTRY.get("saswot_minus").requires | REGISTRY.get("nwot").requires
    reg = ProxyRegistry()
    reg.register("base", requires={Stat.INPUT_GRAD})(lambda ctx: 1.0)

    @reg.register("reader", requires={Stat.COUNTS}, uses=("base",))
    def reader(ctx: ProxyContext) -> float:
        """Reads base."""
        return 2.0

    assert reg.get("reader").requires == {Stat.COUNTS, Stat.INPUT_GRAD} and not reg.get("reader").needs_avt
    with pytest.raises(UnknownNameError, match="not registered"):
        reg.register("late", uses=("missing",))
    x, y = tiny_batch()
    ctx = make_context(tiny_model(), x, y, [REGISTRY.get("snip")], S5)
    with pytest.raises(ScoreError, match="nwot_kernel"):
        ctx.value("nwot")  # snip does not require what nwot reads


def test_requires_holds_stat_members_only() -> None:
    with pytest.raises(TypeError, match="Stat"):
        ProxySpec(name="x", fn=lambda ctx: 0.0, requires={"layers"})  # type: ignore[arg-type]


def test_settings_object_is_required_and_its_seed_moves_only_seeded_proxies() -> None:
    x, y = tiny_batch()
    model = tiny_model()
    names = ["snip", "nwot", "zen", "saswot"]
    new = score_network(model, x, y, names, S5)
    detailed = score_network_detailed(model, x, y, names, ScoringSettings(ProxyBatch(num_classes=5, seed=1), avt=AVT))
    assert detailed.scores["snip"] == new["snip"] and detailed.scores["zen"] != new["zen"]  # seed changes zen only
    with pytest.raises(TypeError):
        score_network(model, x, y, names, num_classes=5)  # type: ignore[call-arg]  # no keyword path
    with pytest.raises(TypeError):
        score_network(model, x, y, names)  # type: ignore[call-arg]
    moved = S5.replace(batch=S5.batch.replace(device="meta"))
    assert moved.device == "meta" and S5.device == "cpu"
    with pytest.raises(AttributeError):
        S5.seed = 3  # type: ignore[misc]


def test_file_proxy_and_ensemble_declare_their_requirements(tmp_path: Path) -> None:
    data = {
        "expression": "sum_layers(sum(mul(noop(relu(G)), noop(W))))",
        "combine_with": "nwot",
        "avt": {"ranges": {"expression": {"min": 0.0, "max": 1.0}, "nwot": {"min": 0.0, "max": 40.0}}},
    }
    f = tmp_path / "p.json"
    f.write_text(json.dumps(data))
    combined = resolve_proxy(str(f))
    assert combined.requires == {Stat.LAYERS, Stat.NWOT_KERNEL}
    assert not combined.needs_avt  # normalised with the ranges stored in the file, not ctx.avt
    f.write_text(json.dumps({**data, "combine_with": None}))
    assert resolve_proxy(str(f)).requires == {Stat.LAYERS}
    spec = resolve_proxy("ensemble-avt:nwot,-grasp,flops@micro")
    assert spec.requires == {Stat.NWOT_KERNEL, Stat.GRAD_GRAPH, Stat.COUNTS} and spec.avt_terms == ()


def test_grasp_alone_keeps_the_graph_and_nothing_else() -> None:
    x, y = tiny_batch()
    ctx = make_context(tiny_model(), x, y, [REGISTRY.get("grasp")], S5)
    assert "grad_graph" in ctx.stats.extra and ctx.stats.nwot_kernel is None
    assert torch.isfinite(torch.tensor(REGISTRY.get("grasp").fn(ctx)))


def test_fasterseg_scorer_takes_the_settings_object() -> None:
    import numpy as np

    from saswot.spaces.fasterseg.decode import SpaceConfig, legality_errors
    from saswot.search.segmenter_scoring import ProxyScorer, avt_components
    from saswot.spaces import get_space
    from saswot.spaces.fasterseg.problem import FasterSegProblem

    images, labels = torch.randn(2, 3, 64, 128), torch.randint(0, 19, (2, 64, 128))
    space = get_space("fasterseg")
    new = ProxyScorer("saswot", space, images, labels, ScoringSettings(ProxyBatch(num_classes=19), avt=AVT), init_seed=3)
    old = ProxyScorer("saswot", space, images, labels, ScoringSettings(ProxyBatch(num_classes=19), avt=AVT), init_seed=3)
    assert old.settings == new.settings and old.init_seed == 3
    assert avt_components(new.spec) == ("saswot_minus", "nwot")
    problem = FasterSegProblem(SpaceConfig(), new, num_classes=19)
    rng = np.random.default_rng(0)
    arch = problem.decode(problem.sample(rng))
    while legality_errors(arch, problem.space.min_shared):
        arch = problem.decode(problem.sample(rng))
    assert new(arch) == old(arch)
    new.avt = None
    assert new.settings.avt is None and old.settings.avt is AVT
