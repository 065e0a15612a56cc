// The training loop in C++: forward through every layer, loss, backward, optimizer update,
// batch after batch, in the same order of operations as backends/numpy.py's train_step.
// All scratch memory lives in one Workspace allocated before the first batch.
#include "nn/train.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <utility>

#include "isa/caches.hpp"
#include "nn/accuracy.hpp"
#include "nn/dense.hpp"
#include "nn/dropout.hpp"
#include "nn/l2_penalty.hpp"
#include "nn/optim.hpp"
#include "nn/chunks.hpp"
#include "nn/small_dense.hpp"

namespace fastmlp::nn {
namespace {

constexpr int64_t kDropoutChunk = 1 << 14;  // mask elements per task (~40 us of hashing)

int64_t checked_add(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) throw std::length_error("workspace size overflows");
  return r;
}
int64_t checked_mul(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) throw std::length_error("workspace size overflows");
  return r;
}

// Every buffer one step needs, for batches of up to `batch` rows, in a single allocation.
template <class T>
struct Workspace {
  std::unique_ptr<T[]> arena;  // uninitialised: every buffer is written before it is read
  std::vector<int64_t> labels;      // gathered labels (batch,), epochs only
  T* x = nullptr;                   // gathered inputs (batch, n_in), epochs only
  T* y = nullptr;                   // gathered float targets (batch, n_out), epochs only
  T* sample_weight = nullptr;       // gathered sample weights (batch,), weighted epochs only
  std::vector<T*> z, a;             // per layer (batch, n_out_l); a aliases z for identity
  std::vector<T*> grad_w, grad_b;   // per layer, shaped like w_l and b_l
  T *grad = nullptr, *grad_next = nullptr;  // ping-pong (batch, max width): grad_a/grad_z, grad_x
  std::vector<T*> mask, dropped;    // per layer (batch, n_out) where dropout > 0, else null
  std::vector<T*> grad_list;        // grad_w0, grad_b0, grad_w1, ... for clipping
  std::vector<int64_t> grad_sizes;
  // Layers small enough for small_dense's loops (same bits as gemm(), less overhead), and how
  // those loops must round; madd unknown: every layer goes through gemm().
  std::vector<char> small;
  Madd madd = Madd::unknown;

  Workspace(const Network<T>& net, int64_t batch, bool gather_x, bool gather_y, bool gather_labels,
            bool gather_weights) {
    const auto& L = net.layers;
    int64_t width = 0, total = 0;
    auto take = [&](int64_t count) { total = checked_add(total, count); };
    for (const auto& l : L) {
      width = std::max(width, l.n_out);
      take(checked_mul(batch, l.n_out));                                  // z
      if (l.act != Activation::identity) take(checked_mul(batch, l.n_out));  // a
      take(checked_mul(l.n_in, l.n_out));                                  // grad_w
      take(l.n_out);                                                       // grad_b
    }
    for (size_t l = 0; l < net.dropout.size(); ++l)
      if (net.dropout[l] > 0.0) take(checked_mul(2, checked_mul(batch, L[l].n_out)));  // mask, dropped
    take(checked_mul(2, checked_mul(batch, width)));
    if (gather_x) take(checked_mul(batch, L.front().n_in));
    if (gather_y) take(checked_mul(batch, L.back().n_out));
    if (gather_weights) take(batch);
    arena.reset(new T[static_cast<size_t>(total)]);  // std::bad_alloc -> MemoryError
    if (gather_labels) labels.resize(static_cast<size_t>(batch));

    T* p = arena.get();
    auto next = [&](int64_t count) { T* q = p; p += count; return q; };
    for (const auto& l : L) {
      z.push_back(next(batch * l.n_out));
      a.push_back(l.act == Activation::identity ? z.back() : next(batch * l.n_out));
      grad_w.push_back(next(l.n_in * l.n_out));
      grad_b.push_back(next(l.n_out));
      grad_list.insert(grad_list.end(), {grad_w.back(), grad_b.back()});
      grad_sizes.insert(grad_sizes.end(), {l.n_in * l.n_out, l.n_out});
      const bool drops = !net.dropout.empty() && net.dropout[grad_w.size() - 1] > 0.0;
      mask.push_back(drops ? next(batch * l.n_out) : nullptr);
      dropped.push_back(drops ? next(batch * l.n_out) : nullptr);
    }
    grad = next(batch * width);
    grad_next = next(batch * width);
    for (const auto& l : L) small.push_back(small_dense_fits(batch, l.n_in, l.n_out));
    if (std::find(small.begin(), small.end(), 1) != small.end() && small_dense_enabled())
      madd = small_dense_madd<T>();
    if (gather_x) x = next(batch * L.front().n_in);
    if (gather_y) y = next(batch * L.back().n_out);
    if (gather_weights) sample_weight = next(batch);
  }
};

