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

namespace fastmlp::gemm {

// a(i, p) = a[i * rs + p * cs] for i < mc, p < kc.
template <class T>
void pack_a_panel(int64_t mr, int64_t mc, int64_t kc, const T* a, int64_t rs, int64_t cs,
                  T* dst) {
  for (int64_t ir = 0; ir < mc; ir += mr) {
    const int64_t mr_cur = mc - ir < mr ? mc - ir : mr;
    const T* src = a + ir * rs;
    for (int64_t p = 0; p < kc; ++p) {
      int64_t i = 0;
      for (; i < mr_cur; ++i) dst[i] = src[i * rs + p * cs];
      for (; i < mr; ++i) dst[i] = T(0);
      dst += mr;
    }
  }
}

// b(p, j) = b[p * rs + j * cs] for p < kc, j < nc.
template <class T>
void pack_b_panel(int64_t nr, int64_t kc, int64_t nc, const T* b, int64_t rs, int64_t cs,
                  T* dst) {
  for (int64_t jr = 0; jr < nc; jr += nr) {
    const int64_t nr_cur = nc - jr < nr ? nc - jr : nr;
    const T* src = b + jr * cs;
    for (int64_t p = 0; p < kc; ++p) {
      const T* row = src + p * rs;
      int64_t j = 0;
      if (cs == 1) {
        for (; j < nr_cur; ++j) dst[j] = row[j];  // the common row-major case: a plain copy
      } else {
        for (; j < nr_cur; ++j) dst[j] = row[j * cs];
      }
      for (; j < nr; ++j) dst[j] = T(0);
      dst += nr;
    }
  }
}

}  // namespace fastmlp::gemm
