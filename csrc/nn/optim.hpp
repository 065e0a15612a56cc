// Optimizer updates in place; mirrors backends/numpy.py (sgd_step, adam_step, rmsprop_step),
// which follow torch.optim's definitions. Every array is C-contiguous with n elements;
// hyperparameters arrive as double and are rounded to T where NumPy rounds them.
#pragma once

#include <cstdint>

namespace fastmlp::nn {

// g = grad + wd p;  velocity = momentum velocity + (1 - dampening) g (velocity = g when first
// and dampening != 0: PyTorch's buffer starts as a copy of the first g);
// p -= lr (nesterov ? g + momentum velocity : velocity)   (without momentum: p -= lr g)
template <class T>
void sgd_step(T* param, const T* grad, T* velocity, int64_t n, double lr, double momentum,
              bool nesterov, double weight_decay, double dampening, bool first);

// step is the 1-based count of this update. Adam: g = grad + wd p; AdamW (decoupled):
// p *= 1 - lr wd. m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
// p -= lr / (1 - b1^step) * m / (sqrt(v) / sqrt(1 - b2^step) + eps)   (PyTorch's), or with
// eps_on_raw_moment (scikit-learn's): p -= lr sqrt(1 - b2^step) / (1 - b1^step) * m / (sqrt(v) + eps)
template <class T>
void adam_step(T* param, const T* grad, T* m, T* v, int64_t n, int64_t step, double lr,
               double beta1, double beta2, double eps, double weight_decay, bool decoupled,
               bool eps_on_raw_moment);

// smoothing is PyTorch's RMSprop alpha.
// g = grad + wd p;  square_avg = smoothing square_avg + (1-smoothing) g^2;
// update = g / (sqrt(square_avg) + eps), or centered (grad_avg not null):
// grad_avg += (1-smoothing) (g - grad_avg), update = g / (sqrt(square_avg - grad_avg^2) + eps);
// velocity = momentum velocity + update (if momentum); p -= lr update
template <class T>
void rmsprop_step(T* param, const T* grad, T* square_avg, T* velocity, T* grad_avg, int64_t n,
                  double lr, double smoothing, double eps, double momentum, double weight_decay);

// The global L2 norm of all gradients (double); when max_norm / (norm + 1e-6) < 1 every
// gradient is scaled by it (torch.nn.utils.clip_grad_norm_). grads[i] has sizes[i] elements.
template <class T>
double clip_grad_norm(T* const* grads, const int64_t* sizes, int64_t count, double max_norm);

}  // namespace fastmlp::nn
