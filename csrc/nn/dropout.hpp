// Dropout masks from a counter-based generator; mirrors backends/numpy.py (mix64, dropout_mask).
// A mask element depends only on (seed, step, layer, element index), so every backend draws the
// same mask with no generator state to carry or save.
#pragma once

#include <cmath>
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

// u = (bits >> (64 - B)) * 2^-B, uniform in [0, 1) with B = 53 (double) or 24 (float) bits.
template <class T>
constexpr int kUniformBits = sizeof(T) == 8 ? 53 : 24;

// u >= p  <=>  (bits >> (64 - B)) >= ceil(p 2^B): p 2^B and its ceiling are exact in double, so
// this integer test keeps exactly the elements the oracle's floating-point test keeps, without
// an unsigned-to-double conversion per element.
template <class T>
inline uint64_t keep_threshold(double p) {
  return static_cast<uint64_t>(std::ceil(std::ldexp(p, kUniformBits<T>)));
}

// mask[k] = (u_k >= p) ? 1 / (1 - p) : 0 for k in [lo, hi), u_k from mix64(key ^ k). Elements
// are independent, so any split of [0, n) into ranges (threads) gives the same mask.
template <class T>
void dropout_mask(uint64_t key, double p, T* mask, int64_t lo, int64_t hi) {
  const T keep = static_cast<T>(1.0 / (1.0 - p));
  const uint64_t threshold = keep_threshold<T>(p);
  constexpr int shift = 64 - kUniformBits<T>;
  // branch-free (a kept/dropped branch would mispredict at random): 1 * keep or 0 * keep = 0
  for (int64_t k = lo; k < hi; ++k)
    mask[k] = static_cast<T>((mix64(key ^ static_cast<uint64_t>(k)) >> shift) >= threshold) * keep;
}

}  // namespace fastmlp::nn
