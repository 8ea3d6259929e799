"""Executors (saswot.runtime.parallel): same results as the serial loop, retry of a dead worker, resume.

Local worker processes only; the Ray executor is tested in ``test_parallel_ray.py``.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from saswot.cli.main import bare_option_values, main
from saswot.errors import SaswotError
from saswot.runtime.parallel import DIED_TWICE, LocalExecutor, SerialExecutor, make_executor
from saswot.search.evolution import EvolutionConfig, evolve, random_search

DATA = Path(os.environ.get("SASWOT_DATA", "data"))
KEYS = ["(1, 0, 0, 2, 1, 0)", "(2, 2, 1, 0, 0, 0)", "(1, 1, 0, 0, 0, 0)", "(3, 3, 3, 3, 3, 3)"]
PROXIES = "params,l2_norm,nwot,snip,synflow"


# ------------------------------------------------------------------ task functions (module level: picklable)
def square(offset: int, x: int) -> int:
    """Task: x*x + offset."""
    return x * x + offset


def sharing_hooks_quiet(_: None, x: int) -> bool:
    """Task: whether this worker filters the descriptor-sharing thread's errors (both hooks)."""
    import threading

    return "quiet_sys_hook" in sys.excepthook.__qualname__ and "quiet_threading_hook" in threading.excepthook.__qualname__


def die_once(folder: str, x: int) -> int:
    """Task: the first attempt at item 1 kills its own worker; every other call returns x."""
    marker = Path(folder) / f"died-{x}"
    if x == 1 and not marker.exists():
        marker.write_text("1")
        os.kill(os.getpid(), signal.SIGKILL)
    return x


def die_always(folder: str, x: int) -> int:
    """Task: item 2 always kills its worker (slowly enough that item 3 is in flight with it)."""
    if x == 2:
        time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGKILL)
    if x == 3:
        time.sleep(1.0)
    return x


def failing(_: None, x: int) -> int:
    """Task: raises a user error for item 1."""
    if x == 1:
        raise SaswotError("bad item 1")
    return x


def test_serial_and_local_give_the_same_values() -> None:
    items = list(range(7))
    serial = {o.index: o.value for o in SerialExecutor().map(square, 3, items)}
    with LocalExecutor(2, threads=1) as ex:
        outcomes = list(ex.map(square, 3, items))
    assert {o.index: o.value for o in outcomes} == serial == {i: i * i + 3 for i in items}
    assert all(o.ok and o.seconds >= 0 for o in outcomes)
    assert ex.describe() == {"kind": "local", "workers": 2, "threads_per_worker": 1}


def test_local_workers_quiet_the_descriptor_sharing_errors() -> None:
    """After Ctrl-C a worker's sharing thread may lose its peer; the traceback it would print is dropped."""
    with LocalExecutor(2, threads=1) as ex:
        assert all(o.ok and o.value is True for o in ex.map(sharing_hooks_quiet, None, [0, 1]))


def test_dead_worker_is_retried_once_then_recorded(tmp_path: Path) -> None:
    with LocalExecutor(2, threads=1) as ex:
        once = {o.index: o for o in ex.map(die_once, str(tmp_path), [0, 1, 2, 3])}
        assert all(o.ok for o in once.values()) and [once[i].value for i in range(4)] == [0, 1, 2, 3]
        twice = {o.index: o for o in ex.map(die_always, str(tmp_path), [0, 1, 2, 3, 4])}
    assert sorted(twice) == [0, 1, 2, 3, 4]
    assert not twice[2].ok and twice[2].error == DIED_TWICE and twice[2].value is None
    # item 3 was in flight when item 2 killed its worker: retried alone, it is not blamed
    assert all(twice[i].ok and twice[i].value == i for i in (0, 1, 3, 4))


