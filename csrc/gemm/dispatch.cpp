// The KernelSet table and the choice among it. Baseline flags: this file must run on any
// x86-64, so it holds no intrinsics and only takes the ISA kernels' addresses.
#include "gemm/dispatch.hpp"

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <stdexcept>

namespace fastmlp::gemm {
namespace {

enum CpuFeature : unsigned {
  kAvx2 = 1u << 0,
  kFma = 1u << 1,
  kAvx512F = 1u << 2,
  kAvx512VL = 1u << 3,
  kAvx512BW = 1u << 4,
  kAvx512DQ = 1u << 5,
};

// Best first; the first whose features this CPU has wins. "generic" needs nothing and ends it.
// avx512 before avx2 by measurement, not by assumption: on the Zen 5 (full-width 512-bit FMA)
// the numbers were taken on it is 1.8x avx2 at 1 thread for GEMMs from 256^3 up; on Zen 4
// (double-pumped zmm) reference/PEERS.md's probe gives both the same peak, and the 32 zmm
// registers and masked edges still favour it for small GEMMs.
constexpr KernelSet kSets[] = {
#if defined(FASTMLP_X86_ISAS)
    {"avx512", kAvx512F | kAvx512VL | kAvx512BW | kAvx512DQ, "avx512f avx512vl avx512bw avx512dq",
     &avx512::sgemm_8x32, &avx512::dgemm_8x16, kAvx512F32, kAvx512F64},
    {"avx2", kAvx2 | kFma, "avx2 fma", &avx2::sgemm_6x16, &avx2::dgemm_6x8, kAvx2F32, kAvx2F64},
#endif
    {"generic", 0u, "none (baseline)", &generic::sgemm_6x8, &generic::dgemm_6x4, kGenericF32,
     kGenericF64},
};
constexpr int kNumSets = sizeof(kSets) / sizeof(kSets[0]);

// __builtin_cpu_supports checks CPUID and, for AVX/AVX-512, that the OS saves the ymm/zmm
// state (XCR0), so a feature reported here is usable.
unsigned cpu_features() {
  unsigned f = 0;
#if defined(FASTMLP_X86_ISAS)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2")) f |= kAvx2;
  if (__builtin_cpu_supports("fma")) f |= kFma;
  if (__builtin_cpu_supports("avx512f")) f |= kAvx512F;
  if (__builtin_cpu_supports("avx512vl")) f |= kAvx512VL;
  if (__builtin_cpu_supports("avx512bw")) f |= kAvx512BW;
  if (__builtin_cpu_supports("avx512dq")) f |= kAvx512DQ;
#endif
  return f;
}

bool supported(const KernelSet& ks) {
  static const unsigned features = cpu_features();  // thread-safe one-time init
  return (ks.required & ~features) == 0;
}

std::string join(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

std::string all_names() {
  std::vector<std::string> names;
  for (const auto& ks : kSets) names.push_back(ks.name);
  return join(names);
}

// The set called `name`; `who` (e.g. "FASTMLP_ISA='x'") starts the error message.
const KernelSet& find(const std::string& name, const std::string& who) {
  for (const auto& ks : kSets) {
    if (name != ks.name) continue;
    if (!supported(ks))
      throw std::runtime_error(who + ": this CPU lacks " + ks.features + " for '" + name +
                               "'; available here: " + join(available_isas()));
    return ks;
  }
  throw std::invalid_argument(who + " names no instruction set fastmlp knows; choose one of " +
                              all_names() + " (this CPU supports " + join(available_isas()) +
                              ")");
}

std::atomic<const KernelSet*> g_active{nullptr};
std::mutex g_choose;

}  // namespace

const KernelSet& active_kernels() {
  if (const KernelSet* ks = g_active.load(std::memory_order_acquire)) return *ks;
  std::lock_guard<std::mutex> lock(g_choose);
  if (const KernelSet* ks = g_active.load(std::memory_order_acquire)) return *ks;
  const KernelSet* chosen = nullptr;
  const char* env = std::getenv("FASTMLP_ISA");
  if (env && *env) {
    // Throws, and the next call tries again: every GEMM raises until FASTMLP_ISA is fixed.
    chosen = &find(env, std::string("FASTMLP_ISA='") + env + "'");
  } else {
    for (const auto& ks : kSets)
      if (supported(ks)) {
        chosen = &ks;
        break;
      }
  }
  g_active.store(chosen, std::memory_order_release);
  return *chosen;
}

std::vector<std::string> available_isas() {
  std::vector<std::string> names;
  for (const auto& ks : kSets)
    if (supported(ks)) names.push_back(ks.name);
  return names;
}

std::string isa() { return active_kernels().name; }

void set_isa(const std::string& name) {
  const KernelSet& ks = find(name, "set_isa('" + name + "')");
  std::lock_guard<std::mutex> lock(g_choose);
  g_active.store(&ks, std::memory_order_release);
}

const KernelSet* kernel_sets(int* count) {
  *count = kNumSets;
  return kSets;
}

}  // namespace fastmlp::gemm
