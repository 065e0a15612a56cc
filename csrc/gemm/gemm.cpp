// The BLIS five-loop GEMM (jc -> pc -> ic -> jr -> ir) around a packed register-tile kernel.
//
// Reference: BLIS sandbox/gemmlike (bls_gemm_bp_var1.c). The loop code holds no intrinsics
// and is compiled with baseline flags: it packs (pack.hpp) and hands the packed micro-panels
// to the active isa table entry's micro-kernel, with its Blocking (isa/isa.hpp).
#include "gemm/gemm.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <optional>
#include <stdexcept>
#include <type_traits>

#include "gemm/blocking.hpp"
#include "gemm/pack.hpp"
#include "gemm/pack_buffer.hpp"
#include "gemm/prefetch_pacer.hpp"
#include "gemm/shared_pack.hpp"
#include "gemm/task_plan.hpp"
#include "gemm/in_place.hpp"
#include "gemm/kept_layout.hpp"
#include "gemm/ukernel.hpp"
#include "isa/isa.hpp"
#include "parallel/thread_pool.hpp"

namespace fastmlp::gemm {
namespace {

// When to split a GEMM over threads (calibration: see set_parallel_min_macs in gemm.hpp).
// Below parallel_min_macs multiply-adds it runs serially. From there on it uses the workers
// that are awake (spinning after a recent job: the GEMMs of a training step, back to back),
// which costs ~1 us, and wakes sleeping ones when the previous job ended moments ago (a stream
// of GEMMs; thread_pool.cpp). Waking a sleeping worker costs the caller tens of microseconds
// and the worker joins later still (docs/tuning.md), so an isolated GEMM wakes sleeping
// workers only from kWakeFactor times the threshold (2^23) on.
// Tests lower the threshold to 0 with set_parallel_min_macs, which then also wakes always.
std::atomic<int64_t> parallel_min_macs_{int64_t(1) << 19};
constexpr int64_t kWakeFactor = 16;

thread_local PackBuffer t_pack_a, t_pack_b;

int64_t round_up(int64_t x, int64_t to) { return (x + to - 1) / to * to; }

// The Blocking with KC cut into equal blocks: k = 784 at KC 512 runs as 2 x 392, not 512 +
// 272: the same number of passes over C (one load and store of every C tile each), none of
// them for a sliver of work (docs/tuning.md). It depends on k alone, so every thread count
// blocks, and rounds, alike.
Blocking balanced_kc(Blocking bk, int64_t k) {
  if (k > bk.kc) {
    const int64_t blocks = (k + bk.kc - 1) / bk.kc;
    bk.kc = (k + blocks - 1) / blocks;
  }
  return bk;
}

// The epilogue of the tile whose top-left element is C(row, col): bias and out moved there.
template <class T>
Epilogue<T> epilogue_at(const Epilogue<T>& ep, int64_t row, int64_t col, int64_t ldc) {
  Epilogue<T> at = ep;
  if (at.bias) at.bias += col;
  if (at.out) at.out += row * ldc + col;
  return at;
}

// The active ISA's micro-kernel and transposing pack (pack_isa.hpp; nullptr: pack.hpp's).
template <class T>
struct Kernels {
  Ukernel<T> ukernel;
  PackT<T> pack_t;
};

// Packed A buffers hold MR elements more than their micro-panels: a tile of C in a KeptPack
// cut at a KC block (gemm_serial) starts its A micro-panel a few rows in, and the packed-A
// micro-kernel reads (and drops) up to MR rows from there.
inline int64_t with_slack(const Blocking& bk, int64_t elems) {
  return elems + bk.mr;
}

// Largest KC block whose tiles gemm_serial visits a row of tiles at a time (docs/tuning.md).
constexpr int64_t kRowOrderMaxK = 32;

// One task's share: the whole loop nest over op(A) rows [0, m) and op(B) columns [0, n).
// op(A)(i, p) = a[i * a_rs + p * a_cs], op(B)(p, j) = b[p * b_rs + j * b_cs].
// ep: applied by the micro-kernel on the last KC block (bias and out relative to C(0, 0)).
template <class T>
void gemm_serial(const Blocking& bk, Kernels<T> kn, int64_t m, int64_t n, int64_t k,
                 T alpha, const T* a, int64_t a_rs, int64_t a_cs, const T* b, int64_t b_rs,
                 int64_t b_cs, T beta, T* c, int64_t ldc, const Epilogue<T>* ep,
                 const TaskPlan<T>& plan) {
  const int64_t MR = bk.mr, NR = bk.nr, MC = bk.mc, KC = bk.kc, NC = bk.nc;
  const bool direct_a = plan.direct_a, direct_b = plan.direct_b;
  PrefetchPacer pacer(plan.prefetch, m, n, k, MR, NR, KC);
  T* a_packed = nullptr;
  T* b_packed = nullptr;
  if (!plan.shared_a && !direct_a)
    a_packed = t_pack_a.get<T>(with_slack(bk, round_up(std::min(m, MC), MR) * std::min(k, KC)));
  std::optional<KeptLayout<T>> c_layout;
  if (plan.kept_c) c_layout.emplace(*plan.kept_c);
  if (!plan.shared_b && !direct_b)
    b_packed = t_pack_b.get<T>(round_up(std::min(n, NC), NR) * std::min(k, KC));
  // A column-major B (dX's w.T) used by one A block only (m <= MC) is packed one micro-panel
  // at a time, just before its use: it is then read from L1, not back from L2 or L3 after
  // the whole panel was packed (a row-major B keeps pack_rows, which reads its rows in order).
  const bool pack_each = b_packed && m <= MC && b_rs == 1 && b_cs != 1;

  // Loop over the n dimension (NC columns at a time).
  for (int64_t jc = 0; jc < n; jc += NC) {
    const int64_t nc_cur = std::min(NC, n - jc);
    // Loop over the k dimension (KC at a time); later blocks accumulate onto the first.
    for (int64_t pc = 0; pc < k; pc += KC) {
      const int64_t kc_cur = std::min(KC, k - pc);
      const T beta_cur = pc == 0 ? beta : T(1);
      const bool last_pc = pc + kc_cur == k;
      // Few k per tile (an output layer's dX: k = its classes) make C's stores most of the
      // work: a row of tiles at a time writes C's lines whole while they are in L1.
      const bool by_rows = kc_cur <= kRowOrderMaxK && !pack_each && !c_layout;
      // The B panel as the micro-kernel reads it: packed micro-panels (one every NR * kc_cur
      // elements, b_step 0) or B itself (b_cs 1: one every NR columns, rows b_rs apart).
      const T* b_panel = b_packed;
      int64_t b_step = 0, b_panel_stride = NR * kc_cur;
      if (direct_b)
        b_panel = b + pc * b_rs + jc, b_step = b_rs, b_panel_stride = NR;
      else if (plan.shared_b)
        b_panel = plan.shared_b + pc * plan.b_ld + (plan.b_col + jc) * kc_cur;
      else if (!pack_each)
        pack_b_panel(NR, kc_cur, nc_cur, b + pc * b_rs + jc * b_cs, b_rs, b_cs, b_packed,
                     kn.pack_t);
      // Loop over the m dimension (MC rows at a time).
      for (int64_t ic = 0; ic < m; ic += MC) {
        const int64_t mc_cur = std::min(MC, m - ic);
        // The A block as the micro-kernel reads it: packed micro-panels (rs 1, cs MR, one
        // every MR * kc_cur elements) or op(A) itself.
        const T* a_block = a_packed;
        int64_t rs = 1, cs = MR, panel = MR * kc_cur;
        if (direct_a) {
          a_block = a + ic * a_rs + pc * a_cs, rs = a_rs, cs = a_cs, panel = MR * a_rs;
        } else if (plan.shared_a) {
          a_block = plan.shared_a + pc * round_up(m, MR) + ic * kc_cur;
        } else {
          pack_a_panel(MR, mc_cur, kc_cur, a + ic * a_rs + pc * a_cs, a_rs, a_cs, a_packed,
                       kn.pack_t);
        }
        // One micro-kernel call: the tile at (ir, jr) of this block.
        auto tile = [&](int64_t ir, int64_t jr, const T* b_micro) {
          const int64_t mr_cur = std::min(MR, mc_cur - ir), nr_cur = std::min(NR, nc_cur - jr);
          const int64_t row = ic + ir, col = jc + jr;
          const T* a_micro = a_block + ir / MR * panel;
          if (c_layout) {  // ep is null (gemm): the tile in pieces that stay in a KC block
            for (int64_t r = 0, rows; r < mr_cur; r += rows) {
              T* c_piece = c_layout->at(plan.c_row + row + r, plan.c_col + col, &rows);
              rows = std::min(rows, mr_cur - r);
              kn.ukernel(kc_cur, alpha, a_micro + r * rs, rs, cs, b_micro, b_step, beta_cur,
                         c_piece, NR, rows, nr_cur, nullptr);
            }
            pacer.after_call();
            return;
          }
          T* c_tile = c + row * ldc + col;
          Epilogue<T> ep_tile;
          if (ep && last_pc) ep_tile = epilogue_at(*ep, row, col, ldc);
          kn.ukernel(kc_cur, alpha, a_micro, rs, cs, b_micro, b_step, beta_cur, c_tile, ldc,
                     mr_cur, nr_cur, ep && last_pc ? &ep_tile : nullptr);
          // An activation the kernel cannot do in registers, on the tile it just wrote.
          if (ep && last_pc && ep->tile_fn)
            ep->tile_fn(ep->ctx, c_tile, ep_tile.out, ldc, mr_cur, nr_cur);
          pacer.after_call();
        };
        if (by_rows) {  // a row of tiles after another
          for (int64_t ir = 0; ir < mc_cur; ir += MR)
            for (int64_t jr = 0; jr < nc_cur; jr += NR)
              tile(ir, jr, b_panel + jr / NR * b_panel_stride);
          continue;
        }
        // Loop over the NR-wide micro-panels of the B panel, each over the A block's MR-tall
        // micro-panels.
        for (int64_t jr = 0; jr < nc_cur; jr += NR) {
          const T* b_micro = b_panel + jr / NR * b_panel_stride;
          if (pack_each)
            pack_b_panel(NR, kc_cur, std::min(NR, nc_cur - jr), b + pc * b_rs + (jc + jr) * b_cs,
                         b_rs, b_cs, b_packed, kn.pack_t), b_micro = b_packed;
          for (int64_t ir = 0; ir < mc_cur; ir += MR) tile(ir, jr, b_micro);
        }
      }
    }
  }
}

// Largest shared packed operand, in bytes. Beyond it (only for operands far larger than the
// MLP shapes) each task packs the shared operand itself, which is then cheap next to its
// m*n*k/threads of arithmetic, and no buffer of that size is kept.
constexpr int64_t kMaxSharedPackBytes = int64_t(8) << 20;
thread_local PackBuffer t_pack_shared;

int64_t checked_mul(int64_t x, int64_t y, const char* what) {
  int64_t r;
  if (__builtin_mul_overflow(x, y, &r)) throw std::overflow_error(std::string(what) + " overflows");
  return r;
}


// The active ISA's kernels for a product of n columns, and their tile (*tile_bk): a float64
// product of a few columns more than the tile's (a 10-class output layer) takes the ISA's wider
// tile, one micro-panel for all of them.
template <class T>
Kernels<T> kernels_for(const isa::Active& active, int64_t n, Blocking* tile_bk) {
  if constexpr (std::is_same_v<T, float>) {
    *tile_bk = active.s;
    return {active.isa->sgemm, active.isa->spack_t};
  } else {
    if (active.isa->dgemm_n12 && n > active.d.nr && n <= active.d_n12.nr) {
      *tile_bk = active.d_n12;
      return {active.isa->dgemm_n12, active.isa->dpack_t};
    }
    *tile_bk = active.d;
    return {active.isa->dgemm, active.isa->dpack_t};
  }
}


}  // namespace

template <class T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha,
          const T* a, int64_t a_rs, int64_t a_cs,
          const T* b, int64_t b_rs, int64_t b_cs,
          T beta, T* c, int64_t ldc, const Epilogue<T>* ep, const RowPrefetch* prefetch,
          KeptPack<T>* kept_b, KeptPack<T>* kept_c) {
  // Read the active kernels once: this call uses one set even if set_isa runs meanwhile, and
  // a bad FASTMLP_ISA raises here, before any argument check or quick return.
  const isa::Active& active = isa::active();
  Blocking tile_bk;
  const Kernels<T> kn = kernels_for<T>(active, n, &tile_bk);
  const Blocking bk = balanced_kc(tile_bk, k);
  if (m < 0 || n < 0 || k < 0) throw std::invalid_argument("gemm: negative dimension");
  if (ldc < n) throw std::invalid_argument("gemm: ldc < n");
  checked_mul(m, ldc, "gemm: m * ldc");
  checked_mul(m, k, "gemm: m * k");
  checked_mul(k, n, "gemm: k * n");
  if (m == 0 || n == 0) return;
  if (k == 0) {
    if (kept_c) kept_unpack(*kept_c);  // C := beta * C below, on a current c
    // BLAS quick return, C := beta * C (beta == 0 never reads C), then the epilogue: the
    // micro-kernel with kc = 0 and alpha = 0 does exactly that, tile by tile.
    for (int64_t i = 0; i < m; i += bk.mr)
      for (int64_t j = 0; j < n; j += bk.nr) {
        Epilogue<T> at;
        if (ep) at = epilogue_at(*ep, i, j, ldc);
        const int64_t rows = std::min(bk.mr, m - i), cols = std::min(bk.nr, n - j);
        kn.ukernel(0, T(0), nullptr, 1, bk.mr, nullptr, 0, beta, c + i * ldc + j, ldc, rows,
                   cols, ep ? &at : nullptr);
        if (ep && ep->tile_fn) ep->tile_fn(ep->ctx, c + i * ldc + j, at.out, ldc, rows, cols);
      }
    return;
  }
  // Fold the transposes into the strides: op(A)(i, p) = A(p, i) swaps A's strides.
  if (trans_a) std::swap(a_rs, a_cs);
  if (trans_b) std::swap(b_rs, b_cs);
  const bool direct_a = use_direct_a<T>(bk, m, n, k, a_rs, a_cs);
  const bool direct_b = use_direct_b<T>(bk, m, n, k, b_rs, b_cs, kept_b != nullptr);
  const T* kept = kept_b ? use_kept_b(*kept_b, bk, kn.pack_t, k, n, b, b_rs, b_cs, direct_b) : nullptr;
  const bool c_kept = kept_c && use_kept_c(*kept_c, balanced_kc(tile_bk, m), m, n, beta, ep);
  TaskPlan<T> plan;
  plan.direct_a = direct_a, plan.direct_b = direct_b, plan.prefetch = prefetch;
  plan.shared_b = kept, plan.b_ld = round_up(n, bk.nr), plan.kept_c = c_kept ? kept_c : nullptr;

  const int64_t min_macs = parallel_min_macs_.load(std::memory_order_relaxed);
  const bool small = m * n < min_macs / k + (min_macs % k != 0);  // m*n*k < min_macs, no overflow
  // The thread count is asked only when the GEMM is big enough to split.
  const int n_threads = small ? 1 : parallel::get_num_threads();
  const int64_t wake_macs = min_macs > INT64_MAX / kWakeFactor ? INT64_MAX : min_macs * kWakeFactor;
  const bool wake = m * n >= wake_macs / k + (wake_macs % k != 0);  // m*n*k >= wake_macs
  // Split M or N into contiguous chunks of whole MR (NR) tiles. Each task runs the full loop
  // nest on its rows (or columns) of C, so no two tasks write the same element and each
  // element's k-sum is computed identically whatever the split. The operand all tasks read
  // (B when splitting M, A when splitting N) is packed once, by all threads together
  // (SharedPack), unless it is kept packed already; each task packs its own slice of the other
  // (or reads A in place). Split the larger of m and n, falling back to the other if it has too
  // few tiles.
  const int64_t m_units = (m + bk.mr - 1) / bk.mr, n_units = (n + bk.nr - 1) / bk.nr;
  const bool split_m = m >= n ? m_units >= n_threads || m_units >= n_units
                              : !(n_units >= n_threads || n_units >= m_units);
  const int64_t units = split_m ? m_units : n_units, step = split_m ? bk.mr : bk.nr;
  // Two tasks per thread, claimed dynamically: a worker the OS wakes late (or a core another
  // process shares) leaves its second task to the others instead of making them wait.
  const int64_t n_tasks = n_threads == 1 ? 1 : std::min<int64_t>(2 * int64_t(n_threads), units);
  if (n_tasks <= 1) {
    gemm_serial<T>(bk, kn, m, n, k, alpha, a, a_rs, a_cs, b, b_rs, b_cs, beta, c, ldc, ep, plan);
    return;
  }
  const int64_t per_task = (units + n_tasks - 1) / n_tasks * step;
  const int64_t shared_elems = split_m ? round_up(n, bk.nr) * k : round_up(m, bk.mr) * k;
  T* shared = nullptr;  // none when every task reads a small B in place or a kept B
  if (!(split_m && (direct_b || kept)) &&
      shared_elems * int64_t(sizeof(T)) <= kMaxSharedPackBytes)
    shared = t_pack_shared.get<T>(with_slack(bk, shared_elems));
  SharedPack<T> pack(!split_m, split_m ? n : m, split_m ? bk.nr : bk.mr, bk.kc, k,
                     split_m ? b : a, split_m ? b_rs : a_rs, split_m ? b_cs : a_cs, shared,
                     kn.pack_t);
  parallel::parallel_for(n_tasks, [&](int64_t t) {
    const int64_t lo = t * per_task;
    if (shared) pack.ensure_packed();
    if (lo >= (split_m ? m : n)) return;
    TaskPlan<T> task = plan;
    task.prefetch = t == 0 ? prefetch : nullptr;  // one task asks for all the rows
    if (split_m) {
      const int64_t rows = std::min(per_task, m - lo);
      Epilogue<T> at;
      if (ep) at = epilogue_at(*ep, lo, 0, ldc);
      if (shared) task.shared_b = shared, task.b_ld = round_up(n, bk.nr), task.direct_b = false;
      task.c_row = lo;
      gemm_serial<T>(bk, kn, rows, n, k, alpha, a + lo * a_rs, a_rs, a_cs, b, b_rs, b_cs, beta,
                     c + lo * ldc, ldc, ep ? &at : nullptr, task);
    } else {
      const int64_t cols = std::min(per_task, n - lo);
      Epilogue<T> at;
      if (ep) at = epilogue_at(*ep, 0, lo, ldc);
      if (shared) task.shared_a = shared, task.direct_a = false;
      task.b_col = lo;
      task.c_col = lo;
      gemm_serial<T>(bk, kn, m, cols, k, alpha, a, a_rs, a_cs, b + lo * b_cs, b_rs, b_cs, beta,
                     c + lo, ldc, ep ? &at : nullptr, task);
    }
  }, wake);
}

