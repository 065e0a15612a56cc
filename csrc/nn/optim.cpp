// Optimizer kernels: one pass over the elements, each statement the NumPy oracle's in-place
// operation on one element, so float64 agrees to the last bit and float32 rounds alike.
#include "nn/optim.hpp"

#include <cmath>
#include <type_traits>

#include "isa/isa.hpp"
#include "nn/chunks.hpp"
#include "nn/optim_lanes.hpp"

namespace fastmlp::nn {
namespace {
constexpr int64_t kMinChunk = 1 << 15;  // elements per task; elementwise, so any split is exact

// The vector loops of the active isa table entry (isa/isa.hpp), so FASTMLP_ISA and set_isa
// govern them like the GEMM kernels. Read once per optimizer call.
template <class T>
struct OptimLanes {
  AdamLanes<T> adam;
  RmspropLanes<T> rmsprop;
};

template <class T>
OptimLanes<T> active_lanes() {
  const isa::Isa& entry = *isa::active().isa;
  if constexpr (std::is_same_v<T, float>) return {entry.adam_f32, entry.rmsprop_f32};
  else return {entry.adam_f64, entry.rmsprop_f64};
}
}

template <class T>
void sgd_step(T* param, const T* grad, T* velocity, int64_t n, double lr, double momentum,
              bool nesterov, double weight_decay, double dampening, bool first) {
  const T wd = T(weight_decay), mom = T(momentum), lr_t = T(lr), keep = T(1 - dampening);
  // The options as compile-time constants: branches in the loop kept GCC from vectorizing it,
  // and plain SGD's update of A64's 235k parameters took a fifth of the step. kDamp: 0 no
  // dampening, 1 its first step (velocity = g), 2 later steps.
  auto run = [&](auto decay_c, auto momentum_c, auto nesterov_c, auto damp_c) {
    constexpr bool kDecay = decltype(decay_c)::value, kMomentum = decltype(momentum_c)::value;
    constexpr bool kNesterov = decltype(nesterov_c)::value;
    constexpr int kDamp = decltype(damp_c)::value;
    chunks(n, kMinChunk, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) {
        T g = grad[i];
        if constexpr (kDecay) g = g + wd * param[i];
        if constexpr (kMomentum) {
          if constexpr (kDamp == 1) {
            velocity[i] = g;
          } else if constexpr (kDamp == 2) {
            velocity[i] = velocity[i] * mom;
            velocity[i] = velocity[i] + keep * g;
          } else {
            velocity[i] = velocity[i] * mom;
            velocity[i] = velocity[i] + g;
          }
          if constexpr (kNesterov)
            g = g + mom * velocity[i];
          else
            g = velocity[i];
        }
        param[i] = param[i] - lr_t * g;
      }
    });
  };
  using std::false_type, std::true_type;
  using Damp0 = std::integral_constant<int, 0>;
  using Damp1 = std::integral_constant<int, 1>;
  using Damp2 = std::integral_constant<int, 2>;
  auto with_decay = [&](auto decay_c) {
    if (momentum == 0.0) return run(decay_c, false_type{}, false_type{}, Damp0{});
    auto with_nesterov = [&](auto nesterov_c) {
      if (dampening == 0.0) return run(decay_c, true_type{}, nesterov_c, Damp0{});
      if (first) return run(decay_c, true_type{}, nesterov_c, Damp1{});
      run(decay_c, true_type{}, nesterov_c, Damp2{});
    };
    if (nesterov)
      with_nesterov(true_type{});
    else
      with_nesterov(false_type{});
  };
  if (weight_decay != 0.0)
    with_decay(true_type{});
  else
    with_decay(false_type{});
}


