// Loss kernels. Per-element terms and gradients are computed in T in NumPy's order; only the
// mean is accumulated in double (NumPy's float32 mean is pairwise in float32, ours is tighter).
// Each formula is written once (element_loss, cross_entropy_rows) and reduced by plain_mean or
// weighted_mean.
#include "nn/losses.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>

#include "nn/exp_lanes.hpp"
#include "nn/scalar.hpp"

namespace fastmlp::nn {
namespace {

// cross_entropy's clipping: -log p of p in [eps, 1 - eps] lies in [-log(1 - eps), -log(eps)]
// (T's epsilon), which clamps -log_prob (no cancellation here: equal to scikit-learn's
// -log(clip(p)) to rounding); off (clip_probabilities false): no bounds. binary_cross_entropy
// reads only `on`.
template <class T>
struct NegLogClip {
  bool on;
  T lo, hi;
  explicit NegLogClip(bool clip)  // the logs only when on: every batch's loss builds one
      : on(clip),
        lo(clip ? -std::log(T(1) - std::numeric_limits<T>::epsilon()) : T(0)),
        hi(clip ? -std::log(std::numeric_limits<T>::epsilon()) : T(0)) {}
  T operator()(T x) const { return !on ? x : x < lo ? lo : (x > hi ? hi : x); }  // NaN stays
};

// One element's loss e and its derivative de/do (every loss but cross_entropy); mse's
// derivative is 2d with the 2 left to the means, each of which rounds it as NumPy does.
// binary_cross_entropy with clip.on: scikit-learn's formula as it computes it, p = 1 / (1 +
// exp(-o)) clipped to [eps, 1 - eps], -(t log p + (1 - t) log(1 - p)). Any more accurate form
// differs from it by up to 1e-3 where |o| nears 36 (1 - p cancels), enough to turn an lbfgs line
// search another way.
template <class T>
inline void element_loss(Loss loss, T o, T t, T& e, T& g, const NegLogClip<T>& clip) {
  const T d = o - t;
  const T delta = T(kHuberDelta);
  switch (loss) {
    case Loss::mse: e = d * d; g = d; return;
    case Loss::mae: e = std::fabs(d); g = sign(d); return;
    case Loss::huber: {  // 0.5 d^2 where |d| <= delta, else delta (|d| - 0.5 delta)
      const bool small = std::fabs(d) <= delta;
      e = small ? T(0.5) * d * d : delta * (std::fabs(d) - T(0.5) * delta);
      g = small ? d : delta * sign(d);
      return;
    }
    case Loss::poisson: {  // log link fused: d/do (exp(o) - t o) = exp(o) - t
      const T rate = std::exp(o);
      e = rate - t * o;
      g = rate - t;
      return;
    }
    default:  // binary_cross_entropy, stable form: max(o, 0) - o t + log(1 + exp(-|o|))
      if (clip.on) {  // scikit-learn's own formula, 1 - p's cancellation included
        const T eps = std::numeric_limits<T>::epsilon();
        T p = T(1) / (T(1) + std::exp(-o));
        p = p < eps ? eps : (p > T(1) - eps ? T(1) - eps : p);
        e = -(t * std::log(p) + (T(1) - t) * std::log(T(1) - p));
      } else {
        e = (o < T(0) ? T(0) : o) - o * t + std::log1p(std::exp(-std::fabs(o)));
      }
      g = sigmoid(o) - t;
  }
}

// Row i's target for output j: one-hot of the label, or the float target.
template <class T>
inline T target_at(Target<T> target, int64_t i, int64_t j, int64_t n_out) {
  return target.labels ? (target.labels[i] == j ? T(1) : T(0)) : target.values[i * n_out + j];
}

// Rows [first, last) of cross_entropy with softmax fused: loss -= t_j log_prob_j (in double,
// row by row, j in turn), log_prob_j = (o_j - max) - log(sum_k e_k), and g_j = softmax_j - t_j
// with softmax_j = e_j / sum_k e_k, e_j = exp(o_j - max) (scikit-learn's softmax; the max
// subtracted first so exp never overflows). label_only (labels only): only the label's term is
// subtracted (the plain mean with labels skips the zero terms). The exponentials go through
// exp_array, over a chunk of rows at once: grad holds e first, then g.
// Each row's maximum, first value on, o[j] > max replacing it (a NaN first value stays; a later
// NaN is passed over). Four rows at a time: one row's maximum is a chain of n dependent selects,
// four rows' chains overlap; each row's sequence is the same.
template <class T>
void row_maxima(const T* o, int64_t rows, int64_t n, T* out) {
  int64_t i = 0;
  for (; i + 4 <= rows; i += 4) {
    const T *r0 = o + i * n, *r1 = r0 + n, *r2 = r1 + n, *r3 = r2 + n;
    T m0 = r0[0], m1 = r1[0], m2 = r2[0], m3 = r3[0];
    for (int64_t j = 1; j < n; ++j) {
      m0 = r0[j] > m0 ? r0[j] : m0;
      m1 = r1[j] > m1 ? r1[j] : m1;
      m2 = r2[j] > m2 ? r2[j] : m2;
      m3 = r3[j] > m3 ? r3[j] : m3;
    }
    out[i] = m0, out[i + 1] = m1, out[i + 2] = m2, out[i + 3] = m3;
  }
  for (; i < rows; ++i) {
    const T* r = o + i * n;
    T m = r[0];
    for (int64_t j = 1; j < n; ++j) m = r[j] > m ? r[j] : m;
    out[i] = m;
  }
}

// Each row's sum in double, left to right; four rows at a time as row_maxima.
template <class T>
void row_sums(const T* g, int64_t rows, int64_t n, double* out) {
  int64_t i = 0;
  for (; i + 4 <= rows; i += 4) {
    const T *r0 = g + i * n, *r1 = r0 + n, *r2 = r1 + n, *r3 = r2 + n;
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    for (int64_t j = 0; j < n; ++j) s0 += r0[j], s1 += r1[j], s2 += r2[j], s3 += r3[j];
    out[i] = s0, out[i + 1] = s1, out[i + 2] = s2, out[i + 3] = s3;
  }
  for (; i < rows; ++i) {
    double s = 0.0;
    for (int64_t j = 0; j < n; ++j) s += g[i * n + j];
    out[i] = s;
  }
}

template <class T>
void cross_entropy_rows(const T* output, Target<T> target, int64_t first, int64_t last,
                        int64_t n_out, T* grad, bool label_only, double& loss,
                        const NegLogClip<T>& clip) {
  constexpr int64_t kChunk = 64;  // rows whose maxima and sums stay on the stack between passes
  T row_max[kChunk];
  double row_sum[kChunk];
  for (int64_t lo = first; lo < last; lo += kChunk) {
    const int64_t hi = last - lo < kChunk ? last : lo + kChunk;
    row_maxima(output + lo * n_out, hi - lo, n_out, row_max);
    for (int64_t i = lo; i < hi; ++i) {
      const T* o = output + i * n_out;
      const T mx = row_max[i - lo];
      for (int64_t j = 0; j < n_out; ++j) grad[i * n_out + j] = o[j] - mx;
    }
    exp_array(grad + lo * n_out, grad + lo * n_out, (hi - lo) * n_out);
    row_sums(grad + lo * n_out, hi - lo, n_out, row_sum);
    for (int64_t i = lo; i < hi; ++i) {
      const T* o = output + i * n_out;
      T* g = grad + i * n_out;
      const T mx = row_max[i - lo];
      const T sum = static_cast<T>(row_sum[i - lo]);
      const T log_sum = std::log(sum);
      if (label_only) {  // the label's term, the row's one nonzero one
        const int64_t j = target.labels[i];
        loss += clip(-((o[j] - mx) - log_sum));
      } else {
        for (int64_t j = 0; j < n_out; ++j) {
          const T log_prob = (o[j] - mx) - log_sum;
          loss += static_cast<double>(target_at(target, i, j, n_out) * clip(-log_prob));
        }
      }
      for (int64_t j = 0; j < n_out; ++j) g[j] = g[j] / sum;  // softmax
    }
    if (target.labels) {  // minus the one-hot target: 1 at the label, 0 (exact) elsewhere
      for (int64_t i = lo; i < hi; ++i) grad[i * n_out + target.labels[i]] -= T(1);
    } else {
      for (int64_t k = lo * n_out; k < hi * n_out; ++k) grad[k] -= target.values[k];
    }
  }
}

// The plain mean over rows (cross_entropy) or elements, summed in double in order; grad is the
// derivative over batch or size.
template <class T>
double plain_mean(Loss loss, const T* output, Target<T> target, T* grad, int64_t batch,
                  int64_t n_out, const NegLogClip<T>& clip) {
  double total = 0.0;
  if (loss == Loss::cross_entropy) {
    const T batch_t = T(batch);
    cross_entropy_rows(output, target, 0, batch, n_out, grad, target.labels != nullptr, total,
                       clip);
    for (int64_t k = 0; k < batch * n_out; ++k) grad[k] = grad[k] / batch_t;
    return total / static_cast<double>(batch);
  }
  const int64_t size = batch * n_out;
  const T size_t_ = T(size);  // NumPy divides by the Python int size, taken as T
  const T two_over_size = static_cast<T>(2.0 / static_cast<double>(size));
  for (int64_t i = 0; i < size; ++i) {
    T e, g;
    element_loss(loss, output[i], target.values[i], e, g, clip);
    total += static_cast<double>(e);
    grad[i] = loss == Loss::mse ? two_over_size * g : g / size_t_;
  }
  return total / static_cast<double>(size);
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

// The weighted mean of the rows' losses l_i (numpy_unchecked.py _weighted_mean): grad first
// receives each row's own gradient d l_i / d o_i, then is scaled by the row's share s_i / sum_s.
template <class T>
double weighted_mean(Loss loss, const T* output, Target<T> target, Weights<T> w, T* grad,
                     int64_t batch, int64_t n_out, double* weight_sum_out,
                     const NegLogClip<T>& clip) {
  double weight_sum = 0.0, total = 0.0;
  for (int64_t i = 0; i < batch; ++i) weight_sum += static_cast<double>(row_weight(w, target, i, n_out));
  const T inv_n = T(1) / T(n_out), two = loss == Loss::mse ? T(2) : T(1);  // times 1 is exact
  for (int64_t i = 0; i < batch; ++i) {
    T* g = grad + i * n_out;
    double row_loss = 0.0;  // l_i
    if (loss == Loss::cross_entropy) {
      cross_entropy_rows(output, target, i, i + 1, n_out, grad, false, row_loss, clip);
    } else {
      for (int64_t j = 0; j < n_out; ++j) {
        T e, ge;
        element_loss(loss, output[i * n_out + j], target.values[i * n_out + j], e, ge, clip);
        row_loss += static_cast<double>(e);
        g[j] = (two * ge) * inv_n;
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
                             T* grad, int64_t batch, int64_t n_out, double* weight_sum,
                             bool clip_probabilities) {
  if (batch * n_out <= 0) throw std::invalid_argument("output must not be empty");
  if (static_cast<int>(loss) < 0 || static_cast<int>(loss) >= kNumLosses)
    throw std::invalid_argument("unknown loss");
  if (loss != Loss::cross_entropy && !target.values)
    throw std::invalid_argument("this loss needs a float target like output");
  const NegLogClip<T> clip(clip_probabilities && (loss == Loss::cross_entropy ||
                                                   loss == Loss::binary_cross_entropy));
  if (weights.sample || weights.cls)
    return weighted_mean(loss, output, target, weights, grad, batch, n_out, weight_sum, clip);
  if (weight_sum) *weight_sum = static_cast<double>(batch);
  return plain_mean(loss, output, target, grad, batch, n_out, clip);
}

template double loss_forward_backward<float>(Loss, const float*, Target<float>, Weights<float>,
                                             float*, int64_t, int64_t, double*, bool);
template double loss_forward_backward<double>(Loss, const double*, Target<double>,
                                              Weights<double>, double*, int64_t, int64_t, double*,
                                              bool);

}  // namespace fastmlp::nn
