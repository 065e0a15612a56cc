// Whether gemm.cpp's loop nest reads an operand in place instead of packing it. For gemm.cpp
// alone (baseline flags; never included by an ISA TU).
#pragma once

#include <cstdint>

#include "gemm/blocking.hpp"

namespace fastmlp::gemm {

// Whether the micro-kernel reads op(A) in place instead of a packed copy (gemm_serial).
// Packing A buys contiguous loads for the ceil(n / NR) B micro-panels that reuse each A block,
// at the price of one pass over A (measured: docs/tuning.md). Never worth it when at most two
// B micro-panels reuse it (n <= 2 NR: the output layer; packing then costs as much as the
// product). Otherwise:
// - row-major op(A) (a_cs == 1): its MR rows are MR streams of KC contiguous values per
//   kernel call, which the prefetchers follow, up to the Blocking's pack_a_bytes;
// - column-major op(A) (the transposed x of dW) is read as MR adjacent values per k, one line
//   every a_cs elements: a micro-panel then spans KC lines, which crowd the B micro-panel out
//   of L1, so in place only while all of A is small (kDirectAMaxBytes).
// The strides (1, MR) are the packed layout's (ukernel.hpp), so such an A is always packed.
constexpr int64_t kDirectAMaxBytes = int64_t(16) << 10;

template <class T>
bool use_direct_a(const Blocking& bk, int64_t m, int64_t n, int64_t k, int64_t a_rs,
                  int64_t a_cs) {
  if (a_rs == 1 && a_cs == bk.mr) return false;
  if (n <= 2 * bk.nr) return true;
  const int64_t max_bytes = a_cs == 1 ? bk.pack_a_bytes : kDirectAMaxBytes;
  return m * k <= max_bytes / int64_t(sizeof(T));  // m * k: checked by gemm() for overflow
}

// Whether the micro-kernel reads op(B) in place instead of a packed copy (gemm_serial), for a
// row-major op(B) (b_cs == 1) only:
// - at most NR columns (the output layer's w and grad_z), where masked loads are cheap
//   (Blocking::masked_b): its rows are then contiguous and read in order, once per A
//   micro-panel, at any size;
// - at least NR columns and at most kDirectBMaxBytes, which stays in L1 however it is read:
//   packing such a B cost more than the GEMM saved on the small layers of a training step
//   (13-64-64-1 at batch 32: a fifth of the step packed w and grad_z);
// - at least NR columns, any size, when at most kDirectBMaxRowTiles A micro-panels reuse each
//   B micro-panel (m <= 8 MR: small batches), where packing B costs more than its strided
//   rows (docs/tuning.md).
// Whole rows are plain loads; only the last, partial micro-panel is masked. Narrower B on
// AVX2 is packed: there every row of it is a masked load, slower than packing it.
constexpr int64_t kDirectBMaxBytes = int64_t(32) << 10;
constexpr int64_t kDirectBMaxRowTiles = 8;

// kept: B comes packed for free (a KeptPack), so few rows no longer make packing too dear.
template <class T>
bool use_direct_b(const Blocking& bk, int64_t m, int64_t n, int64_t k, int64_t b_rs,
                  int64_t b_cs, bool kept = false) {
  if (b_cs != 1 || b_rs == 0) return false;
  if (n <= bk.nr) return bk.masked_b;
  return (!kept && m <= kDirectBMaxRowTiles * bk.mr) ||
         n * k <= kDirectBMaxBytes / int64_t(sizeof(T));
}

}  // namespace fastmlp::gemm
