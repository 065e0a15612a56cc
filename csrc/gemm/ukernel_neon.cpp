// NEON micro-kernels for AArch64 (CMakeLists.txt adds this TU on aarch64/arm64 only; NEON is
// part of the AArch64 baseline, so it needs no extra flags and no CPU feature check).
//
// Register tile: MR rows of C by NV 128-bit vectors (NR = NV * lanes), the shared micro-kernel
// of ukernel_simd.inl over the traits below. 8 x 8 floats / 8 x 4 doubles = 16 accumulators +
// 2 B + 8 A = 26 of the 32 v registers (GCC 12 loads all 8 A values of a k step at once, as
// scalars for by-element fmla): 16 independent FMA chains cover 2-4 FMA pipes x 4 cycles of
// latency. 8 x 6 doubles (24 acc + 3 B + 8 A = 35) kept accumulators on the stack, 8 x 4 keeps
// them in registers (objdump of the k loop). Nothing here has an ARM CPU: this kernel is
// checked for correctness under qemu-user (tools/check_arm.sh), never timed.
// NEON has no masked loads or stores: a Mask is a lane count, and an edge vector is built or
// written one constant lane at a time, so nothing past n_cur is read or written. Not through a
// stack buffer and a copy loop: GCC turned the float32 copy (up to 3 lanes) into a memcpy call,
// and as AAPCS64 keeps only the low 64 bits of v8-v15 across a call, the register allocator
// then kept every float32 accumulator on the stack, k loop included (a load and a store per
// fmla).
//
// ODR (docs/isa.md): everything here is in fastmlp::neon or an anonymous
// namespace; no shared inline function or template is instantiated in this TU.
#if !defined(__aarch64__)
#error "ukernel_neon.cpp is for AArch64 only (CMakeLists.txt adds it there)"
#endif

#include <arm_neon.h>

#include <cstdint>
#include <utility>  // std::integer_sequence (Lanes, ukernel_simd.inl)

#include "gemm/blocking.hpp"
#include "gemm/ukernel.hpp"

namespace fastmlp::neon {
namespace {

#define FASTMLP_INLINE inline __attribute__((always_inline))

// What F32 and F64 share, written once over the lane type T, vector type V and lane count;
// K (the traits deriving from this) provides broadcast, loadu and storeu.
template <class K, class T, class V, int kLanes>
struct Lanes {
  using Mask = int;  // lanes [0, Mask) are live
  static constexpr int W = kLanes;
  // The broadcast of *(T*)(base + idx * S) (ukernel_simd.inl, broadcast_row): plain C++ here,
  // AArch64 addressing has no scaled index for ld1r anyway.
  template <int S>
  static FASTMLP_INLINE V broadcast_at(const char* base, int64_t idx) {
    return K::broadcast(reinterpret_cast<const T*>(base + idx * S));
  }
  // Lanes [0, lanes) set; lanes may be <= 0 (none) or >= W (all).
  static FASTMLP_INLINE Mask mask(int64_t lanes) {
    return lanes < 0 ? 0 : lanes > W ? W : static_cast<int>(lanes);
  }
  // Lanes >= n are zero (as a masked load's), and p[n..W) is never read.
  static FASTMLP_INLINE V maskload(const T* p, Mask n) {
    if (n == W) return K::loadu(p);
    return load_first(p, n, std::make_integer_sequence<int, kLanes>{});
  }
  static FASTMLP_INLINE void maskstore(T* p, Mask n, V v) {
    if (n == W) return K::storeu(p, v);
    store_first(p, n, v, std::make_integer_sequence<int, kLanes>{});
  }

