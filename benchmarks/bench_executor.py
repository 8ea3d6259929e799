"""Throughput of the scoring executors and the overhead of Ray (saswot.runtime.parallel).

Scores the same seeded sample of TransNAS-Bench-101 micro architectures with every proxy at the
default ``saswot rank`` settings (batch 4, 64x64, CamVid if present, seed 0), without a cache,
three ways, one after the other in this process:

* ``serial``: in this process with ``--serial-threads`` torch threads (default 2);
* ``workers``: ``LocalExecutor(2)``, 1 thread per worker process;
* ``ray``: a local Ray instance with 2 CPUs, 1 CPU and 1 thread per task.

For each: wall time (executor start-up included and excluded), architectures per second, the
mean per-network time measured inside the workers, and whether the scores equal the serial ones
bit for bit (they can differ in the last bits when the thread counts differ). Then the Ray
overheads: the round trip of an empty task (one at a time), the throughput of empty tasks, and the
scoring overhead per architecture (wall time x workers / architectures - mean task time).
Finally a paper estimate of the wall time to rank all TransNAS-Bench-101 networks on a cluster,
from the measured 1-thread per-network time (see the ``estimate`` block of the output).

Usage::

    OMP_NUM_THREADS=1 SASWOT_DATA=../shared/data python benchmarks/bench_executor.py \
        --archs 60 --out benchmarks/out/executor.json

Numbers depend on the machine's load: record ``uptime`` beside them.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from saswot.runtime.allocator import tune_malloc
from saswot.spaces.tnb101.lookup import TNBBenchmark
from saswot.runtime.parallel import Executor, LocalExecutor, RayExecutor, SerialExecutor
from saswot.proxies import resolve_proxies
from saswot.proxies._avt import AVTStats
from saswot.datasets.proxy_batch import camvid_available, make_batch
from saswot.config import ProxyBatch
from saswot.workflows.score import score_architectures
from saswot.spaces.tnb101.builder import build_network

#: TransNAS-Bench-101: 4096 micro + 3256 macro networks.
TNB101_TOTAL = 7352


def _empty(_: None, x: int) -> int:
    return x


def run_mode(name: str, make: Any, archs: list[Any], settings: ProxyBatch, batch: Any, avt: Any,
             proxies: str) -> dict[str, Any]:
    """Score ``archs`` on the executor made by ``make()``; timings and scores."""
    specs = resolve_proxies(proxies)
    t0 = time.perf_counter()
    ex: Executor = make()
    list(ex.map(_empty, None, list(range(2 * ex.workers))))  # start the worker processes (start-up)
    t_ready = time.perf_counter()
    try:
        per = score_architectures(archs, specs, settings,
                                  functools.partial(build_network, num_classes=settings.num_classes, seed=settings.seed),
                                  avt=avt, images_labels=batch, progress=False, executor=ex)
        t_done = time.perf_counter()
        info = ex.describe()
    finally:
        ex.close()
    secs = [r.seconds for r in per.values() if r.seconds is not None]
    wall = t_done - t0
    return {
        "mode": name,
        "executor": info,
        "startup_s": t_ready - t0,
        "wall_s": wall,
        "wall_after_startup_s": t_done - t_ready,
        "archs_per_s": len(archs) / wall,
        "archs_per_s_after_startup": len(archs) / (t_done - t_ready),
        "mean_task_s": float(np.mean(secs)),
        "overhead_per_arch_s": (t_done - t_ready) * info["workers"] / len(archs) - float(np.mean(secs)),
        "scores": {k: r.scores for k, r in per.items()},
    }


def ray_overheads(n_seq: int, n_par: int) -> dict[str, Any]:
    """Empty-task round trip (sequential) and empty-task throughput on a local 2-CPU Ray instance."""
    import ray

    t0 = time.perf_counter()
    ex = RayExecutor("local", num_cpus=2)
    init = time.perf_counter() - t0
    try:
        remote = ray.remote(_empty).options(num_cpus=1)
        ray.get(remote.remote(None, 0))  # warm a worker
        t0 = time.perf_counter()
        for i in range(n_seq):
            ray.get(remote.remote(None, i))
        rtt = (time.perf_counter() - t0) / n_seq
        t0 = time.perf_counter()
        ray.get([remote.remote(None, i) for i in range(n_par)])
        par = n_par / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        n_map = sum(1 for _ in ex.map(_empty, None, list(range(n_par))))
        map_rate = n_map / (time.perf_counter() - t0)
    finally:
        ex.close()
    return {"init_s": init, "empty_task_round_trip_ms": 1000 * rtt, "empty_tasks_per_s": par,
            "empty_tasks_per_s_via_executor_map": map_rate, "n_sequential": n_seq, "n_parallel": n_par}


def compare(a: dict[str, dict[str, float]], b: dict[str, dict[str, float]]) -> dict[str, Any]:
    """How many scores are bit-identical, and the largest relative difference."""
    same = total = 0
    worst = 0.0
    for k, sa in a.items():
        for p, va in sa.items():
            vb = b[k][p]
            total += 1
            same += int(va == vb)
            if va != vb and math.isfinite(va) and math.isfinite(vb):
                worst = max(worst, abs(va - vb) / max(abs(va), abs(vb), 1e-300))
    return {"identical": same, "total": total, "max_rel_diff": worst}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--archs", type=int, default=60)
    ap.add_argument("--proxies", default="all")
    ap.add_argument("--serial-threads", type=int, default=2)
    ap.add_argument("--modes", default="serial,workers,ray")
    ap.add_argument("--data-root", default=None)
    ap.add_argument("--machines", type=int, default=8)
    ap.add_argument("--cores", type=int, default=16)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out/executor.json"))
    args = ap.parse_args()

    tune_malloc()  # as the CLI does; worker processes do it themselves
    bm = TNBBenchmark.load(TNBBenchmark.default_path("micro", args.data_root), "micro")
    archs = bm.sample(args.archs, np.random.default_rng(0), "segmentsemantic")
    source = "camvid" if camvid_available(args.data_root) else "random"
    settings = ProxyBatch(data=source)
    batch = make_batch(source, settings.batch_size, settings.resolution, settings.num_classes, settings.seed,
                       args.data_root)
    avt = AVTStats.load("micro")
    load_before = os.getloadavg()
    makers = {
        "serial": lambda: SerialExecutor(),
        "workers": lambda: LocalExecutor(2, threads=1),
        "ray": lambda: RayExecutor("local", num_cpus=2, threads=1),
    }
    runs = []
    for mode in args.modes.split(","):
        if mode == "serial":
            torch.set_num_threads(args.serial_threads)
        r = run_mode(mode, makers[mode], archs, settings, batch, avt, args.proxies)
        torch.set_num_threads(1)
        runs.append(r)
        print(f"{mode:8s} wall {r['wall_s']:7.1f} s (start-up {r['startup_s']:5.1f} s)  "
              f"{r['archs_per_s']:.3f} archs/s  task {r['mean_task_s']:.2f} s  overhead/arch {r['overhead_per_arch_s']:+.3f} s",
              flush=True)
    by = {r["mode"]: r for r in runs}
    result: dict[str, Any] = {
        "archs": [a.key for a in archs], "proxies": [s.name for s in resolve_proxies(args.proxies)],
        "settings": settings.to_json(), "serial_threads": args.serial_threads,
        "loadavg_before": load_before, "loadavg_after": os.getloadavg(), "cpus": os.cpu_count(),
        "torch": torch.__version__, "runs": [{k: v for k, v in r.items() if k != "scores"} for r in runs],
    }
    if "serial" in by:
        base = by["serial"]
        result["ratio_vs_serial"] = {m: by[m]["archs_per_s"] / base["archs_per_s"] for m in by}
        result["ratio_vs_serial_after_startup"] = {
            m: by[m]["archs_per_s_after_startup"] / base["archs_per_s_after_startup"] for m in by}
        result["identical_to_serial"] = {m: compare(base["scores"], by[m]["scores"]) for m in by if m != "serial"}
    if "workers" in by and "ray" in by:
        result["identical_workers_vs_ray"] = compare(by["workers"]["scores"], by["ray"]["scores"])
    if "ray" in args.modes:
        result["ray_overheads"] = ray_overheads(200, 1000)
    one_thread = by.get("workers") or by.get("ray")
    if one_thread is not None:
        c = one_thread["mean_task_s"]
        o = max(0.0, one_thread["overhead_per_arch_s"])
        slots = args.machines * args.cores
        result["estimate"] = {
            "formula": "T = ceil(N / (M*C)) * (c + o)",
            "N": TNB101_TOTAL, "M": args.machines, "C": args.cores,
            "c_s": c, "o_s": o,
            "T_s": math.ceil(TNB101_TOTAL / slots) * (c + o),
            "note": "c: mean 1-thread per-network time of micro networks measured here; macro networks are not measured",
        }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k not in ("archs", "runs")}, indent=2))


if __name__ == "__main__":
    main()
