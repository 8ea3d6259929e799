"""Training-free search over the FasterSeg space: determinism, resume, budget, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from saswot.cli.main import main
from saswot.spaces.fasterseg import FasterSegArch, load_arch
from saswot.spaces.fasterseg.cost import arch_cost
from saswot.spaces.fasterseg.decode import SpaceConfig
from saswot.spaces.fasterseg.problem import Budget, FasterSegProblem
from saswot.search import EvolutionConfig, evolve, random_search


def _toy_score(arch: FasterSegArch) -> float:
    """Cheap deterministic fitness: depth plus a width term (no network is built)."""
    return float(sum(len(b.ops) for b in arch.branches) + 0.01 * sum(sum(b.widths) for b in arch.branches))


def _run(seed: int, stop_after: int | None = None, ckpt=None, resume: bool = False):
    problem = FasterSegProblem(SpaceConfig(), _toy_score, Budget(max_gmacs=30.0))
    cfg = EvolutionConfig(iterations=4, population=6, topk=2)
    res = evolve(problem, cfg, np.random.default_rng(seed), checkpoint=ckpt, resume=resume,
                 meta={"t": 1}, stop_after=stop_after)
    return problem, res


def test_seeded_search_is_deterministic_and_resumable(tmp_path) -> None:
    p1, r1 = _run(0)
    p2, r2 = _run(0)
    assert p1.key(r1.best) == p2.key(r2.best) and r1.best_fitness == r2.best_fitness
    ckpt = tmp_path / "c.json"
    _run(0, stop_after=2, ckpt=ckpt)
    p3, r3 = _run(0, ckpt=ckpt, resume=True)
    assert p3.key(r3.best) == p1.key(r1.best) and r3.evaluations == r1.evaluations


def test_budget_is_enforced_before_scoring() -> None:
    scored: list[float] = []

    def score(arch: FasterSegArch) -> float:
        g = arch_cost(arch).gmacs
        scored.append(g)
        return -g

    problem = FasterSegProblem(SpaceConfig(), score, Budget(max_gmacs=28.0))
    res = random_search(problem, 10, np.random.default_rng(1))
    assert scored and max(scored) <= 28.0
    assert arch_cost(problem.decode(res.best)).gmacs <= 28.0
    assert res.rejected > 0


def test_mutation_changes_the_decoded_network() -> None:
    problem = FasterSegProblem(SpaceConfig(), _toy_score)
    rng = np.random.default_rng(5)
    g = problem.sample(rng)
    changed = sum(problem.key(problem.mutate(g, rng)) != problem.key(g) for _ in range(10))
    assert changed >= 8


def test_cli_search_arch_end_to_end(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("SASWOT_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "arch.json"
    args = ["search-arch", "--proxy", "nwot", "--generations", "1", "--population", "3", "--topk", "2",
            "--proxy-resolution", "64x128", "--batch-size", "1", "--data", "random", "--max-gmacs", "30",
            "--seed", "3", "--random", "--out", str(out)]
    assert main(args) == 0
    d = json.loads(out.read_text())
    arch = load_arch(str(out))
    s = d["search"]
    assert s["proxy"] == "nwot" and s["gmacs"] <= 30 and s["history"] and "random" in s
    assert (tmp_path / "arch.curve.png").stat().st_size > 0
    assert load_arch(str(tmp_path / "arch.random.json")).key()
    # resuming a finished run re-reads the checkpoint and returns the same architecture
    no_random = [a for a in args if a != "--random"]
    assert main(no_random + ["--resume"]) == 0
    assert load_arch(str(out)).key() == arch.key()
    capsys.readouterr()
    assert main(["arch-info", str(out), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["latency_ms"] is None and info["gmacs"] == pytest.approx(s["gmacs"], abs=1e-2)


def test_cli_errors_exit_2(tmp_path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{oops")
    assert main(["arch-info", str(bad)]) == 2
    assert main(["arch-info", "fasterseg", "--resolution", "10by20"]) == 2
    assert main(["search-arch", "--proxy", "no-such-proxy", "--out", str(tmp_path / "x.json"),
                 "--data", "random", "--proxy-resolution", "32x64"]) == 2
    assert main(["search-arch", "--proxy", "nwot", "--max-gmacs", "1", "--max-latency-ms", "1",
                 "--out", str(tmp_path / "y.json")]) == 2
    assert main(["search-arch", "--proxy", "nwot", "--proxy-resolution", "32x64", "--batch-size", "1",
                 "--data", "random", "--out", str(tmp_path / "z.json")]) == 2


def test_latency_budget_uses_the_lut(tmp_path) -> None:
    from saswot.spaces.fasterseg.latency import LatencyTable

    lut = LatencyTable("cpu", tmp_path / "lut.json", warmup=0, min_reps=1, max_reps=1, target_s=0.0)
    budget_ms = lut.estimate(load_arch("fasterseg"), (64, 128)).total_ms
    problem = FasterSegProblem(SpaceConfig(), _toy_score,
                               Budget(max_latency_ms=budget_ms, target_resolution=(64, 128)), lut)
    res = random_search(problem, 3, np.random.default_rng(0))
    for g, _ in res.top:
        assert problem.latency(problem.decode(g)) <= budget_ms
    assert (tmp_path / "lut.json").exists()


def test_cli_search_arch_calibrates_an_ensemble_on_the_space(tmp_path, monkeypatch) -> None:
    from saswot.proxies._ensemble import EnsembleCalibration

    monkeypatch.setenv("SASWOT_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "ens.json"
    args = ["search-arch", "--proxy", "ensemble:nwot,-params", "--avt-samples", "4", "--generations", "1",
            "--population", "3", "--topk", "2", "--proxy-resolution", "64x128", "--batch-size", "1",
            "--data", "random", "--max-gmacs", "30", "--seed", "3", "--out", str(out)]
    assert main(args) == 0
    calib_file = tmp_path / "ens.ensemble.json"
    calib = EnsembleCalibration.read(calib_file)
    # the members' raw scores on 4 random architectures of this space, at the search's settings
    assert set(calib.values) == {"nwot", "params"} and all(len(v) == 4 for v in calib.values.values())
    assert calib.meta["space"] == "fasterseg" and len(calib.meta["archs"]) == 4
    s = json.loads(out.read_text())["search"]
    assert s["proxy"] == f"ensemble:nwot,-params@{calib_file}"
    # a single network's score is the log-rank of its members against that sample: in (-inf, 0]
    assert s["score"] <= 0.0 and all(t["score"] <= 0.0 for t in s["top"])
    # resume keeps the stored calibration (same file, same result)
    before = calib_file.read_text()
    assert main(args + ["--resume"]) == 0
    assert calib_file.read_text() == before
    assert json.loads(out.read_text())["search"]["genome"] == s["genome"]
    # members that need AVT statistics are refused with the fix named
    assert main(["search-arch", "--proxy", "ensemble:saswot,flops", "--avt-samples", "2", "--data", "random",
                 "--proxy-resolution", "64x128", "--batch-size", "1", "--out", str(tmp_path / "bad.json")]) == 2
    assert not (tmp_path / "bad.ensemble.json").exists()


def test_space_options_reach_the_space_and_unknown_ones_are_refused() -> None:
    from saswot.config import ArchSearchConfig
    from saswot.errors import ParameterError
    from saswot.spaces import get_space

    space = get_space("fasterseg")
    given = ArchSearchConfig(proxy="params", max_gmacs=30.0, space_options={"widths": "uniform8", "min_shared": 2})
    problem = space.segmenter_problem(given, lambda arch: 0.0)
    assert problem.describe()["widths"] == "uniform8" and problem.describe()["min_shared"] == 2
    default = space.segmenter_problem(ArchSearchConfig(proxy="params", max_gmacs=30.0), lambda arch: 0.0)
    assert default.describe()["widths"] == "fasterseg" and default.describe()["min_shared"] == 0
    with pytest.raises(ParameterError, match="no option depth; its options are widths, min_shared"):
        space.segmenter_problem(ArchSearchConfig(proxy="params", space_options={"depth": 3}), lambda arch: 0.0)
