// The one dispatch table: every vectorised piece of fastmlp for each instruction set, picked
// once per process (docs/isa.md has the contract).
//
// An Isa lists one instruction set's GEMM micro-kernels and register tiles, its optimizer
// vector loops, its float32 tanh and exp loops, and whether its multiply-adds round once (FMA). The
// table in isa.cpp is ordered best first (avx512 -> avx2 -> generic on x86-64, neon -> generic
// on AArch64); on first use the first one whose CPU features __builtin_cpu_supports reports
// (OS-enabled state included; neon needs none) is chosen, unless FASTMLP_ISA names one. An
// unknown name, or one this CPU lacks, is an error (std::invalid_argument / std::runtime_error
// -> ValueError / RuntimeError in Python) at every call that needs the table until fixed,
// never a silent fallback. Every vector loop
// (gemm, optimizers, tanh, the small-network loops) reads active() once per call and follows
// it; the GEMM's cache blocks come with it, derived from this CPU's caches (blocking.hpp).
// Compiled with baseline flags only; the ISA TUs are reached through the pointers alone.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "gemm/blocking.hpp"
#include "gemm/pack_isa.hpp"
#include "gemm/ukernel.hpp"
#include "nn/optim_lanes.hpp"

namespace fastmlp::isa {

struct Isa {
  const char* name;      // what FASTMLP_ISA, isa() and available_isas() say
  unsigned required;     // CpuFeature bits (isa.cpp) the ISA's TUs were compiled for
  const char* features;  // the same, in words, for error messages and info()
  bool fused_madd;       // the GEMM's (and small loops') acc + a * b rounds once (FMA)
  gemm::Ukernel<float> sgemm;
  gemm::Ukernel<double> dgemm;
  gemm::Tile s_tile, d_tile;  // register tiles of sgemm and dgemm (blocking.hpp)
  gemm::PackT<float> spack_t;   // transposing packs (pack_isa.hpp); nullptr: pack.hpp's
  gemm::PackT<double> dpack_t;
  nn::AdamLanes<float> adam_f32;
  nn::AdamLanes<double> adam_f64;
  nn::RmspropLanes<float> rmsprop_f32;
  nn::RmspropLanes<double> rmsprop_f64;
  void (*tanh_f32)(const float* z, float* a, int64_t n);  // nn/tanh_f32.hpp
  void (*exp_f32)(const float* x, float* y, int64_t n);   // nn/exp_lanes.hpp
  void (*exp_f64)(const double* x, double* y, int64_t n);
  int64_t (*fma_chains)(bool f64, int64_t iters, void* out);  // the peak probe (peak.hpp)
  // float64 GEMMs of d_tile.nr < n <= d_n12_tile.nr columns (a 10-class output layer) run this
  // kernel with its own tile and blocking instead; nullptr: none (d_tile's edges do).
  gemm::Ukernel<double> dgemm_n12;
  gemm::Tile d_n12_tile;
};

// An Isa with the GEMM blocking derived for this CPU's caches (and FASTMLP_BLOCKING).
struct Active {
  const Isa* isa;
  gemm::Blocking s, d;  // float32, float64
  gemm::Blocking d_n12;  // of isa->dgemm_n12 (all zero when it has none)
};

// The active entry: chosen on the first call (or by set_isa); throws if FASTMLP_ISA,
// FASTMLP_CACHES or FASTMLP_BLOCKING is invalid.
const Active& active();

// Names of the entries this CPU can run, best first ("generic" always last).
std::vector<std::string> available_isas();

// Name of the active entry (chooses it first, so it raises like a GEMM would).
std::string isa_name();

// Makes `name` the active entry for the calls that start after it returns: for tests and
// benchmarks. A call already running keeps the entry it started with (each reads active()
// once), but other threads may switch between their calls, so do not call it while another
// thread computes. Unknown name: std::invalid_argument; one this CPU lacks: std::runtime_error.
void set_isa(const std::string& name);

// Every compiled entry, whether this CPU supports it or not (for build_info()).
const Isa* all_isas(int* count);

}  // namespace fastmlp::isa
