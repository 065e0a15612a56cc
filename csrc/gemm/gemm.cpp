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
#include <stdexcept>
#include <type_traits>

#include "gemm/blocking.hpp"
#include "gemm/pack.hpp"
#include "gemm/prefetch_pacer.hpp"
#include "gemm/shared_pack.hpp"
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

// A grow-only 64-byte-aligned buffer; one per thread and operand, so packing never allocates
// once a thread has seen its largest block.
struct PackBuffer {
  void* data = nullptr;
  size_t bytes = 0;
  ~PackBuffer() { std::free(data); }
  template <class T>
  T* get(int64_t count) {
    size_t need = (static_cast<size_t>(count) * sizeof(T) + 63) / 64 * 64;
    if (need > bytes) {
      std::free(data);
      data = std::aligned_alloc(64, need);
      bytes = data ? need : 0;
      if (!data) throw std::bad_alloc();
    }
    return static_cast<T*>(data);
  }
};
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

// One task's share: the whole loop nest over op(A) rows [0, m) and op(B) columns [0, n).
// op(A)(i, p) = a[i * a_rs + p * a_cs], op(B)(p, j) = b[p * b_rs + j * b_cs].
// With kShared = 'a' or 'b', `shared` holds op(A) or op(B) already packed for all k (layout:
// SharedPack, shared_pack.hpp) by the threaded split, and that operand is read from there
// instead of packed again. A compile-time choice: the serial instantiation ('-') is the plain
// loop nest.
// direct_a: the micro-kernel reads op(A) in place through its strides instead of a packed
// copy (small GEMMs, where packing A costs more than it saves; see use_direct_a).
// ep: applied by the micro-kernel on the last KC block (bias and out relative to C(0, 0)).
// prefetch: rows the caller reads next, asked for between micro-kernel calls (PrefetchPacer).
template <class T, char kShared = '-'>
void gemm_serial(const Blocking& bk, Kernels<T> kn, int64_t m, int64_t n, int64_t k,
                 T alpha, const T* a, int64_t a_rs, int64_t a_cs, const T* b, int64_t b_rs,
                 int64_t b_cs, T beta, T* c, int64_t ldc, const Epilogue<T>* ep,
                 bool direct_a = false, const T* shared = nullptr, bool direct_b = false,
                 const RowPrefetch* prefetch = nullptr) {
  const int64_t MR = bk.mr, NR = bk.nr, MC = bk.mc, KC = bk.kc, NC = bk.nc;
  PrefetchPacer pacer(prefetch, m, n, k, MR, NR, KC);
  T* a_packed = nullptr;
  T* b_packed = nullptr;
  if (kShared != 'a' && !direct_a)
    a_packed = t_pack_a.get<T>(round_up(std::min(m, MC), MR) * std::min(k, KC));
  if (kShared != 'b' && !direct_b)
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
      // The B panel as the micro-kernel reads it: packed micro-panels (one every NR * kc_cur
      // elements, b_step 0) or B itself (b_cs 1: one every NR columns, rows b_rs apart).
      const T* b_panel = b_packed;
      int64_t b_step = 0, b_panel_stride = NR * kc_cur;
      if (direct_b)
        b_panel = b + pc * b_rs + jc, b_step = b_rs, b_panel_stride = NR;
      else if constexpr (kShared == 'b')
        b_panel = shared + pc * round_up(n, NR) + jc * kc_cur;
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
        } else if constexpr (kShared == 'a') {
          a_block = shared + pc * round_up(m, MR) + ic * kc_cur;
        } else {
          pack_a_panel(MR, mc_cur, kc_cur, a + ic * a_rs + pc * a_cs, a_rs, a_cs, a_packed,
                       kn.pack_t);
        }
        // Loop over the NR-wide micro-panels of the B panel.
        for (int64_t jr = 0; jr < nc_cur; jr += NR) {
          const int64_t nr_cur = std::min(NR, nc_cur - jr);
          const T* b_micro = b_panel + jr / NR * b_panel_stride;
          if (pack_each)
            pack_b_panel(NR, kc_cur, nr_cur, b + pc * b_rs + (jc + jr) * b_cs, b_rs, b_cs,
                         b_packed, kn.pack_t), b_micro = b_packed;
          // Loop over the MR-tall micro-panels of the A block.
          for (int64_t ir = 0; ir < mc_cur; ir += MR) {
            const int64_t mr_cur = std::min(MR, mc_cur - ir);
            const int64_t row = ic + ir, col = jc + jr;
            T* c_tile = c + row * ldc + col;
            Epilogue<T> ep_tile;
            if (ep && last_pc) ep_tile = epilogue_at(*ep, row, col, ldc);
            kn.ukernel(kc_cur, alpha, a_block + ir / MR * panel, rs, cs, b_micro, b_step,
                       beta_cur, c_tile, ldc, mr_cur, nr_cur, ep && last_pc ? &ep_tile : nullptr);
            // An activation the kernel cannot do in registers, on the tile it just wrote.
            if (ep && last_pc && ep->tile_fn)
              ep->tile_fn(ep->ctx, c_tile, ep_tile.out, ldc, mr_cur, nr_cur);
            pacer.after_call();
          }
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

template <class T>
bool use_direct_b(const Blocking& bk, int64_t m, int64_t n, int64_t k, int64_t b_rs,
                  int64_t b_cs) {
  if (b_cs != 1 || b_rs == 0) return false;
  if (n <= bk.nr) return bk.masked_b;
  return m <= kDirectBMaxRowTiles * bk.mr || n * k <= kDirectBMaxBytes / int64_t(sizeof(T));
}

}  // namespace

