// The BLIS five-loop GEMM (jc -> pc -> ic -> jr -> ir) around a packed register-tile kernel.
//
// Reference: BLIS sandbox/gemmlike (bls_gemm_bp_var1.c). The loop code holds no intrinsics
// and is compiled with baseline flags: it packs (pack.hpp) and hands the packed micro-panels
// to the active KernelSet's micro-kernel, with that set's Blocking (dispatch.hpp).
#include "gemm/gemm.hpp"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <new>
#include <stdexcept>
#include <type_traits>

#include "gemm/blocking.hpp"
#include "gemm/dispatch.hpp"
#include "gemm/pack.hpp"
#include "gemm/ukernel.hpp"
#include "parallel/thread_pool.hpp"

namespace fastmlp::gemm {
namespace {

// Below this many multiply-adds, waking the pool costs more than it saves. Measured with
// bench/run.sh on this 2-core VM (AVX-512 kernels): a condition-variable wake costs ~40 us, so
// 64^3 (2^18 macs) took 50 us on 2 threads vs 7.6 us on 1, 128^3 34 vs 25 us, while 256^3
// (2^24) gained (135 vs 155 us). 2^23 keeps every measured loss serial. Tests lower it with
// set_parallel_min_macs to push small, edge-heavy shapes through the threaded split.
std::atomic<int64_t> parallel_min_macs_{int64_t(1) << 23};

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

// One thread's share: the whole loop nest over op(A) rows [0, m) and op(B) columns [0, n).
// op(A)(i, p) = a[i * a_rs + p * a_cs], op(B)(p, j) = b[p * b_rs + j * b_cs].
template <class T>
void gemm_serial(const Blocking& bk, Ukernel<T> ukernel, int64_t m, int64_t n, int64_t k,
                 T alpha, const T* a, int64_t a_rs, int64_t a_cs, const T* b, int64_t b_rs,
                 int64_t b_cs, T beta, T* c, int64_t ldc) {
  const int64_t MR = bk.mr, NR = bk.nr, MC = bk.mc, KC = bk.kc, NC = bk.nc;
  T* a_packed = t_pack_a.get<T>(round_up(std::min(m, MC), MR) * std::min(k, KC));
  T* b_packed = t_pack_b.get<T>(round_up(std::min(n, NC), NR) * std::min(k, KC));

  // Loop over the n dimension (NC columns at a time).
  for (int64_t jc = 0; jc < n; jc += NC) {
    const int64_t nc_cur = std::min(NC, n - jc);
    // Loop over the k dimension (KC at a time); later blocks accumulate onto the first.
    for (int64_t pc = 0; pc < k; pc += KC) {
      const int64_t kc_cur = std::min(KC, k - pc);
      const T beta_cur = pc == 0 ? beta : T(1);
      pack_b_panel(NR, kc_cur, nc_cur, b + pc * b_rs + jc * b_cs, b_rs, b_cs, b_packed);
      // Loop over the m dimension (MC rows at a time).
      for (int64_t ic = 0; ic < m; ic += MC) {
        const int64_t mc_cur = std::min(MC, m - ic);
        pack_a_panel(MR, mc_cur, kc_cur, a + ic * a_rs + pc * a_cs, a_rs, a_cs, a_packed);
        // Loop over the NR-wide micro-panels of the B panel.
        for (int64_t jr = 0; jr < nc_cur; jr += NR) {
          const int64_t nr_cur = std::min(NR, nc_cur - jr);
          // Loop over the MR-tall micro-panels of the A block.
          for (int64_t ir = 0; ir < mc_cur; ir += MR) {
            const int64_t mr_cur = std::min(MR, mc_cur - ir);
            ukernel(kc_cur, alpha, a_packed + ir * kc_cur, b_packed + jr * kc_cur, beta_cur,
                    c + (ic + ir) * ldc + jc + jr, ldc, mr_cur, nr_cur);
          }
        }
      }
    }
  }
}

int64_t checked_mul(int64_t x, int64_t y, const char* what) {
  int64_t r;
  if (__builtin_mul_overflow(x, y, &r)) throw std::overflow_error(std::string(what) + " overflows");
  return r;
}

}  // namespace

template <class T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha,
          const T* a, int64_t a_rs, int64_t a_cs,
          const T* b, int64_t b_rs, int64_t b_cs,
          T beta, T* c, int64_t ldc) {
  // Read the active kernels once: this call uses one set even if set_isa runs meanwhile, and
  // a bad FASTMLP_ISA raises here, before any argument check or quick return.
  const KernelSet& ks = active_kernels();
  const Blocking& bk = std::is_same_v<T, float> ? ks.s : ks.d;
  Ukernel<T> ukernel;
  if constexpr (std::is_same_v<T, float>)
    ukernel = ks.sgemm;
  else
    ukernel = ks.dgemm;
  if (m < 0 || n < 0 || k < 0) throw std::invalid_argument("gemm: negative dimension");
  if (ldc < n) throw std::invalid_argument("gemm: ldc < n");
  checked_mul(m, ldc, "gemm: m * ldc");
  checked_mul(m, k, "gemm: m * k");
  checked_mul(k, n, "gemm: k * n");
  if (m == 0 || n == 0) return;
  if (k == 0) {  // BLAS quick return: C := beta * C, and beta == 0 never reads C
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = beta == T(0) ? T(0) : beta * c[i * ldc + j];
    return;
  }
  // Fold the transposes into the strides: op(A)(i, p) = A(p, i) swaps A's strides.
  if (trans_a) std::swap(a_rs, a_cs);
  if (trans_b) std::swap(b_rs, b_cs);

  const int n_threads = parallel::get_num_threads();
  const int64_t min_macs = parallel_min_macs_.load(std::memory_order_relaxed);
  const bool small = m * n < min_macs / k + (min_macs % k != 0);  // m*n*k < min_macs, no overflow
  if (n_threads == 1 || small) {
    gemm_serial(bk, ukernel, m, n, k, alpha, a, a_rs, a_cs, b, b_rs, b_cs, beta, c, ldc);
    return;
  }
  // Split M or N into contiguous chunks, one per task. Each task runs the full loop nest on its
  // rows (or columns) of C, so no two tasks write the same element and each element's k-sum is
  // computed identically whatever the split. Every task packs all of the operand it shares
  // (B when splitting M, A when splitting N), so split the larger of m and n: the shared
  // operand is then the smaller one. Fall back to the other dimension if it has too few tiles.
  const int64_t m_units = (m + bk.mr - 1) / bk.mr, n_units = (n + bk.nr - 1) / bk.nr;
  const bool split_m = m >= n ? m_units >= n_threads || m_units >= n_units
                              : !(n_units >= n_threads || n_units >= m_units);
  const int64_t units = split_m ? m_units : n_units, step = split_m ? bk.mr : bk.nr;
  const int64_t n_tasks = std::min<int64_t>(n_threads, units);
  const int64_t per_task = (units + n_tasks - 1) / n_tasks * step;
  parallel::parallel_for(n_tasks, [&](int64_t t) {
    const int64_t lo = t * per_task;
    if (split_m) {
      if (lo >= m) return;
      gemm_serial(bk, ukernel, std::min(per_task, m - lo), n, k, alpha, a + lo * a_rs, a_rs,
                  a_cs, b, b_rs, b_cs, beta, c + lo * ldc, ldc);
    } else {
      if (lo >= n) return;
      gemm_serial(bk, ukernel, m, std::min(per_task, n - lo), k, alpha, a, a_rs, a_cs,
                  b + lo * b_cs, b_rs, b_cs, beta, c + lo, ldc);
    }
  });
}

int64_t parallel_min_macs() { return parallel_min_macs_.load(); }

void set_parallel_min_macs(int64_t macs) {
  if (macs < 0) throw std::invalid_argument("parallel_min_macs must be >= 0");
  parallel_min_macs_.store(macs);
}

template void gemm<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t,
                          int64_t, const float*, int64_t, int64_t, float, float*, int64_t);
template void gemm<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*,
                           int64_t, int64_t, const double*, int64_t, int64_t, double, double*,
                           int64_t);

std::string build_info() {
  int count = 0;
  const KernelSet* sets = kernel_sets(&count);
  std::string kernels;
  for (int i = 0; i < count; ++i) {
    const KernelSet& ks = sets[i];
    kernels += std::string(i ? ", " : "") + ks.name + " (s " + std::to_string(ks.s.mr) + "x" +
               std::to_string(ks.s.nr) + ", d " + std::to_string(ks.d.mr) + "x" +
               std::to_string(ks.d.nr) + ")";
  }
  return "gemm: micro-kernels " + kernels + ", chosen at runtime (FASTMLP_ISA overrides)" +
         "; compiler: " FASTMLP_CXX_COMPILER "; flags: " FASTMLP_CXX_FLAGS;
}

}  // namespace fastmlp::gemm
