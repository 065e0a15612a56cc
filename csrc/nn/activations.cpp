// Activation kernels, written expression by expression after backends/numpy.py so that each
// rounding happens in the same dtype and order (float32 stays float32 where NumPy's does).
#include "nn/activations.hpp"

#include <cmath>
#include <stdexcept>
#include <type_traits>

#include "nn/chunks.hpp"
#include "nn/scalar.hpp"
#include "nn/tanh_f32.hpp"

namespace fastmlp::nn {
namespace {

constexpr int64_t kMinChunk = 1 << 14;  // elements per task: below this, threads cost more

template <class T>
void forward_rows(Activation act, const T* z, T* a, int64_t rows, int64_t n) {
  const int64_t size = rows * n;
  switch (act) {
    case Activation::identity:
      if (a != z)
        for (int64_t i = 0; i < size; ++i) a[i] = z[i];
      return;
    case Activation::relu:  // max(z, 0), NaN kept as np.maximum does
      for (int64_t i = 0; i < size; ++i) a[i] = z[i] < T(0) ? T(0) : z[i];
      return;
    case Activation::leaky_relu:
      for (int64_t i = 0; i < size; ++i) a[i] = z[i] > T(0) ? z[i] : z[i] * T(kLeakyReluSlope);
      return;
    case Activation::sigmoid:
      for (int64_t i = 0; i < size; ++i) a[i] = sigmoid(z[i]);
      return;
    case Activation::tanh:  // float32: four lanes at a time (tanh_f32.hpp); float64: libm
      if constexpr (std::is_same_v<T, float>)
        tanh_f32(z, a, size);
      else
        for (int64_t i = 0; i < size; ++i) a[i] = std::tanh(z[i]);
      return;
    case Activation::gelu:  // z * Phi(z), exact (erf)
      for (int64_t i = 0; i < size; ++i) a[i] = z[i] * gaussian_cdf(z[i]);
      return;
    case Activation::softmax:
      // exp(z - max(z)) / sum: subtracting each row's max keeps exp from overflowing.
      // NaN or +inf in a row makes the sum NaN, so the whole row is NaN, as in NumPy.
      for (int64_t r = 0; r < rows && n > 0; ++r) {
        const T* zr = z + r * n;
        T* ar = a + r * n;
        T mx = zr[0];
        for (int64_t j = 1; j < n; ++j) mx = zr[j] > mx ? zr[j] : mx;
        double sum = 0.0;  // double: the row sum is the only reduction
        for (int64_t j = 0; j < n; ++j) {
          ar[j] = std::exp(zr[j] - mx);
          sum += ar[j];
        }
        const T s = static_cast<T>(sum);
        for (int64_t j = 0; j < n; ++j) ar[j] = ar[j] / s;
      }
      return;
  }
  throw std::invalid_argument("unknown activation");
}

template <class T>
void backward_rows(Activation act, const T* z, const T* a, const T* grad_a, T* grad_z,
                   int64_t rows, int64_t n) {
  const int64_t size = rows * n;
  switch (act) {
    case Activation::identity:  // a = z
      if (grad_z != grad_a)
        for (int64_t i = 0; i < size; ++i) grad_z[i] = grad_a[i];
      return;
    // relu and leaky_relu load grad_a unconditionally: a load under the branch kept GCC from
    // vectorizing, and the scalar branch on z's sign (random in training) mispredicts about
    // every other element. A select gives the same bits.
    case Activation::relu:  // a = max(z, 0)
      for (int64_t i = 0; i < size; ++i) {
        const T g = grad_a[i];
        grad_z[i] = z[i] > T(0) ? g : T(0);
      }
      return;
    case Activation::leaky_relu:  // a = z > 0 ? z : 0.01 z
      for (int64_t i = 0; i < size; ++i) {
        const T g = grad_a[i];
        grad_z[i] = z[i] > T(0) ? g : g * T(kLeakyReluSlope);
      }
      return;
    case Activation::sigmoid:  // a = 1 / (1 + exp(-z)),  da/dz = a (1 - a)
      for (int64_t i = 0; i < size; ++i) grad_z[i] = grad_a[i] * a[i] * (T(1) - a[i]);
      return;
    case Activation::tanh:  // a = tanh(z),  da/dz = 1 - a^2
      for (int64_t i = 0; i < size; ++i) grad_z[i] = grad_a[i] * (T(1) - a[i] * a[i]);
      return;
    case Activation::gelu: {  // a = z Phi(z),  da/dz = Phi(z) + z phi(z)
      const T inv_sqrt_2pi = static_cast<T>(1.0 / std::sqrt(2.0 * 3.14159265358979323846));
      for (int64_t i = 0; i < size; ++i) {
        const T pdf = std::exp(T(-0.5) * z[i] * z[i]) * inv_sqrt_2pi;
        grad_z[i] = grad_a[i] * (gaussian_cdf(z[i]) + z[i] * pdf);
      }
      return;
    }
    case Activation::softmax:  // a = exp(z) / sum(exp(z)): Jacobian-vector product per row
      for (int64_t r = 0; r < rows; ++r) {
        const T* ar = a + r * n;
        const T* gr = grad_a + r * n;
        T* out = grad_z + r * n;
        double dot = 0.0;
        for (int64_t j = 0; j < n; ++j) dot += static_cast<double>(gr[j] * ar[j]);
        const T s = static_cast<T>(dot);
        for (int64_t j = 0; j < n; ++j) out[j] = ar[j] * (gr[j] - s);
      }
      return;
  }
  throw std::invalid_argument("unknown activation");
}

}  // namespace

template <class T>
void activation_forward(Activation act, const T* z, T* a, int64_t batch, int64_t n) {
  // Row chunks: softmax needs whole rows, and the other activations do not care.
  chunks(batch, kMinChunk / (n > 0 ? n : 1) + 1, [&](int64_t lo, int64_t hi) {
    forward_rows(act, z + lo * n, a + lo * n, hi - lo, n);
  });
}

template <class T>
void activation_backward(Activation act, const T* z, const T* a, const T* grad_a, T* grad_z,
                         int64_t batch, int64_t n) {
  chunks(batch, kMinChunk / (n > 0 ? n : 1) + 1, [&](int64_t lo, int64_t hi) {
    backward_rows(act, z + lo * n, a + lo * n, grad_a + lo * n, grad_z + lo * n, hi - lo, n);
  });
}

template void activation_forward<float>(Activation, const float*, float*, int64_t, int64_t);
template void activation_forward<double>(Activation, const double*, double*, int64_t, int64_t);
template void activation_backward<float>(Activation, const float*, const float*, const float*,
                                         float*, int64_t, int64_t);
template void activation_backward<double>(Activation, const double*, const double*,
                                          const double*, double*, int64_t, int64_t);

}  // namespace fastmlp::nn
