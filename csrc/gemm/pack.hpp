// Packing: copy a block of A or B, read through arbitrary element strides, into the contiguous
// zero-padded micro-panels the micro-kernel streams through.
//
// A block (mc x kc) -> ceil(mc/MR) micro-panels, each kc columns of MR contiguous values.
// B block (kc x nc) -> ceil(nc/NR) micro-panels, each kc rows of NR contiguous values.
// Padding rows/columns are zero, so edge tiles run the same kernel and their extra outputs are
// simply not stored (a zero never changes a kept sum).
// Strides are in elements and may be negative or zero (NumPy slices and broadcasts).
#pragma once

#include <cstdint>

#include "gemm/pack_isa.hpp"

#if defined(__SSE2__)
#include <emmintrin.h>  // SSE2: part of baseline x86-64, so no dispatch needed
#include <xmmintrin.h>
#endif

namespace fastmlp::gemm {

#if defined(__SSE2__)
// One G x G block of a row-major A (G = 4 floats or 2 doubles: one SSE2 register per row,
// baseline x86-64), transposed into G columns of a micro-panel of width mr:
// d[q * mr + g] = s[g * rs + q]. Plain copies: bitwise exact.
inline void transpose_block(const float* s, int64_t rs, float* d, int64_t mr) {
  __m128 x0 = _mm_loadu_ps(s), x1 = _mm_loadu_ps(s + rs);
  __m128 x2 = _mm_loadu_ps(s + 2 * rs), x3 = _mm_loadu_ps(s + 3 * rs);
  _MM_TRANSPOSE4_PS(x0, x1, x2, x3);  // x_q = column q of the 4 rows
  _mm_storeu_ps(d, x0);
  _mm_storeu_ps(d + mr, x1);
  _mm_storeu_ps(d + 2 * mr, x2);
  _mm_storeu_ps(d + 3 * mr, x3);
}
inline void transpose_block(const double* s, int64_t rs, double* d, int64_t mr) {
  const __m128d x0 = _mm_loadu_pd(s), x1 = _mm_loadu_pd(s + rs);
  _mm_storeu_pd(d, _mm_unpacklo_pd(x0, x1));
  _mm_storeu_pd(d + mr, _mm_unpackhi_pd(x0, x1));
}
#endif

// Panels whose own dimension is contiguous in memory: element x of panel dimension and p of k
// at src[x + p * ks]. That is a row-major B (pack_b_panel) and a column-major A (the
// transposed x of dW). Row p of the source is read once, left to right, and its pieces of r
// values go to every micro-panel (dst[panel * r * kc + p * r + j]): one stream in, ceil(len/r)
// sequential streams out, instead of ceil(len/r) passes down the rows (each a line per row,
// the whole block fetched again per panel). Pieces are fixed-size copies, padding zeros.
// The pieces of one row land one micro-panel apart, which maps them to only
// 4096 / gcd(panel bytes, 4096) of a 64-set L1's sets (kc = 64, 128, 256 with 64-byte pieces:
// one set; the transposed x of dW, 24-byte pieces, kc 256: two). When those sets cannot hold a
// line per micro-panel with room to spare (half of 8 ways), a piece's line is evicted between
// its stores: then kGroup rows go at a time, each panel's pieces of them together, so each line
// is written whole before the next (2x faster on warm data; reading row by row stays for the
// other strides: one stream from memory).
inline bool pack_rows_in_groups(int64_t panel_bytes, int64_t panels) {
  int64_t spacing = 4096;  // gcd(panel_bytes, 4096), in whole lines: the set stride
  while (spacing > 64 && panel_bytes % spacing != 0) spacing /= 2;
  const int64_t sets = 4096 / spacing;
  return panels > sets * 4;
}

template <class T, int R>
inline void pack_rows_fixed(int64_t kc, int64_t len, const T* src, int64_t ks, T* dst) {
  const int64_t full = len / R, rest = len % R, panel = int64_t(R) * kc;
  constexpr int64_t kGroup = 4;
  const int64_t group =
      pack_rows_in_groups(panel * int64_t(sizeof(T)), full + (rest != 0)) ? kGroup : 1;
  for (int64_t p0 = 0; p0 < kc; p0 += group) {
    const int64_t p1 = p0 + group < kc ? p0 + group : kc;
    for (int64_t q = 0; q < full; ++q)
      for (int64_t p = p0; p < p1; ++p)
        __builtin_memcpy(dst + q * panel + p * R, src + p * ks + q * R, sizeof(T) * R);
    if (rest)
      for (int64_t p = p0; p < p1; ++p) {
        const T* row = src + p * ks + full * R;
        T* last = dst + full * panel + p * R;
        for (int64_t j = 0; j < R; ++j) last[j] = j < rest ? row[j] : T(0);
      }
  }
}

// pack_rows_fixed for the panel widths of the micro-kernels; false for any other r.
template <class T>
inline bool pack_rows(int64_t r, int64_t kc, int64_t len, const T* src, int64_t ks, T* dst) {
  switch (r) {
    case 4: pack_rows_fixed<T, 4>(kc, len, src, ks, dst); return true;
    case 6: pack_rows_fixed<T, 6>(kc, len, src, ks, dst); return true;
    case 8: pack_rows_fixed<T, 8>(kc, len, src, ks, dst); return true;
    case 12: pack_rows_fixed<T, 12>(kc, len, src, ks, dst); return true;
    case 16: pack_rows_fixed<T, 16>(kc, len, src, ks, dst); return true;
    case 32: pack_rows_fixed<T, 32>(kc, len, src, ks, dst); return true;
    default: return false;
  }
}

// a(i, p) = a[i * rs + p * cs] for i < mc, p < kc.
// A row-major A (cs == 1) goes through G x G register transposes (transpose_block), all rows
// of a micro-panel per G columns, so its MR rows stream in together and each line of the
// panel is written whole (an element-by-element gather cost a tenth of a large GEMM).
// A column-major A goes through pack_rows; the rest (other strides, the last rows and
// columns) is the plain loop. pack_t: the active ISA's transposing pack (pack_isa.hpp), which
// takes the row-major case whole when it has the width; nullptr: the code below.
template <class T>
void pack_a_panel(int64_t mr, int64_t mc, int64_t kc, const T* a, int64_t rs, int64_t cs,
                  T* dst, PackT<T> pack_t = nullptr) {
  if (rs == 1 && cs != 1 && pack_rows(mr, kc, mc, a, cs, dst)) return;
  if (cs == 1 && pack_t && pack_t(mr, mc, kc, a, rs, dst)) return;
  for (int64_t ir = 0; ir < mc; ir += mr, dst += mr * kc) {
    const int64_t mr_cur = mc - ir < mr ? mc - ir : mr;
    const T* src = a + ir * rs;
    int64_t rows_done = 0, cols_done = 0;  // the block [0, rows_done) x [0, cols_done) is done
#if defined(__SSE2__)
    constexpr int64_t G = 16 / int64_t(sizeof(T));
    if (cs == 1 && mr_cur >= G) {
      rows_done = mr_cur / G * G, cols_done = kc / G * G;
      // The next micro-panel's rows, one line ahead of use each (their short row pieces are
      // too short for the hardware prefetcher to pick up in time: pack_a was 2x slower).
      const bool prefetch = ir + 2 * mr <= mc;
      constexpr int64_t kLine = 64 / int64_t(sizeof(T));
      for (int64_t p = 0; p < cols_done; p += G) {
        if (prefetch && p % kLine == 0)
          for (int64_t i = mr; i < 2 * mr; ++i) __builtin_prefetch(src + i * rs + p);
        for (int64_t i = 0; i < rows_done; i += G)
          transpose_block(src + i * rs + p, rs, dst + p * mr + i, mr);
      }
    }
#endif
    for (int64_t p = 0; p < kc; ++p) {
      int64_t i = p < cols_done ? rows_done : 0;
      for (; i < mr_cur; ++i) dst[p * mr + i] = src[i * rs + p * cs];
      for (; i < mr; ++i) dst[p * mr + i] = T(0);
    }
  }
}

// b(p, j) = b[p * rs + j * cs] for p < kc, j < nc.
template <class T>
void pack_b_panel(int64_t nr, int64_t kc, int64_t nc, const T* b, int64_t rs, int64_t cs,
                  T* dst, PackT<T> pack_t = nullptr) {
  // A column-major B (the transposed w of dX): a B micro-panel, kc rows of nr values, is the
  // transpose of nr contiguous rows of b, exactly the layout pack_a_panel makes from a
  // row-major A: its register transposes replace a gather of nr values cs apart per row.
  if (rs == 1 && cs != 1) return pack_a_panel(nr, nc, kc, b, cs, rs, dst, pack_t);
  if (cs == 1 && pack_rows(nr, kc, nc, b, rs, dst)) return;
  // Any other strides (NumPy slices with steps, broadcasts): element by element.
  for (int64_t jr = 0; jr < nc; jr += nr) {
    const int64_t nr_cur = nc - jr < nr ? nc - jr : nr;
    const T* src = b + jr * cs;
    for (int64_t p = 0; p < kc; ++p, dst += nr) {
      const T* row = src + p * rs;
      int64_t j = 0;
      for (; j < nr_cur; ++j) dst[j] = row[j * cs];
      for (; j < nr; ++j) dst[j] = T(0);
    }
  }
}

}  // namespace fastmlp::gemm
