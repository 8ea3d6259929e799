#!/bin/bash
# Rank 20 archs per TransNAS-Bench-101 space with every proxy, run one short search-arch and one short search-proxy, with the
# package from SRC (e.g. a git worktree of an older commit); compare two OUTDIRs with benchmarks/bitident_compare.py.
# usage: SASWOT_DATA=/abs/path/to/data benchmarks/bitident_check.sh SRC OUTDIR
SRC=$1; OUT=$2; mkdir -p $OUT
export PYTHONPATH=$SRC SASWOT_DATA=${SASWOT_DATA:-../shared/data} SASWOT_CACHE=$OUT/cache OMP_NUM_THREADS=1
cd $SRC
for s in micro macro; do
  python -m saswot rank --space $s --proxies all --archs 20 --samples 3 --sample-size 10 --seed 0 --quiet --threads 1 --out $OUT/rank-$s.json > $OUT/rank-$s.txt 2>&1
done
python -m saswot search-arch --proxy saswot --generations 3 --population 6 --topk 3 --avt-samples 6 --seed 0 --quiet --threads 1 --out $OUT/arch.json > $OUT/arch.txt 2>&1
python -m saswot search-proxy --space micro --generations 3 --population 6 --topk 2 --search-archs 10 --val-archs 10 --seed 0 --no-random-baseline --quiet --cache $OUT/cache/autoproxy --out $OUT/proxy.json > $OUT/proxy.txt 2>&1
echo done > $OUT/DONE
