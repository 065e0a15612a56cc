// Losses fused with their gradient; mirrors backends/numpy.py (loss_forward_backward).
//
// Legend: output (batch, n_out) the last layer's raw output; target either integer labels
// (batch,) in [0, n_out) (cross_entropy only) or a float array (batch, n_out) like output.
// Every loss is a mean, so grad_output carries the 1/batch or 1/size factor.
#pragma once

#include <cstdint>

namespace fastmlp::nn {

// Same order as fastmlp.names.LOSSES; Python passes the index.
enum class Loss : int { mse, cross_entropy, binary_cross_entropy, mae, huber, poisson };
constexpr int kNumLosses = 6;
constexpr const char* kLossNames[kNumLosses] = {"mse",  "cross_entropy", "binary_cross_entropy",
                                                "mae",  "huber",         "poisson"};

constexpr double kHuberDelta = 1.0;  // PyTorch's default delta

// Exactly one of labels (batch,) and values (batch, n_out), both C-contiguous, is non-null.
template <class T>
struct Target {
  const int64_t* labels;
  const T* values;
};

// Optional weights, each null when not given: sample (batch,) per row, cls (n_out,) per class
// (cross_entropy; a row's class is its label or its one-hot target's 1). Row i weighs
// s_i = sample[i] * cls[label_i], rounded to T.
template <class T>
struct Weights {
  const T* sample;
  const T* cls;
};

// output is (batch, n_out); writes grad_output (batch, n_out); returns the mean loss, summed
// in double. batch * n_out must be > 0. With weights: sum_i s_i l_i / sum_i s_i, l_i row i's
// loss (mean over its outputs except for cross_entropy), and grad_output = s_i/sum_s dl_i/do_i.
// weight_sum, when not null, receives sum_i s_i in double (batch without weights).
// clip_probabilities (cross_entropy, binary_cross_entropy): each -log p term of the loss is
// taken of p clipped to [eps, 1 - eps] (eps: T's machine epsilon), as scikit-learn's log loss
// does; the gradient stays unclipped (numpy_unchecked.py _clipped_neg_log).
template <class T>
double loss_forward_backward(Loss loss, const T* output, Target<T> target, Weights<T> weights,
                             T* grad_output, int64_t batch, int64_t n_out,
                             double* weight_sum = nullptr, bool clip_probabilities = false);

}  // namespace fastmlp::nn
