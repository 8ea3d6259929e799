"""Library calls leave the caller's process as they found it.

Torch's thread count, the garbage collector (freeze count, enabled), matplotlib's backend and
glibc's malloc settings are process-wide. Only the command-line entry point sets them for good
(and the worker processes that saswot starts itself); every library call checked here must leave
them as they were, also when it raises, and must not call ``mallopt`` in the caller's process.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import torch
from _tiny_nets import tiny_batch, tiny_model

import saswot.runtime.allocator as allocator
from saswot.runtime.allocator import collect_on_exit
from saswot.errors import SaswotError
from saswot.runtime.threads import torch_threads

DATA = Path(os.environ.get("SASWOT_DATA", "data"))

pytestmark = pytest.mark.usefixtures("one_torch_thread")

#: A thread count the calls are asked to use, unlike the one torch thread of the tests.
OTHER_THREADS = 2


def frozen(*objs: object) -> tuple[bool, ...]:
    """Whether each object is frozen (tracked by the collector, but in none of its generations)."""
    alive = {id(o) for o in gc.get_objects()}
    return tuple(gc.is_tracked(o) and id(o) not in alive for o in objs)


def process_state(probe: object) -> dict[str, Any]:
    """The process-wide settings a library call must not change.

    ``probe`` is an object made before the call: it must not be frozen by the call, and
    ``sys.modules`` (alive long before) must stay frozen exactly when the caller had frozen it.
    """
    state: dict[str, Any] = {
        "torch_threads": torch.get_num_threads(),
        "gc_frozen": frozen(sys.modules, probe),
        "gc_has_frozen": gc.get_freeze_count() > 0,
        "gc_enabled": gc.isenabled(),
        "gc_threshold": gc.get_threshold(),
    }
    if "matplotlib" in sys.modules:
        state["matplotlib_backend"] = sys.modules["matplotlib"].get_backend()
    return state


@pytest.fixture()
def mallopt_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple[Any, ...]]]:
    """Records every ``mallopt`` (and ``tune_malloc``) call made in this process, without making it."""
    calls: list[tuple[str, tuple[Any, ...]]] = []

    def fake_mallopt(*args: Any) -> bool:
        calls.append(("mallopt", args))
        return True

    def fake_tune(*args: Any, **kwargs: Any) -> bool:
        calls.append(("tune_malloc", args))
        return True

    monkeypatch.setattr(allocator, "_mallopt", fake_mallopt)
    monkeypatch.setattr(allocator, "tune_malloc", fake_tune)
    return calls


@pytest.fixture(params=["no caller freeze", "caller freeze", "gc disabled"])
def caller_gc(request: pytest.FixtureRequest) -> Iterator[str]:
    """The caller's garbage-collector state: untouched, with frozen objects, or disabled."""
    if request.param == "caller freeze":
        gc.freeze()
    elif request.param == "gc disabled":
        gc.disable()
    try:
        yield request.param
    finally:
        gc.unfreeze()
        gc.enable()


@contextmanager
def unchanged(calls: list[tuple[str, tuple[Any, ...]]]) -> Iterator[None]:
    """Assert that the block leaves :func:`process_state` as it was, freezes nothing more and calls
    no ``mallopt``."""
    probe: list[Any] = [[]]
    count = gc.get_freeze_count()
    before = process_state(probe)
    yield
    assert process_state(probe) == before
    # frozen objects that die (their last reference dropped) leave the count, none may join it
    assert gc.get_freeze_count() <= count
    assert calls == []


# ----------------------------------------------------------------------------- threads
def test_torch_threads_restores_the_count_also_on_error() -> None:
    before = torch.get_num_threads()
    with torch_threads(OTHER_THREADS):
        assert torch.get_num_threads() == OTHER_THREADS
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError), torch_threads(OTHER_THREADS):
        raise ValueError("inside")
    assert torch.get_num_threads() == before
    with torch_threads(None):
        assert torch.get_num_threads() == before
    with pytest.raises(SaswotError, match="at least 1"), torch_threads(0):
        pass


def test_fit_uses_its_threads_and_gives_the_callers_back(make_camvid, 
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mallopt_calls: list
) -> None:
    import saswot.train.loop as loop
    from saswot.train.loop import TrainConfig, fit

    root = make_camvid(tmp_path / "data", n_train=2, n_val=1)
    cfg: dict[str, Any] = {
        "model": "tiny",
        "dataset": "camvid",
        "data_root": str(root),
        "epochs": 1,
        "crop": (32, 32),
        "batch_size": 2,
        "workers": 0,
        "seed": 1,
        "threads": OTHER_THREADS,
    }
    with unchanged(mallopt_calls):
        fit(TrainConfig(out=str(tmp_path / "run"), **cfg), progress=False)
    with unchanged(mallopt_calls), pytest.raises(SaswotError):  # resume without a checkpoint
        fit(TrainConfig(out=str(tmp_path / "none"), resume=True, **cfg), progress=False)
    seen: list[int] = []
    monkeypatch.setattr(loop, "_fit", lambda *args: seen.append(torch.get_num_threads()) or {})
    fit(TrainConfig(out=str(tmp_path / "seen"), **cfg), progress=False)
    assert seen == [OTHER_THREADS]


