// The optimizers' vector loops on zmm registers (this TU alone gets -mavx512f ...; see
// optim_lanes.hpp for why they exist and CMakeLists.txt for the flags).
#include <immintrin.h>

#include <type_traits>

#include "nn/optim_lanes.hpp"

namespace fastmlp::nn::avx512 {
namespace {

struct F32 {
  using T = float;
  using V = __m512;
  static constexpr int W = 16;
  static V load(const T* p) { return _mm512_loadu_ps(p); }
  static void store(T* p, V x) { _mm512_storeu_ps(p, x); }
  static V set1(T x) { return _mm512_set1_ps(x); }
  static V add(V x, V y) { return _mm512_add_ps(x, y); }
  static V sub(V x, V y) { return _mm512_sub_ps(x, y); }
  static V mul(V x, V y) { return _mm512_mul_ps(x, y); }
  static V div(V x, V y) { return _mm512_div_ps(x, y); }
  static V sqrt(V x) { return _mm512_sqrt_ps(x); }
};

struct F64 {
  using T = double;
  using V = __m512d;
  static constexpr int W = 8;
  static V load(const T* p) { return _mm512_loadu_pd(p); }
  static void store(T* p, V x) { _mm512_storeu_pd(p, x); }
  static V set1(T x) { return _mm512_set1_pd(x); }
  static V add(V x, V y) { return _mm512_add_pd(x, y); }
  static V sub(V x, V y) { return _mm512_sub_pd(x, y); }
  static V mul(V x, V y) { return _mm512_mul_pd(x, y); }
  static V div(V x, V y) { return _mm512_div_pd(x, y); }
  static V sqrt(V x) { return _mm512_sqrt_pd(x); }
};

#include "nn/optim_lanes.inl"

}  // namespace

FASTMLP_OPTIM_LANES_DEFINE(F32, F64)

}  // namespace fastmlp::nn::avx512
