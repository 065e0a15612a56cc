// Dense layers of small networks as straight loops, without gemm(): the training loop's path
// for each layer that is narrow at a small batch (small_dense_fits).
//
// For a tiny network (2-16-1 at batch 4) the gemm() calls' fixed costs (entry, checks, thread
// and packing decisions, masked edge tiles) exceed their few hundred multiply-adds. These loops compute the same
// numbers as dense_forward / dense_backward bit for bit: every output element is the k-sum in
// k order from +0, each term added with one rounding (FMA) or two (multiply, then add), as the
// active GEMM micro-kernel does (small_dense_madd probes which), then + bias as a separate
// rounding; the activations, act' and the bias sums are the same functions in the same order.
// So a network trains to the same bits whichever path a step takes.
#pragma once

#include <cstdint>

#include "nn/activations.hpp"
#include "nn/matrix.hpp"

namespace fastmlp::nn {

// Largest layer width and batch the small path takes (they size its stack arrays), and the
// most multiply-adds (batch * n_in * n_out) per layer. The loops run a few k-sums at a time,
// each a chain of dependent adds, while the GEMM's register tiles run dozens: past about 1024
// multiply-adds a layer, the GEMM wins (docs/tuning.md, "Small networks").
constexpr int64_t kSmallMaxWidth = 32;
constexpr int64_t kSmallMaxBatch = 64;
constexpr int64_t kSmallMaxMacs = 1024;

// How the active GEMM micro-kernel adds a product to its accumulator: rounded once (FMA:
// avx2, avx512) or twice (generic). `unknown` is kept for callers that have not asked yet.
enum class Madd : int { unknown, separate, fused };

// The active isa table entry's answer (isa/isa.hpp: fused_madd). Asked once per step or
// epoch, so FASTMLP_ISA / set_isa between calls are followed.
template <class T>
Madd small_dense_madd();

// False when the environment variable FASTMLP_SMALL_PATH is "0" (read at each call): every
// layer then goes through gemm(), so tests can compare the two paths bit for bit.
bool small_dense_enabled();

// Whether a layer (n_in, n_out) at `batch` rows is small enough for the loops.
inline bool small_dense_fits(int64_t batch, int64_t n_in, int64_t n_out) {
  return batch <= kSmallMaxBatch && n_in <= kSmallMaxWidth && n_out <= kSmallMaxWidth &&
         batch * n_in * n_out <= kSmallMaxMacs;
}

// dense_forward for a small layer (small_dense_fits): x (batch, n_in) any strides, w (n_in,
// n_out) and b (n_out,) C-contiguous; writes z and a (a may equal z for identity). madd must
// be small_dense_madd<T>()'s answer, not unknown.
template <class T>
void small_dense_forward(Madd madd, Matrix<const T> x, const T* w, const T* b, int64_t n_out,
                         Activation act, T* z, T* a);

// dense_backward for a small layer, same arguments as there (w C-contiguous (n_in, n_out));
// grad_z may equal grad_a; grad_x null skips it (first layer).
template <class T>
void small_dense_backward(Madd madd, Matrix<const T> x, const T* w, int64_t n_out, const T* z,
                          const T* a, const T* grad_a, Activation act, T* grad_z, T* grad_x,
                          T* grad_w, T* grad_b);

}  // namespace fastmlp::nn
