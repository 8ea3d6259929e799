"""Proxy search: determinism, resume, equivalence cache, proxy files and the CLI."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from saswot.proxies import ScoringSettings
from saswot.config import ProxyBatch
from saswot.proxies import load_proxy_file
from saswot.proxies.expr import parse_expression
from saswot.search.proxy_problem import ProxySearchProblem
from saswot.search.statcache import StatCache, arch_stats_from_netstats
from saswot.search.evolution import EvolutionConfig, evolve, random_search
from saswot.proxies._stats import collect_stats

DATA = Path(os.environ.get("SASWOT_DATA", "data"))


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _net(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    c = 2 + seed % 4
    return nn.Sequential(nn.Conv2d(3, c, 3, padding=1), nn.ReLU(), nn.Conv2d(c, 4, 1), nn.ReLU(),
                         nn.Conv2d(4, 3, 3, padding=1))


def _batch() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return torch.randn(2, 3, 8, 8, generator=g), torch.randint(0, 3, (2, 8, 8), generator=g)


@pytest.fixture(scope="module")
def tiny_archs() -> tuple[list, list[float]]:
    x, y = _batch()
    archs = [arch_stats_from_netstats(str(i), collect_stats(_net(i), x, y)) for i in range(10)]
    truth = [float(2 + i % 4) + 0.01 * i for i in range(10)]
    return archs, truth


CFG = EvolutionConfig(iterations=4, population=8, topk=3, stagnation=2)


def test_tiny_search_is_deterministic(tiny_archs: tuple) -> None:
    archs, truth = tiny_archs
    runs = [evolve(ProxySearchProblem(archs, truth), CFG, np.random.default_rng(5)) for _ in range(2)]
    assert runs[0].best == runs[1].best
    assert runs[0].best_fitness == runs[1].best_fitness
    assert [r.best_fitness for r in runs[0].history] == [r.best_fitness for r in runs[1].history]
    assert -1.0 <= runs[0].best_fitness <= 1.0


def test_resume_reproduces_uninterrupted_run(tiny_archs: tuple, tmp_path: Path) -> None:
    archs, truth = tiny_archs
    full = evolve(ProxySearchProblem(archs, truth), CFG, np.random.default_rng(7))
    ckpt = tmp_path / "ck.json"
    first = ProxySearchProblem(archs, truth)
    evolve(first, CFG, np.random.default_rng(7), checkpoint=ckpt, stop_after=2)
    fec = first.fec_state()  # saved beside the checkpoint by the CLI
    second = ProxySearchProblem(archs, truth)
    second.load_fec_state(json.loads(json.dumps(fec)))
    resumed = evolve(second, CFG, np.random.default_rng(999), checkpoint=ckpt, resume=True)
    assert resumed.best == full.best
    assert resumed.best_fitness == full.best_fitness
    assert [r.best_key for r in resumed.history] == [r.best_key for r in full.history]


def test_equivalence_cache_and_rejection(tiny_archs: tuple) -> None:
    archs, truth = tiny_archs
    p = ProxySearchProblem(archs, truth)
    a = parse_expression("sum_layers(sum(mul(noop(relu(G)), noop(W))))")
    b = parse_expression("sum_layers(sum(mul(relu(noop(G)), noop(noop(W)))))")  # same function
    fa = p.evaluate(a)
    assert p.fec_hits == 0
    assert p.evaluate(b) == fa
    assert p.fec_hits == 1
    const = parse_expression("sum_layers(sum(eq(noop(W), noop(W))))")  # counts all elements: varies
    assert p.evaluate(parse_expression("mean_layers(mean(eq(noop(W), noop(W))))")) is None  # constant 1
    assert p.evaluate(const) is not None
    assert not p.is_valid(parse_expression("sum_layers(sum(add(gram(A), noop(W))))"))  # A is 3-d


def test_random_search_same_budget(tiny_archs: tuple) -> None:
    archs, truth = tiny_archs
    r = random_search(ProxySearchProblem(archs, truth), 12, np.random.default_rng(0), report_every=4)
    assert r.evaluations == 12
    assert r.history[-1].evaluations == 12


#: A snip-like expression whose value differs between the tiny networks (SasWOT-minus is 0 on all
#: of them, which would leave the expression term of a combined score untested).
VARYING = parse_expression("sum_layers(sum(mul(noop(G), noop(W))))")


def _write_proxy(path: Path, combine: str | None, archs: list) -> None:
    from saswot.search.statcache import PackedStats

    packed = PackedStats(archs)
    s = packed.scores(VARYING)
    assert float(s.max()) > float(s.min())
    data = {
        "name": "tiny",
        "expression": VARYING.canonical(),
        "combine_with": combine,
        "avt": {
            "ranges": {
                "expression": {"min": float(s.min()), "max": float(s.max()) + 1.0},
                "nwot": {"min": float(packed.nwot.min()), "max": float(packed.nwot.max()) + 1.0},
            }
        },
    }
    path.write_text(json.dumps(data))


def test_proxy_file_via_resolve_proxy(tiny_archs: tuple, tmp_path: Path) -> None:
    from saswot.proxies import Stat, resolve_proxy, score_network

    archs, _ = tiny_archs
    x, y = _batch()
    f = tmp_path / "p.json"
    _write_proxy(f, None, archs)
    spec = resolve_proxy(str(f))
    assert spec.name == "tiny"
    net = _net(1)
    ours = score_network(net, x, y, [spec], ScoringSettings(ProxyBatch(num_classes=3)))
    assert ours["tiny"] != 0.0
    assert ours["tiny"] == pytest.approx(float(arch_stats_and_score(net, x, y)))
    g = tmp_path / "q.json"
    _write_proxy(g, "nwot", archs)
    comb = load_proxy_file(g)
    assert comb.requires == {Stat.LAYERS, Stat.NWOT_KERNEL} and not comb.needs_avt and "avt" in comb.description
    val = score_network(net, x, y, [comb, "nwot"], ScoringSettings(ProxyBatch(num_classes=3)))
    # Paper Eq. 3 with the expression in place of SasWOT-minus, recomputed here from the raw
    # expression value (the same file without combine_with), the raw NWOT value and the ranges
    # stored in the file: avt(e) + avt(n) = (e - e_min)/(e_max - e_min) + (n - n_min)/(n_max - n_min).
    ranges = json.loads(g.read_text())["avt"]["ranges"]
    e, n = ours["tiny"], val["nwot"]
    e_lo, e_hi = ranges["expression"]["min"], ranges["expression"]["max"]
    n_lo, n_hi = ranges["nwot"]["min"], ranges["nwot"]["max"]
    expected = (e - e_lo) / (e_hi - e_lo) + (n - n_lo) / (n_hi - n_lo)
    # The two terms are distinct and non-trivial, so a missing term, swapped ranges or an
    # unnormalised sum cannot pass by accident.
    assert 0.0 < (e - e_lo) / (e_hi - e_lo) < 1.0 and 0.0 < (n - n_lo) / (n_hi - n_lo) < 1.0
    assert val["tiny"] == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert val["tiny"] != pytest.approx((e - e_lo) / (e_hi - e_lo), rel=1e-6)
    assert val["tiny"] != pytest.approx((e - n_lo) / (n_hi - n_lo) + (n - e_lo) / (e_hi - e_lo), rel=1e-6)


def arch_stats_and_score(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    from saswot.proxies.expr import expression_value

    return expression_value(VARYING, collect_stats(net, x, y))


def test_cli_search_proxy_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import saswot.search.proxy_search as search_mod
    from saswot.spaces.tnb101.lookup import TNBBenchmark
    from saswot.cli.main import main
    from saswot.proxies import resolve_proxy

    if not TNBBenchmark.default_path("micro", DATA).exists():
        pytest.skip("TNB101 benchmark file not found; set SASWOT_DATA")

    x, y = _batch()

    def fake_cache(space: object, cache_dir: object, data_root: object) -> StatCache:
        space = getattr(space, "name", space)
        def compute(key: str) -> object:
            seed = sum(ord(ch) for ch in key)
            return collect_stats(_net(seed), x, y)

        return StatCache(tmp_path / "cache" / space, compute, f"tiny-{space}")

    monkeypatch.setattr(search_mod, "make_stat_cache", fake_cache)
    out = tmp_path / "proxy.json"
    args = ["search-proxy", "--space", "micro", "--data-root", str(DATA), "--generations", "2",
            "--population", "6", "--topk", "2", "--search-archs", "8", "--val-archs", "6",
            "--seed", "1", "--out", str(out)]
    assert main(args) == 0
    data = json.loads(out.read_text())
    assert parse_expression(data["expression"]).canonical() == data["expression"]
    assert data["method"] == "evolution" and data["random"]["evaluations"] == data["evaluations"]
    assert len(data["search_keys"]) == 8 and not set(data["search_keys"]) & set(data["val_keys"])
    assert out.with_suffix(".png").stat().st_size > 1000
    assert (tmp_path / "proxy.ckpt.json").exists() and (tmp_path / "proxy.fec.json").exists()
    # a checkpoint under the former name (<out name>.ckpt.json) is adopted by --resume, with a warning
    (tmp_path / "proxy.ckpt.json").rename(tmp_path / "proxy.json.ckpt.json")
    (tmp_path / "proxy.fec.json").rename(tmp_path / "proxy.json.fec.json")
    with pytest.warns(DeprecationWarning, match="former naming scheme"):
        assert main([*args, "--resume"]) == 0
    assert (tmp_path / "proxy.ckpt.json").exists() and not (tmp_path / "proxy.json.ckpt.json").exists()
    assert json.loads(out.read_text())["expression"] == data["expression"]
    assert resolve_proxy(str(out)).name == "proxy"
    # resume of a finished run gives the same best
    assert main(args + ["--resume", "--no-random-baseline"]) == 0
    assert json.loads(out.read_text())["expression"] == data["expression"]
    # --resume alone restores the checkpoint's settings, and more generations extend the finished search
    base = ["search-proxy", "--data-root", str(DATA), "--out", str(out), "--resume", "--no-random-baseline", "--quiet"]
    assert main(base + ["--generations", "3"]) == 0
    extended = json.loads(out.read_text())
    assert extended["config"]["generations"] == 3 and extended["config"]["search_archs"] == 8
    assert len(extended["history"]) == 4 and extended["history"][:3] == data["history"]
    assert main(base + ["--population", "7"]) == 2
    assert main(["search-proxy", "--space", "nano", "--out", str(out)]) == 2


def test_stat_cache_file_names_stay_short_for_long_keys(tmp_path: Path) -> None:
    from saswot.spaces.fasterseg.arch import load_arch

    cache = StatCache(tmp_path, lambda key: None, "tag")
    long_key = load_arch("fasterseg").key() * 2  # FasterSeg keys can pass the 255-byte limit of a file name
    other = long_key[:-1] + "x"
    names = {cache.path(k).name for k in (long_key, other)}
    assert len(names) == 2 and all(len(n.encode()) < 255 and n.endswith(".pt") for n in names)
    # short keys keep the names they always had, so existing caches stay valid
    assert cache.path("(3, 2, 0, 3, 1, 3)").name == "3__2__0__3__1__3.pt"
    cache.path(long_key).write_bytes(b"x")  # the name is one the file system accepts
