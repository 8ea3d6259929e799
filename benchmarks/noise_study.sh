#!/usr/bin/env bash
# Recipe noise study: 3 budget-feasible FasterSeg-space architectures (GMACs-stratified, sample
# seed 1) x 2 training seeds with recipe cpu-half-8ep, one torch thread; results appended to
# saswot/data/fasterseg/minibench-noise-camvid.jsonl. Resumable: rerun the same line.
# Usage: SASWOT_DATA=/work/shared/data bash benchmarks/noise_study.sh
set -euo pipefail
export OMP_NUM_THREADS=1
saswot minibench run --bench saswot/data/fasterseg/minibench-noise-camvid.jsonl --work runs/minibench/noise \
  --k 3 --sample-seed 1 --seeds 0,1 --recipe cpu-half-8ep --threads 1
saswot minibench summary --bench saswot/data/fasterseg/minibench-noise-camvid.jsonl
