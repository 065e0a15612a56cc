// Argument checks for binding.cpp: turn nanobind ndarrays into kernel views, or throw
// std::invalid_argument (ValueError in Python) naming the argument. The Python wrappers in
// backends/cpp.py run the same checks as the other backends first; these are the safety net
// that keeps a direct call into _core from crashing. No maths here.
#pragma once

#include <nanobind/ndarray.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "nn/matrix.hpp"

namespace fastmlp::check {

namespace nb = nanobind;

inline void require(bool ok, const std::string& message) {
  if (!ok) throw std::invalid_argument(message);
}

inline std::string shape_str(int64_t r, int64_t c) {
  return "(" + std::to_string(r) + ", " + std::to_string(c) + ")";
}

// A 2-D array of any strides (nanobind gives them in elements) as a strided view. A length-1
// dimension's stride is arbitrary in NumPy; it is never multiplied by a nonzero index.
template <class T, class... Tags>
nn::Matrix<const T> matrix(const nb::ndarray<const T, Tags...>& arr) {
  return nn::Matrix<const T>{arr.data(), static_cast<int64_t>(arr.shape(0)),
                             static_cast<int64_t>(arr.shape(1)), arr.stride(0), arr.stride(1)};
}

// A C-contiguous array must have exactly this shape (so its row stride is its column count).
template <class Arr>
void shape_is(const Arr& arr, const char* name, std::vector<int64_t> shape) {
  bool ok = arr.ndim() == shape.size();
  for (size_t i = 0; ok && i < shape.size(); ++i) ok = static_cast<int64_t>(arr.shape(i)) == shape[i];
  std::string want = "(";
  for (size_t i = 0; i < shape.size(); ++i) want += (i ? ", " : "") + std::to_string(shape[i]);
  require(ok, std::string(name) + " must have shape " + want + (shape.size() == 1 ? ",)" : ")"));
}

template <class Arr>
void ndim_is(const Arr& arr, const char* name, size_t ndim) {
  require(arr.ndim() == ndim, std::string(name) + " must be " + std::to_string(ndim) + "-D");
}

// An enum passed as its index in the Python-side tuple of names.
template <class E>
E enum_index(int value, int count, const char* name) {
  require(value >= 0 && value < count, std::string(name) + " index out of range");
  return static_cast<E>(value);
}

}  // namespace fastmlp::check
