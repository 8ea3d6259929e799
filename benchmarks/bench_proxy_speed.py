"""Time all proxies together against one plain forward + backward of the same network and batch.

For each of ``--archs`` seeded TransNAS-Bench-101 architectures:

* ``fb``: median of ``--reps`` plain forward + backward passes (pixel-wise CE, train mode) on a
  private copy, measured before and after the proxies (the machine may be shared);
* ``all``: one :func:`saswot.proxies.score_network` call with every registered proxy (one shared
  statistics pass + the own-pass proxies grasp, synflow, zen);
* ``separate`` (with ``--separate``): every proxy in its own ``score_network`` call;
* ``build``: building the network;
* with ``--breakdown``: the same call split into its parts, each divided by ``fb``: the private
  copy, the shared statistics pass, then every proxy in turn on the same context (so a proxy's
  figure is what it adds on top of the shared pass).

Prints a table and writes a JSON with the per-arch figures, the ratios and an extrapolation of a
full ``saswot rank --proxies all`` over ``--extrapolate`` architectures (mean per-arch
``build + all``). Example::

    SASWOT_DATA=/work/shared/data .venv/bin/python benchmarks/bench_proxy_speed.py \
        --space micro --archs 3 --threads 2 --out benchmarks/out/proxy_speed_micro.json
"""

from __future__ import annotations

import argparse
import copy
import gc
import statistics
import time

import torch

from saswot.proxies import ScoringSettings
from saswot.config import ProxyBatch
from saswot.runtime.allocator import tune_malloc
from saswot.utils.io import write_json
from saswot.proxies import make_context, resolve_proxies, score_network
from saswot.proxies._stats import prepare_copy
from saswot.utils.tables import print_table
from saswot.spaces.tnb101.builder import build_network

from proxy_bench_setup import forward_backward, load_proxy_bench  # benchmarks/


def _fb(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    t = time.perf_counter()
    forward_backward(model, x, y)
    return time.perf_counter() - t


def _breakdown(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, names: list[str], avt: object, fb: float) -> dict[str, float]:
    """Seconds / fb of each part of one scoring call (copy, shared pass, each proxy in order)."""
    specs = resolve_proxies(names)
    ctx = make_context(model, x, y, specs, ScoringSettings(ProxyBatch(num_classes=17), avt=avt))
    parts: dict[str, float] = {}
    t = time.perf_counter()
    ctx.work_copy()
    parts["(private copy)"] = (time.perf_counter() - t) / fb
    t = time.perf_counter()
    _ = ctx.stats
    parts["(shared statistics pass)"] = (time.perf_counter() - t) / fb
    with torch.random.fork_rng(devices=[]):
        for spec in specs:
            t = time.perf_counter()
            ctx.value(spec.name)  # memoised: a value another proxy already computed costs nothing
            parts[spec.name] = (time.perf_counter() - t) / fb
    return parts


def main() -> None:
    """Run the benchmark."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--space", default="micro", choices=["micro", "macro"])
    ap.add_argument("--archs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--resolution", type=int, default=64)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--proxies", default="all", help="all or NAME,NAME,... (default all registered)")
    ap.add_argument("--warmup", action="store_true", help="score one extra architecture first, untimed")
    ap.add_argument("--separate", action="store_true", help="also time each proxy in its own pass")
    ap.add_argument("--breakdown", action="store_true", help="also time the parts of one call (copy, shared pass, each proxy)")
    ap.add_argument("--extrapolate", type=int, default=504)
    ap.add_argument("--default-malloc", action="store_true", help="keep glibc's malloc defaults (no saswot.runtime.allocator.tune_malloc)")
    ap.add_argument("--data-root", default=None)
    ap.add_argument("--out", default="benchmarks/out/proxy_speed.json")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if not args.default_malloc:
        tune_malloc()  # as the saswot command does

    setup = load_proxy_bench(args.space, args.archs, args.seed, args.batch_size, args.resolution, args.data_root)
    archs, source, x, y, avt = setup.archs, setup.source, setup.images, setup.labels, setup.avt
    names = [s.name for s in resolve_proxies(args.proxies)]
    gc.freeze()  # long-lived objects skipped while a network is scored, as in saswot.runtime.allocator.collect_on_exit
    if args.warmup:  # first-call costs (lazy imports, meta-device tracing) are not per-arch costs
        score_network(build_network(archs[0], 17, seed=args.seed), x, y, names, ScoringSettings(ProxyBatch(num_classes=17), avt=avt))
    rows, records = [], []
    for arch in archs:
        t = time.perf_counter()
        model = build_network(arch, 17, seed=args.seed)
        build = time.perf_counter() - t
        work = prepare_copy(model)
        fbs = [_fb(work, x, y) for _ in range(args.reps)]
        t = time.perf_counter()
        score_network(model, x, y, names, ScoringSettings(ProxyBatch(num_classes=17), avt=avt))
        t_all = time.perf_counter() - t
        fbs += [_fb(work, x, y) for _ in range(args.reps)]
        fb = statistics.median(fbs)
        rec = {"arch": arch.key, "build_s": build, "fb_s": fb, "fb_all_s": fbs, "all_s": t_all, "ratio_all": t_all / fb}
        if args.separate:
            t = time.perf_counter()
            for n in names:
                score_network(copy.deepcopy(model), x, y, [n], ScoringSettings(ProxyBatch(num_classes=17), avt=avt))
            rec["separate_s"] = time.perf_counter() - t
            rec["ratio_separate"] = rec["separate_s"] / fb
        if args.breakdown:
            rec["breakdown"] = _breakdown(model, x, y, names, avt, fb)
        records.append(rec)
        rows.append([arch.key, build, fb, t_all, rec["ratio_all"], rec.get("ratio_separate", float("nan"))])
        del model, work
    per_arch = statistics.mean(r["build_s"] + r["all_s"] for r in records)
    summary = {
        "space": args.space,
        "batch_size": args.batch_size,
        "resolution": args.resolution,
        "data": source,
        "threads": args.threads,
        "malloc_tuned": not args.default_malloc,
        "proxies": names,
        "archs": records,
        "median_ratio_all": statistics.median(r["ratio_all"] for r in records),
        "mean_per_arch_s": per_arch,
        "extrapolated_archs": args.extrapolate,
        "extrapolated_minutes": per_arch * args.extrapolate / 60.0,
    }
    if args.breakdown:
        parts = list(records[0]["breakdown"])
        summary["mean_breakdown"] = {p: statistics.mean(r["breakdown"][p] for r in records) for p in parts}
        print_table(
            "mean cost of each part, in forward+backward passes",
            ["part", "x fwd+bwd"],
            [[p, v] for p, v in summary["mean_breakdown"].items()],
        )
    if args.separate:
        summary["median_ratio_separate"] = statistics.median(r["ratio_separate"] for r in records)
    write_json(args.out, summary)
    print_table(
        f"{args.space}: all {len(names)} proxies vs one forward+backward (batch {args.batch_size}, {args.resolution}px, {args.threads} threads)",
        ["arch", "build s", "fwd+bwd s", "all proxies s", "ratio", "separate ratio"],
        rows,
    )
    print(
        f"median ratio {summary['median_ratio_all']:.2f}x; mean per arch {per_arch:.1f} s -> "
        f"{summary['extrapolated_minutes']:.1f} min for {args.extrapolate} archs"
    )


if __name__ == "__main__":
    main()
