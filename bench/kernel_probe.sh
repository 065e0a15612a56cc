#!/usr/bin/env bash
# Builds bench/kernel_probe.cpp against the kernels library of a fastmlp build and runs it:
# dense_forward vs the bare GEMM with no Python in between (see the .cpp for why).
#   bash bench/kernel_probe.sh [BUILD_DIR] [REPEATS]
# BUILD_DIR: a CMake build of this checkout holding libfastmlp_kernels.a (default build/dev,
# the editable install's; `pip install -e . -Cbuild-dir=build/dev` makes one). Threads: as the
# library's (FASTMLP_NUM_THREADS; set 1 for the issue's 1-thread figures).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/dev}
lib=$build/libfastmlp_kernels.a
[ -f "$lib" ] || { echo "no $lib: build the package first (see the header)" >&2; exit 2; }
exe=$(mktemp -d)/kernel_probe
g++ -std=c++17 -O2 -Icsrc bench/kernel_probe.cpp "$lib" -lpthread -o "$exe"
"$exe" "${2:-101}"
