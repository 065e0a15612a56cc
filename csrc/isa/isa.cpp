// The Isa table and the choice among it. Baseline flags: this file must run on any x86-64
// (or AArch64), so it holds no intrinsics and only takes the ISA functions' addresses.
#include "isa/isa.hpp"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <mutex>
#include <stdexcept>

#include "isa/caches.hpp"
#include "nn/exp_lanes.hpp"
#include "nn/tanh_f32.hpp"

namespace fastmlp::isa {
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
// avx512 before avx2 by measurement, not by assumption (docs/tuning.md): faster on CPUs with
// full-width 512-bit FMA units, and on double-pumped ones the same peak with twice the registers
// and masked edges. The tanh loop is the avx2 build on both, exp has a 64-byte build for
// avx512 (their operations, and so their bits, are the same at any width), and the transposing
// packs are avx2's on both (copies: the same bits in any width; 8 x 8 floats fill a 32-float
// avx512 panel as well).
constexpr Isa kIsas[] = {
#if defined(FASTMLP_X86_ISAS)
    {"avx512", kAvx512F | kAvx512VL | kAvx512BW | kAvx512DQ | kAvx2 | kFma,
     "avx512f avx512vl avx512bw avx512dq avx2 fma", true, &avx512::sgemm_8x32,
     &avx512::dgemm_8x16, gemm::kAvx512F32, gemm::kAvx512F64, &avx2::spack_t, &avx2::dpack_t,
     &nn::avx512::adam_lanes, &nn::avx512::adam_lanes, &nn::avx512::rmsprop_lanes,
     &nn::avx512::rmsprop_lanes, &avx2::tanh_f32_8_lanes, &avx512::exp_f32_64_bytes,
     &avx512::exp_f64_64_bytes, &avx512::fma_chains, nullptr, {}},
    {"avx2", kAvx2 | kFma, "avx2 fma", true, &avx2::sgemm_6x16, &avx2::dgemm_6x8,
     gemm::kAvx2F32, gemm::kAvx2F64, &avx2::spack_t, &avx2::dpack_t, &nn::avx2::adam_lanes,
     &nn::avx2::adam_lanes, &nn::avx2::rmsprop_lanes, &nn::avx2::rmsprop_lanes,
     &avx2::tanh_f32_8_lanes, &avx2::exp_f32_32_bytes, &avx2::exp_f64_32_bytes,
     &avx2::fma_chains, &avx2::dgemm_4x12, gemm::kAvx2F64N12},
#endif
#if defined(FASTMLP_NEON_ISA)
    // AArch64: NEON is part of the baseline, so no feature bit; the tanh loop is the 4-lane
    // vector-type build, which is NEON there.
    {"neon", 0u, "neon (AArch64 baseline)", true, &neon::sgemm_8x8, &neon::dgemm_8x4,
     gemm::kNeonF32, gemm::kNeonF64, nullptr, nullptr, &nn::neon::adam_lanes,
     &nn::neon::adam_lanes, &nn::neon::rmsprop_lanes, &nn::neon::rmsprop_lanes,
     &nn::tanh_f32_4_lanes, &nn::exp_f32_16_bytes, &nn::exp_f64_16_bytes, &neon::fma_chains,
     nullptr, {}},
#endif
    {"generic", 0u, "none (baseline)", false, &generic::sgemm_6x8, &generic::dgemm_6x4,
     gemm::kGenericF32, gemm::kGenericF64, nullptr, nullptr, &nn::generic::adam_lanes,
     &nn::generic::adam_lanes, &nn::generic::rmsprop_lanes, &nn::generic::rmsprop_lanes,
     &nn::tanh_f32_4_lanes, &nn::exp_f32_16_bytes, &nn::exp_f64_16_bytes, &generic::fma_chains,
     nullptr, {}},
};
constexpr int kNumIsas = sizeof(kIsas) / sizeof(kIsas[0]);

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

bool supported(const Isa& isa) {
  static const unsigned features = cpu_features();  // thread-safe one-time init
  return (isa.required & ~features) == 0;
}

std::string join(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

std::string all_names() {
  std::vector<std::string> names;
  for (const auto& isa : kIsas) names.push_back(isa.name);
  return join(names);
}

// The entry called `name`; `who` (e.g. "FASTMLP_ISA='x'") starts the error message.
const Isa& find(const std::string& name, const std::string& who) {
  for (const auto& isa : kIsas) {
    if (name != isa.name) continue;
    if (!supported(isa))
      throw std::runtime_error(who + ": this CPU lacks " + isa.features + " for '" + name +
                               "'; available here: " + join(available_isas()));
    return isa;
  }
  throw std::invalid_argument(who + " names no instruction set fastmlp knows; choose one of " +
                              all_names() + " (this CPU supports " + join(available_isas()) +
                              ")");
}

// One Active per table entry, its blocking derived when the entry is first made active.
Active g_slots[kNumIsas];
std::atomic<const Active*> g_active{nullptr};
std::mutex g_choose;

// The slot of `isa`, filled on its first activation (under g_choose) and never written again,
// so a call still running on it reads stable values. Throws for a bad FASTMLP_CACHES or
// FASTMLP_BLOCKING, leaving the slot empty and nothing newly active.
const Active* activate(const Isa& isa) {
  Active& slot = g_slots[&isa - kIsas];
  if (slot.isa) return &slot;
  const Caches& c = caches();
  slot.s = gemm::blocking_override(gemm::derive_blocking(isa.s_tile, sizeof(float), c));
  slot.d = gemm::blocking_override(gemm::derive_blocking(isa.d_tile, sizeof(double), c));
  if (isa.dgemm_n12) {
    // d's k blocks (where a k-sum is cut into partial sums), so every element is the same chain
    // of roundings whichever tile computes it; d's A block, in whole tiles of this one.
    gemm::Blocking& n12 = slot.d_n12;
    n12 = gemm::derive_blocking(isa.d_n12_tile, sizeof(double), c);
    n12.kc = slot.d.kc;
    n12.mc = std::max(n12.mr, slot.d.mc / n12.mr * n12.mr);
  }
  slot.isa = &isa;
  return &slot;
}

}  // namespace

const Active& active() {
  if (const Active* a = g_active.load(std::memory_order_acquire)) return *a;
  std::lock_guard<std::mutex> lock(g_choose);
  if (const Active* a = g_active.load(std::memory_order_acquire)) return *a;
  const Isa* chosen = nullptr;
  const char* env = std::getenv("FASTMLP_ISA");
  if (env && *env) {
    // Throws, and the next call tries again: every call raises until FASTMLP_ISA is fixed.
    chosen = &find(env, std::string("FASTMLP_ISA='") + env + "'");
  } else {
    for (const auto& isa : kIsas)
      if (supported(isa)) {
        chosen = &isa;
        break;
      }
  }
  const Active* a = activate(*chosen);
  g_active.store(a, std::memory_order_release);
  return *a;
}

std::vector<std::string> available_isas() {
  std::vector<std::string> names;
  for (const auto& isa : kIsas)
    if (supported(isa)) names.push_back(isa.name);
  return names;
}

std::string isa_name() { return active().isa->name; }

void set_isa(const std::string& name) {
  const Isa& isa = find(name, "set_isa('" + name + "')");
  std::lock_guard<std::mutex> lock(g_choose);
  g_active.store(activate(isa), std::memory_order_release);
}

const Isa* all_isas(int* count) {
  *count = kNumIsas;
  return kIsas;
}

}  // namespace fastmlp::isa
