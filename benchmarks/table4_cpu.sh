#!/usr/bin/env bash
# Table 4 at CPU scale. One budget (27.8 GMACs at 1024x2048, the released student's cost) and one
# search seed (0), fixed before any result was seen; every other search-arch setting is its
# default. Methods: search-arch with saswot, saswot_minus, nwot, synflow; "random" = the first
# legal architecture under the budget drawn from seed 0 (no proxy); plus the released `fasterseg`.
# Each architecture is trained with recipe cpu-half-8ep for seeds 0 and 1, one torch thread.
#
# Usage (resumable; rerun the same line after an interruption):
#   SASWOT_DATA=/work/shared/data bash benchmarks/table4_cpu.sh
# Environment: PROXIES (default "saswot saswot_minus nwot synflow"), OUT (search outputs,
# default benchmarks/out/table4-cpu), BENCH (results, default saswot/data/fasterseg/table4-cpu-camvid.jsonl),
# KEEP (folder of the kept search outputs, default saswot/data/fasterseg/table4-cpu).
set -euo pipefail
export OMP_NUM_THREADS=1
PROXIES=${PROXIES:-"saswot saswot_minus nwot synflow"}
OUT=${OUT:-benchmarks/out/table4-cpu}
BENCH=${BENCH:-saswot/data/fasterseg/table4-cpu-camvid.jsonl}
KEEP=${KEEP:-saswot/data/fasterseg/table4-cpu}
SEED=0
MAX_GMACS=27.8
mkdir -p "$OUT/search" "$KEEP"
log() { echo "$*" | tee -a "$OUT/commands.txt"; }

ARCHS=()
for P in $PROXIES; do
  f="$OUT/search/search-$P.json"
  if [ ! -f "$f" ]; then
    resume=()
    [ -f "$OUT/search/search-$P.ckpt.json" ] && resume=(--resume)
    log "$(date -u +%FT%TZ) saswot search-arch --proxy $P --max-gmacs $MAX_GMACS --target-resolution 1024x2048 --seed $SEED --threads 1 ${resume[*]} --out $f"
    saswot search-arch --proxy "$P" --max-gmacs "$MAX_GMACS" --target-resolution 1024x2048 --seed "$SEED" \
      --threads 1 "${resume[@]}" --out "$f"
  fi
  cp "$f" "$KEEP/search-$P.json"
  ARCHS+=(--arch "$KEEP/search-$P.json")
done
if [ ! -f "$KEEP/random.json" ]; then
  log "saswot minibench sample --k 1 --sample-seed $SEED --pool-factor 1 --max-gmacs $MAX_GMACS --out-dir $KEEP --prefix random"
  saswot minibench sample --k 1 --sample-seed "$SEED" --pool-factor 1 --max-gmacs "$MAX_GMACS" --out-dir "$KEEP" --prefix random
fi
ARCHS+=(--arch "$KEEP/random.json" --arch fasterseg)

log "$(date -u +%FT%TZ) saswot minibench run --bench $BENCH --work runs/minibench/table4-cpu ${ARCHS[*]} --seeds 0,1 --recipe cpu-half-8ep --threads 1"
saswot minibench run --bench "$BENCH" --work runs/minibench/table4-cpu "${ARCHS[@]}" --seeds 0,1 \
  --recipe cpu-half-8ep --threads 1
saswot minibench summary --bench "$BENCH" --search-dir "$KEEP" --out "$OUT/results.json"
