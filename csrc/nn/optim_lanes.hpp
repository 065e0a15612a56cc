// The optimizers' vector loops, one copy per instruction set, picked with the GEMM kernels.
//
// Adam's update is one sqrt and two divides an element, a visible part of a step at SSE2's
// width; wider lanes pay for themselves. Each ISA TU (optim_lanes_<isa>.cpp) compiles optim_lanes.inl with its own
// flags and exports plain functions; optim.cpp calls the ones matching gemm's active KernelSet, so FASTMLP_ISA governs
// these loops too. Every vector statement is the scalar statement on W lanes (IEEE sqrt and
// divide round exactly as the scalar ones), so the bits never depend on the ISA.
// Plain declarations and data only (the ODR rule of ukernel.hpp).
#pragma once

#include <cstdint>

namespace fastmlp::nn {

// Adam's per-step constants, already rounded to T as adam_step's scalar loop uses them.
template <class T>
struct AdamConsts {
  T shrink, wd, b1, one_minus_b1, b2, one_minus_b2, bias_correction2_sqrt, eps, step_size;
};

// Which weight decay: none, AdamW's (param *= shrink first), or Adam's (g += wd * param).
enum class AdamDecay : int { none, decoupled, coupled };

// Updates elements [lo, lo + W * ((hi - lo) / W)) and returns the first one left for the
// scalar loop.
template <class T>
using AdamLanes = int64_t (*)(T* param, const T* grad, T* m, T* v, int64_t lo, int64_t hi,
                              const AdamConsts<T>& c, AdamDecay decay);

// RMSprop's per-step constants, rounded to T, and which of its options are on.
template <class T>
struct RmspropConsts {
  T wd, alpha, one_minus_alpha, eps, momentum, lr;
  bool decay, centered, with_momentum;
};

// The same contract as AdamLanes; grad_avg is used when centered, velocity with momentum.
template <class T>
using RmspropLanes = int64_t (*)(T* param, const T* grad, T* square_avg, T* velocity,
                                 T* grad_avg, int64_t lo, int64_t hi, const RmspropConsts<T>& c);

#define FASTMLP_ADAM_LANES_DECL(T)                                                           \
  int64_t adam_lanes(T* param, const T* grad, T* m, T* v, int64_t lo, int64_t hi,            \
                     const AdamConsts<T>& c, AdamDecay decay)

#define FASTMLP_RMSPROP_LANES_DECL(T)                                                        \
  int64_t rmsprop_lanes(T* param, const T* grad, T* square_avg, T* velocity, T* grad_avg,     \
                        int64_t lo, int64_t hi, const RmspropConsts<T>& c)

#define FASTMLP_OPTIM_LANES_DECLS   \
  FASTMLP_ADAM_LANES_DECL(float);    \
  FASTMLP_ADAM_LANES_DECL(double);   \
  FASTMLP_RMSPROP_LANES_DECL(float); \
  FASTMLP_RMSPROP_LANES_DECL(double)

// In an ISA TU, after optim_lanes.inl: the four exported functions over its traits F32, F64.
#define FASTMLP_OPTIM_LANES_DEFINE(F32, F64)                                                \
  FASTMLP_ADAM_LANES_DECL(float) {                                                          \
    return adam_lanes_impl<F32>(param, grad, m, v, lo, hi, c, decay);                       \
  }                                                                                         \
  FASTMLP_ADAM_LANES_DECL(double) {                                                         \
    return adam_lanes_impl<F64>(param, grad, m, v, lo, hi, c, decay);                       \
  }                                                                                         \
  FASTMLP_RMSPROP_LANES_DECL(float) {                                                          \
    return rmsprop_lanes_impl<F32>(param, grad, square_avg, velocity, grad_avg, lo, hi, c);    \
  }                                                                                            \
  FASTMLP_RMSPROP_LANES_DECL(double) {                                                         \
    return rmsprop_lanes_impl<F64>(param, grad, square_avg, velocity, grad_avg, lo, hi, c);    \
  }

namespace generic {  // optim_lanes_generic.cpp: SSE2 (every x86-64), or no vector loop at all
FASTMLP_OPTIM_LANES_DECLS;
}  // namespace generic

#if defined(FASTMLP_X86_ISAS)
namespace avx2 {  // optim_lanes_avx2.cpp: -mavx2 -mfma
FASTMLP_OPTIM_LANES_DECLS;
}  // namespace avx2

namespace avx512 {  // optim_lanes_avx512.cpp: -mavx512f ...
FASTMLP_OPTIM_LANES_DECLS;
}  // namespace avx512
#endif

#if defined(FASTMLP_NEON_ISA)
namespace neon {  // optim_lanes_neon.cpp: AArch64 NEON (baseline there)
FASTMLP_OPTIM_LANES_DECLS;
}  // namespace neon
#endif

}  // namespace fastmlp::nn
