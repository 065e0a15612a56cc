// The optimizers' vector loops on AArch64's 128-bit NEON registers (baseline on AArch64;
// optim_lanes.hpp says why these loops exist). IEEE sqrt and divide on each lane (fsqrt,
// fdiv), so the bits are the scalar loop's, as on x86.
#if !defined(__aarch64__)
#error "optim_lanes_neon.cpp is for AArch64 only (CMakeLists.txt adds it there)"
#endif

#include <arm_neon.h>

#include <type_traits>

#include "nn/optim_lanes.hpp"

namespace fastmlp::nn::neon {
namespace {

struct F32 {
  using T = float;
  using V = float32x4_t;
  static constexpr int W = 4;
  static V load(const T* p) { return vld1q_f32(p); }
  static void store(T* p, V x) { vst1q_f32(p, x); }
  static V set1(T x) { return vdupq_n_f32(x); }
  static V add(V x, V y) { return vaddq_f32(x, y); }
  static V sub(V x, V y) { return vsubq_f32(x, y); }
  static V mul(V x, V y) { return vmulq_f32(x, y); }
  static V div(V x, V y) { return vdivq_f32(x, y); }
  static V sqrt(V x) { return vsqrtq_f32(x); }
};

struct F64 {
  using T = double;
  using V = float64x2_t;
  static constexpr int W = 2;
  static V load(const T* p) { return vld1q_f64(p); }
  static void store(T* p, V x) { vst1q_f64(p, x); }
  static V set1(T x) { return vdupq_n_f64(x); }
  static V add(V x, V y) { return vaddq_f64(x, y); }
  static V sub(V x, V y) { return vsubq_f64(x, y); }
  static V mul(V x, V y) { return vmulq_f64(x, y); }
  static V div(V x, V y) { return vdivq_f64(x, y); }
  static V sqrt(V x) { return vsqrtq_f64(x); }
};

#include "nn/optim_lanes.inl"

}  // namespace

FASTMLP_OPTIM_LANES_DEFINE(F32, F64)

}  // namespace fastmlp::nn::neon