// Forward through every layer, then the loss and its gradient (left in ws.grad); weight_sum
// receives the batch's total weight.
template <class T>
StepResult forward_loss(const Network<T>& net, Workspace<T>& ws, Matrix<const T> x, Target<T> y,
                        const T* sample_weight, double* weight_sum) {
  const int64_t batch = x.rows;
  Matrix<const T> input = x;
  for (size_t l = 0; l < net.layers.size(); ++l) {
    const Layer<T>& L = net.layers[l];
    if (ws.small[l] && ws.madd != Madd::unknown)
      small_dense_forward(ws.madd, input, L.w, L.b, L.n_out, L.act, ws.z[l], ws.a[l]);
    else
      dense_forward(input, c_matrix<const T>(L.w, L.n_in, L.n_out), L.b, L.act, ws.z[l], ws.a[l]);
    input = c_matrix<const T>(ws.a[l], batch, L.n_out);
    if (ws.mask[l]) {  // the next layer and the backward pass see a * mask (this update's mask)
      const uint64_t key = dropout_key(net.seed, static_cast<uint64_t>(*net.step + 1), l);
      T *mask = ws.mask[l], *dropped = ws.dropped[l];
      const T* act = ws.a[l];
      // a hash per element is the cost: split large layers over the threads (same mask either way)
      chunks(batch * L.n_out, kDropoutChunk, [&](int64_t lo, int64_t hi) {
        dropout_mask(key, net.dropout[l], mask, lo, hi);
        for (int64_t k = lo; k < hi; ++k) dropped[k] = act[k] * mask[k];
      });
      input = c_matrix<const T>(ws.dropped[l], batch, L.n_out);
    }
  }
  const int64_t n_out = net.layers.back().n_out;
  const double loss = loss_forward_backward(net.loss, input.data, y,
                                            Weights<T>{sample_weight, net.class_weight}, ws.grad,
                                            batch, n_out, weight_sum, net.clip_probabilities);
  return {loss, count_correct(net.loss, input.data, y, batch, n_out)};
}

// From the last layer to the first: grad_z in place over grad_a, grad_x into the other buffer.
template <class T>
void backward(const Network<T>& net, Workspace<T>& ws, Matrix<const T> x) {
  const int64_t batch = x.rows;
  T* grad = ws.grad;
  T* grad_next = ws.grad_next;
  for (size_t l = net.layers.size(); l-- > 0;) {
    const Layer<T>& L = net.layers[l];
    const T* prev = l == 0 ? nullptr : (ws.dropped[l - 1] ? ws.dropped[l - 1] : ws.a[l - 1]);
    const Matrix<const T> input = l == 0 ? x : c_matrix<const T>(prev, batch, L.n_in);
    if (ws.mask[l])  // through the dropout: the same mask
      for (int64_t k = 0; k < batch * L.n_out; ++k) grad[k] = grad[k] * ws.mask[l][k];
    if (ws.small[l] && ws.madd != Madd::unknown)
      small_dense_backward(ws.madd, input, L.w, L.n_out, ws.z[l], ws.a[l], grad, L.act, grad,
                           l == 0 ? nullptr : grad_next, ws.grad_w[l], ws.grad_b[l]);
    else
      dense_backward(input, c_matrix<const T>(L.w, L.n_in, L.n_out), ws.z[l], ws.a[l], grad,
                     L.act, grad, l == 0 ? nullptr : grad_next, ws.grad_w[l], ws.grad_b[l]);
    std::swap(grad, grad_next);
  }
}

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

