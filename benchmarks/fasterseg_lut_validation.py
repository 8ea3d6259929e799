"""LUT latency estimate vs end-to-end timing of decoded FasterSeg networks.

Usage:
    python benchmarks/fasterseg_lut_validation.py --resolution 1024x2048 --random 4 --threads 1 \
        --out /tmp/fasterseg_lut.json [ARCH_JSON ...]

Networks: the built-in ``fasterseg``, ``--random`` seeded random decoded networks (default space)
and any arch files given. The LUT is cached under $SASWOT_CACHE (or ~/.cache/saswot).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from saswot.spaces.fasterseg import build_network, load_arch
from saswot.spaces.fasterseg.cost import arch_cost
from saswot.spaces.fasterseg.decode import SpaceConfig, decode
from saswot.spaces.fasterseg.genome import sample_genome
from saswot.spaces.fasterseg.latency import LatencyTable, measure_latency
from saswot.utils.io import write_json


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("archs", nargs="*")
    ap.add_argument("--resolution", default="1024x2048")
    ap.add_argument("--random", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    res = tuple(int(v) for v in args.resolution.split("x"))
    items = [("fasterseg", load_arch("fasterseg"))]
    rng = np.random.default_rng(args.seed)
    for i in range(args.random):
        items.append((f"random{i}", decode(sample_genome(rng), SpaceConfig())))
    items += [(p, load_arch(p)) for p in args.archs]
    lut = LatencyTable(args.device, warmup=1, min_reps=3, max_reps=10, target_s=0.5)
    rows = []
    for name, arch in items:
        t0 = time.perf_counter()
        est = lut.estimate(arch, res)
        t1 = time.perf_counter()
        measured = measure_latency(build_network(arch, seed=0), res, args.device, warmup=1, min_reps=3,
                                   max_reps=10, target_s=2.0)
        cost = arch_cost(arch, res)
        row = {"name": name, "params_m": cost.params_m, "gmacs": cost.gmacs, "lut_ms": est.total_ms,
               "stem_ms": est.stem_ms, "cells_ms": est.cells_ms, "head_ms": est.head_ms,
               "measured_ms": measured, "gap_pct": 100 * (est.total_ms - measured) / measured,
               "lut_build_s": t1 - t0, "key": arch.key()}
        rows.append(row)
        print(json.dumps({k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items() if k != "key"}), flush=True)
    gaps = [abs(r["gap_pct"]) for r in rows]
    summary = {"device": lut.tag, "resolution": list(res), "threads": args.threads, "lut": str(lut.path),
               "entries": len(lut.entries), "mean_abs_gap_pct": float(np.mean(gaps)), "rows": rows}
    write_json(args.out, summary)
    print(json.dumps({k: v for k, v in summary.items() if k != "rows"}))


if __name__ == "__main__":
    main()
