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
// float64 tiles of at most 12 columns (the output layer) run transposed (dgemm_narrow below),
// or, 9 to 12 columns of a row-major A, as a zmm and a ymm a row (dgemm_8x12_rows).
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

// --- float64 tiles of at most kNarrowMax columns (the output layer: n = 10, 1, ...) ----------
// The 8 x 16 tile spends 16 FMAs a k step on n_cur columns, 10/16 of them useful at n_cur = 10.
// MR = 8 rows is one vector, so the tile can be computed transposed instead: acc[j] holds
// C(0..7, j), one FMA per column and k step (a vector of 8 rows of A times the broadcast
// B(p, j)). Each element is the same chain fma(A(i, p), B(p, j), acc) in k order, and the
// accumulators are transposed back into rows for store_tile, so the result is bitwise the
// 8 x 16 tile's (alpha, beta and the epilogue round alike). A with its rows adjacent
// (a_rs == 1: packed or column-major, dW's x.T) loads that vector directly; a row-major A
// (a_cs == 1, read in place) goes through 8 x 8 register transposes of 8 k steps at a time.
constexpr int kNarrowMax = 12, kNarrowRowMajorMax = 4;

// _mm512_shuffle_f64x2 with the all-ones zero-masking form: GCC 12's header passes an
// undefined vector for the unmasked one, which -Wall reports (as relu's comment says above).
template <int kImm>
FASTMLP_INLINE __m512d shuf_imm(__m512d x, __m512d y) {
  return _mm512_maskz_shuffle_f64x2(0xFF, x, y, kImm);
}

// x[g] = row g on entry (8 doubles), column g on return.
FASTMLP_INLINE void transpose8(__m512d (&x)[8]) {
  __m512d t[8], u[8];
#pragma GCC unroll 4
  for (int g = 0; g < 4; ++g) {
    // t[0] = r0[0] r1[0] r0[2] r1[2] ..., t[1] = r0[1] r1[1] r0[3] r1[3] ...
    t[2 * g] = _mm512_maskz_unpacklo_pd(0xFF, x[2 * g], x[2 * g + 1]);
    t[2 * g + 1] = _mm512_maskz_unpackhi_pd(0xFF, x[2 * g], x[2 * g + 1]);
  }
  // u[0]: rows 0-3 at columns 0, 4; u[1]: 2, 6; u[2]: 1, 5; u[3]: 3, 7; u[4..7] rows 4-7.
#pragma GCC unroll 2
  for (int h = 0; h < 2; ++h) {
    u[4 * h] = shuf_imm<0x88>(t[4 * h], t[4 * h + 2]);
    u[4 * h + 1] = shuf_imm<0xDD>(t[4 * h], t[4 * h + 2]);
    u[4 * h + 2] = shuf_imm<0x88>(t[4 * h + 1], t[4 * h + 3]);
    u[4 * h + 3] = shuf_imm<0xDD>(t[4 * h + 1], t[4 * h + 3]);
  }
  x[0] = shuf_imm<0x88>(u[0], u[4]), x[4] = shuf_imm<0xDD>(u[0], u[4]);
  x[2] = shuf_imm<0x88>(u[1], u[5]), x[6] = shuf_imm<0xDD>(u[1], u[5]);
  x[1] = shuf_imm<0x88>(u[2], u[6]), x[5] = shuf_imm<0xDD>(u[2], u[6]);
  x[3] = shuf_imm<0x88>(u[3], u[7]), x[7] = shuf_imm<0xDD>(u[3], u[7]);
}

// The 8 x 16 tile's store and epilogue (ukernel_simd.inl store_tile, as ukernel() calls it) for
// accumulators laid out as its rows: tile[i][0] = C(i, 0..7), tile[i][1] = C(i, 8..15).
FASTMLP_INLINE void store_rows(__m512d (&tile)[8][2], double alpha, double beta, double* c,
                               int64_t ldc, int64_t m_cur, int64_t n_cur,
                               const gemm::Epilogue<double>* ep) {
  if (!ep) return store_tile<F64, 8, 2, -1>(tile, alpha, beta, c, ldc, m_cur, n_cur, ep, 0.0);
  if (ep->act == gemm::RegAct::relu)
    return store_tile<F64, 8, 2, int(gemm::RegAct::relu)>(tile, alpha, beta, c, ldc, m_cur,
                                                          n_cur, ep, 0.0);
  const double slope = ep->act == gemm::RegAct::leaky_relu ? ep->slope : 1.0;
  store_tile<F64, 8, 2, int(gemm::RegAct::leaky_relu)>(tile, alpha, beta, c, ldc, m_cur, n_cur,
                                                       ep, slope);
}

// acc[j] += a_col * B(p, j) for the NC columns; B in place (b_rs) is never read at j >= n_cur:
// NC is n_cur exactly.
template <int NC>
FASTMLP_INLINE void narrow_rank1(__m512d (&acc)[NC], __m512d a_col, const double* b_row) {
#pragma GCC unroll 12
  for (int j = 0; j < NC; ++j) acc[j] = _mm512_fmadd_pd(a_col, _mm512_set1_pd(b_row[j]), acc[j]);
}