template <class T>
bool single_k_block(int64_t k) {
  const isa::Active& active = isa::active();
  return k <= (std::is_same_v<T, float> ? active.s.kc : active.d.kc);  // d_n12's kc is d's
}
template bool single_k_block<float>(int64_t);
template bool single_k_block<double>(int64_t);

int64_t parallel_min_macs() { return parallel_min_macs_.load(); }

void set_parallel_min_macs(int64_t macs) {
  if (macs < 0) throw std::invalid_argument("parallel_min_macs must be >= 0");
  parallel_min_macs_.store(macs);
}

template void gemm<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t,
                          int64_t, const float*, int64_t, int64_t, float, float*, int64_t,
                          const Epilogue<float>*, const RowPrefetch*, KeptPack<float>*,
                          KeptPack<float>*);
template void gemm<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*,
                           int64_t, int64_t, const double*, int64_t, int64_t, double, double*,
                           int64_t, const Epilogue<double>*, const RowPrefetch*,
                           KeptPack<double>*, KeptPack<double>*);

template <class T>
int64_t kept_pack_size(int64_t k, int64_t n) {
  Blocking tile_bk;
  kernels_for<T>(isa::active(), n, &tile_bk);
  return checked_mul(round_up(n, tile_bk.nr), k, "kept pack size");
}
template int64_t kept_pack_size<float>(int64_t, int64_t);
template int64_t kept_pack_size<double>(int64_t, int64_t);

