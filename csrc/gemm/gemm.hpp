// General matrix multiply on strided operands:  C := alpha * op(A) * op(B) + beta * C
//
// m, n, k: op(A) is (m, k), op(B) is (k, n), C is (m, n) row-major with leading dimension ldc.
// A as stored has element (r, c) at a[r * a_rs + c * a_cs] (strides in elements, any sign,
// zero allowed); op(A) is A, or A transposed when trans_a; likewise B. So C- and F-ordered
// arrays, transposes and NumPy slices all arrive without a copy; packing absorbs the strides.
// beta == 0: C is never read. k == 0: C := beta * C (0 when beta == 0). m or n == 0: no-op.
// ep (ukernel.hpp): after the full k-sum of each tile, C := C + bias and ep->out := act(C),
// fused into the micro-kernel's stores (dense_forward's bias and activation).
// Work is split over blocks of M or N, never K, so the result is bitwise the same for any
// thread count.
#pragma once

#include <cstdint>
#include <string>

#include "gemm/ukernel.hpp"  // Epilogue

namespace fastmlp::gemm {

// Rows of memory the caller reads next (the next batch or block of a data set, scattered or
// cold), which a GEMM asks the memory system for a few at a time between its micro-kernel
// calls: their latency then hides behind its arithmetic instead of stalling the caller's copy
// or product. Row r (r < count) is `bytes` contiguous bytes at base + index * stride, index
// rows[r] (or r when rows is null). A hint only: nothing is read or written through it.
struct RowPrefetch {
  const char* base;
  const int64_t* rows;
  int64_t count, stride, bytes;
};

// A weight matrix w (k x n, row-major, leading dimension w_ld) kept packed from one GEMM to
// the next: the first layer's w in a plain SGD epoch, which each step's forward reads as op(B)
// and the fused SGD dW product then updates as C (beta 1). The first forward packs w into
// `data`, in the layout a threaded split shares (SharedPack, shared_pack.hpp); from then on
// the dW product reads and writes C there (`w_stale`: the array lags behind data) and the
// forwards read it, so w is never packed again, nor written, until kept_unpack copies it back.
// `valid`: data holds the current w in the layout recorded in nr, kc, k, n.
// Whoever else reads or writes w during that time calls kept_unpack first.
template <class T>
struct KeptPack {
  T* data = nullptr;
  int64_t capacity = 0;  // elements of data
  T* w = nullptr;
  int64_t w_ld = 0;
  bool valid = false, w_stale = false;
  int64_t nr = 0, kc = 0, k = 0, n = 0;
};

// Elements a KeptPack needs for a (k x n) w under the active ISA's kernels (capacity); a GEMM
// whose layout needs more (FASTMLP_ISA changed meanwhile) packs as usual instead.
template <class T>
int64_t kept_pack_size(int64_t k, int64_t n);

// Brings kept.w up to date (when w_stale) and lets go of data: valid = false.
template <class T>
void kept_unpack(KeptPack<T>& kept);

// kept_b: op(B) is kept_b->w, read from kept_b->data (packed there first unless it holds it;
// a GEMM that reads B in place instead unpacks). kept_c: C is kept_c->w, with beta 1 and no
// epilogue: while kept_c->data holds it in the layout of op(B) for k = m, C is read and
// written there (c is then not touched); otherwise kept_c is unpacked and c used.
template <class T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha,
          const T* a, int64_t a_rs, int64_t a_cs,
          const T* b, int64_t b_rs, int64_t b_cs,
          T beta, T* c, int64_t ldc, const Epilogue<T>* ep = nullptr,
          const RowPrefetch* prefetch = nullptr, KeptPack<T>* kept_b = nullptr,
          KeptPack<T>* kept_c = nullptr);

// Whether gemm<T> sums k in one block (k <= the active blocking's KC): then
// C := beta * C + alpha * acc rounds once per element after the whole k-sum, as
// C := beta * C + alpha * (A @ B) computed first would (the fused SGD update relies on it).
template <class T>
bool single_k_block(int64_t k);

// Multiply-adds (m*n*k) below which a GEMM runs on the calling thread alone. From there on it
// also uses pool workers that are awake (spinning after a recent job) or that a stream of
// GEMMs keeps awake; an isolated call wakes sleeping workers only from 16x this size on
// (gemm.cpp). Default 2^19, calibrated by bench/calibrate_threshold.py (docs/tuning.md has the
// run; recalibrate on other machines). A process-wide knob for tests (0: split and wake
// always) and benchmarks.
int64_t parallel_min_macs();
void set_parallel_min_macs(int64_t macs);

// Which kernels this build uses and how it was compiled (for fastmlp.info()).
std::string build_info();

}  // namespace fastmlp::gemm
