// What a training step and the full-batch gradient share (train.cpp, gradient.cpp): the
// buffers of one batch in a single allocation, the forward pass with the loss, the backward pass
// and the L2 penalty's gradient (backends/numpy_train.py _loss_and_grads). Internal to csrc/nn.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <utility>
#include <vector>

#include "nn/accuracy.hpp"
#include "nn/chunks.hpp"
#include "nn/dense.hpp"
#include "nn/dropout.hpp"
#include "nn/small_dense.hpp"
#include "nn/train.hpp"

namespace fastmlp::nn::step_parts {

constexpr int64_t kDropoutChunk = 1 << 14;  // mask elements per task (~40 us of hashing)

inline int64_t checked_add(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) throw std::length_error("workspace size overflows");
  return r;
}
inline int64_t checked_mul(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) throw std::length_error("workspace size overflows");
  return r;
}

// Layers whose z the step does not keep: identity (a is z) and relu (a holds relu(z) only; its
// derivative reads the sign of a, which is z's; dense_forward stores nothing else). A buffer of
// activations less to write and read: the forward's stores halve on these layers.
inline bool a_is_z(Activation act) {
  return act == Activation::identity || act == Activation::relu;
}

// Every buffer one step needs, for batches of up to `batch` rows, in a single allocation.
template <class T>
struct Workspace {
  std::unique_ptr<T[]> arena;  // uninitialised: every buffer is written before it is read
  std::vector<int64_t> labels;      // gathered labels (batch,), epochs only
  T* x = nullptr;                   // gathered inputs (batch, n_in), epochs only
  T* y = nullptr;                   // gathered float targets (batch, n_out), epochs only
  T* sample_weight = nullptr;       // gathered sample weights (batch,), weighted epochs only
  std::vector<T*> z, a;             // per layer (batch, n_out_l); a aliases z (a_is_z)
  std::vector<T*> grad_w, grad_b;   // per layer, shaped like w_l and b_l
  T *grad = nullptr, *grad_next = nullptr;  // ping-pong (batch, max width): grad_a/grad_z, grad_x
  std::vector<T*> mask, dropped;    // per layer (batch, n_out) where dropout > 0, else null
  std::vector<T*> grad_list;        // grad_w0, grad_b0, grad_w1, ... for clipping
  std::vector<int64_t> grad_sizes;
  // Layers small enough for small_dense's loops (same bits as gemm(), less overhead), and how
  // those loops must round; madd unknown: every layer goes through gemm().
  std::vector<char> small;
  Madd madd = Madd::unknown;
  // Per layer: its weights already took this step's plain SGD update in backward (fused into
  // the dW product); the optimizer then updates only its bias.
  std::vector<char> w_updated;
  // After keep_packed_weights: the first layer's w kept packed across steps (gemm::KeptPack),
  // which the fused SGD dW product updates there and the next forward reads without packing.
  gemm::KeptPack<T> kept_w0;
  std::unique_ptr<T[], void (*)(void*)> kept_arena{nullptr, std::free};

