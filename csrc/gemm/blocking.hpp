// Block sizes of the BLIS loop nest (jc -> pc -> ic -> jr -> ir with steps NC, KC, MC, NR, MR).
//
// One row per dtype for the portable baseline kernel. The ISA-specific kernels of the next
// issue bring their own rows; the loop nest reads whichever Blocking it is handed.
#pragma once

#include <cstdint>

namespace fastmlp::gemm {

struct Blocking {
  int64_t mr, nr;  // register tile of the micro-kernel: MR rows of C by NR columns
  int64_t mc, kc, nc;  // cache blocks: MC x KC of A (L2), KC x NC of B (L3), KC x NR in L1
};

template <class T>
struct BaselineBlocking;

// SSE2 has 16 xmm registers: 6 x 8 floats = 12 acc + 2 B + 1 A broadcast = 15/16 xmm.
// KC*NR*4 = 8 KiB B micro-panel and KC*MR*4 = 6 KiB A micro-panel stay in a 32 KiB L1;
// MC*KC*4 = 144 KiB A block in L2; KC*NC*4 = 4 MiB B panel in L3.
template <>
struct BaselineBlocking<float> {
  static constexpr int64_t MR = 6, NR = 8, MC = 144, KC = 256, NC = 4096;
};

// 6 x 4 doubles = 12 acc + 2 B + 1 A = 15/16 xmm. KC*NR*8 = 8 KiB, MC*KC*8 = 144 KiB (L2),
// KC*NC*8 = 4 MiB (L3).
template <>
struct BaselineBlocking<double> {
  static constexpr int64_t MR = 6, NR = 4, MC = 72, KC = 256, NC = 2048;
};

template <class T>
constexpr Blocking baseline_blocking() {
  using B = BaselineBlocking<T>;
  return Blocking{B::MR, B::NR, B::MC, B::KC, B::NC};
}

}  // namespace fastmlp::gemm
