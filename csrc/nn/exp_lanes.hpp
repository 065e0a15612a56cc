// exp on whole arrays, vectorised: the exponentials of softmax (cross_entropy's loss and
// gradient), one libm call per element before.
//
// Plain IEEE arithmetic, one rounding per operation and no FMA, on 64-byte vectors under the
// isa table's avx512 entry, 32-byte ones under avx2 and 16-byte ones (SSE2, NEON) under
// generic and neon, with the same operations at every width (exp_lanes.cpp): its bits are
// the same on every machine, whatever FASTMLP_ISA says.
//
// Accuracy (tests/test_exp_accuracy.py, against the x87 long double exp): within 1.1 ulp in
// float32 and float64 over the whole range, subnormal results included;
// exp(-inf) = 0, exp(+inf) = +inf, overflow to +inf, NaN -> NaN.
#pragma once

#include <cstdint>

namespace fastmlp::nn {

// y[i] = exp(x[i]) for i in [0, n); y may equal x. Every element gets the same operations
// whatever its position (the last few go through a padded vector). Through the active isa
// table entry (isa/isa.hpp).
void exp_array(const float* x, float* y, int64_t n);
void exp_array(const double* x, double* y, int64_t n);

// The builds the table points to: 16-byte vectors (baseline), and (x86 only) 32-byte ones
// compiled for avx2 and 64-byte ones for avx512f.
void exp_f32_16_bytes(const float* x, float* y, int64_t n);
void exp_f64_16_bytes(const double* x, double* y, int64_t n);

}  // namespace fastmlp::nn

#if defined(FASTMLP_X86_ISAS)
namespace fastmlp::avx2 {
void exp_f32_32_bytes(const float* x, float* y, int64_t n);
void exp_f64_32_bytes(const double* x, double* y, int64_t n);
}  // namespace fastmlp::avx2
namespace fastmlp::avx512 {
void exp_f32_64_bytes(const float* x, float* y, int64_t n);
void exp_f64_64_bytes(const double* x, double* y, int64_t n);
}  // namespace fastmlp::avx512
#endif