  Workspace(const Network<T>& net, int64_t batch, bool gather_x, bool gather_y, bool gather_labels,
            bool gather_weights) {
    const auto& L = net.layers;
    int64_t width = 0, total = 0;
    auto take = [&](int64_t count) { total = checked_add(total, count); };
    for (const auto& l : L) {
      width = std::max(width, l.n_out);
      take(checked_mul(batch, l.n_out));                                  // z
      if (!a_is_z(l.act)) take(checked_mul(batch, l.n_out));              // a
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
      a.push_back(a_is_z(l.act) ? z.back() : next(batch * l.n_out));
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
    w_updated.assign(L.size(), 0);
    if (std::find(small.begin(), small.end(), 1) != small.end() && small_dense_enabled())
      madd = small_dense_madd<T>();
    if (gather_x) x = next(batch * L.front().n_in);
    if (gather_y) y = next(batch * L.back().n_out);
    if (gather_weights) sample_weight = next(batch);
  }

  // For epochs of plain SGD: the first layer's w kept packed from step to step (gemm::KeptPack),
  // so no forward packs it again: its dW product (the fused update) writes it there. Only the
  // first layer: no dX product reads its w, which therefore lives there alone until
  // the destructor writes it back. Not when small_dense's loops run it (they read w in place).
  void keep_packed_weights(const Network<T>& net) {
    const Layer<T>& L = net.layers.front();
    if (small.front() && madd != Madd::unknown) return;
    const int64_t size = gemm::kept_pack_size<T>(L.n_in, L.n_out);
    kept_arena.reset(static_cast<T*>(std::aligned_alloc(64, round_up_line(size) * sizeof(T))));
    if (!kept_arena) throw std::bad_alloc();
    kept_w0 = gemm::KeptPack<T>{};
    kept_w0.data = kept_arena.get(), kept_w0.capacity = size;
    kept_w0.w = L.w, kept_w0.w_ld = L.n_out;
  }

  // The kept w goes back to its array when the epoch ends, however it ends.
  ~Workspace() { gemm::kept_unpack(kept_w0); }

  // Layer l's kept packed w, or nullptr.
  gemm::KeptPack<T>* kept(size_t l) { return l == 0 && kept_w0.data ? &kept_w0 : nullptr; }

 private:
  static size_t round_up_line(int64_t count) {  // aligned_alloc takes whole 64-byte lines
    const int64_t per_line = 64 / static_cast<int64_t>(sizeof(T));
    return static_cast<size_t>(checked_add(count, per_line - 1) / per_line * per_line);
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
      dense_forward(input, c_matrix<const T>(L.w, L.n_in, L.n_out), L.b, L.act, ws.z[l], ws.a[l],
                    ws.kept(l));
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
// sgd_lr > 0: a plain SGD step at that rate, fused into each dW product that can take it
// (dense_backward; ws.w_updated says which). prefetch: the rows the caller reads next (the next
// batch or block), asked for during the first layer's dW product, the last of the step.
template <class T>
void backward(const Network<T>& net, Workspace<T>& ws, Matrix<const T> x, T sgd_lr = T(0),
              const gemm::RowPrefetch* prefetch = nullptr) {
  const int64_t batch = x.rows;
  const bool fuse_sgd = sgd_lr > T(0) && dense_sgd_fuses<T>(batch);
  T* grad = ws.grad;
  T* grad_next = ws.grad_next;
  for (size_t l = net.layers.size(); l-- > 0;) {
    const Layer<T>& L = net.layers[l];
    const T* prev = l == 0 ? nullptr : (ws.dropped[l - 1] ? ws.dropped[l - 1] : ws.a[l - 1]);
    const Matrix<const T> input = l == 0 ? x : c_matrix<const T>(prev, batch, L.n_in);
    if (ws.mask[l])  // through the dropout: the same mask
      for (int64_t k = 0; k < batch * L.n_out; ++k) grad[k] = grad[k] * ws.mask[l][k];
    const bool small = ws.small[l] && ws.madd != Madd::unknown;
    ws.w_updated[l] = fuse_sgd && !small;
    gemm::KeptPack<T>* kept = ws.kept(l);
    if (kept && !ws.w_updated[l]) gemm::kept_unpack(*kept);  // the optimizer updates the array
    if (small)
      small_dense_backward(ws.madd, input, L.w, L.n_out, ws.z[l], ws.a[l], grad, L.act, grad,
                           l == 0 ? nullptr : grad_next, ws.grad_w[l], ws.grad_b[l]);
    else
      dense_backward(input, c_matrix<const T>(L.w, L.n_in, L.n_out), ws.z[l], ws.a[l], grad,
                     L.act, grad, l == 0 ? nullptr : grad_next, ws.grad_w[l], ws.grad_b[l],
                     ws.w_updated[l] ? L.w : nullptr, sgd_lr, l == 0 ? prefetch : nullptr,
                     ws.w_updated[l] ? kept : nullptr);
    std::swap(grad, grad_next);
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

}  // namespace fastmlp::nn::step_parts
