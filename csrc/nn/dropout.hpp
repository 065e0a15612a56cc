// Dropout masks from a counter-based generator; mirrors backends/numpy.py (mix64, dropout_mask).
// A mask element depends only on (seed, step, layer, element index), so every backend draws the
// same mask with no generator state to carry or save.
#pragma once

#include <cstdint>

namespace fastmlp::nn {

// splitmix64's step: add the golden-ratio increment, then its output mix (wraps mod 2^64).
inline uint64_t mix64(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// The key of one layer's mask on one update (step is 1-based).
inline uint64_t dropout_key(uint64_t seed, uint64_t step, uint64_t layer) {
  return mix64(mix64(mix64(seed) ^ step) ^ layer);
}

// Uniform in [0, 1) from the top bits a T can hold exactly: 53 for double, 24 for float.
template <class T>
inline double uniform_bits(uint64_t bits) {
  if constexpr (sizeof(T) == 8)
    return static_cast<double>(bits >> 11) * 0x1p-53;
  else
    return static_cast<double>(bits >> 40) * 0x1p-24;
}

// mask[k] = (u_k >= p) ? 1 / (1 - p) : 0 for k in [0, n), u_k from mix64(key ^ k).
template <class T>
void dropout_mask(uint64_t key, double p, T* mask, int64_t n) {
  const T keep = static_cast<T>(1.0 / (1.0 - p));
  for (int64_t k = 0; k < n; ++k)
    mask[k] = uniform_bits<T>(mix64(key ^ static_cast<uint64_t>(k))) >= p ? keep : T(0);
}

}  // namespace fastmlp::nn
