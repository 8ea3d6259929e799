#!/usr/bin/env bash
# A fair Table 4 at CPU scale. Fixed before the first search (2026-12-03), whatever the results:
#   budget        27.8 GMACs at 1024x2048, 19 classes (search-arch's default budget)
#   searches      search-arch defaults (20 generations, population 20, top 5), search seeds 0, 1, 2
#   methods       predictor:camvid (the calibrated objective shipped in saswot/data/fasterseg),
#                 saswot (the paper's proxy), grasp (the registered proxy that ranks the design set
#                 best in its own direction: Kendall 0.19 on held-out halves), and the released fasterseg
#   training      training seeds 0, 1, 2 for every winner, with the recipe the fidelity check
#                 chooses (docs/results.md 4.9; RECIPE, default cpu-half-8ep), set before any winner
#                 is trained; the random baseline is read from the same recipe's ground truth
#   baseline      the random networks of the ground truth (GMACs-stratified samples under the same
#                 budget, seed 0, the same recipe)
# Then benchmarks/table4_fair.py reports each method's mean and spread, its percentile among the
# random networks and a bootstrap confidence interval of its difference to the random mean.
#
# Usage (resumable; rerun the same line after an interruption; several copies share the trainings):
#   SASWOT_DATA=../shared/data bash benchmarks/table4_fair.sh
# The searches alone (they need no training; e.g. while the ground truth is still growing):
#   SEARCH_ONLY=1 METHODS="saswot grasp" SASWOT_DATA=../shared/data bash benchmarks/table4_fair.sh
set -euo pipefail
export OMP_NUM_THREADS=1
OUT=${OUT:-benchmarks/out/table4-fair}
BENCH=${BENCH:-saswot/data/fasterseg/table4-fair-camvid.jsonl}
KEEP=${KEEP:-saswot/data/fasterseg/table4-fair}
METHODS=${METHODS:-"predictor:camvid saswot grasp"}
MAX_GMACS=27.8
RECIPE=${RECIPE:-cpu-half-8ep}
mkdir -p "$OUT/search" "$KEEP"
log() { echo "$*" | tee -a "$OUT/commands.txt"; }

ARCHS=()
for M in $METHODS; do
  tag=${M//:/-}
  for SEED in 0 1 2; do
    f="$OUT/search/$tag-s$SEED.json"
    if [ ! -f "$f" ]; then
      resume=()
      [ -f "$OUT/search/$tag-s$SEED.ckpt.json" ] && resume=(--resume)
      log "$(date -u +%FT%TZ) saswot search-arch --proxy $M --max-gmacs $MAX_GMACS --seed $SEED --threads 1 ${resume[*]} --out $f"
      saswot search-arch --proxy "$M" --max-gmacs "$MAX_GMACS" --seed "$SEED" --threads 1 --quiet "${resume[@]}" --out "$f"
    fi
    cp "$f" "$KEEP/$tag-s$SEED.json"
    ARCHS+=(--arch "$KEEP/$tag-s$SEED.json")
  done
done
if [ -n "${SEARCH_ONLY:-}" ]; then
  log "$(date -u +%FT%TZ) searches done ($METHODS); trainings not started (SEARCH_ONLY)"
  exit 0
fi
ARCHS+=(--arch fasterseg)
log "$(date -u +%FT%TZ) saswot minibench run --bench $BENCH --work runs/minibench/table4-fair ${ARCHS[*]} --seeds 0,1,2 --recipe $RECIPE --threads 1"
saswot minibench run --bench "$BENCH" --work runs/minibench/table4-fair "${ARCHS[@]}" --seeds 0,1,2 \
  --recipe "$RECIPE" --threads 1
python benchmarks/table4_fair.py --bench "$BENCH" --recipe "$RECIPE" --out "$OUT"
