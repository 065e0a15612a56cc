// GCC/Clang vector types for the loops written once and built at several widths (tanh_f32.cpp,
// exp_lanes.cpp): float/double lanes and the unsigned integers of the same width, to reach the
// bits. Plain typedefs, no code: safe to include from baseline and ISA-targeted functions alike.
#pragma once

#include <cstdint>
#include <cstring>

namespace fastmlp::nn {

typedef float F4 __attribute__((vector_size(16)));
typedef uint32_t U4 __attribute__((vector_size(16)));
typedef float F8 __attribute__((vector_size(32)));
typedef uint32_t U8 __attribute__((vector_size(32)));
typedef float F16 __attribute__((vector_size(64)));
typedef uint32_t U16 __attribute__((vector_size(64)));
typedef double D2 __attribute__((vector_size(16)));
typedef uint64_t V2 __attribute__((vector_size(16)));
typedef double D4 __attribute__((vector_size(32)));
typedef uint64_t V4 __attribute__((vector_size(32)));
typedef double D8 __attribute__((vector_size(64)));
typedef uint64_t V8 __attribute__((vector_size(64)));

}  // namespace fastmlp::nn

// Inlined into each build (baseline or target-attributed), never called across widths.
#define FASTMLP_LANES_INLINE inline __attribute__((always_inline))

namespace fastmlp::nn {

// y[i] = op(x[i]) for i < n, op working in place on a whole vector F of T: whole vectors, then
// the last n % W values through a zero-padded vector, so every value gets the same operations
// wherever it sits. y may equal x.
template <class F, class T, void (*op)(F&)>
FASTMLP_LANES_INLINE void map_vectors(const T* x, T* y, int64_t n) {
  constexpr int64_t W = sizeof(F) / sizeof(T);
  int64_t i = 0;
  for (; i + W <= n; i += W) {
    F v;
    std::memcpy(&v, x + i, sizeof(F));
    op(v);
    std::memcpy(y + i, &v, sizeof(F));
  }
  if (i < n) {
    F v = {};
    const size_t bytes = static_cast<size_t>(n - i) * sizeof(T);
    std::memcpy(&v, x + i, bytes);
    op(v);
    std::memcpy(y + i, &v, bytes);
  }
}

}  // namespace fastmlp::nn
