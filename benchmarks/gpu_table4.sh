#!/usr/bin/env bash
# Table 4 on one GPU in about 10 minutes: training-free searches in the FasterSeg space under one
# budget and seed (saswot, saswot_minus, nwot, synflow), a random feasible architecture and the
# released `fasterseg`, each trained with the same recipe for every seed in SEEDS, evaluated on
# CamVid val at label resolution. Writes OUT/results.json and fp16 inference checkpoints
# (OUT/work/jobs/*/final.pt, about 7 MB each).
#
# Every setting is an environment variable (defaults: the GPU protocol):
#   OUT=benchmarks/out/gpu_table4  DEVICE=cuda  SEED=0 (search)  SEEDS=0,1 (training)
#   MAX_GMACS=27.8 (at 1024x2048, the search-arch budget)  PROXIES="saswot saswot_minus nwot synflow"
#   SEARCH_ARGS="" (extra search-arch options)  RECIPE=<recipe JSON> (default: written below,
#   360x480 native resolution, AMP, batch 16)  EPOCHS=auto (fit TIME_BUDGET_S; or a number)
#   TIME_BUDGET_S=540  PARALLEL=2 (training processes sharing the device)  WORKERS=6 (loader
#   workers per process)  EFFICIENCY=0.85 (share of the time left that the fitted epochs may fill;
#   the epoch time is that of PARALLEL concurrent timing trainings, evaluation included)  TEACHER=<checkpoint> (optional distillation)  SASWOT="saswot" (the CLI)
#   RUN_ARGS="" (extra `minibench run` options, e.g. --no-latency)  SEARCH_FROM="" (a folder of
#   search-<proxy>.json and random.json from an earlier run, e.g. saswot/data/fasterseg/table4-cpu:
#   copied into OUT/search, so only the trainings run here)
# Resumable: searches continue from their checkpoints, finished trainings are skipped.
set -euo pipefail
OUT=${OUT:-benchmarks/out/gpu_table4}
DEVICE=${DEVICE:-cuda}
SEED=${SEED:-0}
SEEDS=${SEEDS:-0,1}
MAX_GMACS=${MAX_GMACS:-27.8}
PROXIES=${PROXIES:-"saswot saswot_minus nwot synflow"}
SEARCH_ARGS=${SEARCH_ARGS:-}
EPOCHS=${EPOCHS:-auto}
TIME_BUDGET_S=${TIME_BUDGET_S:-540}
PARALLEL=${PARALLEL:-2}
EFFICIENCY=${EFFICIENCY:-0.85}
WORKERS=${WORKERS:-6}
TEACHER=${TEACHER:-}
RUN_ARGS=${RUN_ARGS:-}
read -r -a SW <<< "${SASWOT:-saswot}"
START=$(date +%s)
mkdir -p "$OUT/search"
if [ -n "${SEARCH_FROM:-}" ]; then
  # searches already run elsewhere (they need no GPU): reuse their outputs, train only
  for P in $PROXIES random; do
    f=search-$P.json; [ "$P" = random ] && f=random.json
    [ -f "$OUT/search/$f" ] || cp "$SEARCH_FROM/$f" "$OUT/search/$f"
  done
  echo "[table4] searches reused from $SEARCH_FROM" | tee -a "$OUT/commands.txt"
fi
echo "[table4] $(date -u +%FT%TZ) out=$OUT device=$DEVICE seed=$SEED seeds=$SEEDS budget=${MAX_GMACS}GMACs" | tee -a "$OUT/commands.txt"

# 1. searches (one budget, one seed) and the random baseline
ARCHS=()
for P in $PROXIES; do
  f="$OUT/search/search-$P.json"
  if [ ! -f "$f" ]; then
    resume=()
    [ -f "$OUT/search/search-$P.ckpt.json" ] && resume=(--resume)
    # shellcheck disable=SC2086
    cmd=("${SW[@]}" search-arch --proxy "$P" --max-gmacs "$MAX_GMACS" --target-resolution 1024x2048 \
         --seed "$SEED" --device "$DEVICE" $SEARCH_ARGS "${resume[@]}" --out "$f")
    echo "${cmd[*]}" >> "$OUT/commands.txt"
    "${cmd[@]}"
  fi
  ARCHS+=(--arch "$f")
done
cmd=("${SW[@]}" minibench sample --k 1 --sample-seed "$SEED" --pool-factor 1 --max-gmacs "$MAX_GMACS" \
     --out-dir "$OUT/search" --prefix random)
echo "${cmd[*]}" >> "$OUT/commands.txt"
[ -f "$OUT/search/random.json" ] || "${cmd[@]}"
ARCHS+=(--arch "$OUT/search/random.json" --arch fasterseg)

