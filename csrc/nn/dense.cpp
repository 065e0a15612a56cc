// Dense layer kernels: a strided GEMM whose micro-kernel also adds the bias and applies the
// activation (forward), and one cache-sized pass for act' and the bias gradient (backward).
#include "nn/dense.hpp"

#include <algorithm>

#include "gemm/gemm.hpp"
#include "parallel/thread_pool.hpp"

namespace fastmlp::nn {
namespace {

// An activation the micro-kernel cannot apply in registers (sigmoid, tanh, gelu), run on each
// C tile right after the kernel stored it, row by row (activation_forward wants contiguous
// rows; a tile row is). One row of at most NR values is far below activation_forward's
// parallel threshold, so this never re-enters the thread pool.
template <class T>
void tile_activation(void* ctx, const T* z, T* a, int64_t ld, int64_t rows, int64_t cols) {
  const Activation act = *static_cast<const Activation*>(ctx);
  for (int64_t i = 0; i < rows; ++i) activation_forward(act, z + i * ld, a + i * ld, 1, cols);
}

// sums[j] += rows[i][j] for i in order, four rows per pass over sums: each sum gets the same
// additions in the same order as one row at a time, with a quarter of the loads and stores of
// sums (one row at a time, they cost more than the additions).
template <class T>
void add_rows(const T* __restrict x, int64_t rows, int64_t n, T* __restrict sums) {
  int64_t i = 0;
  for (; i + 4 <= rows; i += 4) {
    const T *r0 = x + i * n, *r1 = r0 + n, *r2 = r1 + n, *r3 = r2 + n;
    for (int64_t j = 0; j < n; ++j) sums[j] = (((sums[j] + r0[j]) + r1[j]) + r2[j]) + r3[j];
  }
  for (; i < rows; ++i)
    for (int64_t j = 0; j < n; ++j) sums[j] = sums[j] + x[i * n + j];
}

}  // namespace

template <class T>
void dense_forward(Matrix<const T> x, Matrix<const T> w, const T* b, Activation act, T* z, T* a,
                   gemm::KeptPack<T>* kept_w) {
  const int64_t batch = x.rows, n_in = x.cols, n_out = w.cols;
  // z = x @ w + b, a = act(z), in the GEMM's epilogue while each tile is in registers (or,
  // for the activations with exp/tanh/erf, in L1 right after it was stored). Rounding matches
  // NumPy's (x @ w) + b exactly: the bias is added after the full k-sum. Softmax needs whole
  // rows, so it runs after the GEMM.
  gemm::Epilogue<T> ep{};
  ep.bias = b;
  // a == z (identity, relu): one array, which receives a. The micro-kernel's relu stores a to C
  // and z to out (ukernel.hpp), so its C is a.
  const bool in_place = a == z;
  T* c = z;
  switch (act) {
    case Activation::identity: ep.out = in_place ? nullptr : a; break;
    case Activation::relu: ep.act = gemm::RegAct::relu, ep.out = in_place ? nullptr : z, c = a; break;
    case Activation::leaky_relu:
      ep.act = gemm::RegAct::leaky_relu, ep.out = a, ep.slope = T(kLeakyReluSlope);
      break;
    case Activation::softmax: break;  // z only; below
    default:  // sigmoid, tanh, gelu
      ep.out = a, ep.tile_fn = &tile_activation<T>, ep.ctx = &act;
  }
  // beta 0: z is write-only, its old contents never leak
  gemm::gemm<T>(false, false, batch, n_out, n_in, T(1), x.data, x.rs, x.cs, w.data, w.rs, w.cs,
                T(0), c, n_out, &ep, nullptr, kept_w);
  if (act == Activation::softmax) activation_forward(act, z, a, batch, n_out);
}

template <class T>
void dense_backward(Matrix<const T> x, Matrix<const T> w, const T* z, const T* a,
                    const T* grad_a, Activation act, T* grad_z, T* grad_x, T* grad_w, T* grad_b,
                    T* sgd_w, T sgd_lr, const gemm::RowPrefetch* prefetch,
                    gemm::KeptPack<T>* kept_w) {
  const int64_t batch = x.rows, n_in = x.cols, n_out = w.cols;
  // a = act(z) -> grad_z = grad_a * act'(z), and z = ... + b -> grad_b = column sums of
  // grad_z, row after row like NumPy's sum(axis=0): one pass over blocks of rows small enough
  // (~32 KiB of float32) that the sums read grad_z from L1 right after it was written.
  // Serial, so grad_b's order (and bits) do not depend on the thread count.
  std::fill(grad_b, grad_b + n_out, T(0));
  const int64_t block = std::max<int64_t>(1, 8192 / std::max<int64_t>(n_out, 1));
  for (int64_t lo = 0; lo < batch; lo += block) {
    const int64_t rows = std::min(block, batch - lo), off = lo * n_out;
    activation_backward(act, z + off, a + off, grad_a + off, grad_z + off, rows, n_out);
    add_rows(grad_z + off, rows, n_out, grad_b);
  }
  if (grad_x && kept_w) gemm::kept_unpack(*kept_w);  // the dX product reads the array
  // z = x @ w  ->  grad_x = grad_z @ w^T: w's strides swapped by trans_b
  if (grad_x)
    gemm::gemm<T>(false, true, batch, n_in, n_out, T(1), grad_z, n_out, 1, w.data, w.rs, w.cs,
                  T(0), grad_x, n_in);
  // z = x @ w  ->  grad_w = x^T @ grad_z: x's strides swapped by trans_a; or, fused, w's update
  // w + (-lr) * grad_w, with grad_x above done reading w
  if (sgd_w)
    gemm::gemm<T>(true, false, n_in, n_out, batch, -sgd_lr, x.data, x.rs, x.cs, grad_z, n_out, 1,
                  T(1), sgd_w, n_out, nullptr, prefetch, nullptr, kept_w);
  else
    gemm::gemm<T>(true, false, n_in, n_out, batch, T(1), x.data, x.rs, x.cs, grad_z, n_out, 1,
                  T(0), grad_w, n_out, nullptr, prefetch);
}

template <class T>
bool dense_sgd_fuses(int64_t rows) {
  return gemm::single_k_block<T>(rows);
}

template void dense_forward<float>(Matrix<const float>, Matrix<const float>, const float*,
                                   Activation, float*, float*, gemm::KeptPack<float>*);
template void dense_forward<double>(Matrix<const double>, Matrix<const double>, const double*,
                                    Activation, double*, double*, gemm::KeptPack<double>*);
template void dense_backward<float>(Matrix<const float>, Matrix<const float>, const float*,
                                    const float*, const float*, Activation, float*, float*,
                                    float*, float*, float*, float, const gemm::RowPrefetch*,
                                    gemm::KeptPack<float>*);
template void dense_backward<double>(Matrix<const double>, Matrix<const double>, const double*,
                                     const double*, const double*, Activation, double*, double*,
                                     double*, double*, double*, double,
                                     const gemm::RowPrefetch*, gemm::KeptPack<double>*);
template bool dense_sgd_fuses<float>(int64_t);
template bool dense_sgd_fuses<double>(int64_t);

}  // namespace fastmlp::nn
