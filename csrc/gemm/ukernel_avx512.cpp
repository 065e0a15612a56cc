// AVX-512 micro-kernels (this TU alone is compiled with -mavx512f -mavx512vl -mavx512bw
// -mavx512dq; CMakeLists.txt).
//
// Register tile: MR rows of C by NV zmm vectors (NR = NV * lanes). Per k step: NV loads of the
// B row, then per row i one broadcast of A(i, p) and NV FMAs.
//   8 x 32 floats / 8 x 16 doubles = 16 acc + 2 B + 1 A broadcast = 19/32 zmm.
// Why 8 rows and not the 12 x 32 or 14 x 32 tiles that fill the register file: 16 independent
// chains already cover FMA latency x throughput (Zen 4: 1 zmm FMA per cycle, 4 cycles; Zen 5:
// 2 per cycle), the loads (2 + 8 per 16 FMAs) stay under the load ports, and the MLP batch
// sizes (64, 128, 256) split into whole 8-row tiles (larger tiles: docs/tuning.md).
// Edge tiles: the same arithmetic with AVX-512 masked loads/stores on the last columns and a
// row predicate, never a scalar loop, so an element rounds the same in a full or edge tile.
//
// ODR (docs/isa.md): everything here is in fastmlp::avx512 or an anonymous
// namespace; no shared inline function or template is instantiated in this TU.
#include <immintrin.h>

#include <cstdint>
#include <utility>  // std::integer_sequence (ukernel_simd.inl)

#include "gemm/blocking.hpp"
#include "gemm/ukernel.hpp"