template <class T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha,
          const T* a, int64_t a_rs, int64_t a_cs,
          const T* b, int64_t b_rs, int64_t b_cs,
          T beta, T* c, int64_t ldc, const Epilogue<T>* ep, const RowPrefetch* prefetch) {
  // Read the active kernels once: this call uses one set even if set_isa runs meanwhile, and
  // a bad FASTMLP_ISA raises here, before any argument check or quick return.
  const isa::Active& active = isa::active();
  Blocking tile_bk;
  Kernels<T> kn;
  if constexpr (std::is_same_v<T, float>) {
    tile_bk = active.s, kn = {active.isa->sgemm, active.isa->spack_t};
  } else {
    tile_bk = active.d, kn = {active.isa->dgemm, active.isa->dpack_t};
    // A few columns more than the tile's (a 10-class output layer): the ISA's wider tile, one
    // micro-panel for all of them.
    if (active.isa->dgemm_n12 && n > tile_bk.nr && n <= active.d_n12.nr)
      tile_bk = active.d_n12, kn.ukernel = active.isa->dgemm_n12;
  }
  const Blocking bk = balanced_kc(tile_bk, k);
  if (m < 0 || n < 0 || k < 0) throw std::invalid_argument("gemm: negative dimension");
  if (ldc < n) throw std::invalid_argument("gemm: ldc < n");
  checked_mul(m, ldc, "gemm: m * ldc");
  checked_mul(m, k, "gemm: m * k");
  checked_mul(k, n, "gemm: k * n");
  if (m == 0 || n == 0) return;
  if (k == 0) {
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
  const bool direct_b = use_direct_b<T>(bk, m, n, k, b_rs, b_cs);

  const int64_t min_macs = parallel_min_macs_.load(std::memory_order_relaxed);
  const bool small = m * n < min_macs / k + (min_macs % k != 0);  // m*n*k < min_macs, no overflow
  // The thread count is asked only when the GEMM is big enough to split.
  const int n_threads = small ? 1 : parallel::get_num_threads();
  if (n_threads == 1) {
    gemm_serial<T>(bk, kn, m, n, k, alpha, a, a_rs, a_cs, b, b_rs, b_cs, beta, c, ldc, ep,
                direct_a, nullptr, direct_b, prefetch);
    return;
  }
  const int64_t wake_macs = min_macs > INT64_MAX / kWakeFactor ? INT64_MAX : min_macs * kWakeFactor;
  const bool wake = m * n >= wake_macs / k + (wake_macs % k != 0);  // m*n*k >= wake_macs
  // Split M or N into contiguous chunks of whole MR (NR) tiles. Each task runs the full loop
  // nest on its rows (or columns) of C, so no two tasks write the same element and each
  // element's k-sum is computed identically whatever the split. The operand all tasks read
  // (B when splitting M, A when splitting N) is packed once, by all threads together
  // (SharedPack); each task packs its own slice of the other (or reads A in place). Split the
  // larger of m and n, falling back to the other if it has too few tiles.
  const int64_t m_units = (m + bk.mr - 1) / bk.mr, n_units = (n + bk.nr - 1) / bk.nr;
  const bool split_m = m >= n ? m_units >= n_threads || m_units >= n_units
                              : !(n_units >= n_threads || n_units >= m_units);
  const int64_t units = split_m ? m_units : n_units, step = split_m ? bk.mr : bk.nr;
  // Two tasks per thread, claimed dynamically: a worker the OS wakes late (or a core another
  // process shares) leaves its second task to the others instead of making them wait.
  const int64_t n_tasks = std::min<int64_t>(2 * int64_t(n_threads), units);
  if (n_tasks <= 1) {
    gemm_serial<T>(bk, kn, m, n, k, alpha, a, a_rs, a_cs, b, b_rs, b_cs, beta, c, ldc, ep,
                direct_a, nullptr, direct_b, prefetch);
    return;
  }
  const int64_t per_task = (units + n_tasks - 1) / n_tasks * step;
  const int64_t shared_elems = split_m ? round_up(n, bk.nr) * k : round_up(m, bk.mr) * k;
  T* shared = nullptr;  // none when every task reads a small B in place
  if (!(split_m && direct_b) && shared_elems * int64_t(sizeof(T)) <= kMaxSharedPackBytes)
    shared = t_pack_shared.get<T>(shared_elems);
  SharedPack<T> pack(!split_m, split_m ? n : m, split_m ? bk.nr : bk.mr, bk.kc, k,
                     split_m ? b : a, split_m ? b_rs : a_rs, split_m ? b_cs : a_cs, shared,
                     kn.pack_t);
  parallel::parallel_for(n_tasks, [&](int64_t t) {
    const int64_t lo = t * per_task;
    const RowPrefetch* pf = t == 0 ? prefetch : nullptr;  // one task asks for all the rows
    if (shared) pack.ensure_packed();
    if (split_m) {
      if (lo >= m) return;
      const int64_t rows = std::min(per_task, m - lo);
      Epilogue<T> at;
      if (ep) at = epilogue_at(*ep, lo, 0, ldc);
      const Epilogue<T>* ep_task = ep ? &at : nullptr;
      if (shared)
        gemm_serial<T, 'b'>(bk, kn, rows, n, k, alpha, a + lo * a_rs, a_rs, a_cs, b, b_rs,
                            b_cs, beta, c + lo * ldc, ldc, ep_task, direct_a, shared, false, pf);
      else
        gemm_serial<T>(bk, kn, rows, n, k, alpha, a + lo * a_rs, a_rs, a_cs, b, b_rs, b_cs,
                    beta, c + lo * ldc, ldc, ep_task, direct_a, nullptr, direct_b, pf);
    } else {
      if (lo >= n) return;
      const int64_t cols = std::min(per_task, n - lo);
      Epilogue<T> at;
      if (ep) at = epilogue_at(*ep, 0, lo, ldc);
      const Epilogue<T>* ep_task = ep ? &at : nullptr;
      if (shared)
        gemm_serial<T, 'a'>(bk, kn, m, cols, k, alpha, a, a_rs, a_cs, b + lo * b_cs, b_rs,
                            b_cs, beta, c + lo, ldc, ep_task, false, shared, direct_b, pf);
      else
        gemm_serial<T>(bk, kn, m, cols, k, alpha, a, a_rs, a_cs, b + lo * b_cs, b_rs, b_cs,
                    beta, c + lo, ldc, ep_task, direct_a, nullptr, direct_b, pf);
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
                          const Epilogue<float>*, const RowPrefetch*);
template void gemm<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*,
                           int64_t, int64_t, const double*, int64_t, int64_t, double, double*,
                           int64_t, const Epilogue<double>*, const RowPrefetch*);

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
