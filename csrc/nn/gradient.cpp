// The full-batch loss and gradient in C++ (gradient.hpp): train_step's forward, loss and
// backward over blocks of rows that stay in cache, their sums added; no update.
#include "nn/gradient.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "isa/caches.hpp"
#include "nn/l2_penalty.hpp"
#include "nn/step_parts.hpp"

namespace fastmlp::nn {
namespace {

using step_parts::add_l2_gradient;
using step_parts::backward;
using step_parts::forward_loss;
using step_parts::Workspace;

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
  GradientResult result;  // result.blocks == 0: no block has written grads yet
  double data_sum = 0.0, weight_sum = 0.0;
  auto last_check = std::chrono::steady_clock::now();
  for (int64_t lo = 0; lo < X.rows; lo += block) {
    const int64_t rows = std::min(block, X.rows - lo);
    const Matrix<const T> x{X.data + lo * X.rs, rows, X.cols, X.rs, X.cs};
    const Target<T> y{Y.labels ? Y.labels + lo : nullptr,
                      Y.values ? Y.values + lo * n_out : nullptr};
    double block_weight = 0.0;
    const StepResult part = forward_loss(net, ws, x, y,
                                         sample_weight ? sample_weight + lo : nullptr, &block_weight);
    if (block_weight == 0.0 && !one_block) continue;  // rows of weight 0 add nothing
    if (!std::isfinite(part.loss)) {
      result.loss = part.loss;
      return result;
    }
    const bool first = result.blocks++ == 0;
    result.n_correct += part.n_correct;
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
    // The next block's rows, asked for during this block's last product: they arrive from
    // memory while it computes, not when the next forward pass first reads them.
    const int64_t next_rows = std::min(block, X.rows - lo - rows);
    const bool ask_next = next_rows > 0 && X.cs == 1;  // (no pointer past X's rows is formed)
    const gemm::RowPrefetch next{
        ask_next ? reinterpret_cast<const char*>(X.data + (lo + rows) * X.rs) : nullptr, nullptr,
        next_rows, X.rs * static_cast<int64_t>(sizeof(T)), X.cols * static_cast<int64_t>(sizeof(T))};
    backward(net, ws, x, T(0), ask_next ? &next : nullptr);
    if (!first)
      for (int64_t l = 0; l < n_layers; ++l) {
        const Layer<T>& L = net.layers[l];
        add_into(grads[2 * l], own_w[l], L.n_in * L.n_out);
        add_into(grads[2 * l + 1], own_b[l], L.n_out);
      }
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
  if (result.blocks == 0) {  // every row weighs 0: the weighted mean's 0 / 0
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

template GradientResult loss_gradient<float>(const Network<float>&, Matrix<const float>,
                                            Target<float>, const float*, float* const*,
                                            const std::function<bool()>&);
template GradientResult loss_gradient<double>(const Network<double>&, Matrix<const double>,
                                             Target<double>, const double*, double* const*,
                                             const std::function<bool()>&);

}  // namespace fastmlp::nn
