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
// The same for a literal: no std::string is built unless it fails (a small matmul's whole
// binding costs well under a microsecond, so a heap string per check showed).
inline void require(bool ok, const char* message) {
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
  if (ok) return;
  std::string want = "(";
  for (size_t i = 0; i < shape.size(); ++i) want += (i ? ", " : "") + std::to_string(shape[i]);
  throw std::invalid_argument(std::string(name) + " must have shape " + want +
                              (shape.size() == 1 ? ",)" : ")"));
}

// The bytes [first, last] an array of any dimension can touch by its element strides (NumPy's
// bounds, as np.may_share_memory uses them); false for an empty array, which touches none.
template <class Arr>
bool byte_bounds(const Arr& arr, const char** first, const char** last) {
  int64_t lo = 0, hi = 0;
  for (size_t d = 0; d < arr.ndim(); ++d) {
    const int64_t n = static_cast<int64_t>(arr.shape(d));
    if (n == 0) return false;
    const int64_t e = (n - 1) * arr.stride(d);
    (e < 0 ? lo : hi) += e;
  }
  const int64_t size = static_cast<int64_t>(sizeof(*arr.data()));
  const char* base = reinterpret_cast<const char*>(arr.data());
  *first = base + lo * size;
  *last = base + hi * size + size - 1;
  return true;
}

// out must not share bytes with in_ by their bounds: the kernels write out while they
// read the inputs. Conservative like np.may_share_memory; the Python checks decide exactly.
template <class Out, class In>
void no_overlap(const Out& out, const char* name, const In& in_, const char* in_name) {
  const char *o0, *o1, *i0, *i1;
  if (byte_bounds(out, &o0, &o1) && byte_bounds(in_, &i0, &i1) && o0 <= i1 && i0 <= o1)
    throw std::invalid_argument(std::string(name) + " must not overlap input " + in_name);
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
