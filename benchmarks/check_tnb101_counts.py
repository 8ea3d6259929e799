"""Check our TNB101 builder + counter against NAS-Bench-Suite-Zero's recorded params / FLOPs.

For every ``segmentsemantic`` architecture in the micro and macro files, build the network on the
meta device, count it at 1×3×256×256 and compare ``params/1e6`` and ``flops/1e6`` with the
recorded ``params`` / ``flops`` scores (exact float equality, i.e. to the printed precision).

Usage::

    SASWOT_DATA=/work/shared/data .venv/bin/python benchmarks/check_tnb101_counts.py \
        [--data-root DIR] [--space micro|macro|both] [--limit N] [--json OUT]

Exit code 0 when every architecture matches, 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from saswot.spaces.tnb101.lookup import TNBBenchmark
from saswot.utils.counting import count_model
from saswot.utils.io import write_json
from saswot.runtime.progress import track
from saswot.spaces.tnb101.builder import build_network

INPUT_SHAPE = (1, 3, 256, 256)


def check_space(space: str, data_root: str | None, limit: int | None) -> dict[str, object]:
    """Compare every architecture of one space; return a summary with the mismatches."""
    bench = TNBBenchmark.load(TNBBenchmark.default_path(space, data_root), space)
    archs = bench.archs("segmentsemantic")
    if limit is not None:
        archs = archs[:limit]
    params_ok = flops_ok = both_ok = 0
    mismatches: list[dict[str, object]] = []
    build_s = count_s = count_max_s = 0.0
    t0 = time.perf_counter()
    for arch in track(archs, f"{space}: build + count"):
        tb = time.perf_counter()
        model = build_network(arch, device="meta")
        tc = time.perf_counter()
        counts = count_model(model, INPUT_SHAPE)
        te = time.perf_counter()
        build_s += tc - tb
        count_s += te - tc
        count_max_s = max(count_max_s, te - tc)
        ref_p = bench.reference_score(arch, "params")
        ref_f = bench.reference_score(arch, "flops")
        p_ok = counts.params / 1e6 == ref_p
        f_ok = counts.flops / 1e6 == ref_f
        params_ok += p_ok
        flops_ok += f_ok
        both_ok += p_ok and f_ok
        if not (p_ok and f_ok):
            mismatches.append(
                {"key": arch.key, "arch_str": arch.arch_str, "params_m": counts.params / 1e6,
                 "ref_params_m": ref_p, "mflops": counts.flops / 1e6, "ref_mflops": ref_f}
            )
    wall = time.perf_counter() - t0
    return {
        "space": space,
        "total": len(archs),
        "params_match": params_ok,
        "flops_match": flops_ok,
        "both_match": both_ok,
        "wall_s": wall,
        "per_arch_ms": 1000 * wall / max(len(archs), 1),
        "build_ms_mean": 1000 * build_s / max(len(archs), 1),
        "count_ms_mean": 1000 * count_s / max(len(archs), 1),
        "count_ms_max": 1000 * count_max_s,
        "mismatches": mismatches,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the check and print matches / total and wall time per space."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--space", choices=("micro", "macro", "both"), default="both")
    parser.add_argument("--limit", type=int, default=None, help="only the first N archs per space")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None, help="also write the summary as JSON")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    spaces = ("micro", "macro") if args.space == "both" else (args.space,)
    results = [check_space(sp, args.data_root, args.limit) for sp in spaces]
    all_ok = True
    for r in results:
        print(
            f"{r['space']}: params {r['params_match']}/{r['total']}, flops {r['flops_match']}/{r['total']}, "
            f"both {r['both_match']}/{r['total']}; wall {r['wall_s']:.1f} s ({r['per_arch_ms']:.0f} ms/arch: "
            f"build {r['build_ms_mean']:.0f} ms + count {r['count_ms_mean']:.0f} ms mean, "
            f"count max {r['count_ms_max']:.0f} ms)"
        )
        for m in r["mismatches"][:10]:
            print(f"  MISMATCH {m}")
        all_ok &= r["both_match"] == r["total"]
    if args.json is not None:
        write_json(args.json, {"input_shape": list(INPUT_SHAPE), "results": results})
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
