// The data caches of the CPU the process runs on, read once: what the GEMM's block sizes are
// derived from (gemm/blocking.cpp), so they fit the machine instead of the one they were tuned on.
//
// Sources, first that answers: FASTMLP_CACHES (benchmarks: "L1D,L2,L3" in bytes with an
// optional K/M suffix, e.g. "32K,512K,32M", to derive another CPU's blocking here), Linux's
// /sys/devices/system/cpu/cpu0/cache (sizes and which CPUs share each level), glibc's
// sysconf(_SC_LEVEL*_CACHE_SIZE), then defaults that fit any x86-64 of the last decade.
#pragma once

#include <cstdint>
#include <string>

namespace fastmlp::isa {

struct Caches {
  int64_t l1d, l2, l3;        // bytes per instance
  int l2_sharing, l3_sharing; // logical CPUs sharing one instance (1 when unknown)
  std::string source;         // "FASTMLP_CACHES", "sysfs", "sysconf" or "defaults"
};

// Detected on the first call (thread-safe); a malformed FASTMLP_CACHES throws
// std::invalid_argument naming the variable, at every call until fixed.
const Caches& caches();

}  // namespace fastmlp::isa
