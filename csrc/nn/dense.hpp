// One dense layer, forward and backward; mirrors backends/numpy.py (dense_forward/_backward).
//
// Legend: batch rows; x input (batch, n_in); w weight (n_in, n_out); b bias (n_out,);
// z = x @ w + b the pre-activation; a = activation(z); grad_<name> = dLoss/d<name>.
// x and w may have any strides (Matrix); every other array is C-contiguous.
#pragma once

#include <cstdint>

#include "nn/activations.hpp"
#include "nn/matrix.hpp"

namespace fastmlp::nn {

// x is (batch, n_in), w is (n_in, n_out), b is (n_out,); writes z and a, both (batch, n_out).
// a may equal z only when act is identity (the training loop's output layer).
template <class T>
void dense_forward(Matrix<const T> x, Matrix<const T> w, const T* b, Activation act, T* z, T* a);

// Forward was z = x @ w + b, a = act(z). Given grad_a (batch, n_out):
//   grad_z = act'(z) * grad_a        (batch, n_out)  written to grad_z, which may equal grad_a
//   grad_w = x^T @ grad_z            (n_in, n_out)
//   grad_b = sum over rows of grad_z (n_out,)
//   grad_x = grad_z @ w^T            (batch, n_in)   skipped when grad_x is null (first layer)
// The transposes are strides handed to gemm, never copies.
// below, z_below: the layer below's activation and z. When fuses_into_grad_x(below), grad_x
// leaves as that layer's grad_z, act_below'(z_below) * (grad_z @ w^T), its derivative applied
// in the GEMM's epilogue (the bits of activation_backward's pass); the caller then backprops the
// layer below with identity. Otherwise grad_x is grad_z @ w^T.
template <class T>
void dense_backward(Matrix<const T> x, Matrix<const T> w, const T* z, const T* a,
                    const T* grad_a, Activation act, T* grad_z, T* grad_x, T* grad_w, T* grad_b,
                    Activation below = Activation::identity, const T* z_below = nullptr);

// The activations whose derivative the GEMM's epilogue applies (relu and leaky_relu).
inline bool fuses_into_grad_x(Activation act) {
  return act == Activation::relu || act == Activation::leaky_relu;
}

}  // namespace fastmlp::nn
