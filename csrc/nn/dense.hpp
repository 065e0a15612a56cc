// One dense layer, forward and backward; mirrors backends/numpy.py (dense_forward/_backward).
//
// Legend: batch rows; x input (batch, n_in); w weight (n_in, n_out); b bias (n_out,);
// z = x @ w + b the pre-activation; a = activation(z); grad_<name> = dLoss/d<name>.
// x and w may have any strides (Matrix); every other array is C-contiguous.
#pragma once

#include <cstdint>

#include "gemm/gemm.hpp"  // RowPrefetch
#include "nn/activations.hpp"
#include "nn/matrix.hpp"

namespace fastmlp::nn {

// x is (batch, n_in), w is (n_in, n_out), b is (n_out,); writes z and a, both (batch, n_out).
// a may equal z only when act is identity (the training loop's output layer) or relu (its hidden
// relu layers: the buffer then holds a only, and dense_backward, given it as z, reads relu's
// derivative off a's sign, which is z's: a > 0 exactly when z > 0).
// kept_w: w kept packed across training steps (gemm::KeptPack), read there instead of packed.
template <class T>
void dense_forward(Matrix<const T> x, Matrix<const T> w, const T* b, Activation act, T* z, T* a,
                   gemm::KeptPack<T>* kept_w = nullptr);

// Forward was z = x @ w + b, a = act(z). Given grad_a (batch, n_out):
//   grad_z = act'(z) * grad_a        (batch, n_out)  written to grad_z, which may equal grad_a
//   grad_w = x^T @ grad_z            (n_in, n_out)
//   grad_b = sum over rows of grad_z (n_out,)
//   grad_x = grad_z @ w^T            (batch, n_in)   skipped when grad_x is null (first layer)
// The transposes are strides handed to gemm, never copies.
// sgd_w (the training step's plain SGD, when dense_sgd_fuses): grad_w is not written; instead
// sgd_w := sgd_w - sgd_lr * grad_w in the GEMM's store, the bits of sgd_step on grad_w (one
// rounding of lr * g, one of the subtraction), after grad_x has read w (sgd_w is w's memory).
// kept_w (with sgd_w, no grad_x): the fused update reads and writes w in its kept packed layout
// instead of the array (gemm::KeptPack), where the next dense_forward reads it as it is.
// prefetch: rows the caller reads next, asked for during the dW product (gemm::RowPrefetch).
template <class T>
void dense_backward(Matrix<const T> x, Matrix<const T> w, const T* z, const T* a,
                    const T* grad_a, Activation act, T* grad_z, T* grad_x, T* grad_w, T* grad_b,
                    T* sgd_w = nullptr, T sgd_lr = T(0),
                    const gemm::RowPrefetch* prefetch = nullptr,
                    gemm::KeptPack<T>* kept_w = nullptr);

// Whether dense_backward can fuse a plain SGD update for a batch of `rows`: the dW product sums
// them in one k block (gemm::single_k_block), so its store rounds as sgd_step does.
template <class T>
bool dense_sgd_fuses(int64_t rows);

}  // namespace fastmlp::nn
