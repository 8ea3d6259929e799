"""Speed of candidate evaluation on cached statistics (target: >= 20 candidates/s over 50 archs).

Loads up to ``--archs`` cached architectures of a space from the statistics cache written by
``saswot search-proxy`` (``.saswot_cache/autoproxy/<space>``), packs them and times the full
fitness of random legal expressions (scores for every arch + Kendall tau; the equivalence
cache is bypassed). Run e.g.::

    .venv/bin/python benchmarks/bench_autoproxy_speed.py --space micro --archs 50 --threads 2
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from saswot.proxies.expr.expression import SASWOT_MINUS, random_expression
from saswot.search.proxy_problem import kendall
from saswot.search.statcache import ArchStats, LayerTensors, PackedStats


def load_cached(folder: Path, n: int) -> list[ArchStats]:
    """Up to ``n`` cached architectures (file order)."""
    out = []
    for p in sorted(folder.glob("*.pt"))[:n]:
        blob = torch.load(p, map_location="cpu", weights_only=True)
        layers = tuple(LayerTensors(W=d["W"], G=d["G"], A=d["A"], s_w=float(d["s_w"]), s_a=float(d["s_a"]))
                       for d in blob["layers"])
        out.append(ArchStats(key=str(blob["key"]), layers=layers, nwot=float(blob["nwot"])))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--space", default="micro")
    ap.add_argument("--cache", default=".saswot_cache/autoproxy")
    ap.add_argument("--archs", type=int, default=50)
    ap.add_argument("--candidates", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", default=None, help="also write the result here")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    archs = load_cached(Path(args.cache) / args.space, args.archs)
    if len(archs) < args.archs:
        raise SystemExit(f"only {len(archs)} cached {args.space} archs; run saswot search-proxy first")
    t0 = time.perf_counter()
    packed = PackedStats(archs)
    t_pack = time.perf_counter() - t0
    truth = np.random.default_rng(0).random(len(archs))
    rng = np.random.default_rng(args.seed)
    shapes = packed.layer_shapes()
    exprs = [SASWOT_MINUS]
    t0 = time.perf_counter()
    tries = 0
    while len(exprs) < args.candidates:
        tries += 1
        e = random_expression(rng)
        if e.is_legal(shapes):
            exprs.append(e)
    t_legal = (time.perf_counter() - t0) / tries
    t0 = time.perf_counter()
    for e in exprs:
        s = packed.scores(e)
        if np.all(np.isfinite(s)):
            kendall(s, truth)
    dt = time.perf_counter() - t0
    res = {
        "space": args.space, "archs": len(archs), "candidates": len(exprs), "threads": args.threads,
        "layer_groups": len(packed.groups), "packed_MB": packed.nbytes() / 2**20,
        "pack_s": t_pack, "eval_s": dt, "candidates_per_s": len(exprs) / dt,
        "legality_check_ms": t_legal * 1e3,
    }
    print(json.dumps(res, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
