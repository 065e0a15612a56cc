#!/usr/bin/env bash
# Build the C++ core with AddressSanitizer + UndefinedBehaviorSanitizer and run the kernel and
# training tests against it (how, and the results: docs/sanitizers.md).
#
#   tools/sanitize.sh [PYTEST ARGS...]     default: the kernel / training / fault test files
#
# How: a throwaway virtual environment in build/sanitize/venv sees the dependencies of the
# current Python (numpy, pytest, hypothesis, numba, scikit-build-core, nanobind) through a .pth
# line, and gets fastmlp installed normally (not editable) from this checkout, compiled with
# -fsanitize=address,undefined -fno-omit-frame-pointer -g in its own build folder. The tests then
# run with the ASan and UBSan runtimes preloaded (CPython itself is not instrumented, so ASan
# must come first) and leak detection off (CPython keeps memory until exit on purpose).
# Exit status: non-zero when a test fails or any sanitizer report appears in the log.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

python=${PYTHON:-python3}
out=$root/build/sanitize
venv=$out/venv
log=$out/pytest.log
mkdir -p "$out"

site=$("$python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv --without-pip "$venv"
fi
venv_site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
# a plain path line: the dependencies import, but that folder's own .pth hooks (an editable
# fastmlp) do not run, so `import fastmlp` finds the sanitized install below
echo "$site" > "$venv_site/_deps_from_parent.pth"

flags="-fsanitize=address,undefined -fno-omit-frame-pointer -g"
echo "== build ($flags) into $out/build"
nice -n 10 "$venv/bin/python" -m pip install --quiet --no-build-isolation --no-deps --force-reinstall \
  -Cbuild-dir="$out/build" -Ccmake.build-type=RelWithDebInfo \
  -Ccmake.define.CMAKE_CXX_FLAGS="$flags" \
  -Ccmake.define.CMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined" \
  -Ccmake.define.CMAKE_MODULE_LINKER_FLAGS="-fsanitize=address,undefined" \
  "$root"

so=$("$venv/bin/python" -c 'import importlib.util as u; print(u.find_spec("fastmlp._core").origin)' 2>/dev/null)
# grep without -q: -q stops reading at the first match, ldd then dies of SIGPIPE, and pipefail
# would report the pipeline as failed.
if ! ldd "$so" | grep libasan > /dev/null; then
  echo "tools/sanitize.sh: $so is not linked against libasan; the flags did not reach the build" >&2
  exit 1
fi
echo "   module: $so"

runtime="$(g++ -print-file-name=libasan.so) $(g++ -print-file-name=libubsan.so)"
if [ $# -eq 0 ]; then
  set -- tests/test_gemm.py tests/test_dense.py tests/test_activations.py tests/test_losses.py \
    tests/test_optim.py tests/test_optim_lanes.py tests/test_schedules.py tests/test_train_agreement.py \
    tests/test_training.py tests/test_matmul_fast_path.py tests/test_small_path.py tests/test_tanh_accuracy.py \
    tests/test_bad_input_kernels.py tests/test_bad_input_matrix*.py tests/test_isa.py \
    tests/test_threads.py tests/test_io.py tests/test_model.py tests/test_concurrency.py \
    tests/test_numerical_faults.py tests/test_process_faults.py tests/test_safetensors.py tests/regressions \
    tests/test_row_prefetch.py tests/test_kept_weights.py tests/test_gemm_row_order.py
  existing=()
  for f in "$@"; do [ -e "$f" ] && existing+=("$f"); done
  set -- "${existing[@]}"
fi

echo "== pytest under ASan/UBSan: $*  (log: $log)"
set +e
# PYTHONMALLOC=malloc: ASan sees Python's allocations too (bounds of NumPy buffers included).
# allocator_may_return_null=1: a huge request returns NULL as glibc's malloc does, so NumPy raises
# MemoryError (the bad-input tests ask for exabytes on purpose) instead of ASan aborting.
# halt_on_error=0 for UBSan: every report lands in the log, the count decides the exit status.
env LD_PRELOAD="$runtime" PYTHONMALLOC=malloc \
  ASAN_OPTIONS="detect_leaks=0:allocator_may_return_null=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1" \
  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=0" \
  nice -n 10 "$venv/bin/python" -m pytest -q -p no:cacheprovider -o addopts="" --timeout=1800 \
  -m "not slow" "$@" >"$log" 2>&1
rc=$?
set -e
asan=$(grep -c 'ERROR: AddressSanitizer' "$log" || true)
ubsan=$(grep -c 'runtime error:' "$log" || true)
echo "   pytest exit $rc; AddressSanitizer reports: $asan; UBSan runtime errors: $ubsan"
tail -n 3 "$log"
grep -m 20 -E 'ERROR: AddressSanitizer|runtime error:' "$log" || true
if [ "$rc" -ne 0 ] || [ "$asan" -ne 0 ] || [ "$ubsan" -ne 0 ]; then
  exit 1
fi
