#!/usr/bin/env bash
# One lent-GPU call that trains the FasterSeg-space ground truth of docs/results.md 4.9 on one
# device: the recipe check first (both recipes, two seeds each, on the first networks of the
# shipped sample), then the scale-up (second seeds of the shipped sample, then GMACs-stratified
# samples of new sample seeds), each step as far as the time allows.
#
# Everything lands in GPU-only benchmark files (minibench-camvid-gpu.jsonl for the short recipe,
# minibench-fidelity-camvid-gpu.jsonl for the long one): GPU trainings (cuDNN kernels, the
# recipe's mixed precision) are not mixed with the CPU campaign's labels; the two ground truths
# are compared, not pooled.
#
# Runs from the repository root on the device machine, CamVid in ./data/camvid (carried), the
# saswot source on PYTHONPATH (no install needed). RET (default: $OUT, the device tool's return
# folder) receives the two benchmark files, commands.txt and session.log.
#
#   TIME_BUDGET_S=420 PARALLEL=12 bash benchmarks/gpu_ground_truth.sh
#
# A device call carries at most 64 MiB: the tracked tree without checkpoints/ is about 4 MB and
# CamVid 37 MB, the committed checkpoints another 45 MB. Before the call (CamVid copied to the
# git-ignored ./data/camvid and named in carry), take the checkpoints out of what travels, and put
# them back after it:
#   git rm -r -q --cached checkpoints && echo /checkpoints/ >> .git/info/exclude
#   ... device call: bash benchmarks/gpu_ground_truth.sh, carry ["data/camvid"] ...
#   sed -i '\#^/checkpoints/$#d' .git/info/exclude && git reset -q checkpoints
#
# PARALLEL training processes share the device and the benchmark files (claims keep two off one
# job; a job cut by the time limit is simply not in the file). A CPU smoke run:
#   DEVICE=cpu SHORT=<recipe.json> LONG=<recipe.json> K=2 FIRST=2 SAMPLE_SEEDS=2 ... (tests/test_gpu_ground_truth_script.py)
set -uo pipefail
# shellcheck source=benchmarks/_device_session.sh
source "$(dirname "$0")/_device_session.sh"
W=${WORK:-benchmarks/out/gpu_ground_truth}
DEVICE=${DEVICE:-cuda}
SHORT=${SHORT:-cpu-half-8ep}
LONG=${LONG:-cpu-half-16ep-full}
K=${K:-32}
FIRST=${FIRST:-16}
SAMPLE_SEEDS=${SAMPLE_SEEDS:-"2 3 4 5 6"}
PARALLEL=${PARALLEL:-12}
TIME_BUDGET_S=${TIME_BUDGET_S:-420}
mkdir -p "$W"
echo "[gt-gpu] $(date -u +%FT%TZ) $(uname -n) device=$DEVICE cores=$(nproc) parallel=$PARALLEL budget=${TIME_BUDGET_S}s"

export PYTHONPATH=$PWD PYTHONSAFEPATH=1 PYTHONUNBUFFERED=1 SASWOT_CACHE=$W/cache
export SASWOT_DATA=${SASWOT_DATA:-$PWD/data}
# each training process loads its batches itself on one core; the device does the arithmetic
export OMP_NUM_THREADS=1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || true
python3 -c "import torch, saswot; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'saswot', saswot.__version__)" || exit 4

MAIN=$W/minibench-camvid-gpu.jsonl
FID=$W/minibench-fidelity-camvid-gpu.jsonl
export W DEVICE SHORT LONG K FIRST SAMPLE_SEEDS MAIN FID
run() {  # one step of the job list; finished jobs are skipped, so every worker may run every step
  local bench=$1; shift
  python3 -m saswot minibench run --threads 1 --device "$DEVICE" --no-latency --bench "$bench" \
    --work "$W/work/$(basename "$bench" .jsonl)" "$@"
}
steps() {
  run "$FID" --k "$K" --sample-seed 0 --seeds 0 --recipe "$LONG" --first "$FIRST"
  run "$MAIN" --k "$K" --sample-seed 0 --seeds 0,1 --recipe "$SHORT" --first "$FIRST"
  run "$FID" --k "$K" --sample-seed 0 --seeds 1 --recipe "$LONG" --first "$FIRST"
  run "$MAIN" --k "$K" --sample-seed 0 --seeds 0,1 --recipe "$SHORT"
  for s in $SAMPLE_SEEDS; do
    run "$MAIN" --k "$K" --sample-seed "$s" --seeds 0 --recipe "$SHORT"
  done
}
{
  echo "# $(date -u +%FT%TZ) DEVICE=$DEVICE SHORT=$SHORT LONG=$LONG K=$K FIRST=$FIRST SAMPLE_SEEDS='$SAMPLE_SEEDS' PARALLEL=$PARALLEL"
  declare -f run steps
} >> "$W/commands.txt"

pids=()
for i in $(seq "$PARALLEL"); do
  # timeout signals its whole process group: the time limit stops a worker with its trainings
  timeout -k 10 "$TIME_BUDGET_S" bash -c "$(declare -f run steps); steps" > "$W/worker-$i.log" 2>&1 &
  pids+=($!)
  sleep 2  # staggered: the first claims spread over the job list
done
for p in "${pids[@]}"; do wait "$p"; done
echo "[gt-gpu] trainings stopped after $(( $(date +%s) - T0 )) s"

for f in "$MAIN" "$FID"; do
  [ -f "$f" ] || continue
  python3 - "$f" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
ok = [r for r in rows if r.get("miou") is not None]
print(f"[gt-gpu] {sys.argv[1]}: {len(rows)} entries, {len(ok)} with an mIoU, "
      f"{len({r['key'] for r in ok})} architectures, seeds {sorted({r['seed'] for r in ok})}")
PY
  cp "$f" "$RET/"
done
cp "$W/commands.txt" "$RET/"
tail -n 3 "$W"/worker-*.log
echo "[gt-gpu] done in $(( $(date +%s) - T0 )) s"
