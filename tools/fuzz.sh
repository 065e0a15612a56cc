#!/usr/bin/env bash
# Time-boxed atheris fuzzing of the model loader and the C++ kernels (fuzz/README.md).
#
#   tools/fuzz.sh [SECONDS] [TARGET...]     SECONDS per target (default 600); TARGET: loader, kernels
#
# Each target runs for SECONDS under `nice -n 15` (the machine is shared), with its corpus kept
# in build/fuzz/corpus-TARGET (so a rerun continues where the last one stopped) and Python-level
# findings recorded once each in build/fuzz/findings-TARGET (fuzz/findings.py). Exit status: 0
# when no target found anything, 1 otherwise. Needs atheris (pip install atheris) and the
# package installed (pip install -e . or a wheel).
set -uo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(loader kernels)
python=${PYTHON:-python}
out=build/fuzz
mkdir -p "$out"
status=0

for target in "${targets[@]}"; do
  harness=fuzz/fuzz_${target}.py
  if [ ! -f "$harness" ]; then
    echo "tools/fuzz.sh: no harness $harness (targets: loader, kernels)" >&2
    exit 2
  fi
  corpus=$out/corpus-$target findings=$out/findings-$target log=$out/$target.log
  mkdir -p "$corpus" "$findings" "$out/crashes-$target"
  echo "== $target: ${seconds}s, corpus $corpus, log $log"
  # -rss_limit_mb: a harness that balloons is a finding, not a machine-wide OOM
  FASTMLP_FUZZ_FINDINGS=$findings FASTMLP_NUM_THREADS=${FASTMLP_NUM_THREADS:-2} \
    nice -n 15 "$python" "$harness" -max_total_time="$seconds" -print_final_stats=1 \
    -max_len=8192 -rss_limit_mb=4096 -timeout=60 \
    -artifact_prefix="$out/crashes-$target/" "$corpus" >"$log" 2>&1
  rc=$?
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
  n_findings=$(find "$findings" -name '*.bin' | wc -l)
  n_crashes=$(find "$out/crashes-$target" -type f | wc -l)
  echo "   exit $rc, ${runs:-?} inputs, corpus $(find "$corpus" -type f | wc -l) files, " \
       "$n_findings findings, $n_crashes crash files"
  grep -h '^FINDING' "$log" | sed 's/^/   /'
  if [ "$rc" -ne 0 ] || [ "$n_findings" -ne 0 ] || [ "$n_crashes" -ne 0 ]; then
    status=1
  fi
done
exit $status