# 2. the recipe (a copy in OUT): the given file, or native 360x480, AMP, epochs fitted to the time left
# fixed once: a rerun (resume) reuses OUT/recipe.json, so the recipe identity cannot change
RECIPE_FILE=$OUT/recipe.json
if [ ! -f "$OUT/recipe.fixed" ]; then
if [ -n "${RECIPE:-}" ]; then
  cp "$RECIPE" "$RECIPE_FILE"
else
  python - "$RECIPE_FILE" "$TEACHER" <<'PY'
import json, sys
teacher = sys.argv[2] or None
recipe = {"name": "gpu-360x480", "dataset": "camvid", "epochs": 1, "base_size": None, "crop": [360, 480],
          "scales": [0.75, 1.0, 1.25], "eval_size": None, "batch_size": 16, "lr": 0.03, "lr_final_ratio": 0.1,
          "eval_every": 1000, "amp": True, "max_batches": None, "teacher": teacher}
json.dump(recipe, open(sys.argv[1], "w"), indent=2)
PY
fi
if [ "$EPOCHS" = auto ]; then
  # time two epochs of fasterseg in the same setting and take the second (start-up, CUDA set-up
  # and cuDNN autotuning fall in the first; the second includes an evaluation), then fit the budget
  python - "$RECIPE_FILE" "$OUT/timing-recipe.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); r.update(epochs=2, name=r["name"] + "-timing")
json.dump(r, open(sys.argv[2], "w"), indent=2)
PY
  # PARALLEL timing trainings at once (seeds 0..PARALLEL-1), so the epoch time includes the
  # contention for the device and the loader cores; the slowest one is used
  tseeds=$(seq -s, 0 $((PARALLEL - 1)))
  tpids=()
  for _ in $(seq "$PARALLEL"); do
    "${SW[@]}" minibench run --bench "$OUT/timing.jsonl" --work "$OUT/work-timing" --arch fasterseg --seeds "$tseeds" \
      --recipe "$OUT/timing-recipe.json" --device "$DEVICE" --workers "$WORKERS" --no-latency & tpids+=($!)
    sleep 1
  done
  for p in "${tpids[@]}"; do wait "$p"; done
  EPOCHS=$(python - "$OUT/timing.jsonl" "$START" "$TIME_BUDGET_S" "$PARALLEL" "${#ARCHS[@]}" "$SEEDS" "$EFFICIENCY" <<'PY'
import json, math, sys, time
epoch_s = max(json.loads(line)["curve"][-1]["time_s"] for line in open(sys.argv[1]) if line.strip())
left = float(sys.argv[3]) - (time.time() - float(sys.argv[2]))
jobs = (int(sys.argv[5]) // 2) * len(sys.argv[6].split(","))
rounds = math.ceil(jobs / int(sys.argv[4]))
print(f"[table4] timing: slowest of {sys.argv[4]} concurrent second epochs {epoch_s:.1f} s, {left:.0f} s left, "
      f"{jobs} jobs in {rounds} rounds", file=sys.stderr)
print(max(1, int(left * float(sys.argv[7]) / (rounds * epoch_s))))
PY
)
fi
python - "$RECIPE_FILE" "$EPOCHS" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); r["epochs"] = int(sys.argv[2]); r["eval_every"] = max(1, int(sys.argv[2]) // 4)
json.dump(r, open(sys.argv[1], "w"), indent=2)
PY
echo "[table4] recipe $RECIPE_FILE: $EPOCHS epochs" | tee -a "$OUT/commands.txt"
touch "$OUT/recipe.fixed"
else
  fixed=$(python -c "import json, sys; print(json.load(open(sys.argv[1]))['epochs'])" "$RECIPE_FILE")
  if [ "$EPOCHS" != auto ] && [ "$EPOCHS" != "$fixed" ]; then
    echo "[table4] WARNING: $OUT already holds a recipe of $fixed epochs (an earlier run, resumed now);" \
         "EPOCHS=$EPOCHS is ignored. Use a new OUT to train with another recipe." | tee -a "$OUT/commands.txt" >&2
  fi
fi

# 3. training: PARALLEL workers share the job list (claims keep them apart)
# shellcheck disable=SC2086
cmd=("${SW[@]}" minibench run --bench "$OUT/table4.jsonl" --work "$OUT/work" "${ARCHS[@]}" --seeds "$SEEDS" \
     --recipe "$RECIPE_FILE" --device "$DEVICE" --workers "$WORKERS" $RUN_ARGS)
echo "${cmd[*]}" >> "$OUT/commands.txt"
pids=()
for _ in $(seq "$PARALLEL"); do
  "${cmd[@]}" & pids+=($!)
  sleep 2
done
for p in "${pids[@]}"; do wait "$p"; done

# 4. results
"${SW[@]}" minibench summary --bench "$OUT/table4.jsonl" --search-dir "$OUT/search" --out "$OUT/results.json"
ls -l "$OUT"/work/jobs/*/final.pt
echo "[table4] done in $(( $(date +%s) - START )) s" | tee -a "$OUT/commands.txt"
