"""Check synflow's power-of-two scaled float32 pass against float64 on TransNAS-Bench-101 nets.

For every architecture (or ``--archs N``, a seeded sample) of a space, at ``saswot rank``'s
default settings (batch shape of CamVid 64 px; synflow uses one all-ones image): which pass
synflow took (plain float32, scaled float32 or float64, see :mod:`saswot.proxies.measures.synflow`), its
value, the float64 value, their difference and the time of each. Prints a summary table and
writes the per-arch records as JSON. Example::

    SASWOT_DATA=/work/shared/data .venv/bin/python benchmarks/check_synflow_scaling.py \
        --space micro --out benchmarks/out/synflow_scaling_micro.json
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import numpy as np
import torch

from saswot.proxies import ScoringSettings
from saswot.config import ProxyBatch
from saswot.runtime.allocator import tune_malloc
from saswot.spaces.tnb101.lookup import TNBBenchmark
from saswot.utils.io import write_json
from saswot.runtime.progress import track
from saswot.proxies import make_context, resolve_proxies
from saswot.proxies.measures import synflow as synflow_module
from saswot.utils.tables import print_table
from saswot.spaces.tnb101.builder import TNBArch, build_network


def _check(arch: TNBArch, images: torch.Tensor) -> dict[str, object]:
    model = build_network(arch, 17, seed=0)
    ctx = make_context(model, images, torch.zeros(images.shape[0], *images.shape[2:]), resolve_proxies(["synflow"]), ScoringSettings(ProxyBatch(num_classes=17)))
    passes: list[tuple[torch.dtype, int]] = []
    t = time.perf_counter()
    value = synflow_module._log_or_flag(synflow_module.synflow_sum(ctx, passes))
    t_proxy = time.perf_counter() - t
    net = ctx.work_copy()
    bns = [m for m in net.modules() if isinstance(m, synflow_module._BN)]
    t = time.perf_counter()
    with synflow_module._identity_batchnorm(bns):
        total64 = synflow_module._synflow_pass(net, synflow_module._abs_tensors(net, torch.float64), ctx, torch.float64)[1]
    t64 = time.perf_counter() - t
    log64 = math.log(total64) if total64 > 0 else float("-inf")
    kind = "float64" if passes[-1][0] == torch.float64 else ("scaled float32" if passes[-1][1] else "float32")
    return {
        "arch": arch.key,
        "path": kind,
        "passes": [(str(dtype).replace("torch.", ""), k) for dtype, k in passes],
        "log_value": value,
        "log_float64": log64,
        "rel_diff": abs(math.expm1(value - log64)) if math.isfinite(value) and math.isfinite(log64) else float("nan"),
        "proxy_s": t_proxy,
        "float64_only_s": t64,
    }


def main() -> None:
    """Run the check."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--space", default="micro", choices=["micro", "macro"])
    ap.add_argument("--archs", default="all", help="all or N (seeded sample)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--data-root", default=None)
    ap.add_argument("--out", default="benchmarks/out/synflow_scaling.json")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    tune_malloc()
    bench = TNBBenchmark.load(TNBBenchmark.default_path(args.space, args.data_root), args.space)
    archs = bench.archs() if args.archs == "all" else bench.sample(int(args.archs), np.random.default_rng(args.seed))
    images = torch.zeros(4, 3, 64, 64)  # synflow reads only the shape
    records = [_check(arch, images) for arch in track(archs, f"synflow {args.space}")]
    rows = []
    for kind in ("float32", "scaled float32", "float64"):
        sel = [r for r in records if r["path"] == kind]
        if sel:
            diffs = [r["rel_diff"] for r in sel if not math.isnan(r["rel_diff"])]
            rows.append([kind, len(sel), max(diffs) if diffs else float("nan"),
                         statistics.mean(r["proxy_s"] for r in sel), statistics.mean(r["float64_only_s"] for r in sel)])
    print_table(
        f"synflow on {len(records)} {args.space} archs: path taken vs float64",
        ["path", "archs", "max rel diff vs float64", "mean proxy s", "mean float64-only s"],
        rows,
    )
    write_json(args.out, {"space": args.space, "archs": records, "threads": args.threads})


if __name__ == "__main__":
    main()
