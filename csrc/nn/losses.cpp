// Loss kernels. Per-element terms and gradients are computed in T in NumPy's order; only the
// mean is accumulated in double (NumPy's float32 mean is pairwise in float32, ours is tighter).
#include "nn/losses.hpp"

#include <cmath>
#include <stdexcept>

#include "nn/scalar.hpp"

namespace fastmlp::nn {
namespace {

// mean(-log softmax(output_i)[y_i]) with softmax fused; gradient (softmax - target) / batch.
template <class T>
double cross_entropy(const T* output, Target<T> target, T* grad, int64_t batch, int64_t n_out) {
  double total = 0.0;
  const T batch_t = T(batch);
  for (int64_t i = 0; i < batch; ++i) {
    const T* o = output + i * n_out;
    T* g = grad + i * n_out;
    T mx = o[0];
    for (int64_t j = 1; j < n_out; ++j) mx = o[j] > mx ? o[j] : mx;
    // log_prob = shifted - log(sum(exp(shifted))), shifted = o - max: exp never overflows
    double sum_exp = 0.0;
    for (int64_t j = 0; j < n_out; ++j) sum_exp += std::exp(o[j] - mx);
    const T log_sum = std::log(static_cast<T>(sum_exp));
    for (int64_t j = 0; j < n_out; ++j) {
      const T log_prob = (o[j] - mx) - log_sum;
      T t;
      if (target.labels) {
        t = target.labels[i] == j ? T(1) : T(0);
        if (t != T(0)) total -= log_prob;
      } else {
        t = target.values[i * n_out + j];
        total -= static_cast<double>(t * log_prob);
      }
      g[j] = (std::exp(log_prob) - t) / batch_t;
    }
  }
  return total / static_cast<double>(batch);
}

// numpy's argmax of a one-hot row: the index of its first maximum.
template <class T>
int64_t first_max(const T* row, int64_t n) {
  int64_t best = 0;
  for (int64_t j = 1; j < n; ++j)
    if (row[j] > row[best]) best = j;
  return best;
}

template <class T>
T row_weight(Weights<T> w, Target<T> target, int64_t i, int64_t n_out) {
  T s = w.sample ? w.sample[i] : T(1);
  if (w.cls) {
    const int64_t label = target.labels ? target.labels[i] : first_max(target.values + i * n_out, n_out);
    s = s * w.cls[label];
  }
  return s;
}

// The weighted mean of the rows' losses (numpy.py _weighted_loss): grad first receives each row's
// own gradient d l_i / d o_i, then is scaled by the row's share s_i / sum_s of the weight.
template <class T>
double weighted_loss(Loss loss, const T* output, Target<T> target, Weights<T> w, T* grad,
                     int64_t batch, int64_t n_out, double* weight_sum_out) {
  if (loss != Loss::cross_entropy && !target.values)
    throw std::invalid_argument("this loss needs a float target like output");
  double weight_sum = 0.0, total = 0.0;
  for (int64_t i = 0; i < batch; ++i) weight_sum += static_cast<double>(row_weight(w, target, i, n_out));
  const T inv_n = T(1) / T(n_out), delta = T(kHuberDelta);
  for (int64_t i = 0; i < batch; ++i) {
    const T* o = output + i * n_out;
    T* g = grad + i * n_out;
    double row_loss = 0.0;  // l_i
    if (loss == Loss::cross_entropy) {
      T mx = o[0];
      for (int64_t j = 1; j < n_out; ++j) mx = o[j] > mx ? o[j] : mx;
      double sum_exp = 0.0;
      for (int64_t j = 0; j < n_out; ++j) sum_exp += std::exp(o[j] - mx);
      const T log_sum = std::log(static_cast<T>(sum_exp));
      for (int64_t j = 0; j < n_out; ++j) {
        const T log_prob = (o[j] - mx) - log_sum;
        const T t = target.labels ? (target.labels[i] == j ? T(1) : T(0)) : target.values[i * n_out + j];
        row_loss -= static_cast<double>(t * log_prob);
        g[j] = std::exp(log_prob) - t;
      }
    } else {
      const T* t = target.values + i * n_out;
      for (int64_t j = 0; j < n_out; ++j) {
        const T d = o[j] - t[j];
        T e, ge;
        switch (loss) {
          case Loss::mse: e = d * d; ge = T(2) * d; break;
          case Loss::mae: e = std::fabs(d); ge = sign(d); break;
          case Loss::huber: {
            const bool small = std::fabs(d) <= delta;
            e = small ? T(0.5) * d * d : delta * (std::fabs(d) - T(0.5) * delta);
            ge = small ? d : delta * sign(d);
            break;
          }
          case Loss::poisson: {
            const T rate = std::exp(o[j]);
            e = rate - t[j] * o[j];
            ge = rate - t[j];
            break;
          }
          default:  // binary_cross_entropy
            e = (o[j] < T(0) ? T(0) : o[j]) - o[j] * t[j] + std::log1p(std::exp(-std::fabs(o[j])));
            ge = sigmoid(o[j]) - t[j];
        }
        row_loss += static_cast<double>(e);
        g[j] = ge * inv_n;
      }
      row_loss /= static_cast<double>(n_out);
    }
    const T s = row_weight(w, target, i, n_out);
    total += static_cast<double>(s) * row_loss;
    const T share = static_cast<T>(static_cast<double>(s) / weight_sum);
    for (int64_t j = 0; j < n_out; ++j) g[j] = g[j] * share;
  }
  if (weight_sum_out) *weight_sum_out = weight_sum;
  return total / weight_sum;  // weights summing to 0: NaN, as documented
}

}  // namespace

template <class T>
double loss_forward_backward(Loss loss, const T* output, Target<T> target, Weights<T> weights,
                             T* grad, int64_t batch, int64_t n_out, double* weight_sum) {
  const int64_t size = batch * n_out;
  if (size <= 0) throw std::invalid_argument("output must not be empty");
  if (weights.sample || weights.cls)
    return weighted_loss(loss, output, target, weights, grad, batch, n_out, weight_sum);
  if (weight_sum) *weight_sum = static_cast<double>(batch);
  if (loss == Loss::cross_entropy) return cross_entropy(output, target, grad, batch, n_out);
  if (!target.values) throw std::invalid_argument("this loss needs a float target like output");
  const T* t = target.values;
  const T size_t_ = T(size);  // NumPy divides by the Python int size, taken as T
  double total = 0.0;
  switch (loss) {
    case Loss::mse: {  // mean((o - t)^2), grad 2 (o - t) / size
      const T two_over_size = static_cast<T>(2.0 / static_cast<double>(size));
      for (int64_t i = 0; i < size; ++i) {
        const T diff = output[i] - t[i];
        total += static_cast<double>(diff * diff);
        grad[i] = two_over_size * diff;
      }
      break;
    }
    case Loss::mae:  // mean(|o - t|), grad sign(o - t) / size
      for (int64_t i = 0; i < size; ++i) {
        const T diff = output[i] - t[i];
        total += static_cast<double>(std::fabs(diff));
        grad[i] = sign(diff) / size_t_;
      }
      break;
    case Loss::huber: {  // 0.5 d^2 where |d| <= delta, else delta (|d| - 0.5 delta)
      const T delta = T(kHuberDelta);
      for (int64_t i = 0; i < size; ++i) {
        const T diff = output[i] - t[i];
        const bool small = std::fabs(diff) <= delta;
        const T term = small ? T(0.5) * diff * diff : delta * (std::fabs(diff) - T(0.5) * delta);
        total += static_cast<double>(term);
        grad[i] = (small ? diff : delta * sign(diff)) / size_t_;
      }
      break;
    }
    case Loss::poisson:  // log link fused: mean(exp(o) - t o), grad (exp(o) - t) / size
      for (int64_t i = 0; i < size; ++i) {
        const T rate = std::exp(output[i]);
        total += static_cast<double>(rate - t[i] * output[i]);
        grad[i] = (rate - t[i]) / size_t_;
      }
      break;
    case Loss::binary_cross_entropy:
      // stable form of -t log s(o) - (1-t) log(1 - s(o)): max(o, 0) - o t + log(1 + exp(-|o|));
      // grad (sigmoid(o) - t) / size
      for (int64_t i = 0; i < size; ++i) {
        const T o = output[i];
        const T term = (o < T(0) ? T(0) : o) - o * t[i] + std::log1p(std::exp(-std::fabs(o)));
        total += static_cast<double>(term);
        grad[i] = (sigmoid(o) - t[i]) / size_t_;
      }
      break;
    default:
      throw std::invalid_argument("unknown loss");
  }
  return total / static_cast<double>(size);
}

template double loss_forward_backward<float>(Loss, const float*, Target<float>, Weights<float>,
                                             float*, int64_t, int64_t, double*);
template double loss_forward_backward<double>(Loss, const double*, Target<double>,
                                              Weights<double>, double*, int64_t, int64_t, double*);

}  // namespace fastmlp::nn
