"""Forward + backward time of the heads' upsampling: ``F.interpolate`` (bilinear, align_corners=True)
against :func:`saswot.spaces.fasterseg.ops.resize_matmul`, on the training recipe's shapes.

    OMP_NUM_THREADS=1 python benchmarks/bench_resize.py --out benchmarks/out/resize.json

Interleaves the two (``--rounds`` rounds of ``--steps`` calls each) so that a busy machine slows
both alike; prints medians and writes them as JSON.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from saswot.spaces.fasterseg.ops import resize_matmul
from saswot.utils.io import write_json


def _time(fn, steps: int) -> float:  # type: ignore[no-untyped-def]
    fn()
    t0 = time.perf_counter()
    for _ in range(steps):
        fn()
    return (time.perf_counter() - t0) / steps


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--classes", type=int, default=11)
    ap.add_argument("--src", default="18x24", help="logits size (1/8 of the crop)")
    ap.add_argument("--dst", default="144x192", help="crop size")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out/resize.json"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    src = tuple(int(v) for v in args.src.split("x"))
    dst = tuple(int(v) for v in args.dst.split("x"))
    g = torch.Generator().manual_seed(0)
    rows = []
    for layout in ("contiguous", "channels_last"):
        x = torch.randn(args.batch, args.classes, *src, generator=g)
        if layout == "channels_last":
            x = x.contiguous(memory_format=torch.channels_last)
        x.requires_grad_()
        grad = torch.randn(args.batch, args.classes, *dst, generator=g)

        def native(x: torch.Tensor = x, grad: torch.Tensor = grad) -> None:
            F.interpolate(x, size=dst, mode="bilinear", align_corners=True).backward(grad)

        def matmul(x: torch.Tensor = x, grad: torch.Tensor = grad) -> None:
            resize_matmul(x, dst).backward(grad)

        times: dict[str, list[float]] = {"interpolate": [], "matmul": []}
        for _ in range(args.rounds):
            times["interpolate"].append(_time(native, args.steps))
            times["matmul"].append(_time(matmul, args.steps))
        med = {k: statistics.median(v) * 1000 for k, v in times.items()}
        rows.append(
            {
                "layout": layout,
                "interpolate_ms": med["interpolate"],
                "matmul_ms": med["matmul"],
                "speedup": med["interpolate"] / med["matmul"],
            }
        )
    print(
        f"forward+backward, {args.batch}x{args.classes}x{args.src} -> {args.dst}, {args.threads} thread(s), "
        f"median of {args.rounds} rounds of {args.steps}:"
    )
    print(f"{'layout':15} {'interpolate ms':>15} {'matmul ms':>10} {'speed-up':>9}")
    for r in rows:
        print(f"{r['layout']:15} {r['interpolate_ms']:15.1f} {r['matmul_ms']:10.1f} {r['speedup']:8.2f}x")
    write_json(args.out, {"args": {k: str(v) for k, v in vars(args).items()}, "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
