// The one array type the nn kernels share: a 2-D view with element strides (no ownership).
// Inputs that NumPy may hand over as slices or transposes (x, w) travel as Matrix; arrays the
// Python side makes C-contiguous travel as plain pointers plus their shape.
#pragma once

#include <cstdint>

namespace fastmlp::nn {

template <class T>
struct Matrix {
  T* data;
  int64_t rows, cols;
  int64_t rs, cs;  // element (i, j) is data[i * rs + j * cs]
  T& operator()(int64_t i, int64_t j) const { return data[i * rs + j * cs]; }
};

// A C-contiguous (rows, cols) array.
template <class T>
Matrix<T> c_matrix(T* data, int64_t rows, int64_t cols) {
  return Matrix<T>{data, rows, cols, cols, 1};
}

}  // namespace fastmlp::nn
