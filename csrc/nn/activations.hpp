// Activations, forward and backward; mirrors backends/numpy.py (activation_forward/_backward).
//
// Legend: batch rows, n columns; z the pre-activation, a = f(z), grad_a = dLoss/da,
// grad_z = dLoss/dz. Every array is C-contiguous (batch, n).
#pragma once

#include <cstdint>

namespace fastmlp::nn {

// Same order as fastmlp.names.ACTIVATIONS; Python passes the index.
enum class Activation : int { identity, relu, leaky_relu, sigmoid, tanh, gelu, softmax };
constexpr int kNumActivations = 7;
constexpr const char* kActivationNames[kNumActivations] = {
    "identity", "relu", "leaky_relu", "sigmoid", "tanh", "gelu", "softmax"};

constexpr double kLeakyReluSlope = 0.01;  // PyTorch's default negative_slope

// z is (batch, n), a is (batch, n). a may equal z (in place).
template <class T>
void activation_forward(Activation act, const T* z, T* a, int64_t batch, int64_t n);

// z, a, grad_a are (batch, n); writes grad_z (batch, n) = grad_a * f'(z).
// grad_z may equal grad_a (in place); z and a are only read.
template <class T>
void activation_backward(Activation act, const T* z, const T* a, const T* grad_a, T* grad_z,
                         int64_t batch, int64_t n);

}  // namespace fastmlp::nn