template <class T>
void apply_optimizer(const Network<T>& net, Workspace<T>& ws) {
  if (net.opt.clip_norm >= 0)  // clip first; the optimizers add weight decay afterwards
    clip_grad_norm(ws.grad_list.data(), ws.grad_sizes.data(),
                   static_cast<int64_t>(ws.grad_list.size()), net.opt.clip_norm);
  const int64_t step = ++*net.step;  // Adam's bias correction takes the 1-based count
  const double lr = scheduled_lr(net.opt.lr, net.schedule, step);  // this update's rate, per step
  for (size_t l = 0; l < net.layers.size(); ++l) {
    const Layer<T>& L = net.layers[l];
    update(net.opt, step, lr, L.w, ws.grad_w[l], L.w_m, L.w_v, L.w_g, L.n_in * L.n_out);
    update(net.opt, step, lr, L.b, ws.grad_b[l], L.b_m, L.b_v, L.b_g, L.n_out);
  }
}

// The penalty's gradient: grad_w += l2 / weight_sum * W per layer; biases are not penalised.
template <class T>
void add_l2_gradient(const Network<T>& net, Workspace<T>& ws, double weight_sum) {
  const T coef = static_cast<T>(net.l2 / weight_sum);
  for (size_t l = 0; l < net.layers.size(); ++l) {
    const Layer<T>& L = net.layers[l];
    T* g = ws.grad_w[l];
    for (int64_t k = 0; k < L.n_in * L.n_out; ++k) g[k] = g[k] + coef * L.w[k];
  }
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
template <class T>
StepResult step_on(const Network<T>& net, Workspace<T>& ws, Matrix<const T> x, Target<T> y,
                   const T* sample_weight, double* weight_sum) {
  StepResult result = forward_loss(net, ws, x, y, sample_weight, weight_sum);
  if (net.l2 != 0.0) result.penalty = l2_penalty(net, *weight_sum);
  result.loss += result.penalty;
  if (!std::isfinite(result.loss)) return result;
  backward(net, ws, x);
  if (net.l2 != 0.0) add_l2_gradient(net, ws, *weight_sum);
  apply_optimizer(net, ws);
  return result;
}

// Rows per block of loss_gradient: a block's activations (z and a of every layer, the two
// gradient buffers) take about two L2 caches, so the next layer and the backward pass find them
// in cache instead of streaming a whole data set's through memory per layer; at least
// kMinBlockRows so the GEMMs keep their speed.
template <class T>
int64_t gradient_block_rows(const Network<T>& net, int64_t n_rows) {
  constexpr int64_t kMinBlockRows = 256;
  int64_t width = 0, per_row = 0;
  for (const Layer<T>& L : net.layers) {
    width = std::max(width, L.n_out);
    per_row += L.act == Activation::identity ? L.n_out : 2 * L.n_out;
  }
  per_row = (per_row + 2 * width) * static_cast<int64_t>(sizeof(T));
  const int64_t budget = 2 * isa::caches().l2;
  return std::min(n_rows, std::max(kMinBlockRows, budget / std::max<int64_t>(per_row, 1)));
}

// to[k] += from[k] (a block's gradient sums into the running total)
template <class T>
void add_into(T* to, const T* from, int64_t n) {
  for (int64_t k = 0; k < n; ++k) to[k] += from[k];
}

}  // namespace

