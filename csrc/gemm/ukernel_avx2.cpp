// AVX2 + FMA micro-kernels (this TU alone is compiled with -mavx2 -mfma; CMakeLists.txt).
//
// Register tile: MR rows of C by NV ymm vectors (NR = NV * lanes). Per k step: NV aligned loads
// of the packed B row, then per row i one broadcast of A(i, p) and NV FMAs into the row's
// accumulators. 6 x 16 floats / 6 x 8 doubles = 12 acc + 2 B + 1 A broadcast = 15/16 ymm, the
// BLIS haswell shapes: 12 independent FMA chains cover 2 FMA pipes x 4 cycles of latency.
// Edge tiles use the same arithmetic with vmaskmov loads/stores on the last columns and a
// row predicate, never a scalar loop, so an element rounds the same in a full or edge tile.
//
// ODR (docs/isa.md): everything here is in fastmlp::avx2 or an anonymous
// namespace; no shared inline function or template is instantiated in this TU.
#include <immintrin.h>

#include <cstdint>
#include <utility>  // std::integer_sequence (ukernel_simd.inl)

#include "gemm/blocking.hpp"
#include "gemm/ukernel.hpp"

namespace fastmlp::avx2 {
namespace {

#define FASTMLP_INLINE inline __attribute__((always_inline))

struct F32 {
  using T = float;
  using V = __m256;
  using Mask = __m256i;
  static constexpr int W = 8;
  static FASTMLP_INLINE V zero() { return _mm256_setzero_ps(); }
  static FASTMLP_INLINE V set1(T x) { return _mm256_set1_ps(x); }
  static FASTMLP_INLINE V broadcast(const T* p) { return _mm256_broadcast_ss(p); }
  // The broadcast of *(T*)(base + idx * S), with exactly that addressing mode (ukernel_simd.inl,
  // broadcast_row). No memory operand is declared: A is const for the kernel's whole call.
  template <int S>
  static FASTMLP_INLINE V broadcast_at(const char* base, int64_t idx) {
    V r;
    asm("vbroadcastss (%1,%2,%c3), %0" : "=x"(r) : "r"(base), "r"(idx), "i"(S));
    return r;
  }
  static FASTMLP_INLINE V loadu(const T* p) { return _mm256_loadu_ps(p); }
  static FASTMLP_INLINE void storeu(T* p, V v) { _mm256_storeu_ps(p, v); }
  static FASTMLP_INLINE V mul(V x, V y) { return _mm256_mul_ps(x, y); }
  static FASTMLP_INLINE V fmadd(V x, V y, V z) { return _mm256_fmadd_ps(x, y, z); }
  static FASTMLP_INLINE V add(V x, V y) { return _mm256_add_ps(x, y); }
  // z < 0 ? 0 : z, as the scalar code: NaN and -0.0 pass through unchanged.
  static FASTMLP_INLINE V relu(V z) {
    return _mm256_blendv_ps(z, zero(), _mm256_cmp_ps(z, zero(), _CMP_LT_OQ));
  }
  static FASTMLP_INLINE V leaky(V z, V slope) {  // z > 0 ? z : z * slope
    return _mm256_blendv_ps(mul(z, slope), z, _mm256_cmp_ps(z, zero(), _CMP_GT_OQ));
  }
  // Lanes [0, lanes) set; lanes may be <= 0 (none) or >= W (all).
  static FASTMLP_INLINE Mask mask(int64_t lanes) {
    const int n = lanes < 0 ? 0 : lanes > W ? W : static_cast<int>(lanes);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static FASTMLP_INLINE V maskload(const T* p, Mask m) { return _mm256_maskload_ps(p, m); }
  static FASTMLP_INLINE void maskstore(T* p, Mask m, V v) { _mm256_maskstore_ps(p, m, v); }
};

struct F64 {
  using T = double;
  using V = __m256d;
  using Mask = __m256i;
  static constexpr int W = 4;
  static FASTMLP_INLINE V zero() { return _mm256_setzero_pd(); }
  static FASTMLP_INLINE V set1(T x) { return _mm256_set1_pd(x); }
  static FASTMLP_INLINE V broadcast(const T* p) { return _mm256_broadcast_sd(p); }
  // The broadcast of *(T*)(base + idx * S), with exactly that addressing mode (ukernel_simd.inl,
  // broadcast_row). No memory operand is declared: A is const for the kernel's whole call.
  template <int S>
  static FASTMLP_INLINE V broadcast_at(const char* base, int64_t idx) {
    V r;
    asm("vbroadcastsd (%1,%2,%c3), %0" : "=x"(r) : "r"(base), "r"(idx), "i"(S));
    return r;
  }
  static FASTMLP_INLINE V loadu(const T* p) { return _mm256_loadu_pd(p); }
  static FASTMLP_INLINE void storeu(T* p, V v) { _mm256_storeu_pd(p, v); }
  static FASTMLP_INLINE V mul(V x, V y) { return _mm256_mul_pd(x, y); }
  static FASTMLP_INLINE V fmadd(V x, V y, V z) { return _mm256_fmadd_pd(x, y, z); }
  static FASTMLP_INLINE V add(V x, V y) { return _mm256_add_pd(x, y); }
  static FASTMLP_INLINE V relu(V z) {
    return _mm256_blendv_pd(z, zero(), _mm256_cmp_pd(z, zero(), _CMP_LT_OQ));
  }
  static FASTMLP_INLINE V leaky(V z, V slope) {
    return _mm256_blendv_pd(mul(z, slope), z, _mm256_cmp_pd(z, zero(), _CMP_GT_OQ));
  }
  static FASTMLP_INLINE Mask mask(int64_t lanes) {
    const int64_t n = lanes < 0 ? 0 : lanes > W ? W : lanes;
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3));
  }
  static FASTMLP_INLINE V maskload(const T* p, Mask m) { return _mm256_maskload_pd(p, m); }
  static FASTMLP_INLINE void maskstore(T* p, Mask m, V v) { _mm256_maskstore_pd(p, m, v); }
};

#include "gemm/ukernel_simd.inl"  // ukernel_entry<K, MR, NV>(...), compiled with this TU's flags

#undef FASTMLP_INLINE

}  // namespace

static_assert(gemm::kAvx2F32.mr == 6 && gemm::kAvx2F32.nr == 2 * F32::W, "blocking.hpp row");
static_assert(gemm::kAvx2F64.mr == 6 && gemm::kAvx2F64.nr == 2 * F64::W, "blocking.hpp row");
static_assert(gemm::kAvx2F64N12.mr == 4 && gemm::kAvx2F64N12.nr == 3 * F64::W, "blocking.hpp row");

FASTMLP_UKERNEL_DECL(sgemm_6x16, float) {
  ukernel_entry<F32, 6, 2, 4>(kc, alpha, a, a_rs, a_cs, b, b_rs, beta, c, ldc, m_cur, n_cur, ep);
}

FASTMLP_UKERNEL_DECL(dgemm_6x8, double) {
  ukernel_entry<F64, 6, 2, 4>(kc, alpha, a, a_rs, a_cs, b, b_rs, beta, c, ldc, m_cur, n_cur, ep);
}

FASTMLP_UKERNEL_DECL(dgemm_4x12, double) {
  ukernel_entry<F64, 4, 3>(kc, alpha, a, a_rs, a_cs, b, b_rs, beta, c, ldc, m_cur, n_cur, ep);
}

FASTMLP_FMA_CHAINS_DECL(fma_chains) {
  return f64 ? fma_chains_impl<F64>(iters, out) : fma_chains_impl<F32>(iters, out);
}

}  // namespace fastmlp::avx2
