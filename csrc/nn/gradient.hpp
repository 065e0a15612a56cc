// The full-batch loss and gradient, without an update: what lbfgs asks for (gradient.cpp);
// mirrors backends/numpy.py loss_gradient.
#pragma once

#include <cstdint>
#include <functional>

#include "nn/train.hpp"

namespace fastmlp::nn {

struct GradientResult {
  double loss = 0.0;     // the weighted mean loss over every row, plus the L2 penalty; not
                         // finite: the gradient was not finished
  double penalty = 0.0;  // the L2 part of loss
  int64_t n_correct = 0;
  int64_t blocks = 0;        // blocks of rows run (tests read it)
  bool interrupted = false;  // should_stop() asked to stop between two blocks of rows
};

// The loss of train_step over every row of X (n_rows, n_in; any strides) and its gradient,
// without an update and without dropout: forward, loss and backward on blocks of rows sized to
// keep a block's activations in cache, the blocks' sums added and divided by the total weight
// (one block: train_step's gradient, bit for bit). grads holds one C-contiguous array per
// parameter (w0, b0, w1, b1, ...), all written. Rows of a block of weight 0 add nothing. Calls
// should_stop between blocks, about every 50 ms; true returns with interrupted set.
template <class T>
GradientResult loss_gradient(const Network<T>& net, Matrix<const T> X, Target<T> Y,
                             const T* sample_weight, T* const* grads,
                             const std::function<bool()>& should_stop);

}  // namespace fastmlp::nn
