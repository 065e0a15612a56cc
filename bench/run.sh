#!/usr/bin/env bash
# Runs the benchmark suites at 1 and 2 threads (fastmlp and OpenBLAS limited alike) and prints
# the ratio tables for BENCHMARKS.md, then bench/gemm_ratios.py's GEMM tables.
# Usage: bash bench/run.sh [extra pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${BENCH_OUT:-.benchmarks}
mkdir -p "$out"
for t in 1 2; do
  FASTMLP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t OMP_NUM_THREADS=$t \
    python -m pytest bench -q -p no:cacheprovider --benchmark-only \
      --benchmark-min-rounds=7 --benchmark-warmup=on \
      --benchmark-json="$out/bench-${t}t.json" "$@"
done
python bench/report.py "1=$out/bench-1t.json" "2=$out/bench-2t.json"
# The GEMM against NumPy's @ on the issue's full shape list, fastmlp and OpenBLAS interleaved
# per repeat (ratios only), with the FMA peak measured in the same run.
for t in 1 2; do
  FASTMLP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t OMP_NUM_THREADS=$t \
    python bench/gemm_ratios.py --threads "$t" --peak
done
