// How many rows of a batch the network gets right, counted by the training loop (train.cpp)
// for the epoch's accuracy; mirrors numpy_train.py _count_correct. Baseline code only.
#pragma once

#include <cmath>
#include <cstdint>

#include "nn/losses.hpp"

namespace fastmlp::nn {

// numpy's argmax: the first maximum, and the first NaN if there is one. Selects, not branches:
// which output of a row is largest is data, and its branch mispredicted on most rows.
template <class T>
int64_t argmax(const T* row, int64_t n) {
  T top = row[0];
  int64_t best = 0;
  bool nan = std::isnan(row[0]);
  for (int64_t j = 1; j < n; ++j) {
    const bool above = row[j] > top;
    top = above ? row[j] : top;
    best = above ? j : best;
    nan = nan || std::isnan(row[j]);
  }
  if (nan)
    for (int64_t j = 0; j < n; ++j)
      if (std::isnan(row[j])) return j;
  return best;
}

// cross_entropy: argmax equals the label (or the target's argmax); binary_cross_entropy: every
// output on the right side of 0; regression losses: 0.
template <class T>
int64_t count_correct(Loss loss, const T* output, Target<T> y, int64_t batch, int64_t n_out) {
  int64_t correct = 0;
  if (loss == Loss::cross_entropy) {
    for (int64_t i = 0; i < batch; ++i) {
      const int64_t label = y.labels ? y.labels[i] : argmax(y.values + i * n_out, n_out);
      correct += argmax(output + i * n_out, n_out) == label;
    }
  } else if (loss == Loss::binary_cross_entropy) {
    for (int64_t i = 0; i < batch; ++i) {
      bool all = true;
      for (int64_t j = 0; j < n_out; ++j)
        all = all && ((output[i * n_out + j] > T(0)) == (y.values[i * n_out + j] > T(0.5)));
      correct += all;
    }
  }
  return correct;
}

}  // namespace fastmlp::nn
