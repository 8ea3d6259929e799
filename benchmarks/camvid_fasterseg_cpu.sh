#!/usr/bin/env bash
# Reduced CamVid run of the released FasterSeg architecture on the CPU (see docs/results.md),
# then evaluation, export of the committed checkpoint, and CPU FPS at 360x480 and 720x960.
# Usage: SASWOT_DATA=/path/to/data bash benchmarks/camvid_fasterseg_cpu.sh
set -euo pipefail
RUN=${RUN:-runs/camvid-fasterseg-cpu-14ep}
THREADS=${THREADS:-1}
saswot train fasterseg --dataset camvid --epochs 14 --base-size 180x240 --crop 144x192 --eval-size 180x240 \
  --eval-every 2 --batch-size 8 --lr 0.03 --lr-final-ratio 0.1 --workers 0 --threads "$THREADS" --seed 0 \
  --device cpu --out "$RUN"
saswot eval "$RUN/best.pt" --dataset camvid --split val --workers 0 --threads "$THREADS" \
  --out "$RUN/eval_val.json" --save-vis "$RUN/vis"
saswot export "$RUN/best.pt" --pt checkpoints/camvid-fasterseg-cpu.pt --fp16 --onnx "$RUN/camvid-fasterseg-cpu.onnx"
for RES in 360x480 720x960; do
  for T in 1 2; do
    saswot fps fasterseg --num-classes 11 --resolution "$RES" --device cpu --threads "$T" --warmup 3 --runs 20 \
      --out "$RUN/fps_${RES}_t${T}.json"
  done
done
