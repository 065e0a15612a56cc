// float32 tanh on whole arrays, vectorised: the tanh activation's forward.
//
// libm's tanhf (with the expm1f it calls) dominated small tanh networks' steps: one call per
// element, none vectorised. This one is plain float32 arithmetic, one
// rounding per operation and no FMA, run 8 lanes wide under the avx2 and avx512 entries of the
// isa table and 4 wide (baseline SSE2) under generic, with the same operations either way
// (tanh_f32.cpp): its bits are the same on every x86-64, whatever FASTMLP_ISA says.
//
// Accuracy, measured over every float32 in [-10, 10] against float64 np.tanh:
// max error 1.13 ulp (ulp of the exact value), at |x| = 0.867478 (tests/test_tanh_accuracy.py
// checks a strided subset of that range and the special values). Exact: tanh(+-0) = +-0,
// tanh(x) = x for |x| < 2^-12 (subnormals included), +-1 for |x| >= 9.1 and +-inf; NaN -> NaN.
#pragma once

#include <cstdint>

namespace fastmlp::nn {

// a[i] = tanh(z[i]) for i in [0, n); a may equal z. Every element gets the same operations
// whatever its position (the last few go through a padded vector), so results do not depend
// on how an array is split into rows or chunks.
// Through the active isa table entry (isa/isa.hpp).
void tanh_f32(const float* z, float* a, int64_t n);

// The two builds the table points to: baseline 4 lanes, and (x86 only) avx2 8 lanes.
void tanh_f32_4_lanes(const float* z, float* a, int64_t n);

}  // namespace fastmlp::nn

#if defined(FASTMLP_X86_ISAS)
namespace fastmlp::avx2 {
void tanh_f32_8_lanes(const float* z, float* a, int64_t n);
}  // namespace fastmlp::avx2
#endif
