#!/usr/bin/env bash
# The C++ core built with clang instead of gcc: the Python module and tools/kernel_check.cpp
# (run natively, every x86 instruction set), then the kernel tests against that module from a
# temporary copy of the package (the source tree's own module is left alone). -Wall -Wextra as for gcc;
# a warning from fastmlp's own sources fails the check.
# Installs clang with apt-get when it is missing (as root, as CI runs).
# Usage: bash tools/check_clang.sh   (PYTHON=... the interpreter with the test dependencies;
# nanobind is pip-installed into it when missing.)
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python}

if ! command -v clang++ >/dev/null; then
  if [ "$(id -u)" != 0 ]; then
    echo "tools/check_clang.sh needs clang (apt-get install clang, as root)" >&2
    exit 1
  fi
  echo "== apt-get install clang"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang >/dev/null
fi
"$python" -c "import nanobind" 2>/dev/null || "$python" -m pip install --quiet "nanobind>=2.0"

build=${FASTMLP_CLANG_BUILD:-build/check-clang}
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
log=$(mktemp)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp" "$log"' EXIT

echo "== clang++: the Python module and kernel_check ($build)"
cmake -S . -B "$build" "${generator[@]}" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Release \
  -DPython_EXECUTABLE="$(command -v "$python")" >/dev/null
cmake --build "$build" -j"$(nproc)" --target all kernel_check 2>&1 | tee "$log"
if grep -E "(csrc|tools)/[^ ]*: warning:" "$log"; then
  echo "clang warns about fastmlp's sources (above)" >&2
  exit 1
fi
echo "== kernel_check (clang build, native)"
"$build/kernel_check"
cp -r python/fastmlp "$tmp/"
rm -f "$tmp"/fastmlp/_core*.so
cp "$build"/_core*.so "$tmp/fastmlp/"
PYTHONPATH="$tmp" "$python" -c "
from fastmlp import _core
info = _core.build_info()
print(info)
assert 'Clang' in info, 'the module under test is not the clang build'
"
echo "== kernel tests against the clang build"
PYTHONPATH="$tmp" "$python" -m pytest -q -p no:cacheprovider tests/test_gemm.py tests/test_isa.py \
  tests/test_dense.py tests/test_activations.py tests/test_optim.py tests/test_optim_lanes.py \
  tests/test_optim_options.py tests/test_small_path.py
