"""Proxy-search setup: architecture splits, the statistics cache, baselines and the full run.

The search architectures (fitness) and the validation architectures (reported only, never seen
by the search) are disjoint seeded samples of the dev benchmark.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from saswot.config import ProxyBatch
from saswot.datasets.proxy_batch import make_batch
from saswot.errors import SaswotError, ScoreError
from saswot.proxies._stats import collect_stats
from saswot.proxies.expr.expression import SASWOT_MINUS
from saswot.runtime.parallel import Executor
from saswot.runtime.progress import make_progress
from saswot.search.evolution import EvolutionConfig, evolve, random_search
from saswot.search.proxy_problem import ProxySearchProblem, kendall
from saswot.search.statcache import ArchStats, PackedStats, StatCache
from saswot.spaces import BENCHMARK, get_space
from saswot.spaces.base import require_benchmark
from saswot.utils.io import checkpoint_path, read_json, sibling, write_json
from saswot.utils.paths import cache_dir as default_cache_dir

#: The statistics batch (its classes are the space's; see :func:`saswot.datasets.proxy_batch.make_batch`).
STATS_BATCH = ProxyBatch(data="camvid", batch_size=8, resolution=(64, 64), seed=0)
#: Seed of the network initialisation for every architecture.
INIT_SEED = 0


#: Size of the seeded pool the search/validation split is cut from (prefix property: for
#: ``n_search + n_val <= SPLIT_POOL`` a smaller split reuses the same architectures and caches).
SPLIT_POOL = 150


def split_archs(bench: Any, n_search: int, n_val: int, seed: int) -> tuple[list[Any], list[Any]]:
    """Disjoint seeded samples: ``n_search`` search and ``n_val`` validation architectures.

    A pool of ``max(SPLIT_POOL, n_search + n_val)`` architectures (capped at the benchmark size)
    is drawn with ``seed``; the first ``n_search`` are the search set, the next ``n_val`` the
    validation set.
    """

    total = len(bench.keys())
    if n_search + n_val > total:
        raise SaswotError(
            f"asked for {n_search} + {n_val} architectures but the benchmark has {total}; "
            "lower {search_archs} / {val_archs}"
        )
    rng = np.random.default_rng(seed)
    drawn = bench.sample(min(total, max(SPLIT_POOL, n_search + n_val)), rng)
    return list(drawn[:n_search]), list(drawn[n_search : n_search + n_val])


def stats_tag(space: Any) -> str:
    """Identity of the statistics setting (stored in each cache file); ``space`` is a name or a space."""

    sp = get_space(space)
    b = STATS_BATCH
    h, w = b.resolution
    return f"{sp.name}|{b.data}|n{b.batch_size}|{h}x{w}|batchseed{b.seed}|init{INIT_SEED}|c{sp.num_classes}"


def make_stat_cache(
    space: Any, cache_dir: str | os.PathLike[str] | None, data_root: str | os.PathLike[str] | None
) -> StatCache:
    """A :class:`StatCache` computing missing entries with the space's builder and the shared statistics pass.

    ``space`` is a registered name or a space object (:mod:`saswot.spaces`).
    """

    sp = get_space(space)
    batch: dict[str, torch.Tensor] = {}

    def compute(key: str) -> object:
        if not batch:
            images, labels = make_batch(
                STATS_BATCH.data,
                STATS_BATCH.batch_size,
                STATS_BATCH.resolution,
                sp.num_classes,
                STATS_BATCH.seed,
                data_root=data_root,
            )
            batch["x"], batch["y"] = images, labels
        net = sp.build(sp.parse(key), num_classes=sp.num_classes, seed=INIT_SEED)
        stats = collect_stats(net, batch["x"], batch["y"], need_input_grad=False, need_nwot=True)
        del net
        return stats

    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir("autoproxy")
    cache = StatCache(folder / sp.name, compute, stats_tag(sp))
    cache.worker_spec = (
        sp,
        None if cache_dir is None else str(cache_dir),
        None if data_root is None else str(data_root),
    )
    return cache


def compute_arch_stats(spec: tuple[Any, str | None, str | None], key: str) -> ArchStats:
    """Statistics of one architecture, computed (not written) by :func:`make_stat_cache`'s rule.

    The task of the statistics collection on any executor (:mod:`saswot.runtime.parallel`); ``spec`` is
    ``(space, cache_dir, data_root)`` (a cache's ``worker_spec``).
    """
    space, cache_dir, data_root = spec
    return make_stat_cache(space, cache_dir, data_root).compute_entry(key)


def load_arch_stats(
    cache: StatCache,
    keys: Sequence[str],
    progress: Callable[[int], None] | None = None,
    worker: tuple[Any, str | None, str | None] | None = None,
    executor: Executor | None = None,
    seconds: dict[str, float] | None = None,
) -> list[ArchStats]:
    """Statistics of ``keys`` (computed and cached when missing).

    Missing entries are computed in this process, or by ``executor`` when one with worker
    processes is given (a parallel collection); either way this process writes each entry as it
    is computed (one atomic write per architecture), so an interrupted collection resumes where
    it stopped. Computing in this process keeps its memory bounded: the statistics pass frees
    each network on return (:meth:`StatCache.compute_entry`), and the resident set levels off
    after the first architectures (``benchmarks/bench_statcache_memory.py``).

    Args:
        cache: the cache.
        keys: architecture keys.
        progress: called with the number done.
        worker: ``(space, cache_dir, data_root)`` of :func:`make_stat_cache` (its
            ``cache.worker_spec``), needed to compute entries on an executor.
        executor: where missing entries are computed; None or a serial executor: this process.
        seconds: if given, filled with ``{key: wall seconds}`` of each entry computed (not of
            those read from the cache).

    Raises:
        ScoreError: a worker died twice on some architectures (the others are cached: rerun).
    """
    if executor is None or executor.kind == "serial":
        out = []
        for i, k in enumerate(keys):
            t0 = time.perf_counter()
            computed = not cache.path(k).exists()
            out.append(cache.get(k))
            if computed and seconds is not None:
                seconds[k] = time.perf_counter() - t0
            if progress is not None:
                progress(i + 1)
        return out
    if worker is None:
        raise ScoreError(
            "computing statistics on an executor needs the cache's worker_spec (build the cache with make_stat_cache)"
        )
    missing = list(dict.fromkeys(k for k in keys if not cache.path(k).exists()))
    done = len(keys) - len(missing)
    if progress is not None:
        progress(done)
    failed: dict[str, str] = {}
    for outcome in executor.map(compute_arch_stats, worker, missing) if missing else ():
        if outcome.ok:
            cache.store(outcome.value)  # type: ignore[arg-type]
            if seconds is not None:
                seconds[missing[outcome.index]] = outcome.seconds
        else:
            failed[missing[outcome.index]] = str(outcome.error)
        done += 1
        if progress is not None:
            progress(done)
    if failed:
        shown = "; ".join(f"{k}: {v}" for k, v in list(failed.items())[:3])
        raise ScoreError(
            f"statistics of {len(failed)} architecture(s) could not be computed ({shown}); "
            "the others are cached, rerun to try these again"
        )
    return [cache.get(k) for k in keys]


def adopt_old_checkpoint(out: Path) -> bool:
    """Rename a checkpoint written under the former names (``<out name>.ckpt.json``/``.fec.json``) to the
    current scheme (``<stem>.ckpt.json``/``.fec.json``, :func:`saswot.utils.io.sibling`); True if one was renamed.

    A rename is reported with a :class:`DeprecationWarning`: the former names will not be read forever.
    """
    moved = False
    for old, new in (
        (out.with_name(out.name + ".ckpt.json"), checkpoint_path(out)),
        (out.with_name(out.name + ".fec.json"), sibling(out, ".fec.json")),
    ):
        if old.exists() and not new.exists():
            old.rename(new)
            warnings.warn(
                f"renamed {old.name}, written under a former naming scheme, to {new.name}",
                DeprecationWarning,
                stacklevel=2,
            )
            moved = True
    return moved


@dataclass(frozen=True)
class ProxySearchConfig:
    """Settings of one ``saswot search-proxy`` run (stored in the output JSON)."""

    space: str
    generations: int = 20
    population: int = 20
    topk: int = 5
    search_archs: int = 100
    val_archs: int = 200
    seed: int = 0
    random_only: bool = False
    depth: int = 2
    stagnation: int = 5


def _tau(scores: np.ndarray, truth: np.ndarray) -> float:

    if not np.all(np.isfinite(scores)):
        return float("nan")
    return kendall(scores, truth)


def _avt_range(values: np.ndarray) -> dict[str, float]:
    good = values[np.isfinite(values)]
    return (
        {"min": float(good.min()), "max": float(good.max())}
        if good.size
        else {"min": float("nan"), "max": float("nan")}
    )


def _avt_apply(values: np.ndarray, rng: dict[str, float]) -> np.ndarray:
    span = rng["max"] - rng["min"]
    return (values - rng["min"]) / span if span > 0 else np.full_like(values, np.nan)


def evaluate_on(expr: Any, packed: PackedStats, truth: np.ndarray) -> tuple[float, np.ndarray]:
    """(Kendall tau, scores) of ``expr`` on a packed set; NaN tau when illegal there."""
    if not expr.is_legal(packed.layer_shapes()):
        return float("nan"), np.full(len(packed), np.nan)
    s = packed.scores(expr)
    return _tau(s, truth), s


def combined_tau(expr: Any, search: PackedStats, val: PackedStats, truth_val: np.ndarray) -> tuple[float, dict]:
    """Kendall tau on ``val`` of avt(expr) + avt(nwot), AVT min/max from the search set."""
    if not (expr.is_legal(search.layer_shapes()) and expr.is_legal(val.layer_shapes())):
        return float("nan"), {}
    ranges = {"expression": _avt_range(search.scores(expr)), "nwot": _avt_range(search.nwot)}
    comb = _avt_apply(val.scores(expr), ranges["expression"]) + _avt_apply(val.nwot, ranges["nwot"])
    return _tau(comb, truth_val), ranges


def baselines(
    bench: Any, val_keys: Sequence[str], search: PackedStats, val: PackedStats, truth_val: np.ndarray
) -> list[dict[str, Any]]:
    """Kendall tau on the validation archs of SasWOT-minus, SasWOT, NWOT (ours, cached stats)
    and of every reference proxy recorded in the benchmark file."""

    rows: list[dict[str, Any]] = []
    tau, _ = evaluate_on(SASWOT_MINUS, val, truth_val)
    rows.append({"proxy": "saswot_minus (ours)", "kendall_val": tau})
    tau, _ = combined_tau(SASWOT_MINUS, search, val, truth_val)
    rows.append({"proxy": "saswot (ours, avt(saswot_minus)+avt(nwot))", "kendall_val": tau})
    rows.append({"proxy": "nwot (ours)", "kendall_val": _tau(val.nwot, truth_val)})
    for name in bench.proxies():
        vals = [bench.reference_score(k, name) for k in val_keys]
        if any(v is None for v in vals):
            continue
        arr = np.array(vals, dtype=np.float64)
        rows.append({"proxy": f"{name} (NASLib reference)", "kendall_val": _tau(arr, truth_val)})
    return rows


def run_proxy_search(
    cfg: ProxySearchConfig,
    out: Path,
    *,
    bench_path: str | os.PathLike[str] | None = None,
    data_root: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    resume: bool = False,
    random_baseline: bool = True,
    show_progress: bool = True,
    executor: Executor | None = None,
) -> dict[str, Any]:
    """Run the proxy search described by ``cfg`` and return the proxy-file content.

    The statistics of missing architectures are computed by ``executor`` (default: this
    process); the search itself is unchanged by it.

    Writes beside ``out``: ``<stem>.ckpt.json`` (evolution checkpoint), ``<stem>.fec.json``
    (equivalence cache, so that ``resume`` is exact). The caller writes ``out`` and the plot.
    """

    t_start = time.perf_counter()

    space = get_space(cfg.space, BENCHMARK)
    bench = require_benchmark(space, bench_path, data_root)
    s_archs, v_archs = split_archs(bench, cfg.search_archs, cfg.val_archs, cfg.seed)
    s_keys, v_keys = [space.key(a) for a in s_archs], [space.key(a) for a in v_archs]
    truth_s = np.array([bench.ground_truth(k) for k in s_keys])
    truth_v = np.array([bench.ground_truth(k) for k in v_keys])
    cache = make_stat_cache(space, cache_dir, data_root)

    with make_progress(disable=not show_progress) as prog:
        task = prog.add_task(f"statistics ({cfg.space})", total=len(s_keys) + len(v_keys), status="")
        worker = cache.worker_spec
        if executor is not None and executor.workers > 1:
            prog.update(task, status=f"{executor.workers} {executor.kind} workers")
        stat_seconds: dict[str, float] = {}
        stats_all = load_arch_stats(
            cache,
            s_keys + v_keys,
            lambda i: prog.update(task, completed=i),
            worker,
            executor=executor,
            seconds=stat_seconds,
        )
        stats_s, stats_v = stats_all[: len(s_keys)], stats_all[len(s_keys) :]
    t_stats = time.perf_counter() - t_start

    problem = ProxySearchProblem(stats_s, truth_s, depth=cfg.depth)
    val_packed = PackedStats(stats_v)
    econf = EvolutionConfig(
        iterations=cfg.generations, population=cfg.population, topk=cfg.topk, stagnation=cfg.stagnation
    )
    adopt_old_checkpoint(out)
    ckpt, fec_file = checkpoint_path(out), sibling(out, ".fec.json")
    meta = {
        "space": cfg.space,
        "seed": cfg.seed,
        "search_archs": cfg.search_archs,
        "val_archs": cfg.val_archs,
        "depth": cfg.depth,
        "stats": stats_tag(cfg.space),
    }
    evo_result = None
    t0 = time.perf_counter()
    budget = cfg.population * (1 + cfg.generations)
    if not cfg.random_only:
        if resume and fec_file.exists() and ckpt.exists():
            problem.load_fec_state(read_json(fec_file, "equivalence cache"))
        with make_progress(disable=not show_progress) as prog:
            task = prog.add_task(f"evolution ({cfg.space})", total=cfg.generations, status="")

            def on_iter(rec: Any) -> None:
                write_json(fec_file, problem.fec_state(), indent=None)
                prog.update(task, completed=rec.iteration, status=f"best τ={rec.best_fitness:.4f}")

            evo_result = evolve(
                problem,
                econf,
                np.random.default_rng(cfg.seed),
                checkpoint=ckpt,
                resume=resume,
                meta=meta,
                on_iteration=on_iter,
            )
        budget = evo_result.evaluations
    t_evo = time.perf_counter() - t0

    rand_result = None
    t0 = time.perf_counter()
    if cfg.random_only or random_baseline:
        rproblem = ProxySearchProblem(stats_s, truth_s, depth=cfg.depth)
        with make_progress(disable=not show_progress) as prog:
            task = prog.add_task(f"random search ({cfg.space})", total=budget, status="")
            rand_result = random_search(
                rproblem,
                budget,
                np.random.default_rng(cfg.seed + 1),
                report_every=max(1, cfg.population),
                on_evaluate=lambda n: prog.update(task, completed=n),
            )
    t_rand = time.perf_counter() - t0

    main = evo_result if evo_result is not None else rand_result
    assert main is not None
    best = main.best
    tau_val, _ = evaluate_on(best, val_packed, truth_v)
    tau_comb, ranges = combined_tau(best, problem.packed, val_packed, truth_v)
    top = []
    for expr, fit in main.top:
        tv, _ = evaluate_on(expr, val_packed, truth_v)
        top.append(
            {"expression": expr.canonical(), "formula": expr.formula(), "kendall_search": fit, "kendall_val": tv}
        )
    result: dict[str, Any] = {
        "format": "saswot-proxy",
        "version": 1,
        "name": out.stem,
        "expression": best.canonical(),
        "formula": best.formula(),
        "combine_with": None,
        "avt": {"ranges": ranges, "set": f"{cfg.search_archs} search architectures"},
        "space": cfg.space,
        "method": "random" if evo_result is None else "evolution",
        "kendall_search": main.best_fitness,
        "kendall_val": tau_val,
        "kendall_val_combined_nwot": tau_comb,
        "config": asdict(cfg),
        "seed": cfg.seed,
        "stats": stats_tag(cfg.space),
        "search_keys": s_keys,
        "val_keys": v_keys,
        "top": top,
        "baselines_val": baselines(bench, v_keys, problem.packed, val_packed, truth_v),
        "history": main.history_json(),
        "evaluations": main.evaluations,
        "rejected": main.rejected,
        "random": None
        if rand_result is None or evo_result is None
        else {
            "best_expression": rand_result.best.canonical(),
            "kendall_search": rand_result.best_fitness,
            "kendall_val": evaluate_on(rand_result.best, val_packed, truth_v)[0],
            "history": rand_result.history_json(),
            "evaluations": rand_result.evaluations,
        },
        "timing_s": {
            "statistics": t_stats,
            "evolution": t_evo,
            "random": t_rand,
            "total": time.perf_counter() - t_start,
            "statistics_computed": len(stat_seconds),
            "statistics_mean_per_arch": (sum(stat_seconds.values()) / len(stat_seconds) if stat_seconds else None),
            "statistics_per_arch": stat_seconds,
        },
        "torch_threads": torch.get_num_threads(),
        "executor": executor.describe() if executor is not None else {"kind": "serial", "workers": 1},
    }
    return result