// kRowMajorA: A in place with a_cs == 1 (transposes); otherwise a_rs == 1 (direct vectors).
template <int NC, bool kRowMajorA>
void dgemm_narrow(int64_t kc, double alpha, const double* a, int64_t a_rs, int64_t a_cs,
                  const double* b, int64_t b_rs, double beta, double* c, int64_t ldc,
                  int64_t m_cur, int64_t n_cur, const gemm::Epilogue<double>* ep) {
  using K = F64;
  __m512d acc[NC];
#pragma GCC unroll 12
  for (int j = 0; j < NC; ++j) acc[j] = K::zero();
  const int64_t b_step = b_rs == 0 ? 16 : b_rs;  // packed B: rows NR apart
  const K::Mask rows = K::mask(m_cur);           // rows >= m_cur: never read (zero)
  if constexpr (!kRowMajorA) {
    for (int64_t p = 0; p < kc; ++p)
      narrow_rank1<NC>(acc, K::maskload(a + p * a_cs, rows), b + p * b_step);
  } else {
    const double* row[8];  // rows >= m_cur alias the last real row: computed, never stored
#pragma GCC unroll 8
    for (int i = 0; i < 8; ++i) row[i] = a + (i < m_cur ? i : m_cur - 1) * a_rs;
    for (int64_t p = 0; p < kc; p += 8) {
      const int64_t left = kc - p;
      const K::Mask cols = K::mask(left);  // k steps past kc: never read
      __m512d x[8];
#pragma GCC unroll 8
      for (int i = 0; i < 8; ++i) x[i] = K::maskload(row[i] + p, cols);
      transpose8(x);
      const double* bp = b + p * b_step;
      if (left >= 8) {
#pragma GCC unroll 8
        for (int q = 0; q < 8; ++q) {
          narrow_rank1<NC>(acc, x[q], bp);
          bp += b_step;
          asm("" : "+r"(bp));  // one pointer stepped, not 8 rows of addresses kept (spilled)
        }
      } else {
        for (int q = 0; q < left; ++q, bp += b_step) narrow_rank1<NC>(acc, x[q], bp);
      }
    }
  }
  // Back to rows: tile[i][0] = C(i, 0..7), tile[i][1] = C(i, 8..15).
  __m512d tile[8][2], lo[8], hi[8];
#pragma GCC unroll 8
  for (int j = 0; j < 8; ++j) {
    lo[j] = j < NC ? acc[j] : K::zero();
    hi[j] = j + 8 < NC ? acc[j + 8 < NC ? j + 8 : 0] : K::zero();
  }
  transpose8(lo);
  if constexpr (NC > 8) transpose8(hi);
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) tile[i][0] = lo[i], tile[i][1] = hi[i];
  store_rows(tile, alpha, beta, c, ldc, m_cur, n_cur, ep);
}

template <bool kRowMajorA, int... NC>
bool dgemm_narrow_entry(std::integer_sequence<int, NC...>, int64_t kc, double alpha,
                        const double* a, int64_t a_rs, int64_t a_cs, const double* b,
                        int64_t b_rs, double beta, double* c, int64_t ldc, int64_t m_cur,
                        int64_t n_cur, const gemm::Epilogue<double>* ep) {
  auto run = [&](auto nc) {
    dgemm_narrow<decltype(nc)::value, kRowMajorA>(kc, alpha, a, a_rs, a_cs, b, b_rs, beta, c,
                                                  ldc, m_cur, n_cur, ep);
    return true;
  };
  return ((n_cur == NC + 1 && run(std::integral_constant<int, NC + 1>{})) || ...);
}

// --- float64 tiles of 9 to 12 columns with a row-major A read in place ----------------------
// (the forward product of a 10-class output layer.) Columns 0-7 by one zmm and 8-11 by one ymm
// per row instead of two zmm: on Zen 4, which runs a zmm FMA as two 256-bit halves, 12 halves
// per row and k step instead of 16; where zmm FMAs are native, as many FMAs as before. Each
// element is the 8 x 16 tile's chain (the same broadcast A(i, p) times the same B(p, j)).
template <int... I>
FASTMLP_INLINE void rank1_zmm_ymm(__m512d (&acc)[8], __m256d (&acc2)[8], __m512d b0, __m256d b1,
                                  const char* a0, const char* a4, int64_t L, int64_t L3,
                                  std::integer_sequence<int, I...>) {
  auto row = [&](auto i) {
    constexpr int r = decltype(i)::value;
    const __m512d ai = broadcast_row<F64, r>(a0, a4, L, L3);
    acc[r] = _mm512_fmadd_pd(ai, b0, acc[r]);
    // The low half of ai by a shuffle of its lanes 0-3, no instruction (GCC 12's
    // _mm512_castpd512_pd256 trips -Wmaybe-uninitialized); the VL FMA: this TU has no -mfma,
    // and an all-ones mask is the plain instruction.
    const __m256d ai_lo = __builtin_shufflevector(ai, ai, 0, 1, 2, 3);
    acc2[r] = _mm256_maskz_fmadd_pd(0xFF, ai_lo, b1, acc2[r]);
  };
  (row(std::integral_constant<int, I>{}), ...);
}

