// Runtime CPU dispatch for the GEMM micro-kernels (reference/STYLE.md §8.4, ENGINEERING.md §2).
//
// A KernelSet is one instruction set's micro-kernels and Blocking rows. The table in
// dispatch.cpp lists them best first (avx512 -> avx2 -> generic); on first use the first one
// whose required CPU features __builtin_cpu_supports reports (OS-enabled state included) is
// chosen, unless FASTMLP_ISA=avx512|avx2|generic names one. An unknown name, or one this CPU
// lacks, is an error (std::invalid_argument / std::runtime_error -> ValueError / RuntimeError
// in Python) at every GEMM call until fixed, never a silent fallback. The nn code never sees
// an ISA: it calls gemm<T>(), which reads the active set once per call.
// Compiled with baseline flags only; the ISA TUs are reached through the pointers alone.
#pragma once

#include <string>
#include <vector>

#include "gemm/blocking.hpp"
#include "gemm/ukernel.hpp"

namespace fastmlp::gemm {

struct KernelSet {
  const char* name;      // what FASTMLP_ISA, isa() and available_isas() say
  unsigned required;     // CpuFeature bits (dispatch.cpp) the kernels' TU was compiled for
  const char* features;  // the same, in words, for error messages and info()
  Ukernel<float> sgemm;
  Ukernel<double> dgemm;
  Blocking s, d;  // the Blocking rows of sgemm and dgemm (blocking.hpp)
};

// The active set: chosen on the first call (or by set_isa); throws if FASTMLP_ISA is invalid.
const KernelSet& active_kernels();

// Names of the sets this CPU can run, best first ("generic" always last).
std::vector<std::string> available_isas();

// Name of the active set (chooses it first, so it raises like a GEMM would).
std::string isa();

// Makes `name` the active set for the calls that start after it returns: for tests and
// benchmarks. A GEMM already running keeps the set it started with (each call reads the
// active set once), but other threads' kernels may switch between their GEMMs, so do not call
// it while another thread computes. Unknown name: std::invalid_argument; one this CPU lacks:
// std::runtime_error.
void set_isa(const std::string& name);

// Every compiled set, whether this CPU supports it or not (for build_info()).
const KernelSet* kernel_sets(int* count);

}  // namespace fastmlp::gemm
