// The optimizers' vector loops on SSE2's xmm registers, which every x86-64 has (baseline
// flags; optim_lanes.hpp says why these loops exist). Elsewhere no vector loop: the scalar
// loop in optim.cpp does every element.
#include <type_traits>

#include "nn/optim_lanes.hpp"

#if defined(__SSE2__)
#include <emmintrin.h>

namespace fastmlp::nn::generic {
namespace {

struct F32 {
  using T = float;
  using V = __m128;
  static constexpr int W = 4;
  static V load(const T* p) { return _mm_loadu_ps(p); }
  static void store(T* p, V x) { _mm_storeu_ps(p, x); }
  static V set1(T x) { return _mm_set1_ps(x); }
  static V add(V x, V y) { return _mm_add_ps(x, y); }
  static V sub(V x, V y) { return _mm_sub_ps(x, y); }
  static V mul(V x, V y) { return _mm_mul_ps(x, y); }
  static V div(V x, V y) { return _mm_div_ps(x, y); }
  static V sqrt(V x) { return _mm_sqrt_ps(x); }
};

struct F64 {
  using T = double;
  using V = __m128d;
  static constexpr int W = 2;
  static V load(const T* p) { return _mm_loadu_pd(p); }
  static void store(T* p, V x) { _mm_storeu_pd(p, x); }
  static V set1(T x) { return _mm_set1_pd(x); }
  static V add(V x, V y) { return _mm_add_pd(x, y); }
  static V sub(V x, V y) { return _mm_sub_pd(x, y); }
  static V mul(V x, V y) { return _mm_mul_pd(x, y); }
  static V div(V x, V y) { return _mm_div_pd(x, y); }
  static V sqrt(V x) { return _mm_sqrt_pd(x); }
};

#include "nn/optim_lanes.inl"

}  // namespace

FASTMLP_OPTIM_LANES_DEFINE(F32, F64)

}  // namespace fastmlp::nn::generic

#else

// No vector loop (AArch64's neon entry has its own): every element goes to the scalar loop.
namespace fastmlp::nn::generic {
#define FASTMLP_NO_ADAM_LANES \
  (void)param, (void)grad, (void)m, (void)v, (void)hi, (void)c, (void)decay; return lo
#define FASTMLP_NO_RMSPROP_LANES \
  (void)param, (void)grad, (void)square_avg, (void)velocity, (void)grad_avg, (void)hi, (void)c; \
  return lo
FASTMLP_ADAM_LANES_DECL(float) { FASTMLP_NO_ADAM_LANES; }
FASTMLP_ADAM_LANES_DECL(double) { FASTMLP_NO_ADAM_LANES; }
FASTMLP_RMSPROP_LANES_DECL(float) { FASTMLP_NO_RMSPROP_LANES; }
FASTMLP_RMSPROP_LANES_DECL(double) { FASTMLP_NO_RMSPROP_LANES; }
#undef FASTMLP_NO_ADAM_LANES
#undef FASTMLP_NO_RMSPROP_LANES
}  // namespace fastmlp::nn::generic

#endif
