#!/usr/bin/env bash
# Table 2-style comparison (reduced budget): search the FasterSeg space with SasWOT, NWOT and
# synflow (plus random search with the SasWOT proxy at the same number of evaluations) under
# FasterSeg's own cost (27.8 GMACs at 1024x2048), then time the found networks.
# Usage: OUT=/tmp/fs_table2 DATA=/work/shared/data bash benchmarks/fasterseg_table2.sh
set -euo pipefail
OUT=${OUT:-/tmp/fs_table2}
DATA=${DATA:-./data}
PY=${PY:-.venv/bin/python}
COMMON="--generations ${GENS:-10} --population ${POP:-10} --topk ${TOPK:-3} --proxy-resolution ${PRES:-128x256} \
 --batch-size 2 --max-gmacs 27.8 --target-resolution 1024x2048 --data camvid --data-root $DATA --seed 0"
mkdir -p "$OUT"
export OMP_NUM_THREADS=${THREADS:-1}
for proxy in saswot nwot synflow; do
  extra=""
  [ "$proxy" = saswot ] && extra="--random"
  /usr/bin/time -f "$proxy wall %e s" $PY -m saswot.cli.main search-arch --proxy $proxy $COMMON $extra \
    --out "$OUT/$proxy.json" 2> >(grep -v '━' >&2)
done