def test_minibench_job_estimates_latency_with_its_threads(make_camvid, 
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mallopt_calls: list
) -> None:
    import saswot.workflows.minibench.worker as worker
    from saswot.workflows.minibench import RECIPES, RunContext, make_jobs, sample_archs, train_job

    seen: list[int] = []

    class FakeTable:
        tag = "fake"

        def __init__(self, device: str) -> None:
            pass

        def estimate(self, *args: Any) -> Any:
            seen.append(torch.get_num_threads())
            return type("Estimate", (), {"total_ms": 1.0})()

    monkeypatch.setattr(worker, "LatencyTable", FakeTable)
    root = make_camvid(tmp_path / "data", n_train=2, n_val=1, h=64, w=64)
    recipe = RECIPES["tiny-test"]
    job = make_jobs([("a", sample_archs(1, 0, pool_factor=2)[0])], [0])[0]
    ctx = RunContext(tmp_path / "work", data_root=str(root), threads=OTHER_THREADS, command="test")
    with unchanged(mallopt_calls):
        entry = train_job(job, recipe, ctx)
    assert seen == [OTHER_THREADS] and entry["latency_ms"] == 1.0


# ----------------------------------------------------------------------------- garbage collector
def test_collect_on_exit_restores_the_collector(caller_gc: str, mallopt_calls: list) -> None:
    with unchanged(mallopt_calls), collect_on_exit():
        cycle: list[Any] = []
        cycle.append(cycle)
    with unchanged(mallopt_calls), pytest.raises(ValueError), collect_on_exit():
        raise ValueError("inside")
    with unchanged(mallopt_calls), collect_on_exit(), collect_on_exit():  # nested
        pass


def test_collect_on_exit_frees_the_blocks_cycles(caller_gc: str) -> None:
    import weakref

    class Node:
        pass

    with collect_on_exit():
        node = Node()
        node.self = node  # type: ignore[attr-defined]
        ref = weakref.ref(node)
        del node
    assert ref() is None


def test_stat_cache_and_scoring_leave_the_process_alone(tmp_path: Path, caller_gc: str, mallopt_calls: list) -> None:
    from saswot.search.proxy_search import load_arch_stats
    from saswot.search.statcache import StatCache
    from saswot.proxies import resolve_proxies
    from saswot.config import ProxyBatch
    from saswot.workflows.score import score_architectures
    from saswot.proxies._stats import collect_stats

    x, y = tiny_batch()
    cache = StatCache(tmp_path / "stats", lambda key: collect_stats(tiny_model(seed=int(key)), x, y), "tiny")
    settings = ProxyBatch(batch_size=4, resolution=(8, 8), data="random", num_classes=5)
    with unchanged(mallopt_calls):
        seconds: dict[str, float] = {}
        stats = load_arch_stats(cache, ["0", "1", "0"], seconds=seconds)
        assert [s.key for s in stats] == ["0", "1", "0"] and sorted(seconds) == ["0", "1"]
        score_architectures(
            [0, 1],
            resolve_proxies("snip,nwot"),
            settings,
            lambda a: tiny_model(seed=a),
            key=str,
            images_labels=(x, y),
            progress=False,
        )


def worker_threads(_: None, item: int) -> int:
    """Task: the torch thread count of the process that runs it."""
    return torch.get_num_threads()


def test_worker_processes_set_their_own_threads_only(mallopt_calls: list) -> None:
    from saswot.runtime.parallel import LocalExecutor

    with unchanged(mallopt_calls), LocalExecutor(1, threads=OTHER_THREADS) as ex:
        values = [o.value for o in ex.map(worker_threads, None, [0, 1])]
    assert values == [OTHER_THREADS, OTHER_THREADS]


def test_proxy_search_leaves_the_process_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mallopt_calls: list
) -> None:
    import saswot.search.proxy_search as search_mod
    from saswot.search.proxy_search import ProxySearchConfig, run_proxy_search
    from saswot.search.statcache import StatCache
    from saswot.spaces.tnb101.lookup import TNBBenchmark
    from saswot.proxies._stats import collect_stats

    if not TNBBenchmark.default_path("micro", DATA).exists():
        pytest.skip("TNB101 benchmark file not found; set SASWOT_DATA")
    x, y = tiny_batch()

    def tiny_cache(space: object, cache_dir: object, data_root: object) -> StatCache:
        def compute(key: str) -> object:
            return collect_stats(tiny_model(seed=sum(map(ord, key)) % 7, width=3 + sum(map(ord, key)) % 4), x, y)

        name = str(getattr(space, "name", space))  # a space name or a space object
        return StatCache(tmp_path / "stats" / name, compute, f"tiny-{name}")

    monkeypatch.setattr(search_mod, "make_stat_cache", tiny_cache)
    cfg = ProxySearchConfig(space="micro", generations=1, population=4, topk=2, search_archs=5, val_archs=4, seed=0)
    with unchanged(mallopt_calls):
        result = run_proxy_search(cfg, tmp_path / "p.json", data_root=DATA, show_progress=False)
    assert result["executor"]["kind"] == "serial" and result["timing_s"]["statistics_computed"] == 9


# ----------------------------------------------------------------------------- figures
def test_plots_keep_the_matplotlib_backend(tmp_path: Path, mallopt_calls: list) -> None:
    pytest.importorskip("matplotlib")
    from saswot.utils.plots import plot_search_curves, scatter_plot

    with unchanged(mallopt_calls):
        assert "matplotlib_backend" in process_state(None)
        scatter_plot([1.0, 2.0, 3.0], [0.1, 0.3, 0.2], tmp_path / "s.png", highlight=[False, True, False])
        plot_search_curves(
            {"a": [{"evaluations": 1, "best_fitness": 0.2}, {"evaluations": 3, "best_fitness": 0.4}]},
            tmp_path / "c.png",
        )
    assert (tmp_path / "s.png").stat().st_size > 0 and (tmp_path / "c.png").stat().st_size > 0
