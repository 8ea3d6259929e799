#!/usr/bin/env bash
# Eager PyTorch vs onnxruntime on the CPU: `saswot fps` on trained networks, batch 1, fp32, at two
# resolutions and two thread counts. Writes OUT/<net>-<backend>-<res>-<threads>t.json and OUT/table.md.
#   bash benchmarks/fps_backends.sh            (OUT=benchmarks/out/fps-backends; run on an idle machine)
set -euo pipefail
OUT=${OUT:-benchmarks/out/fps-backends}
NETS=${NETS:-"fasterseg search-saswot_minus random"}
RESOLUTIONS=${RESOLUTIONS:-"360x480 720x960"}
THREADS=${THREADS:-"1 2"}
WARMUP=${WARMUP:-5}
RUNS=${RUNS:-30}
mkdir -p "$OUT"
for n in $NETS; do
  ck=checkpoints/table4-gpu/$n-seed0.pt
  for r in $RESOLUTIONS; do
    for t in $THREADS; do
      for b in torch onnxruntime; do
        saswot fps "$ck" --resolution "$r" --backend "$b" --threads "$t" --warmup "$WARMUP" --runs "$RUNS" \
          --out "$OUT/$n-$b-$r-${t}t.json" > /dev/null
        echo "$n $r ${t}t $b done"
      done
    done
  done
done
python - "$OUT" <<'PY'
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
rows = {}
for f in sorted(out.glob("*t.json")):
    d = json.loads(f.read_text())
    net = Path(d["model"]).name.replace("-seed0.pt", "")
    key = (net, "x".join(map(str, d["resolution"])), d["threads"])
    rows.setdefault(key, {})[d["backend"]] = d["latency_ms_median"]
lines = ["| network | HxW | threads | torch median ms | onnxruntime median ms | speed-up |", "|---|---|---|---|---|---|"]
for (net, res, t), v in sorted(rows.items()):
    if "torch" in v and "onnxruntime" in v:
        lines.append(f"| {net} | {res} | {t} | {v['torch']:.1f} | {v['onnxruntime']:.1f} | {v['torch'] / v['onnxruntime']:.2f}x |")
(out / "table.md").write_text("\n".join(lines) + "\n")
print("\n".join(lines))
PY
