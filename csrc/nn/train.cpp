// The training loop in C++: forward through every layer, loss, backward, optimizer update,
// batch after batch, in the same order of operations as backends/numpy.py's train_step.
// All scratch memory lives in one Workspace allocated before the first batch.
#include "nn/train.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "nn/l2_penalty.hpp"
#include "nn/optim.hpp"
#include "nn/step_parts.hpp"

namespace fastmlp::nn {
namespace {

using step_parts::add_l2_gradient;
using step_parts::backward;
using step_parts::forward_loss;
using step_parts::Workspace;

template <class T>
void update(const OptimizerConfig& o, int64_t step, double lr, T* param, const T* grad, T* m,
            T* v, T* g_avg, int64_t n) {
  switch (o.kind) {
    case Optimizer::sgd:
      sgd_step(param, grad, m, n, lr, o.momentum, o.nesterov, o.weight_decay, o.dampening,
               step == 1);
      return;
    case Optimizer::adam:
    case Optimizer::adamw:
      adam_step(param, grad, m, v, n, step, lr, o.beta1, o.beta2, o.eps, o.weight_decay,
                o.kind == Optimizer::adamw, o.eps_on_raw_moment);
      return;
    case Optimizer::rmsprop:  // square_avg in slot v, momentum buffer in m, grad average in g
      rmsprop_step(param, grad, v, m, o.centered ? g_avg : nullptr, n, lr, o.smoothing, o.eps,
                   o.momentum, o.weight_decay);
      return;
  }
}

// Update number `step` (1-based: Adam's bias correction) at rate lr, after the clipping; weights
// that backward already updated (ws.w_updated) are left alone.
template <class T>
void apply_optimizer(const Network<T>& net, Workspace<T>& ws, int64_t step, double lr) {
  if (net.opt.clip_norm >= 0)  // clip first; the optimizers add weight decay afterwards
    clip_grad_norm(ws.grad_list.data(), ws.grad_sizes.data(),
                   static_cast<int64_t>(ws.grad_list.size()), net.opt.clip_norm);
  for (size_t l = 0; l < net.layers.size(); ++l) {
    const Layer<T>& L = net.layers[l];
    if (!ws.w_updated[l])
      update(net.opt, step, lr, L.w, ws.grad_w[l], L.w_m, L.w_v, L.w_g, L.n_in * L.n_out);
    update(net.opt, step, lr, L.b, ws.grad_b[l], L.b_m, L.b_v, L.b_g, L.n_out);
  }
}

// Plain SGD (no momentum, weight decay, clipping or L2 term: nothing that needs the whole
// gradient before the weights change), which backward can fuse into the dW products.
template <class T>
bool plain_sgd(const Network<T>& net) {
  const OptimizerConfig& o = net.opt;
  return o.kind == Optimizer::sgd && o.momentum == 0.0 && o.weight_decay == 0.0 &&
         o.clip_norm < 0 && net.l2 == 0.0;
}


constexpr int64_t kLine = 64;

// Asks for the lines of row `row` of X (rows with contiguous columns only).
template <class T>
inline void prefetch_row(Matrix<const T> X, int64_t row) {
  const char* p = reinterpret_cast<const char*>(X.data + row * X.rs);
  const int64_t bytes = X.cols * static_cast<int64_t>(sizeof(T));
  for (int64_t b = 0; b < bytes; b += kLine) __builtin_prefetch(p + b);
  __builtin_prefetch(p + bytes - 1);  // an unaligned row's last line
}

// How many rows ahead of its copy the gather asks for a row: about kAheadBytes in flight. The
// rows of a shuffled batch lie scattered over X, out of the hardware prefetcher's sight, so a
// copy that waits for each row in turn stalls; asking for the next batch's rows a whole step
// ahead did less (docs/tuning.md: the step evicts much of it before the copy).
template <class T>
int64_t rows_ahead(Matrix<const T> X) {
  constexpr int64_t kAheadBytes = 4096;
  const int64_t bytes = X.cols * static_cast<int64_t>(sizeof(T));
  return std::clamp<int64_t>(kAheadBytes / std::max<int64_t>(bytes, 1), 1, 16);
}

// Copies rows order[0, rows) of X (any strides), Y and the sample weights (when given) into
// the workspace.
template <class T>
Target<T> gather(Workspace<T>& ws, Matrix<const T> X, Target<T> Y, const T* sample_weight,
                 int64_t n_out, const int64_t* order, int64_t rows) {
  if (sample_weight)
    for (int64_t r = 0; r < rows; ++r) ws.sample_weight[r] = sample_weight[order[r]];
  const int64_t n_in = X.cols;
  // Rows of a few values (a tiny network's 2 inputs, 1 target) are copied by a loop: a memcpy call per
  // row cost more than the copy.
  constexpr int64_t kShortRow = 8;
  // Rows shorter than a line: a tiny network's X, cached anyway, where the prefetches only cost.
  const bool long_rows = X.cs == 1 && n_in * static_cast<int64_t>(sizeof(T)) >= kLine;
  const int64_t ahead = long_rows ? rows_ahead(X) : 0;
  for (int64_t r = 0; r < std::min(ahead, rows); ++r) prefetch_row(X, order[r]);
  for (int64_t r = 0; r < rows; ++r) {
    if (r + ahead < rows) prefetch_row(X, order[r + ahead]);
    const T* src = X.data + order[r] * X.rs;
    T* dst = ws.x + r * n_in;
    if (X.cs == 1 && n_in > kShortRow)
      std::memcpy(dst, src, static_cast<size_t>(n_in) * sizeof(T));
    else
      for (int64_t j = 0; j < n_in; ++j) dst[j] = src[j * X.cs];
  }
  if (Y.labels) {
    for (int64_t r = 0; r < rows; ++r) ws.labels[r] = Y.labels[order[r]];
    return Target<T>{ws.labels.data(), nullptr};
  }
  for (int64_t r = 0; r < rows; ++r) {
    const T* src = Y.values + order[r] * n_out;
    T* dst = ws.y + r * n_out;
    if (n_out > kShortRow)
      std::memcpy(dst, src, static_cast<size_t>(n_out) * sizeof(T));
    else
      for (int64_t j = 0; j < n_out; ++j) dst[j] = src[j];
  }
  return Target<T>{nullptr, ws.y};
}

// One update on batch x: forward, loss plus the L2 penalty, and unless that loss is NaN or inf
// (then nothing changes, so the weights stay finite) backward and the optimizer.
// prefetch: the next batch's rows, asked for during the step (backward's RowPrefetch).
template <class T>
StepResult step_on(const Network<T>& net, Workspace<T>& ws, Matrix<const T> x, Target<T> y,
                   const T* sample_weight, double* weight_sum,
                   const gemm::RowPrefetch* prefetch = nullptr) {
  StepResult result = forward_loss(net, ws, x, y, sample_weight, weight_sum);
  if (net.l2 != 0.0) result.penalty = l2_penalty(net, *weight_sum);
  result.loss += result.penalty;
  if (!std::isfinite(result.loss)) return result;
  const int64_t step = ++*net.step;  // Adam's bias correction takes the 1-based count
  const double lr = scheduled_lr(net.opt.lr, net.schedule, step);  // this update's rate, per step
  // Plain SGD rides on the dW products (sgd_step's bits, the gradient never stored): a pass over
  // every weight and its gradient less per step.
  backward(net, ws, x, plain_sgd(net) ? static_cast<T>(lr) : T(0), prefetch);
  if (net.l2 != 0.0) add_l2_gradient(net, ws, *weight_sum);
  apply_optimizer(net, ws, step, lr);
  return result;
}

}  // namespace

template <class T>
StepResult train_step(const Network<T>& net, Matrix<const T> x, Target<T> y,
                      const T* sample_weight) {
  if (x.rows == 0) throw std::invalid_argument("output must not be empty");
  Workspace<T> ws(net, x.rows, false, false, false, false);
  double weight_sum = 0.0;
  return step_on(net, ws, x, y, sample_weight, &weight_sum);
}

template <class T>
EpochResult train_epoch(const Network<T>& net, Matrix<const T> X, Target<T> Y,
                        const T* sample_weight, const int64_t* order, int64_t n_order,
                        int64_t batch_size, const std::function<bool()>& should_stop) {
  if (batch_size < 1) throw std::invalid_argument("batch_size must be >= 1");
  for (int64_t i = 0; i < n_order; ++i)  // one cheap pass buys memory safety for every gather
    if (order[i] < 0 || order[i] >= X.rows) throw std::out_of_range("order index out of range");
  EpochResult result;
  if (n_order == 0) return result;

  const int64_t n_out = net.layers.back().n_out;
  Workspace<T> ws(net, std::min(batch_size, n_order), true, Y.labels == nullptr, Y.labels != nullptr,
                  sample_weight != nullptr);
  using Clock = std::chrono::steady_clock;
  auto last_check = Clock::now(), last_read = last_check;
  // Reading the clock costs ~20 ns, a visible part of a tiny network's step: read it every `stride` steps, the stride
  // doubled while reads come under 1 ms apart and halved when over 4 ms (never above 1024), so
  // the should_stop() calls still come about every 50 ms whatever a step costs.
  int64_t stride = 1, since_read = 0;
  double loss_sum = 0.0, weight_sum = 0.0, rows_loss_sum = 0.0, rows_penalty_sum = 0.0;
  int64_t rows_done = 0;
  auto means = [&] {
    result.mean_loss = loss_sum / weight_sum;
    result.rows_mean_loss = rows_loss_sum / static_cast<double>(rows_done);
    result.rows_mean_penalty = rows_penalty_sum / static_cast<double>(rows_done);
  };
  // Plain SGD's fused dW products keep the first layer's w packed for the next step's forward.
  if (plain_sgd(net) && dense_sgd_fuses<T>(std::min(batch_size, n_order)))
    ws.keep_packed_weights(net);
  const T* batch_weight = sample_weight ? ws.sample_weight : nullptr;
  for (int64_t start = 0, batch_index = 0; start < n_order; start += batch_size, ++batch_index) {
    const int64_t rows = std::min(batch_size, n_order - start);
    const Target<T> y = gather(ws, X, Y, sample_weight, n_out, order + start, rows);
    const Matrix<const T> x = c_matrix<const T>(ws.x, rows, X.cols);
    // The next batch's rows, scattered over X: asked for during this step's last product, so
    // the next gather copies them from cache (gather's own prefetches then hit).
    const int64_t next_rows = std::clamp<int64_t>(n_order - start - rows, 0, batch_size);
    const gemm::RowPrefetch next{reinterpret_cast<const char*>(X.data), order + start + rows,
                                 next_rows, X.rs * static_cast<int64_t>(sizeof(T)),
                                 X.cols * static_cast<int64_t>(sizeof(T))};
    const bool ask_next = next_rows > 0 && X.cs == 1 && next.bytes >= kLine;
    double batch_weight_sum = 0.0;
    const StepResult step =
        step_on(net, ws, x, y, batch_weight, &batch_weight_sum, ask_next ? &next : nullptr);
    if (!std::isfinite(step.loss)) {
      result.bad_batch = batch_index;
      result.bad_loss = step.loss;
      result.first_row = start;
      result.last_row = start + rows - 1;
      break;
    }
    loss_sum += step.loss * batch_weight_sum;
    weight_sum += batch_weight_sum;
    rows_loss_sum += step.loss * static_cast<double>(rows);
    rows_penalty_sum += step.penalty * static_cast<double>(rows);
    rows_done += rows;
    result.n_correct += step.n_correct;
    // Ctrl-C: checking costs a GIL round trip, so ask by wall clock, not every batch.
    if (!should_stop || ++since_read < stride) continue;
    since_read = 0;
    const auto now = Clock::now();
    const auto gap = now - last_read;
    last_read = now;
    if (gap < std::chrono::milliseconds(1) && stride < 1024)
      stride *= 2;
    else if (gap > std::chrono::milliseconds(4) && stride > 1)
      stride /= 2;
    if (now - last_check >= std::chrono::milliseconds(50)) {
      last_check = now;
      if (should_stop()) {
        result.interrupted = true;
        means();
        return result;
      }
    }
  }
  means();
  return result;
}

template StepResult train_step<float>(const Network<float>&, Matrix<const float>, Target<float>,
                                      const float*);
template StepResult train_step<double>(const Network<double>&, Matrix<const double>,
                                       Target<double>, const double*);
template EpochResult train_epoch<float>(const Network<float>&, Matrix<const float>, Target<float>,
                                        const float*, const int64_t*, int64_t, int64_t,
                                        const std::function<bool()>&);
template EpochResult train_epoch<double>(const Network<double>&, Matrix<const double>,
                                         Target<double>, const double*, const int64_t*, int64_t,
                                         int64_t, const std::function<bool()>&);

}  // namespace fastmlp::nn