template <class T>
void adam_step(T* param, const T* grad, T* m, T* v, int64_t n, int64_t step, double lr,
               double beta1, double beta2, double eps, double weight_decay, bool decoupled,
               bool eps_on_raw_moment) {
  const bool coupled_decay = weight_decay != 0.0 && !decoupled;
  const bool decoupled_decay = weight_decay != 0.0 && decoupled;
  const T shrink = T(1 - lr * weight_decay), wd = T(weight_decay);
  const T b1 = T(beta1), one_minus_b1 = T(1 - beta1), b2 = T(beta2), one_minus_b2 = T(1 - beta2);
  // Bias corrections in double, as Python computes them, then rounded to T.
  const double bias_correction1 = 1 - std::pow(beta1, static_cast<double>(step));
  const double correction2_sqrt = std::sqrt(1 - std::pow(beta2, static_cast<double>(step)));
  // scikit-learn's form moves the second correction into the step size: dividing by 1 is exact
  const T bias_correction2_sqrt = eps_on_raw_moment ? T(1) : T(correction2_sqrt);
  const T step_size = T(eps_on_raw_moment ? lr * correction2_sqrt / bias_correction1
                                          : lr / bias_correction1);
  const T eps_t = T(eps);
  const AdamConsts<T> consts{shrink, wd, b1, one_minus_b1, b2, one_minus_b2,
                             bias_correction2_sqrt, eps_t, step_size};
  const AdamDecay decay = decoupled_decay ? AdamDecay::decoupled
                          : coupled_decay ? AdamDecay::coupled
                                          : AdamDecay::none;
  const AdamLanes<T> lanes = active_lanes<T>().adam;
  // The vector loop of the active ISA takes whole vectors (optim_lanes.hpp: sqrt's errno
  // check kept GCC from vectorizing the scalar loop, ~10 cycles an element), statement by
  // statement as below, so the bits are the same; the last few elements run here.
  auto run = [&](auto decoupled_c, auto coupled_c) {
    constexpr bool kDecoupled = decltype(decoupled_c)::value, kCoupled = decltype(coupled_c)::value;
    chunks(n, kMinChunk, [&](int64_t lo, int64_t hi) {
      int64_t i = lanes(param, grad, m, v, lo, hi, consts, decay);
      for (; i < hi; ++i) {
        if constexpr (kDecoupled) param[i] = param[i] * shrink;
        T g = grad[i];
        if constexpr (kCoupled) g = g + wd * param[i];
        m[i] = m[i] * b1;
        m[i] = m[i] + one_minus_b1 * g;
        v[i] = v[i] * b2;
        v[i] = v[i] + one_minus_b2 * g * g;
        const T denom = std::sqrt(v[i]) / bias_correction2_sqrt + eps_t;
        param[i] = param[i] - step_size * (m[i] / denom);
      }
    });
  };
  if (decoupled_decay)
    run(std::true_type{}, std::false_type{});
  else if (coupled_decay)
    run(std::false_type{}, std::true_type{});
  else
    run(std::false_type{}, std::false_type{});
}

template <class T>
void rmsprop_step(T* param, const T* grad, T* square_avg, T* velocity, T* grad_avg, int64_t n,
                  double lr, double smoothing, double eps, double momentum, double weight_decay) {
  const T wd = T(weight_decay), a = T(smoothing), one_minus_a = T(1 - smoothing), eps_t = T(eps);
  const T mom = T(momentum), lr_t = T(lr);
  const RmspropConsts<T> consts{wd,  a,    one_minus_a,         eps_t,
                                mom, lr_t, weight_decay != 0.0, grad_avg != nullptr,
                                momentum != 0.0};
  const RmspropLanes<T> lanes = active_lanes<T>().rmsprop;
  // Whole vectors in the active ISA's loop (optim_lanes.hpp), the same statements as below.
  chunks(n, kMinChunk, [&](int64_t lo, int64_t hi) {
    int64_t i = lanes(param, grad, square_avg, velocity, grad_avg, lo, hi, consts);
    for (; i < hi; ++i) {
      const T g = weight_decay != 0.0 ? grad[i] + wd * param[i] : grad[i];
      square_avg[i] = square_avg[i] * a;
      square_avg[i] = square_avg[i] + one_minus_a * g * g;
      T update;
      if (grad_avg) {  // centered; torch's lerp for weight < 0.5: avg + w (g - avg)
        grad_avg[i] = grad_avg[i] + one_minus_a * (g - grad_avg[i]);
        update = g / (std::sqrt(square_avg[i] - grad_avg[i] * grad_avg[i]) + eps_t);
      } else {
        update = g / (std::sqrt(square_avg[i]) + eps_t);
      }
      if (momentum != 0.0) {
        velocity[i] = velocity[i] * mom;
        velocity[i] = velocity[i] + update;
        update = velocity[i];
      }
      param[i] = param[i] - lr_t * update;
    }
  });
}

template <class T>
double clip_grad_norm(T* const* grads, const int64_t* sizes, int64_t count, double max_norm) {
  double squares = 0.0;
  for (int64_t p = 0; p < count; ++p) {
    double sq = 0.0;
    for (int64_t k = 0; k < sizes[p]; ++k) sq += static_cast<double>(grads[p][k]) * grads[p][k];
    squares += sq;
  }
  const double total_norm = std::sqrt(squares);
  const double coef = max_norm / (total_norm + 1e-6);
  if (coef < 1.0) {
    const T c = static_cast<T>(coef);
    for (int64_t p = 0; p < count; ++p)
      for (int64_t k = 0; k < sizes[p]; ++k) grads[p][k] = grads[p][k] * c;
  }
  return total_norm;
}

#define FASTMLP_INSTANTIATE(T)                                                                 \
  template void sgd_step<T>(T*, const T*, T*, int64_t, double, double, bool, double, double,   \
                            bool);                                                             \
  template double clip_grad_norm<T>(T* const*, const int64_t*, int64_t, double);               \
  template void adam_step<T>(T*, const T*, T*, T*, int64_t, int64_t, double, double, double,   \
                             double, double, bool, bool);                                      \
  template void rmsprop_step<T>(T*, const T*, T*, T*, T*, int64_t, double, double, double,      \
                                double, double);
FASTMLP_INSTANTIATE(float)
FASTMLP_INSTANTIATE(double)
#undef FASTMLP_INSTANTIATE

}  // namespace fastmlp::nn