def test_a_pool_found_broken_when_submitting_is_replaced_without_losing_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker may die between two checks, so that the next submit (not a result) finds the pool
    broken: the task that was not started is not counted as an attempt, finished work is kept."""
    from concurrent.futures.process import BrokenProcessPool

    class BreaksOnSecondSubmit:
        def __init__(self, pool: object) -> None:
            self.pool, self.calls = pool, 0

        def submit(self, *args: object, **kwargs: object) -> object:
            self.calls += 1
            if self.calls == 2:
                raise BrokenProcessPool("simulated: a worker died before this submit")
            return self.pool.submit(*args, **kwargs)  # type: ignore[attr-defined]

    real_get_pool = LocalExecutor._get_pool
    pools: list[object] = []

    def get_pool(self: LocalExecutor, recycle: int | None) -> object:
        pool = real_get_pool(self, recycle)
        if not pools:
            pools.append(BreaksOnSecondSubmit(pool))
        return pools[0] if len(pools) == 1 and pools[0].pool is pool else pool  # type: ignore[attr-defined]

    monkeypatch.setattr(LocalExecutor, "_get_pool", get_pool)
    with LocalExecutor(2, threads=1) as ex:
        outcomes = sorted(ex.map(square, 10, [1, 2, 3, 4]), key=lambda o: o.index)
    assert [o.value for o in outcomes] == [11, 14, 19, 26] and all(o.ok for o in outcomes)
    assert pools[0].calls >= 2  # type: ignore[attr-defined]


def test_task_errors_propagate_and_bad_options_are_clear() -> None:
    with LocalExecutor(2, threads=1) as ex, pytest.raises(SaswotError, match="bad item 1"):
        list(ex.map(failing, None, [0, 1, 2]))
    with pytest.raises(SaswotError, match="cannot be sent to worker processes"):
        list(LocalExecutor(1).map(lambda s, x: x, None, [1]))
    with pytest.raises(SaswotError, match="workers must be"):
        make_executor(-1)
    assert isinstance(make_executor(0), SerialExecutor) and isinstance(make_executor(None), SerialExecutor)
    assert bare_option_values(["rank", "--ray"]) == ["rank", "--ray=local"]
    assert bare_option_values(["--ray", "--quiet"]) == ["--ray=local", "--quiet"]
    assert bare_option_values(["--ray", "auto", "--quiet"]) == ["--ray", "auto", "--quiet"]


def test_ray_without_the_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(SaswotError, match=r'pip install "saswot\[ray\]"'):
        make_executor(ray="local")


# ------------------------------------------------------------------ the generic engine with evaluate_batch
class _Toy:
    """Integer genomes; odd multiples of 7 are rejected by evaluate (None)."""

    def __init__(self, batched: bool) -> None:
        self.calls: list[int] = []
        if batched:
            self.evaluate_batch = lambda gs: [self.evaluate(g) for g in gs]

    def sample(self, rng: np.random.Generator) -> int:
        return int(rng.integers(0, 60))

    def mutate(self, g: int, rng: np.random.Generator) -> int:
        return (g + int(rng.integers(-3, 4))) % 60

    def crossover(self, a: int, b: int, rng: np.random.Generator) -> int:
        return (a + b) // 2

    def key(self, g: int) -> str:
        return str(g)

    def is_valid(self, g: int) -> bool:
        return g % 11 != 0

    def evaluate(self, g: int) -> float | None:
        self.calls.append(g)
        return None if g % 7 == 0 else -abs(g - 41) + 0.01 * g

    def to_json(self, g: int) -> int:
        return g

    def from_json(self, d: int) -> int:
        return int(d)


def test_batched_evaluation_keeps_the_search_history() -> None:
    cfg = EvolutionConfig(iterations=6, population=8, topk=3, stagnation=2)
    runs = []
    for batched in (False, True):
        toy = _Toy(batched)
        res = evolve(toy, cfg, np.random.default_rng(4))
        rnd = random_search(toy, 25, np.random.default_rng(5), report_every=4)
        hist = [{k: v for k, v in r.items() if k != "elapsed_s"} for r in res.history_json()]
        rhist = [{k: v for k, v in r.items() if k != "elapsed_s"} for r in rnd.history_json()]
        runs.append((hist, res.best, res.evaluations, res.rejected, rhist, rnd.best, sorted(toy.calls)))
    assert runs[0] == runs[1]


# ------------------------------------------------------------------ rank: serial vs --workers 2, resume, Ctrl-C
@pytest.fixture()
def tiny_bench(tmp_path: Path) -> Path:
    src = DATA / "tnb101" / "zc_transbench101_micro.json"
    if not src.is_file():
        pytest.skip("TNB101 data not available (set SASWOT_DATA)")
    table = json.loads(src.read_text())["segmentsemantic"]
    keys = [k for k in KEYS if k in table]
    keys += [k for k in table if k not in keys][: 4 - len(keys)]
    path = tmp_path / "bench_micro.json"
    path.write_text(json.dumps({"segmentsemantic": {k: table[k] for k in keys}}))
    return path


def _rank_args(bench: Path, out: Path, *extra: str) -> list[str]:
    return ["rank", "--space", "micro", "--bench", str(bench), "--proxies", PROXIES, "--archs", "all",
            "--samples", "2", "--sample-size", "3", "--batch-size", "2", "--resolution", "64", "--data", "random",
            "--quiet", "--out", str(out), *extra]


def test_rank_workers_bit_identical_to_serial_and_resumes(tiny_bench: Path, tmp_path: Path) -> None:
    serial, par = tmp_path / "s" / "r.json", tmp_path / "w" / "r.json"
    par_cache = ["--cache", str(tmp_path / "w" / "cache")]
    assert main(_rank_args(tiny_bench, serial, "--threads", "1", "--cache", str(tmp_path / "s" / "cache"))) == 0
    assert main(_rank_args(tiny_bench, par, "--workers", "2", *par_cache)) == 0
    a, b = json.loads(serial.read_text()), json.loads(par.read_text())
    assert a["archs"] == b["archs"]  # exact: every score bit for bit
    assert a["executor"]["kind"] == "serial" and b["executor"] == {"kind": "local", "workers": 2,
                                                                   "threads_per_worker": 1}
    assert b["timing"]["computed"] == 4 and all(v > 0 for v in b["timing"]["per_arch_s"].values())
    # a rerun with workers reads everything from the cache
    assert main(_rank_args(tiny_bench, par, "--workers", "2", *par_cache)) == 0
    c = json.loads(par.read_text())
    assert c["archs"] == a["archs"] and c["timing"]["computed"] == 0 and c["timing"]["cached"] == 4


def test_rank_interrupted_with_ctrl_c_resumes(tiny_bench: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    cache = tmp_path / "cache"
    cmd = [sys.executable, "-m", "saswot", *_rank_args(tiny_bench, out, "--workers", "2", "--cache", str(cache))]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if any(p.suffix == ".json" for p in cache.rglob("*.json")):
            break
        time.sleep(0.05)
    finished_early = proc.poll() is not None
    if not finished_early:
        proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    if not finished_early:
        assert proc.returncode == 130 and "Traceback" not in err, err
        assert "interrupted; finished results and caches are kept" in err
    files = list(cache.rglob("*.json"))
    assert files and all(json.loads(p.read_text())["scores"] for p in files)  # no half-written entry
    assert not list(cache.rglob("*.tmp"))
    done_before = len(files)
    assert main(_rank_args(tiny_bench, out, "--workers", "2", "--cache", str(cache))) == 0
    doc = json.loads(out.read_text())
    assert doc["timing"]["cached"] >= done_before and doc["timing"]["computed"] == 4 - doc["timing"]["cached"]
    assert len(doc["archs"]) == 4 and all(math.isfinite(v) for r in doc["archs"].values() for v in r["scores"].values())


# ------------------------------------------------------------------ the searches: same history with workers
def _history(records: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "elapsed_s"} for r in records]


def test_search_arch_workers_keep_the_history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SASWOT_CACHE", str(tmp_path / "cache"))
    docs = []
    for name, extra in (("serial", ["--threads", "1"]), ("workers", ["--workers", "2"])):
        out = tmp_path / name / "arch.json"
        args = ["search-arch", "--proxy", "saswot", "--avt-samples", "3", "--generations", "1", "--population", "3",
                "--topk", "2", "--proxy-resolution", "64x128", "--batch-size", "1", "--data", "random",
                "--max-gmacs", "30", "--seed", "3", "--out", str(out), *extra]
        assert main(args) == 0
        docs.append(json.loads(out.read_text()))
    a, b = docs[0]["search"], docs[1]["search"]
    assert _history(a["history"]) == _history(b["history"]) and a["genome"] == b["genome"]
    assert a["top"] == b["top"] and a["avt"]["ranges"] == b["avt"]["ranges"]
    assert b["executor"]["kind"] == "local" and b["executor"]["workers"] == 2
    assert b["timing"]["networks_scored"] == a["timing"]["networks_scored"] > 0 and not b["worker_failures"]


def test_search_proxy_statistics_on_workers_keep_the_search(tmp_path: Path) -> None:
    from saswot.spaces.tnb101.lookup import TNBBenchmark

    if not TNBBenchmark.default_path("micro", DATA).exists():
        pytest.skip("TNB101 benchmark file not found; set SASWOT_DATA")
    docs = []
    for name, extra in (("serial", ["--threads", "1"]), ("workers", ["--workers", "2"])):
        out = tmp_path / name / "proxy.json"
        args = ["search-proxy", "--space", "micro", "--data-root", str(DATA), "--generations", "1", "--population",
                "4", "--topk", "2", "--search-archs", "3", "--val-archs", "3", "--seed", "1", "--quiet",
                "--no-random-baseline", "--cache", str(tmp_path / name / "cache"), "--out", str(out), *extra]
        assert main(args) == 0
        docs.append(json.loads(out.read_text()))
    a, b = docs
    assert _history(a["history"]) == _history(b["history"]) and a["expression"] == b["expression"]
    assert a["top"] == b["top"]
    assert b["executor"]["workers"] == 2 and b["timing_s"]["statistics_computed"] == 6
    files = sorted(p.name for p in (tmp_path / "workers" / "cache").rglob("*.pt"))
    assert len(files) == 6 and not list((tmp_path / "workers" / "cache").rglob("*.tmp"))


def build_or_die(victim: str, arch: object) -> object:
    """Build a TNB101 network, killing the worker process for the architecture ``victim``."""
    from saswot.spaces.tnb101.builder import build_network

    if arch.key == victim:  # type: ignore[attr-defined]
        os.kill(os.getpid(), signal.SIGKILL)
    return build_network(arch, 17, seed=0)  # type: ignore[arg-type]


def test_rank_records_a_network_whose_worker_died_and_does_not_cache_it(tmp_path: Path) -> None:
    import functools

    from saswot.proxies import SENTINEL, resolve_proxies
    from saswot.config import ProxyBatch
    from saswot.workflows.score import ScoreCache, score_architectures
    from saswot.spaces.tnb101.encoding import parse_arch

    archs = [parse_arch(k, "micro") for k in KEYS[:3]]
    settings = ProxyBatch(batch_size=2, data="random")
    cache = ScoreCache(tmp_path, "micro", settings)
    with LocalExecutor(2, threads=1) as ex:
        per = score_architectures(archs, resolve_proxies("params,l2_norm"), settings,
                                  functools.partial(build_or_die, archs[1].key), cache=cache, progress=False,
                                  executor=ex)
    dead = per[archs[1].key]
    assert dead.scores == {"params": SENTINEL, "l2_norm": SENTINEL} and dead.seconds is None
    assert all(v == DIED_TWICE for v in dead.failed.values())
    assert cache.get(archs[1].key) == {}  # not cached: a rerun scores it again
    assert all(cache.get(a.key) and per[a.key].seconds for a in (archs[0], archs[2]))
