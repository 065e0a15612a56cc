// scikit-learn's L2 penalty on the weights, as the training loop (train.cpp) adds it to each
// step's loss and the full-batch gradient (gradient.cpp) to its loss. Baseline code only.
#pragma once

#include <cstdint>

#include "nn/train.hpp"

namespace fastmlp::nn {

// sum_k w_k^2 in double, in 8 partial sums (element k into sum k % 8) added pairwise at the end:
// one running sum is a chain of n dependent adds, paced by the add's latency, which cost more
// than the rest of a small network's L2 work (numba_train.py sum_of_squares: the same order).
template <class T>
double sum_of_squares(const T* w, int64_t n) {
  double part[8] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
  int64_t k = 0;
  for (; k + 8 <= n; k += 8)
    for (int j = 0; j < 8; ++j) part[j] += static_cast<double>(w[k + j]) * w[k + j];
  for (int j = 0; k < n; ++k, ++j) part[j] += static_cast<double>(w[k]) * w[k];
  return ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
}

// scikit-learn's L2 term 0.5 l2 sum_l ||W_l||^2 / weight_sum, in double (numpy.py l2_penalty).
template <class T>
double l2_penalty(const Network<T>& net, double weight_sum) {
  double squares = 0.0;
  for (const Layer<T>& L : net.layers) squares += sum_of_squares(L.w, L.n_in * L.n_out);
  return 0.5 * net.l2 * squares / weight_sum;
}

}  // namespace fastmlp::nn