namespace fastmlp::avx512 {
namespace {

#define FASTMLP_INLINE inline __attribute__((always_inline))

struct F32 {
  using T = float;
  using V = __m512;
  using Mask = __mmask16;
  static constexpr int W = 16;
  static FASTMLP_INLINE V zero() { return _mm512_setzero_ps(); }
  static FASTMLP_INLINE V set1(T x) { return _mm512_set1_ps(x); }
  static FASTMLP_INLINE V broadcast(const T* p) { return _mm512_set1_ps(*p); }
  // The broadcast of *(T*)(base + idx * S), with exactly that addressing mode (ukernel_simd.inl,
  // broadcast_row). No memory operand is declared: A is const for the kernel's whole call.
  template <int S>
  static FASTMLP_INLINE V broadcast_at(const char* base, int64_t idx) {
    V r;
    asm("vbroadcastss (%1,%2,%c3), %0" : "=v"(r) : "r"(base), "r"(idx), "i"(S));
    return r;
  }
  static FASTMLP_INLINE V loadu(const T* p) { return _mm512_loadu_ps(p); }
  static FASTMLP_INLINE void storeu(T* p, V v) { _mm512_storeu_ps(p, v); }
  static FASTMLP_INLINE V mul(V x, V y) { return _mm512_mul_ps(x, y); }
  static FASTMLP_INLINE V fmadd(V x, V y, V z) { return _mm512_fmadd_ps(x, y, z); }
  static FASTMLP_INLINE V add(V x, V y) { return _mm512_add_ps(x, y); }
  // z < 0 ? 0 : z, as the scalar code: NaN and -0.0 pass through unchanged. (A masked move,
  // not _mm512_max_ps, whose header trips GCC 12's -Wmaybe-uninitialized.)
  static FASTMLP_INLINE V relu(V z) {
    return _mm512_mask_mov_ps(z, _mm512_cmp_ps_mask(z, zero(), _CMP_LT_OQ), zero());
  }
  static FASTMLP_INLINE V leaky(V z, V slope) {  // z > 0 ? z : z * slope
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(z, zero(), _CMP_GT_OQ), mul(z, slope), z);
  }
  // Lanes [0, lanes) set; lanes may be <= 0 (none) or >= W (all).
  static FASTMLP_INLINE Mask mask(int64_t lanes) {
    return lanes <= 0 ? Mask(0) : lanes >= W ? Mask(0xFFFF) : Mask((1u << lanes) - 1);
  }
  static FASTMLP_INLINE V maskload(const T* p, Mask m) { return _mm512_maskz_loadu_ps(m, p); }
  static FASTMLP_INLINE void maskstore(T* p, Mask m, V v) { _mm512_mask_storeu_ps(p, m, v); }
};

struct F64 {
  using T = double;
  using V = __m512d;
  using Mask = __mmask8;
  static constexpr int W = 8;
  static FASTMLP_INLINE V zero() { return _mm512_setzero_pd(); }
  static FASTMLP_INLINE V set1(T x) { return _mm512_set1_pd(x); }
  static FASTMLP_INLINE V broadcast(const T* p) { return _mm512_set1_pd(*p); }
  // The broadcast of *(T*)(base + idx * S), with exactly that addressing mode (ukernel_simd.inl,
  // broadcast_row). No memory operand is declared: A is const for the kernel's whole call.
  template <int S>
  static FASTMLP_INLINE V broadcast_at(const char* base, int64_t idx) {
    V r;
    asm("vbroadcastsd (%1,%2,%c3), %0" : "=v"(r) : "r"(base), "r"(idx), "i"(S));
    return r;
  }
  static FASTMLP_INLINE V loadu(const T* p) { return _mm512_loadu_pd(p); }
  static FASTMLP_INLINE void storeu(T* p, V v) { _mm512_storeu_pd(p, v); }
  static FASTMLP_INLINE V mul(V x, V y) { return _mm512_mul_pd(x, y); }
  static FASTMLP_INLINE V fmadd(V x, V y, V z) { return _mm512_fmadd_pd(x, y, z); }
  static FASTMLP_INLINE V add(V x, V y) { return _mm512_add_pd(x, y); }
  static FASTMLP_INLINE V relu(V z) {
    return _mm512_mask_mov_pd(z, _mm512_cmp_pd_mask(z, zero(), _CMP_LT_OQ), zero());
  }
  static FASTMLP_INLINE V leaky(V z, V slope) {
    return _mm512_mask_blend_pd(_mm512_cmp_pd_mask(z, zero(), _CMP_GT_OQ), mul(z, slope), z);
  }
  static FASTMLP_INLINE Mask mask(int64_t lanes) {
    return lanes <= 0 ? Mask(0) : lanes >= W ? Mask(0xFF) : Mask((1u << lanes) - 1);
  }
  static FASTMLP_INLINE V maskload(const T* p, Mask m) { return _mm512_maskz_loadu_pd(m, p); }
  static FASTMLP_INLINE void maskstore(T* p, Mask m, V v) { _mm512_mask_storeu_pd(p, m, v); }
};

#include "gemm/ukernel_simd.inl"  // ukernel_entry<K, MR, NV>(...), compiled with this TU's flags

#undef FASTMLP_INLINE

}  // namespace

static_assert(gemm::kAvx512F32.mr == 8 && gemm::kAvx512F32.nr == 2 * F32::W, "blocking.hpp row");
static_assert(gemm::kAvx512F64.mr == 8 && gemm::kAvx512F64.nr == 2 * F64::W, "blocking.hpp row");

FASTMLP_UKERNEL_DECL(sgemm_8x32, float) {
  ukernel_entry<F32, 8, 2>(kc, alpha, a, a_rs, a_cs, b, b_rs, beta, c, ldc, m_cur, n_cur, ep);
}

FASTMLP_UKERNEL_DECL(dgemm_8x16, double) {
  ukernel_entry<F64, 8, 2>(kc, alpha, a, a_rs, a_cs, b, b_rs, beta, c, ldc, m_cur, n_cur, ep);
}

FASTMLP_FMA_CHAINS_DECL(fma_chains) {
  return f64 ? fma_chains_impl<F64>(iters, out) : fma_chains_impl<F32>(iters, out);
}

}  // namespace fastmlp::avx512
