// AVX2 transposing pack (pack_isa.hpp): W x W register transposes (8 x 8 floats, 4 x 4
// doubles) where pack.hpp's baseline code has SSE2's 4 x 4 and 2 x 2, and a 6-wide panel (the
// avx2 MR) whose last two float rows pack.hpp copies element by element. This TU alone is
// compiled with -mavx2 -mfma (CMakeLists.txt).
//
// ODR (docs/isa.md): everything here is in fastmlp::avx2 or an anonymous namespace; this TU
// includes no header with inline functions of fastmlp's.
#include <immintrin.h>

#include <cstdint>

#include "gemm/pack_isa.hpp"

namespace fastmlp::avx2 {
namespace {

#define FASTMLP_INLINE inline __attribute__((always_inline))

struct F32 {
  using T = float;
  using V = __m256;
  static constexpr int W = 8;
  static FASTMLP_INLINE V zero() { return _mm256_setzero_ps(); }
  // Columns [0, cols) of a row; the rest zero and never read (the source may end there).
  static FASTMLP_INLINE V load(const T* p, int cols) {
    if (cols == W) return _mm256_loadu_ps(p);
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_maskload_ps(p, _mm256_cmpgt_epi32(_mm256_set1_epi32(cols), lane));
  }
  // x[g] = row g on entry, column g on return.
  static FASTMLP_INLINE void transpose(V (&x)[W]) {
    const V t0 = _mm256_unpacklo_ps(x[0], x[1]), t1 = _mm256_unpackhi_ps(x[0], x[1]);
    const V t2 = _mm256_unpacklo_ps(x[2], x[3]), t3 = _mm256_unpackhi_ps(x[2], x[3]);
    const V t4 = _mm256_unpacklo_ps(x[4], x[5]), t5 = _mm256_unpackhi_ps(x[4], x[5]);
    const V t6 = _mm256_unpacklo_ps(x[6], x[7]), t7 = _mm256_unpackhi_ps(x[6], x[7]);
    const V u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    const V u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    const V u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    const V u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    x[0] = _mm256_permute2f128_ps(u0, u4, 0x20), x[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
    x[2] = _mm256_permute2f128_ps(u2, u6, 0x20), x[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
    x[4] = _mm256_permute2f128_ps(u0, u4, 0x31), x[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
    x[6] = _mm256_permute2f128_ps(u2, u6, 0x31), x[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
  }
  static FASTMLP_INLINE void store(T* d, V v) { _mm256_storeu_ps(d, v); }
  // The first 6 lanes (the only partial width used: a 6-wide panel).
  static FASTMLP_INLINE void store_part(T* d, V v) {
    _mm_storeu_ps(d, _mm256_castps256_ps128(v));
    _mm_storel_pi(reinterpret_cast<__m64*>(d + 4), _mm256_extractf128_ps(v, 1));
  }
  static constexpr int kPart = 6;
};

struct F64 {
  using T = double;
  using V = __m256d;
  static constexpr int W = 4;
  static FASTMLP_INLINE V zero() { return _mm256_setzero_pd(); }
  static FASTMLP_INLINE V load(const T* p, int cols) {
    if (cols == W) return _mm256_loadu_pd(p);
    const __m256i lane = _mm256_setr_epi64x(0, 1, 2, 3);
    return _mm256_maskload_pd(p, _mm256_cmpgt_epi64(_mm256_set1_epi64x(cols), lane));
  }
  static FASTMLP_INLINE void transpose(V (&x)[W]) {
    const V t0 = _mm256_unpacklo_pd(x[0], x[1]), t1 = _mm256_unpackhi_pd(x[0], x[1]);
    const V t2 = _mm256_unpacklo_pd(x[2], x[3]), t3 = _mm256_unpackhi_pd(x[2], x[3]);
    x[0] = _mm256_permute2f128_pd(t0, t2, 0x20), x[1] = _mm256_permute2f128_pd(t1, t3, 0x20);
    x[2] = _mm256_permute2f128_pd(t0, t2, 0x31), x[3] = _mm256_permute2f128_pd(t1, t3, 0x31);
  }
  static FASTMLP_INLINE void store(T* d, V v) { _mm256_storeu_pd(d, v); }
  // The first 2 lanes (the rows 4 and 5 of a 6-wide panel).
  static FASTMLP_INLINE void store_part(T* d, V v) { _mm_storeu_pd(d, _mm256_castpd256_pd128(v)); }
  static constexpr int kPart = 2;
};

// One W x W block: rows [0, h) of the source from s (rows rs apart; the rest zero, the panel's
// padding), columns [0, cols), stored transposed: column q to d + q * r, sw values wide.
// kRows > 0: a whole block, h = kRows (W, or the partial width) and cols = W, known at
// compile time; 0: an edge, both at run time.
// A block narrower than W (sw < W) that is its panel's only block (r < W) stores whole
// vectors but the last: each spills into the next column's first values, which the next
// store rewrites (one store a column instead of two), and nothing is written past the block.
template <class K, int kRows>
FASTMLP_INLINE void block(const typename K::T* s, int64_t rs, int h, int cols,
                          typename K::T* d, int64_t r, int sw) {
  constexpr int W = K::W;
  const int rows = kRows > 0 ? kRows : h, ncols = kRows > 0 ? W : cols;
  typename K::V x[W];
#pragma GCC unroll 8
  for (int g = 0; g < W; ++g) x[g] = g < rows ? K::load(s + g * rs, ncols) : K::zero();
  K::transpose(x);
  if (sw == W) {
#pragma GCC unroll 8
    for (int q = 0; q < W; ++q)
      if (q < ncols) K::store(d + q * r, x[q]);
  } else if (r < W) {
#pragma GCC unroll 8
    for (int q = 0; q < W; ++q)
      if (q + 1 < ncols) K::store(d + q * r, x[q]);
      else if (q + 1 == ncols) K::store_part(d + q * r, x[q]);
  } else {
#pragma GCC unroll 8
    for (int q = 0; q < W; ++q)
      if (q < ncols) K::store_part(d + q * r, x[q]);
  }
}

// pack_isa.hpp's contract; false (nothing written) for a width it has no stores for.
template <class K>
bool pack_t(int64_t r, int64_t len, int64_t kc, const typename K::T* src, int64_t rs,
            typename K::T* dst) {
  using T = typename K::T;
  constexpr int W = K::W;
  const int64_t part = r % W;  // the width of a panel's last block: 0 (whole) or kPart
  if (r <= 0 || (part != 0 && part != K::kPart)) return false;
  constexpr int64_t kLine = 64 / int64_t(sizeof(T));
  for (int64_t x = 0; x < len; x += r, dst += r * kc) {
    const int64_t rows = len - x < r ? len - x : r;
    const T* s = src + x * rs;
    // The next panel's rows, one line ahead of use each (pack.hpp's reason).
    const bool prefetch = x + 2 * r <= len;
    for (int64_t p = 0; p < kc; p += W) {
      const int cols = kc - p < W ? int(kc - p) : W;
      if (prefetch && p % kLine == 0)
        for (int64_t i = r; i < 2 * r; ++i) __builtin_prefetch(s + i * rs + p);
      for (int64_t i = 0; i < r; i += W) {
        const int64_t left = rows - i;
        const int h = left <= 0 ? 0 : left < W ? int(left) : W;
        const int sw = r - i < W ? int(r - i) : W;
        T* d = dst + p * r + i;
        if (cols == W && h == sw && sw == W)
          block<K, W>(s + i * rs + p, rs, h, cols, d, r, sw);
        else if (cols == W && h == sw)
          block<K, K::kPart>(s + i * rs + p, rs, h, cols, d, r, sw);
        else
          block<K, 0>(s + i * rs + p, rs, h, cols, d, r, sw);
      }
    }
  }
  return true;
}

#undef FASTMLP_INLINE

}  // namespace

FASTMLP_PACK_T_DECL(spack_t, float) { return pack_t<F32>(r, len, kc, src, rs, dst); }
FASTMLP_PACK_T_DECL(dpack_t, double) { return pack_t<F64>(r, len, kc, src, rs, dst); }

}  // namespace fastmlp::avx2
