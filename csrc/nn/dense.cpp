// Dense layer kernels: strided GEMM plus a row-wise epilogue (bias, activation) in one pass.
#include "nn/dense.hpp"

#include "gemm/gemm.hpp"
#include "parallel/thread_pool.hpp"

namespace fastmlp::nn {

template <class T>
void dense_forward(Matrix<const T> x, Matrix<const T> w, const T* b, Activation act, T* z, T* a) {
  const int64_t batch = x.rows, n_in = x.cols, n_out = w.cols;
  // z = x @ w (beta 0: z is write-only, its old contents never leak)
  gemm::gemm<T>(false, false, batch, n_out, n_in, T(1), x.data, x.rs, x.cs, w.data, w.rs, w.cs,
                T(0), z, n_out);
  // Epilogue while each row is still in cache: z += b, then a = act(z) on the same rows.
  // Rounding matches NumPy's (x @ w) + b exactly: the bias is added after the full k-sum.
  const int64_t min_rows = (int64_t(1) << 14) / (n_out > 0 ? n_out : 1) + 1;
  parallel::parallel_chunks(batch, min_rows, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      T* zi = z + i * n_out;
      for (int64_t j = 0; j < n_out; ++j) zi[j] = zi[j] + b[j];
    }
    if (!(act == Activation::identity && a == z)) {
      // serial inside the chunk: activation_forward's own split sees one small block
      activation_forward(act, z + lo * n_out, a + lo * n_out, hi - lo, n_out);
    }
  });
}

template <class T>
void dense_backward(Matrix<const T> x, Matrix<const T> w, const T* z, const T* a,
                    const T* grad_a, Activation act, T* grad_z, T* grad_x, T* grad_w, T* grad_b) {
  const int64_t batch = x.rows, n_in = x.cols, n_out = w.cols;
  // a = act(z)  ->  grad_z = grad_a * act'(z)
  activation_backward(act, z, a, grad_a, grad_z, batch, n_out);
  // z = x @ w  ->  grad_w = x^T @ grad_z: x's strides swapped by trans_a
  gemm::gemm<T>(true, false, n_in, n_out, batch, T(1), x.data, x.rs, x.cs, grad_z, n_out, 1,
                T(0), grad_w, n_out);
  // z = ... + b  ->  grad_b = column sums of grad_z, row after row like NumPy's sum(axis=0)
  for (int64_t j = 0; j < n_out; ++j) grad_b[j] = T(0);
  for (int64_t i = 0; i < batch; ++i) {
    const T* gz = grad_z + i * n_out;
    for (int64_t j = 0; j < n_out; ++j) grad_b[j] = grad_b[j] + gz[j];
  }
  // z = x @ w  ->  grad_x = grad_z @ w^T: w's strides swapped by trans_b
  if (grad_x)
    gemm::gemm<T>(false, true, batch, n_in, n_out, T(1), grad_z, n_out, 1, w.data, w.rs, w.cs,
                  T(0), grad_x, n_in);
}

template void dense_forward<float>(Matrix<const float>, Matrix<const float>, const float*,
                                   Activation, float*, float*);
template void dense_forward<double>(Matrix<const double>, Matrix<const double>, const double*,
                                    Activation, double*, double*);
template void dense_backward<float>(Matrix<const float>, Matrix<const float>, const float*,
                                    const float*, const float*, Activation, float*, float*,
                                    float*, float*);
template void dense_backward<double>(Matrix<const double>, Matrix<const double>, const double*,
                                     const double*, const double*, Activation, double*, double*,
                                     double*, double*);

}  // namespace fastmlp::nn
