"""``minibench run --ray`` on a real local Ray instance (2 CPUs): jobs trained as Ray tasks, entries
written by the driver only, claims released, finished jobs skipped, the CLI path."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

from saswot.cli.main import main
from saswot.errors import SaswotError
from saswot.workflows.minibench import BenchFile, Recipe, RunContext, make_jobs, sample_archs
from saswot.workflows.minibench.ray_driver import run_ray

pytestmark = pytest.mark.ray


@pytest.fixture(scope="module", autouse=True)
def local_ray() -> Iterator[None]:
    """One local Ray instance (2 CPUs, no GPU) for the module; the driver reuses a live connection."""
    ray.init(num_cpus=2, num_gpus=0, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()

TINY = Recipe(name="t", epochs=1, base_size=None, crop=(64, 64), scales=(1.0,), eval_size=None, batch_size=2,
              lr=0.01, eval_every=1)


def test_ray_driver_trains_jobs_appends_once_and_skips_finished(tmp_path: Path, make_camvid: Callable[..., Path]) -> None:
    root = make_camvid(tmp_path / "data", n_train=2, n_val=1, h=64, w=64)
    archs = sample_archs(2, 0, pool_factor=1)
    jobs = make_jobs([("a", archs[0]), ("b", archs[1])], [0])
    bench = BenchFile(tmp_path / "bench.jsonl")
    ctx = RunContext(tmp_path / "work", data_root=str(root), latency=False, command="test")
    lines: list[str] = []
    written = run_ray(jobs, TINY, bench, ctx, cpus=1, log=lines.append, poll_s=1.0)
    assert sorted(e["label"] for e in written) == ["a", "b"]
    entries = bench.entries()
    assert len(entries) == 2 and all(0.0 <= e["miou"] <= 1.0 for e in entries)
    assert all(e["threads"] == 1 and e["device"] == "cpu" for e in entries)
    assert not list((tmp_path / "work" / "claims").iterdir())  # every claim released
    assert any("Ray: 2 job(s) at once" in line for line in lines)
    # a second driver finds nothing to do; the CLI path (bare --ray) likewise
    assert run_ray(jobs, TINY, bench, ctx, cpus=1, poll_s=1.0) == []
    assert ray.is_initialized()  # a connection the driver did not open is left open
    recipe = tmp_path / "recipe.json"
    recipe.write_text(json.dumps(TINY.to_json()))
    arch_files = []
    for label, a in (("a", archs[0]), ("b", archs[1])):
        p = tmp_path / f"{label}.json"
        p.write_text(json.dumps(a.to_json()))
        arch_files += ["--arch", str(p)]
    code = main(["minibench", "run", "--bench", str(bench.path), *arch_files, "--recipe", str(recipe),
                 "--work", str(tmp_path / "work"), "--data-root", str(root), "--no-latency", "--ray"])
    assert code == 0 and len(bench.entries()) == 2


def test_ray_driver_refuses_resources_the_cluster_lacks(tmp_path: Path) -> None:
    archs = sample_archs(1, 0, pool_factor=1)
    jobs = make_jobs([("a", archs[0])], [0])
    ctx = RunContext(tmp_path / "work", latency=False)
    with pytest.raises(SaswotError, match="not enough for one job"):
        run_ray(jobs, TINY, BenchFile(tmp_path / "b.jsonl"), ctx, cpus=1, gpus=0.5)
    with pytest.raises(SaswotError, match="cpus per job"):
        run_ray(jobs, TINY, BenchFile(tmp_path / "b.jsonl"), ctx, cpus=0)
