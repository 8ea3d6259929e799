"""Speed of the Table 4 networks on one device: FPS (fp16, batch 1) and the latency table's error.

For every finished entry of a ``minibench`` bench file (one seed per label, ``--seed``), reads
the fp16 inference checkpoint ``<work>/jobs/<job_id>/final.pt`` and measures, at each resolution:

* **FPS**: :func:`saswot.train.fps.measure_fps` (what ``saswot fps`` runs): ``--warmup`` untimed
  passes, then ``--runs`` passes each timed between device synchronisations; FPS = 1000 / median
  latency (ms), precision ``--precision`` (fp16 on CUDA), batch 1;
* **latency table vs end-to-end** (fp32, batch 1, the rule of :mod:`saswot.spaces.fasterseg.latency`:
  the minimum over timed runs): the lookup-table estimate (components timed in isolation and
  summed, as the architecture search's latency budget uses it) and the whole network timed end to
  end; gap = (table − measured) / measured.

The networks keep their trained head (the dataset's classes, 11 for CamVid) at every resolution.
Writes ``--out`` (JSON) and the same table as Markdown beside it (``.md``).

    python benchmarks/gpu_speed.py --bench OUT/table4.jsonl --work OUT/work --device cuda \\
        --resolutions 720x960,1024x2048 --out OUT/speed.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import torch

from saswot.cli._options import parse_resolution
from saswot.spaces.fasterseg.arch import FasterSegArch
from saswot.spaces.fasterseg.latency import LatencyTable, measure_latency
from saswot.workflows.minibench import BenchFile
from saswot.utils.io import write_json, write_text
from saswot.train.checkpoint import load_checkpoint, model_from_checkpoint
from saswot.train.fps import measure_fps


def _entries(bench: Path, seed: int) -> list[dict[str, Any]]:
    """The finished entries of ``seed`` in a minibench file."""
    return [e for e in BenchFile(bench).entries() if e.get("status") == "ok" and int(e["seed"]) == seed]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", required=True, type=Path)
    ap.add_argument("--work", required=True, type=Path)
    ap.add_argument("--seed", type=int, default=0, help="the training seed whose checkpoints are timed")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--precision", default="fp16")
    ap.add_argument("--resolutions", default="720x960,1024x2048")
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--lut", type=Path, default=None, help="latency table file (default: the cache's)")
    ap.add_argument("--out", required=True, type=Path)
    args = ap.parse_args()
    resolutions = [parse_resolution(r, "--resolutions") for r in args.resolutions.split(",")]
    entries = _entries(args.bench, args.seed)
    if not entries:
        raise SystemExit(f"no finished entry with seed {args.seed} in {args.bench}")
    lut = LatencyTable(args.device, args.lut)
    rows: list[dict[str, Any]] = []
    for e in entries:
        ckpt_path = args.work / "jobs" / e["job_id"] / "final.pt"
        ckpt = load_checkpoint(ckpt_path)
        model = model_from_checkpoint(ckpt)
        arch = FasterSegArch.from_json(e["arch"])
        num_classes = len(ckpt["class_names"])
        for hw in resolutions:
            t0 = time.perf_counter()
            fps = measure_fps(model, hw, args.device, args.precision, 1, args.warmup, args.runs)
            model = model.float()  # measure_fps casts the model for fp16
            est = lut.estimate(arch, hw, num_classes)
            e2e = measure_latency(model, hw, args.device, warmup=5, min_reps=10, max_reps=50, target_s=1.0)
            row = {
                "label": e["label"],
                "seed": e["seed"],
                "checkpoint": str(ckpt_path),
                "resolution": list(hw),
                "miou": e["miou"],
                "params_m": e.get("params_m"),
                "gmacs_native": e.get("gmacs"),
                "fps": round(fps.fps, 1),
                f"{args.precision}_ms_median": round(fps.latency_ms_median, 3),
                f"{args.precision}_ms_p90": round(fps.latency_ms_p90, 3),
                "fp32_lut_ms": round(est.total_ms, 3),
                "fp32_e2e_ms": round(e2e, 3),
                "lut_gap_pct": round(100 * (est.total_ms - e2e) / e2e, 1),
                "time_s": round(time.perf_counter() - t0, 1),
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    gaps = {f"{h}x{w}": [r["lut_gap_pct"] for r in rows if r["resolution"] == [h, w]] for h, w in resolutions}
    summary = {
        "device": lut.tag,
        "torch": torch.__version__,
        "precision": args.precision,
        "warmup": args.warmup,
        "runs": args.runs,
        "lut_entries": len(lut.entries),
        "mean_lut_gap_pct": {k: round(statistics.fmean(v), 1) for k, v in gaps.items()},
        "mean_abs_lut_gap_pct": {k: round(statistics.fmean(abs(x) for x in v), 1) for k, v in gaps.items()},
        "rows": rows,
    }
    write_json(args.out, summary)
    head = ["label", "HxW", "mIoU", f"{args.precision} FPS", "median ms", "LUT ms (fp32)", "e2e ms (fp32)", "gap %"]
    lines = [f"Device {lut.tag}, torch {torch.__version__}, batch 1, {args.warmup} warm-up + {args.runs} runs", ""]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["label"], "x".join(map(str, r["resolution"])), f"{100 * r['miou']:.1f}", r["fps"],
                 r[f"{args.precision}_ms_median"], r["fp32_lut_ms"], r["fp32_e2e_ms"], r["lut_gap_pct"]]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    lines += ["", "mean gap (LUT − e2e)/e2e: " + json.dumps(summary["mean_lut_gap_pct"]),
              "mean |gap|: " + json.dumps(summary["mean_abs_lut_gap_pct"])]
    write_text(args.out.with_suffix(".md"), "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
