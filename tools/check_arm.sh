#!/usr/bin/env bash
# The AArch64 build, checked under emulation: cross-compiles the C++ kernels (CMake's
# FASTMLP_KERNELS_ONLY: no Python) and tools/kernel_check.cpp with Debian's
# g++-aarch64-linux-gnu, and runs the check program under qemu-user: the neon entry of the isa
# table (NEON micro-kernels, optimizer lanes) and the generic one, GEMM on every edge size
# against a double reference, the activations, training steps. Correctness only: emulated
# timings say nothing about an ARM CPU's speed (README "Other machines"). Before that, the
# micro-kernels' k loops are read from the object file: a vector register spilled to the stack
# there fails the check (tools/neon_kloop_stack.py).
# Installs its tools with apt-get when they are missing (as root, as CI runs).
# Usage: bash tools/check_arm.sh [--self-check]   (FASTMLP_ARM_BUILD=dir: the build folder)
#   --self-check first builds and runs kernel_check natively with the host's g++, a check of
#   the program itself on the x86 instruction sets (tools/check_clang.sh does so with clang).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v aarch64-linux-gnu-g++ >/dev/null || ! command -v qemu-aarch64 >/dev/null; then
  if [ "$(id -u)" != 0 ]; then
    echo "tools/check_arm.sh needs g++-aarch64-linux-gnu and qemu-user (apt-get, as root)" >&2
    exit 1
  fi
  echo "== apt-get install g++-aarch64-linux-gnu qemu-user"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq g++-aarch64-linux-gnu qemu-user >/dev/null
fi

build=${FASTMLP_ARM_BUILD:-build/check-arm}
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
if [ "${1:-}" = "--self-check" ]; then
  echo "== kernel_check built and run natively with the host's g++ (build/check-native)"
  cmake -S . -B build/check-native "${generator[@]}" -DFASTMLP_KERNELS_ONLY=ON \
    -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build/check-native -j"$(nproc)"
  build/check-native/kernel_check
fi
echo "== cross-compile the kernels and kernel_check for aarch64 ($build)"
cmake -S . -B "$build" "${generator[@]}" -DFASTMLP_KERNELS_ONLY=ON -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_SYSTEM_NAME=Linux -DCMAKE_SYSTEM_PROCESSOR=aarch64 \
  -DCMAKE_CXX_COMPILER=aarch64-linux-gnu-g++ >/dev/null
cmake --build "$build" -j"$(nproc)"
aarch64-linux-gnu-readelf -h "$build/kernel_check" | grep -q "Machine: *AArch64" ||
  { echo "kernel_check is not an aarch64 binary" >&2; exit 1; }

echo "== the NEON k loops keep accumulators, A and B in registers (objdump of ukernel_neon.cpp.o)"
obj=$(find "$build" -name ukernel_neon.cpp.o | head -n 1)
[ -n "$obj" ] || { echo "no ukernel_neon.cpp.o under $build" >&2; exit 1; }
aarch64-linux-gnu-objdump -d --no-show-raw-insn "$obj" | python3 tools/neon_kloop_stack.py

# The sysroot Debian's cross packages install: the aarch64 libc and libstdc++ qemu loads.
run() { qemu-aarch64 -L /usr/aarch64-linux-gnu "$build/kernel_check" "$@"; }
echo "== kernel_check under qemu-aarch64: every instruction set, blocking derived from the caches"
run
echo "== the neon entry again with small cache blocks, so every MC/KC/NC edge is crossed many times"
FASTMLP_BLOCKING=16,24,36 run neon
