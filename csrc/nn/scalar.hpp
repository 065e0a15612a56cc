// Scalar helpers shared by activations.cpp and losses.cpp, each written as backends/numpy.py
// computes it elementwise.
#pragma once

#include <cmath>

namespace fastmlp::nn {

// Two branches so exp never overflows: 1/(1+e^-z) for z >= 0, e^z/(1+e^z) for z < 0.
template <class T>
inline T sigmoid(T z) {
  const T e = std::exp(-std::fabs(z));
  return z >= T(0) ? T(1) / (T(1) + e) : e / (T(1) + e);
}

// np.sign: -1, 0 or 1; NaN stays NaN.
template <class T>
inline T sign(T x) {
  return x > T(0) ? T(1) : x < T(0) ? T(-1) : x;
}

// Phi(z) = 0.5 * (1 + erf(z / sqrt(2))), in double like the oracle, then rounded to T.
template <class T>
inline T gaussian_cdf(T z) {
  return static_cast<T>(0.5 * (1.0 + std::erf(static_cast<double>(z) / std::sqrt(2.0))));
}

}  // namespace fastmlp::nn