// All 8 rows, 8 < n_cur <= 12, A(i, p) = a[i * a_rs + p]; B packed (b_rs == 0) or in place.
void dgemm_8x12_rows(int64_t kc, double alpha, const double* a, int64_t a_rs, const double* b,
                     int64_t b_rs, double beta, double* c, int64_t ldc, int64_t n_cur,
                     const gemm::Epilogue<double>* ep) {
  using K = F64;
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) {
    __builtin_prefetch(c + i * ldc, 0, 3);
    __builtin_prefetch(c + i * ldc + n_cur - 1, 0, 3);
  }
  __m512d acc[8];
  __m256d acc2[8];
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) acc[i] = K::zero(), acc2[i] = _mm256_setzero_pd();
  const __mmask8 tail = K::mask(n_cur - 8);  // columns 8 .. n_cur - 1; the rest never read
  const int64_t b_step = b_rs == 0 ? 16 : b_rs;
  const char* a0 = reinterpret_cast<const char*>(a);
  const int64_t L = a_rs * int64_t(sizeof(double)), L3 = 3 * L;
  const char* a4 = a0 + 4 * L;
#pragma GCC unroll 4
  for (int64_t p = 0; p < kc; ++p) {
    const __m512d b0 = _mm512_loadu_pd(b);
    const __m256d b1 = _mm256_maskz_loadu_pd(tail, b + 8);
    rank1_zmm_ymm(acc, acc2, b0, b1, a0, a4, L, L3, std::make_integer_sequence<int, 8>{});
    a0 += sizeof(double);
    a4 += sizeof(double);
    b += b_step;
  }
  __m512d tile[8][2];
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) {  // acc2 widened with zeros (the shuffle: as ai_lo above)
    tile[i][0] = acc[i];
    tile[i][1] = __builtin_shufflevector(acc2[i], _mm256_setzero_pd(), 0, 1, 2, 3, 4, 5, 6, 7);
  }
  store_rows(tile, alpha, beta, c, ldc, 8, n_cur, ep);
}

#undef FASTMLP_INLINE

}  // namespace

static_assert(gemm::kAvx512F32.mr == 8 && gemm::kAvx512F32.nr == 2 * F32::W, "blocking.hpp row");
static_assert(gemm::kAvx512F64.mr == 8 && gemm::kAvx512F64.nr == 2 * F64::W, "blocking.hpp row");

FASTMLP_UKERNEL_DECL(sgemm_8x32, float) {
  ukernel_entry<F32, 8, 2>(kc, alpha, a, a_rs, a_cs, b, b_rs, beta, c, ldc, m_cur, n_cur, ep);
}

FASTMLP_UKERNEL_DECL(dgemm_8x16, double) {
  // Transposed (dgemm_narrow) where it measured faster than the 8 x 16 tile: A with adjacent
  // rows up to kNarrowMax columns; a row-major A, which pays 24 shuffles per 8 k steps, up to
  // kNarrowRowMajorMax (from 8 columns on, the 8 x 8 half tile was faster). At most 4 rows
  // (a batch of 1 to 4) run the 4-row tile, whose FMAs no padding rows share.
  if (kc > 0 && n_cur <= kNarrowMax && m_cur > 4) {
    const auto cols = std::make_integer_sequence<int, kNarrowMax>{};
    const auto cols_row_major = std::make_integer_sequence<int, kNarrowRowMajorMax>{};
    if (a_rs == 1 && dgemm_narrow_entry<false>(cols, kc, alpha, a, a_rs, a_cs, b, b_rs, beta, c,
                                               ldc, m_cur, n_cur, ep))
      return;
    if (a_cs == 1 && dgemm_narrow_entry<true>(cols_row_major, kc, alpha, a, a_rs, a_cs, b, b_rs,
                                              beta, c, ldc, m_cur, n_cur, ep))
      return;
  }
  // 9 to 12 columns of a row-major A, all 8 rows: a zmm and a ymm a row (dgemm_8x12_rows).
  if (kc > 0 && a_cs == 1 && m_cur == 8 && n_cur > 8 && n_cur <= 12)
    return dgemm_8x12_rows(kc, alpha, a, a_rs, b, b_rs, beta, c, ldc, n_cur, ep);
  ukernel_entry<F64, 8, 2>(kc, alpha, a, a_rs, a_cs, b, b_rs, beta, c, ldc, m_cur, n_cur, ep);
}

FASTMLP_FMA_CHAINS_DECL(fma_chains) {
  return f64 ? fma_chains_impl<F64>(iters, out) : fma_chains_impl<F32>(iters, out);
}

}  // namespace fastmlp::avx512
