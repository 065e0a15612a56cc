#!/usr/bin/env bash
# The per-ISA tables of BENCHMARKS.md: fastmlp's AVX2 kernels against OpenBLAS's Haswell ones and
# its AVX-512 kernels against OpenBLAS's SkylakeX ones, on the same CPU, at 1 and 2 threads: the
# GEMM shapes (bench/gemm_ratios.py) and the GEMM-bound epochs (bench/epoch_ratios.py).
# OPENBLAS_CORETYPE is set here, in the benchmark command, never in tests or CI.
# Usage: [THREADS="1 2"] [CLOCK1=thread] bash bench/isa_tables.sh [avx2|avx512 ...]
# (default: every ISA this CPU runs, at 1 and 2 threads)
# Nothing else should run meanwhile: 2-thread figures need both cores. CLOCK1=thread times the
# 1-thread rows in thread CPU time (robust to another process sharing the core).
set -euo pipefail
cd "$(dirname "$0")/.."
isas=("$@")
if [ ${#isas[@]} -eq 0 ]; then
  mapfile -t isas < <(python -c "from fastmlp.backends import cpp; print('\n'.join(i for i in cpp.available_isas() if i != 'generic'))")
fi
for isa in "${isas[@]}"; do
  case $isa in
    avx2) core=Haswell ;;
    avx512) core=SkylakeX ;;
    *) echo "no OpenBLAS core type to compare $isa with" >&2; exit 2 ;;
  esac
  for t in ${THREADS:-1 2}; do
    echo "## $isa vs OpenBLAS $core, $t thread(s)"
    FASTMLP_ISA=$isa OPENBLAS_CORETYPE=$core FASTMLP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t \
      python bench/gemm_ratios.py --threads "$t" --peak --repeats "${REPEATS:-11}" $([ "$t" = 1 ] && echo "--clock ${CLOCK1:-wall}")
    echo
    FASTMLP_ISA=$isa OPENBLAS_CORETYPE=$core FASTMLP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t \
      python bench/epoch_ratios.py --threads "$t" --repeats "${REPEATS:-7}" $([ "$t" = 1 ] && echo "--clock ${CLOCK1:-wall}")
    echo
  done
done
