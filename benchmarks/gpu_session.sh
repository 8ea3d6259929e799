#!/usr/bin/env bash
# One lent-GPU session for Table 4: trainings (benchmarks/gpu_table4.sh, the searches reused from
# the CPU-scale table, which need no GPU), then the speed of the seed-0 networks
# (benchmarks/gpu_speed.py: fp16 FPS at 720x960 and 1024x2048, latency table vs end-to-end), and
# `saswot fps --device cuda` on one checkpoint as a check of the command itself.
#
# Runs from the repository root on the device machine, the CamVid data in ./data/camvid (carried),
# optional wheels in WHEELS (default ./.whl, carried), the saswot source on PYTHONPATH (no install needed).
# RET (default: $OUT, the device tool's return folder) receives at most 8 files: the seed-0 fp16
# checkpoints (one per label), bundle.tar.gz (bench file, results, speed, commands, recipe, search
# outputs, metrics logs) and session.log.
#
#   TRAIN_BUDGET_S=300 TRAIN_TIMEOUT_S=380 PARALLEL=6 WORKERS=2 bash benchmarks/gpu_session.sh
#
# A device call carries at most 64 MiB: the tracked tree (about 48 MB with the committed Table 4
# checkpoints) plus CamVid (36 MB) is more. Before the call, take the checkpoints out of what
# travels, and put them back after it:
#   git rm -r -q --cached checkpoints/table4-gpu && echo /checkpoints/table4-gpu/ >> .git/info/exclude
#   ... device call ...
#   sed -i '\#^/checkpoints/table4-gpu/$#d' .git/info/exclude && git reset -q checkpoints/table4-gpu
#
# On a warm machine a second call finds WORK from the first and resumes it (the recipe stays as
# fixed then; gpu_table4.sh warns if EPOCHS asks for another): give a new WORK to start afresh.
#
# A CPU smoke run: DEVICE=cpu PRECISION=fp32 EPOCHS=1 PARALLEL=2 RECIPE=<tiny recipe> ... (see
# docs/results.md, Table 4 on a GPU).
set -uo pipefail
# shellcheck source=benchmarks/_device_session.sh
source "$(dirname "$0")/_device_session.sh"
W=${WORK:-benchmarks/out/gpu_table4}
DEVICE=${DEVICE:-cuda}
PRECISION=${PRECISION:-fp16}
RESOLUTIONS=${RESOLUTIONS:-720x960,1024x2048}
echo "[session] $(date -u +%FT%TZ) $(uname -n) device=$DEVICE cores=$(nproc)"

WHEELS=${WHEELS:-.whl}
if compgen -G "$WHEELS/*.whl" > /dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SHIM/site" "$WHEELS"/*.whl || exit 3
  export PYTHONPATH=$SHIM/site:$PWD
else
  export PYTHONPATH=$PWD
fi
export SASWOT_CACHE=$W/cache PYTHONUNBUFFERED=1
# several training processes share the cores: two torch threads each (the default takes them all)
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || true
python3 -c "import torch, typer, saswot; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'typer', typer.__version__, 'saswot', saswot.__version__)" || exit 4

# loader workers pass batches through /dev/shm: where it is small, load in the training processes
WORKERS=${WORKERS:-2}
shm_mb=$(df -Pm /dev/shm 2>/dev/null | awk 'NR==2 {print $4}')
if [ "${shm_mb:-0}" -lt 2048 ]; then echo "[session] /dev/shm has ${shm_mb:-no} MB free: WORKERS=0"; WORKERS=0; fi

# 1. trainings, bounded: whatever finished is kept if the time runs out
OUT=$W SASWOT="python3 -m saswot" DEVICE=$DEVICE SEARCH_FROM=${SEARCH_FROM:-saswot/data/fasterseg/table4-cpu} \
  TIME_BUDGET_S=${TRAIN_BUDGET_S:-300} PARALLEL=${PARALLEL:-6} WORKERS=$WORKERS RUN_ARGS="--no-latency" \
  timeout -k 10 "${TRAIN_TIMEOUT_S:-380}" bash benchmarks/gpu_table4.sh
# (timeout signals its whole process group: the training workers and their loaders stop with it)
echo "[session] trainings returned $? after $(( $(date +%s) - T0 )) s"
[ -f "$W/results.json" ] || python3 -m saswot minibench summary --bench "$W/table4.jsonl" --search-dir "$W/search" \
  --out "$W/results.json" || true

# 2. speed of the seed-0 networks on the idle device
timeout -k 10 "${SPEED_TIMEOUT_S:-120}" python3 benchmarks/gpu_speed.py --bench "$W/table4.jsonl" --work "$W/work" \
  --device "$DEVICE" --precision "$PRECISION" --resolutions "$RESOLUTIONS" --out "$W/speed.json" || echo "[session] speed failed"
first=$(ls "$W"/work/jobs/*/final.pt 2>/dev/null | head -1)
if [ -n "$first" ]; then
  for r in ${RESOLUTIONS//,/ }; do
    timeout 60 python3 -m saswot fps "$first" --resolution "$r" --device "$DEVICE" --precision "$PRECISION" \
      --out "$W/fps-cli-$r.json" || echo "[session] saswot fps failed at $r"
    timeout 60 python3 -m saswot fps "$first" --resolution "$r" --device "$DEVICE" --precision "$PRECISION" \
      --warmup 100 --runs 300 --out "$W/fps-cli-long-$r.json" || echo "[session] saswot fps (long) failed at $r"
  done
fi

# 3. what comes back: the seed-0 checkpoints named by label, one bundle, this log
python3 - "$W" "$RET" <<'PY'
import json, shutil, sys
from pathlib import Path
w, ret = Path(sys.argv[1]), Path(sys.argv[2])
bench = w / "table4.jsonl"
for line in (bench.read_text().splitlines() if bench.exists() else []):
    e = json.loads(line)
    src = w / "work" / "jobs" / e["job_id"] / "final.pt"
    if e.get("status") == "ok" and e["seed"] == 0 and src.exists():
        shutil.copy(src, ret / f"{e['label'].replace('+', '_')}-seed0.pt")
PY
tar -czf "$RET/bundle.tar.gz" --exclude='*.pt' --exclude='cache' --exclude='claims' "$W" 2>/dev/null
ls -l "$RET"
echo "[session] done in $(( $(date +%s) - T0 )) s"
