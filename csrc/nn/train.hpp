// Training: one step on a batch, and a whole epoch without returning to Python; mirrors
// backends/numpy.py (train_step, train_epoch).
//
// Legend: L layers; layer l maps (batch, n_in_l) -> (batch, n_out_l):
//   z_l = a_{l-1} @ w_l + b_l,  a_l = act_l(z_l),  a_{-1} = x;  the loss takes a_{L-1}.
// Every array here is a view of memory Python owns (Network's weights, biases and slots).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "nn/activations.hpp"
#include "nn/losses.hpp"
#include "nn/matrix.hpp"
#include "nn/schedule.hpp"

namespace fastmlp::nn {

// Same order as fastmlp.names.OPTIMIZERS; Python passes the index.
enum class Optimizer : int { sgd, adam, adamw, rmsprop };
constexpr int kNumOptimizers = 4;
constexpr const char* kOptimizerNames[kNumOptimizers] = {"sgd", "adam", "adamw", "rmsprop"};

struct OptimizerConfig {  // PyTorch's definitions and defaults, as network.OptimizerConfig
  Optimizer kind = Optimizer::sgd;
  double lr = 0.01, momentum = 0.0;
  bool nesterov = false;
  double weight_decay = 0.0, beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double smoothing = 0.99;  // rmsprop's square-average decay (PyTorch's `alpha`)
  double dampening = 0.0;  // sgd
  bool centered = false;   // rmsprop: uses the layers' w_g / b_g slots
  double clip_norm = -1;   // < 0: no clipping; else the global gradient norm's limit
  bool eps_on_raw_moment = false;  // adam(w): scikit-learn's eps placement (nn/optim.hpp)
};

template <class T>
struct Layer {
  T* w;  // (n_in, n_out) C-contiguous
  T* b;  // (n_out,)
  int64_t n_in, n_out;
  Activation act;
  // Optimizer slots shaped like w and b. sgd: m = momentum buffer; adam(w): m, v = moments;
  // rmsprop: m = momentum buffer, v = square average.
  T *w_m, *w_v, *b_m, *b_v;
  T *w_g = nullptr, *b_g = nullptr;  // centered rmsprop's gradient averages, else null
};

template <class T>
struct Network {
  std::vector<Layer<T>> layers;
  Loss loss;
  OptimizerConfig opt;
  ScheduleConfig schedule;  // update t uses scheduled_lr(opt.lr, schedule, t)
  const T* class_weight = nullptr;  // (n_out,) per-class loss weights, cross_entropy only
  std::vector<double> dropout;  // empty, or one rate per layer (the last 0): masks on hidden a_l
  uint64_t seed = 0;             // keys the dropout masks (nn/dropout.hpp)
  double l2 = 0.0;  // L2 penalty 0.5 l2 sum ||W||^2 / sum_i s_i (scikit-learn's alpha), weights only
  bool clip_probabilities = false;  // the log losses' values of p clipped to [eps, 1 - eps] (losses.hpp)
  int64_t* step;  // optimizer updates so far; each step increments it before updating
};

struct StepResult {
  double loss;        // the batch's mean loss before the update; not finite: no update was made
  int64_t n_correct;  // rows classified correctly before the update (0 for regression)
  double penalty = 0.0;  // the L2 part of loss
};

struct EpochResult {
  double mean_loss = 0.0;  // per-sample mean over the batches run
  // scikit-learn's epoch loss: batch losses weighed by row count, whatever the sample weights;
  // and the L2 penalty's part of it (scikit-learn reports it in other units than the data part)
  double rows_mean_loss = 0.0, rows_mean_penalty = 0.0;
  int64_t n_correct = 0;
  bool interrupted = false;  // should_stop() asked to stop; every finished step was applied in full
  // The first batch whose loss was NaN or inf (-1: none); the epoch stopped before its update,
  // so the weights stay finite. Rows first_row..last_row of order made that batch.
  int64_t bad_batch = -1;
  double bad_loss = 0.0;
  int64_t first_row = 0, last_row = -1;
};

// x is (batch, n_in) with any strides; y is labels (batch,) or values (batch, n_out);
// sample_weight (batch,) or null. Forward, loss, backward, optimizer update of every
// parameter and slot, ++*net.step; a non-finite loss returns before the backward pass.
template <class T>
StepResult train_step(const Network<T>& net, Matrix<const T> x, Target<T> y,
                      const T* sample_weight);

// X is (n_rows, n_in) with any strides, Y labels (n_rows,) or values (n_rows, n_out)
// C-contiguous; sample_weight (n_rows,) or null; order (n_order,) row indices. Runs
// train_step on X[order[s:s+batch_size]] for s = 0, batch_size, ...; gathers each batch into a
// workspace allocated once up front. mean_loss weighs each batch's loss by its total weight
// (its size without weights). Calls should_stop about every 50 ms of wall clock, between
// steps; true ends the epoch early. A non-finite loss ends it too, named in bad_batch.
template <class T>
EpochResult train_epoch(const Network<T>& net, Matrix<const T> X, Target<T> Y,
                        const T* sample_weight, const int64_t* order, int64_t n_order,
                        int64_t batch_size, const std::function<bool()>& should_stop);

}  // namespace fastmlp::nn