template <class T>
void kept_unpack(KeptPack<T>& kept) {
  if (kept.valid && kept.w_stale) KeptLayout<T>(kept).unpack(kept.w, kept.w_ld, kept.n);
  kept.valid = false, kept.w_stale = false;
}
template void kept_unpack<float>(KeptPack<float>&);
template void kept_unpack<double>(KeptPack<double>&);

std::string build_info() {
  int count = 0;
  const isa::Isa* sets = isa::all_isas(&count);
  std::string kernels;
  for (int i = 0; i < count; ++i) {
    const isa::Isa& e = sets[i];
    kernels += std::string(i ? ", " : "") + e.name + " (s " + std::to_string(e.s_tile.mr) + "x" +
               std::to_string(e.s_tile.nr) + ", d " + std::to_string(e.d_tile.mr) + "x" +
               std::to_string(e.d_tile.nr) +
               (e.dgemm_n12 ? ", d " + std::to_string(e.d_n12_tile.mr) + "x" +
                                  std::to_string(e.d_n12_tile.nr) + " for 9 to 12 columns"
                            : std::string()) +
               ")";
  }
  return "gemm: micro-kernels " + kernels + ", chosen at runtime (FASTMLP_ISA overrides)" +
         "; compiler: " FASTMLP_CXX_COMPILER "; flags: " FASTMLP_CXX_FLAGS;
}

}  // namespace fastmlp::gemm
