// Transposing packs compiled per instruction set (the Isa table's spack_t / dpack_t; nullptr
// there: pack.hpp's baseline code). Declarations only: the ISA TUs include this header, and
// nothing inline may be compiled with their flags (the ODR rule, docs/isa.md).
//
// The contract, pack.hpp's pack_a_panel for a source whose rows are contiguous along k (a
// row-major op(A), or the column-major op(B) of dX read as the rows of w): micro-panels of
// width r, each kc columns of r contiguous values, from `len` rows rs elements apart,
//     dst[x / r * r * kc + p * r + x % r] = src[x * rs + p]   for x < len, p < kc,
// zero for len <= x < round_up(len, r); nothing outside those rows and columns is read.
// Returns false, having written nothing, for a width r it does not implement. Plain copies:
// the same bits as pack.hpp's.
#pragma once

#include <cstdint>

namespace fastmlp::gemm {
template <class T>
using PackT = bool (*)(int64_t r, int64_t len, int64_t kc, const T* src, int64_t rs, T* dst);
}  // namespace fastmlp::gemm

#define FASTMLP_PACK_T_DECL(name, T) \
  bool name(int64_t r, int64_t len, int64_t kc, const T* src, int64_t rs, T* dst)

#if defined(FASTMLP_X86_ISAS)
// pack_avx2.cpp: -mavx2 -mfma; r a multiple of the lanes (8 floats, 4 doubles) or 6.
namespace fastmlp::avx2 {
FASTMLP_PACK_T_DECL(spack_t, float);
FASTMLP_PACK_T_DECL(dpack_t, double);
}  // namespace fastmlp::avx2
#endif