 private:
  // One lane at a time with constant lane numbers: no loop for GCC to make a memcpy of.
  template <int... I>
  static FASTMLP_INLINE V load_first(const T* p, Mask n, std::integer_sequence<int, I...>) {
    V r = {};
    ((I < n ? void(r[I] = p[I]) : void()), ...);
    return r;
  }
  template <int... I>
  static FASTMLP_INLINE void store_first(T* p, Mask n, V v, std::integer_sequence<int, I...>) {
    ((I < n ? void(p[I] = v[I]) : void()), ...);
  }
};

struct F32 : Lanes<F32, float, float32x4_t, 4> {
  using T = float;
  using V = float32x4_t;
  static FASTMLP_INLINE V zero() { return vdupq_n_f32(0.0f); }
  static FASTMLP_INLINE V set1(T x) { return vdupq_n_f32(x); }
  static FASTMLP_INLINE V broadcast(const T* p) { return vld1q_dup_f32(p); }
  static FASTMLP_INLINE V loadu(const T* p) { return vld1q_f32(p); }
  static FASTMLP_INLINE void storeu(T* p, V v) { vst1q_f32(p, v); }
  static FASTMLP_INLINE V mul(V x, V y) { return vmulq_f32(x, y); }
  static FASTMLP_INLINE V fmadd(V x, V y, V z) { return vfmaq_f32(z, x, y); }  // x * y + z
  static FASTMLP_INLINE V add(V x, V y) { return vaddq_f32(x, y); }
  // z < 0 ? 0 : z, as the scalar code: NaN and -0.0 pass through unchanged.
  static FASTMLP_INLINE V relu(V z) { return vbslq_f32(vcltq_f32(z, zero()), zero(), z); }
  static FASTMLP_INLINE V leaky(V z, V slope) {  // z > 0 ? z : z * slope
    return vbslq_f32(vcgtq_f32(z, zero()), z, mul(z, slope));
  }
};

struct F64 : Lanes<F64, double, float64x2_t, 2> {
  using T = double;
  using V = float64x2_t;
  static FASTMLP_INLINE V zero() { return vdupq_n_f64(0.0); }
  static FASTMLP_INLINE V set1(T x) { return vdupq_n_f64(x); }
  static FASTMLP_INLINE V broadcast(const T* p) { return vld1q_dup_f64(p); }
  static FASTMLP_INLINE V loadu(const T* p) { return vld1q_f64(p); }
  static FASTMLP_INLINE void storeu(T* p, V v) { vst1q_f64(p, v); }
  static FASTMLP_INLINE V mul(V x, V y) { return vmulq_f64(x, y); }
  static FASTMLP_INLINE V fmadd(V x, V y, V z) { return vfmaq_f64(z, x, y); }
  static FASTMLP_INLINE V add(V x, V y) { return vaddq_f64(x, y); }
  static FASTMLP_INLINE V relu(V z) { return vbslq_f64(vcltq_f64(z, zero()), zero(), z); }
  static FASTMLP_INLINE V leaky(V z, V slope) {
    return vbslq_f64(vcgtq_f64(z, zero()), z, mul(z, slope));
  }
};

#include "gemm/ukernel_simd.inl"  // ukernel_entry<K, MR, NV>(...), compiled with this TU's flags

#undef FASTMLP_INLINE

}  // namespace

static_assert(gemm::kNeonF32.mr == 8 && gemm::kNeonF32.nr == 2 * F32::W, "blocking.hpp row");
static_assert(gemm::kNeonF64.mr == 8 && gemm::kNeonF64.nr == 2 * F64::W, "blocking.hpp row");

FASTMLP_UKERNEL_DECL(sgemm_8x8, float) {
  ukernel_entry<F32, 8, 2>(kc, alpha, a, a_rs, a_cs, b, b_rs, beta, c, ldc, m_cur, n_cur, ep);
}

FASTMLP_UKERNEL_DECL(dgemm_8x4, double) {
  ukernel_entry<F64, 8, 2>(kc, alpha, a, a_rs, a_cs, b, b_rs, beta, c, ldc, m_cur, n_cur, ep);
}

FASTMLP_FMA_CHAINS_DECL(fma_chains) {
  return f64 ? fma_chains_impl<F64>(iters, out) : fma_chains_impl<F32>(iters, out);
}

}  // namespace fastmlp::neon
