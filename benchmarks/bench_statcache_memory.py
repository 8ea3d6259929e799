"""Resident memory of computing proxy-search statistics in this process, one architecture after another.

The proxy search (``saswot search-proxy``) computes the statistics of each missing architecture
with :func:`saswot.search.proxy_search.make_stat_cache` and ``StatCache.compute_entry`` (TNB101
network built with the init seed, one forward/backward pass of ``collect_stats`` over the CamVid
statistics batch, the memory-bounded subsample kept). This script runs that same code path for
the first ``--n`` architectures of the proxy search's seeded pool (:func:`split_archs` with seed
0), in this process and without any worker process, and reads the resident set size
(``VmRSS`` of ``/proc/self/status``) after each architecture.

The summary gives the RSS after the first architecture, after ``--warmup`` architectures and
after the last, the growth per architecture after the warm-up (least-squares slope and
end-to-end difference), and the slope over the last half alone: a leak keeps growing at the same
rate, while allocator caches and lazily created state level off.

By default glibc's malloc is tuned as the ``saswot`` command does (:func:`tune_malloc`, freed
memory kept for reuse), so the RSS follows the peak of live memory; ``--default-malloc`` keeps
glibc's defaults. The statistics returned for each architecture are dropped (the search keeps
them, about 0.5-1.3 MB each: ``stats_kb`` per row) unless ``--keep``.

Usage::

    OMP_NUM_THREADS=1 SASWOT_DATA=/work/shared/data python benchmarks/bench_statcache_memory.py \
        --n 60 --space micro --out benchmarks/out/statcache_memory_micro.json

Numbers depend on the machine's load: record ``uptime`` beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from saswot.runtime.allocator import tune_malloc
from saswot.search.proxy_search import make_stat_cache, split_archs
from saswot.spaces.tnb101.lookup import TNBBenchmark


def rss_mb() -> float:
    """Resident set size of this process in MB (``VmRSS``), NaN where /proc is missing."""
    return _status_mb("VmRSS")


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MB (``VmHWM``), NaN where /proc is missing."""
    return _status_mb("VmHWM")


def _status_mb(field: str) -> float:
    try:
        text = Path("/proc/self/status").read_text()
    except OSError:
        return float("nan")
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024.0  # kB
    return float("nan")


def slope(xs: list[int], ys: list[float]) -> float:
    """Least-squares slope of ``ys`` against ``xs`` (NaN with fewer than two points)."""
    if len(xs) < 2:
        return float("nan")
    return float(np.polyfit(np.asarray(xs, dtype=float), np.asarray(ys, dtype=float), 1)[0])


def summarize(rows: list[dict[str, Any]], warmup: int) -> dict[str, Any]:
    """RSS at landmarks and growth per architecture after ``warmup`` architectures."""
    n = len(rows)
    rss = [r["rss_mb"] for r in rows]
    idx = [r["index"] for r in rows]
    w = min(warmup, n)
    after = list(range(w - 1, n)) if w >= 1 else list(range(n))
    half = list(range(max(w - 1, n // 2), n))
    seconds = [r["seconds"] for r in rows]
    return {
        "archs": n,
        "warmup": w,
        "rss_after_1_mb": rss[0] if n else None,
        f"rss_after_{w}_mb": rss[w - 1] if w >= 1 else None,
        f"rss_after_{n}_mb": rss[-1] if n else None,
        "rss_max_mb": max(rss) if rss else None,
        "growth_mb_per_arch_after_warmup_slope": slope([idx[i] for i in after], [rss[i] for i in after]),
        "growth_mb_per_arch_after_warmup_end_to_end": ((rss[-1] - rss[w - 1]) / (n - w)) if n > w >= 1 else None,
        "growth_mb_per_arch_last_half_slope": slope([idx[i] for i in half], [rss[i] for i in half]),
        "seconds_per_arch_mean": float(np.mean(seconds)) if seconds else None,
        "stats_kb_mean": float(np.mean([r["stats_kb"] for r in rows])) if rows else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=60, help="architectures to compute (default 60)")
    ap.add_argument("--space", default="micro", help="micro or macro (default micro)")
    ap.add_argument("--warmup", type=int, default=10, help="architectures before growth is measured (default 10)")
    ap.add_argument("--data-root", default=None, help="data root (default $SASWOT_DATA)")
    ap.add_argument("--default-malloc", action="store_true", help="keep glibc's malloc defaults (no tune_malloc)")
    ap.add_argument("--keep", action="store_true", help="keep every architecture's statistics, as the search does")
    ap.add_argument("--out", type=Path, default=None, help="JSON with every row and the summary")
    args = ap.parse_args()

    malloc_tuned = False if args.default_malloc else tune_malloc()  # as the saswot command does
    bench = TNBBenchmark.load(TNBBenchmark.default_path(args.space, args.data_root), args.space)
    archs, _ = split_archs(bench, args.n, 0, seed=0)
    keys = [a.key for a in archs]
    rss_start = rss_mb()
    kept: list[Any] = []
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        cache = make_stat_cache(args.space, tmp, args.data_root)
        for i, key in enumerate(keys, start=1):
            t0 = time.perf_counter()
            st = cache.compute_entry(key)  # what StatCache.get does for a missing entry, minus the file write
            seconds = time.perf_counter() - t0
            stats_kb = sum(t.numel() * t.element_size() for l in st.layers for t in (l.W, l.G, l.A)) / 1024.0
            if args.keep:
                kept.append(st)
            del st
            row = {"index": i, "key": key, "rss_mb": rss_mb(), "seconds": seconds, "stats_kb": stats_kb}
            rows.append(row)
            print(f"{i:4d}  RSS {row['rss_mb']:8.1f} MB  {seconds:6.2f} s  {key}", flush=True)
    summary = summarize(rows, args.warmup)
    summary["rss_before_first_mb"] = rss_start
    summary["peak_rss_mb"] = peak_rss_mb()
    result = {
        "space": args.space,
        "n": args.n,
        "keep": args.keep,
        "malloc_tuned": malloc_tuned,
        "torch_threads": torch.get_num_threads(),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "summary": summary,
        "rows": rows,
    }
    print(json.dumps(summary, indent=2))
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