template <class T>
GradientResult loss_gradient(const Network<T>& net_in, Matrix<const T> X, Target<T> Y,
                             const T* sample_weight, T* const* grads,
                             const std::function<bool()>& should_stop) {
  if (X.rows == 0) throw std::invalid_argument("output must not be empty");
  Network<T> net = net_in;
  net.dropout.clear();  // the loss of the network as it predicts
  const int64_t n_layers = static_cast<int64_t>(net.layers.size());
  const int64_t n_out = net.layers.back().n_out;
  const int64_t block = gradient_block_rows(net, X.rows);
  const bool one_block = block >= X.rows;
  Workspace<T> ws(net, block, false, false, false, false);
  std::vector<T*> own_w = ws.grad_w, own_b = ws.grad_b;
  GradientResult result;
  double data_sum = 0.0, weight_sum = 0.0;
  bool first = true;  // no block has written grads yet
  auto last_check = std::chrono::steady_clock::now();
  for (int64_t lo = 0; lo < X.rows; lo += block) {
    const int64_t rows = std::min(block, X.rows - lo);
    const Matrix<const T> x{X.data + lo * X.rs, rows, X.cols, X.rs, X.cs};
    const Target<T> y{Y.labels ? Y.labels + lo : nullptr, Y.values ? Y.values + lo * n_out : nullptr};
    double block_weight = 0.0;
    const StepResult part = forward_loss(net, ws, x, y, sample_weight ? sample_weight + lo : nullptr,
                                         &block_weight);
    if (block_weight == 0.0 && !one_block) continue;  // rows of weight 0 add nothing
    if (!std::isfinite(part.loss)) {
      result.loss = part.loss;
      return result;
    }
    result.n_correct += part.n_correct;
    ++result.blocks;
    if (one_block) {
      data_sum = part.loss;
      weight_sum = block_weight;
    } else {  // the loss kernel divided by this block's weight: undo it, the total divides below
      data_sum += part.loss * block_weight;
      weight_sum += block_weight;
      const T scale = static_cast<T>(block_weight);
      for (int64_t k = 0; k < rows * n_out; ++k) ws.grad[k] *= scale;
    }
    for (int64_t l = 0; l < n_layers; ++l) {  // the first block writes the caller's arrays
      ws.grad_w[l] = first ? grads[2 * l] : own_w[l];
      ws.grad_b[l] = first ? grads[2 * l + 1] : own_b[l];
    }
    backward(net, ws, x);
    if (!first)
      for (int64_t l = 0; l < n_layers; ++l) {
        const Layer<T>& L = net.layers[l];
        add_into(grads[2 * l], own_w[l], L.n_in * L.n_out);
        add_into(grads[2 * l + 1], own_b[l], L.n_out);
      }
    first = false;
    if (should_stop && lo + block < X.rows) {
      const auto now = std::chrono::steady_clock::now();
      if (now - last_check >= std::chrono::milliseconds(50)) {
        last_check = now;
        if (should_stop()) {
          result.interrupted = true;
          return result;
        }
      }
    }
  }
  if (first) {  // every row weighs 0: the weighted mean's 0 / 0
    result.loss = std::nan("");
    return result;
  }
  if (!one_block) {
    data_sum /= weight_sum;
    for (int64_t l = 0; l < n_layers; ++l) {
      const Layer<T>& L = net.layers[l];
      const T total = static_cast<T>(weight_sum);
      for (int64_t k = 0; k < L.n_in * L.n_out; ++k) grads[2 * l][k] /= total;
      for (int64_t k = 0; k < L.n_out; ++k) grads[2 * l + 1][k] /= total;
    }
  }
  result.loss = data_sum;
  if (net.l2 != 0.0) {
    result.penalty = l2_penalty(net, weight_sum);
    result.loss += result.penalty;
    for (int64_t l = 0; l < n_layers; ++l) ws.grad_w[l] = grads[2 * l];
    add_l2_gradient(net, ws, weight_sum);
  }
  return result;
}

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
  const T* batch_weight = sample_weight ? ws.sample_weight : nullptr;
  for (int64_t start = 0, batch_index = 0; start < n_order; start += batch_size, ++batch_index) {
    const int64_t rows = std::min(batch_size, n_order - start);
    const Target<T> y = gather(ws, X, Y, sample_weight, n_out, order + start, rows);
    const Matrix<const T> x = c_matrix<const T>(ws.x, rows, X.cols);
    double batch_weight_sum = 0.0;
    const StepResult step = step_on(net, ws, x, y, batch_weight, &batch_weight_sum);
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
template GradientResult loss_gradient<float>(const Network<float>&, Matrix<const float>,
                                            Target<float>, const float*, float* const*,
                                            const std::function<bool()>&);
template GradientResult loss_gradient<double>(const Network<double>&, Matrix<const double>,
                                             Target<double>, const double*, double* const*,
                                             const std::function<bool()>&);
template EpochResult train_epoch<float>(const Network<float>&, Matrix<const float>, Target<float>,
                                        const float*, const int64_t*, int64_t, int64_t,
                                        const std::function<bool()>&);
template EpochResult train_epoch<double>(const Network<double>&, Matrix<const double>,
                                         Target<double>, const double*, const int64_t*, int64_t,
                                         int64_t, const std::function<bool()>&);

}  // namespace fastmlp::nn
