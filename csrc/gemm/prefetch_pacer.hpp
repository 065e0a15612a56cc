// PrefetchPacer: how gemm.cpp's loop nest asks for a RowPrefetch's rows (gemm.hpp), a few
// after each micro-kernel call. For gemm.cpp alone (baseline flags; never included by an ISA TU).
#pragma once

#include <algorithm>
#include <cstdint>

#include "gemm/gemm.hpp"  // RowPrefetch

namespace fastmlp::gemm {

// Spreads a RowPrefetch over a loop nest's micro-kernel calls: after call t of `calls`, the
// first count * (t + 1) / calls rows have been asked for (never more than count), into L2
// (prefetcht2: in L1 they evicted the B micro-panel the kernel reads; docs/gemm.md).
class PrefetchPacer {
 public:
  // The loop nest's micro-kernel calls: ceil(m / MR) * ceil(n / NR) * ceil(k / KC) (MC and NC
  // are multiples of MR and NR).
  PrefetchPacer(const RowPrefetch* pf, int64_t m, int64_t n, int64_t k, int64_t MR, int64_t NR,
                int64_t KC)
      : pf_(pf),
        calls_(pf ? std::max<int64_t>(ceil_div(m, MR) * ceil_div(n, NR) * ceil_div(k, KC), 1) : 1) {}
  void after_call() {
    if (!pf_) return;
    // count * calls_done / calls rows by now, kept as a running remainder: no divide per call
    for (owed_ += pf_->count; owed_ >= calls_ && next_row_ < pf_->count; owed_ -= calls_, ++next_row_) {
      const char* row = pf_->base + (pf_->rows ? pf_->rows[next_row_] : next_row_) * pf_->stride;
      for (int64_t b = 0; b < pf_->bytes; b += 64) __builtin_prefetch(row + b, 0, 1);
      __builtin_prefetch(row + pf_->bytes - 1, 0, 1);  // an unaligned row's last line
    }
  }

 private:
  static int64_t ceil_div(int64_t x, int64_t by) { return (x + by - 1) / by; }
  const RowPrefetch* pf_;
  int64_t calls_, owed_ = 0, next_row_ = 0;
};

}  // namespace fastmlp::gemm
