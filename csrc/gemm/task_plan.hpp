// What one task of a GEMM reads besides what it packs itself (gemm.cpp's gemm_serial). For
// gemm.cpp alone (baseline flags; never included by an ISA TU).
#pragma once

#include <cstdint>

#include "gemm/gemm.hpp"  // RowPrefetch, KeptPack

namespace fastmlp::gemm {

// Where one task's operands come from besides its own packing, and what else it writes.
// shared_a / shared_b: op(A) / op(B) already packed for all k (layout: SharedPack,
// shared_pack.hpp), by the threaded split or kept from an earlier GEMM (KeptPack), read from
// there instead of packed again; the task's columns start at column b_col of a shared B whose
// KC blocks are b_ld elements per k row (n rounded up to whole micro-panels).
// direct_a: the micro-kernel reads op(A) in place through its strides instead of a packed
// copy (small GEMMs, where packing A costs more than it saves; see use_direct_a); direct_b
// likewise for op(B) (use_direct_b).
// prefetch: rows the caller reads next, asked for between micro-kernel calls (PrefetchPacer).
// kept_c: C lives in a KeptPack's layout (kept_layout.hpp), of which this task's C(0, 0) is
// element (c_row, c_col); c and ldc are then not used.
template <class T>
struct TaskPlan {
  bool direct_a = false, direct_b = false;
  const T* shared_a = nullptr;
  const T* shared_b = nullptr;
  int64_t b_ld = 0, b_col = 0;
  const RowPrefetch* prefetch = nullptr;
  const KeptPack<T>* kept_c = nullptr;
  int64_t c_row = 0, c_col = 0;
};

}  // namespace fastmlp::gemm
