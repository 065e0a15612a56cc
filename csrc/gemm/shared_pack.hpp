// SharedPack: gemm.cpp's threaded split packs the operand every task reads once, together.
// A template for gemm.cpp alone (baseline flags; never included by an ISA TU).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <thread>

#include "gemm/pack.hpp"
#include "parallel/thread_pool.hpp"

namespace fastmlp::gemm {

// The operand that every task of the threaded split reads (B when M is split, A when N is),
// packed once for all k by all the threads together, instead of once per task.
// Layout (shared_layout): for each KC block of k, the whole of the operand's m (or n) side as
// micro-panels of R = MR (or NR): block pc starts at pc * round_up(dim, R), and rows/columns
// [x, x + R) of it at + x * kc_cur. MC and NC are multiples of MR and NR, so each cache block
// of it is contiguous, exactly what pack_a_panel / pack_b_panel would have produced.
// The work is cut into pieces of a few micro-panels; a task claims pieces until none is left,
// then waits for the pieces other running tasks claimed (a short wait: no task waits for one
// that has not started, so one thread, or the pool's serial fallback, simply packs them all).
template <class T>
struct SharedPack {
  bool is_a;                   // packing op(A) (N split) or op(B) (M split)
  int64_t dim, r, kc, k;       // m or n, MR or NR, KC, k
  const T* src;                // a or b
  int64_t rs, cs;              // its strides as op(A) / op(B)
  T* dst;
  PackT<T> pack_t;             // the active ISA's transposing pack, or nullptr
  int64_t units, per_piece, pieces_per_block, total;
  std::atomic<int64_t> next{0}, done{0};

  SharedPack(bool is_a_, int64_t dim_, int64_t r_, int64_t kc_, int64_t k_, const T* src_,
             int64_t rs_, int64_t cs_, T* dst_, PackT<T> pack_t_)
      : is_a(is_a_), dim(dim_), r(r_), kc(kc_), k(k_), src(src_), rs(rs_), cs(cs_), dst(dst_),
        pack_t(pack_t_) {
    units = (dim + r - 1) / r;
    per_piece = std::max<int64_t>(1, 8192 / (r * kc));  // ~32 KiB of float32 per piece
    pieces_per_block = (units + per_piece - 1) / per_piece;
    total = pieces_per_block * ((k + kc - 1) / kc);
  }

  void pack_piece(int64_t piece) const {
    const int64_t pc = piece / pieces_per_block * kc, kc_cur = std::min(kc, k - pc);
    const int64_t x0 = piece % pieces_per_block * per_piece * r;
    const int64_t len = std::min(per_piece * r, dim - x0);
    T* out = dst + pc * (units * r) + x0 * kc_cur;  // units * r: dim in whole micro-panels
    if (is_a)
      pack_a_panel(r, len, kc_cur, src + x0 * rs + pc * cs, rs, cs, out, pack_t);
    else
      pack_b_panel(r, kc_cur, len, src + pc * rs + x0 * cs, rs, cs, out, pack_t);
  }

  // Called by every task before it computes: help, then wait until all pieces are packed.
  void ensure_packed() {
    if (done.load(std::memory_order_acquire) == total) return;
    for (int64_t p; (p = next.fetch_add(1, std::memory_order_relaxed)) < total;) {
      pack_piece(p);
      done.fetch_add(1, std::memory_order_release);
    }
    for (unsigned i = 1; done.load(std::memory_order_acquire) != total; ++i) {
      parallel::cpu_relax();
      if (i % 1024 == 0) std::this_thread::yield();  // the packer may have been preempted
    }
  }
};

}  // namespace fastmlp::gemm
