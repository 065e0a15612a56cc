"""The oracle's maths with no argument checks: the bodies behind `backends/numpy.py`'s kernels.

Same names and arguments as the public kernels, whose docstrings give the formulas; names
(activation, loss) must already be canonical and arrays already valid. `numpy.py` checks and
then calls these; the oracle's training checks a whole batch or epoch once up front and then
calls these on every layer, as the C++ epoch does.
"""

from __future__ import annotations

import math

import numpy as np

from ._erf import erf

LEAKY_RELU_SLOPE = 0.01  # PyTorch's default negative_slope
HUBER_DELTA = 1.0  # PyTorch's default delta


def matmul(a, b, *, trans_a=False, trans_b=False, out, alpha=1.0, beta=0.0):
    op_a = a.T if trans_a else a
    op_b = b.T if trans_b else b
    product = alpha * (op_a @ op_b) if op_a.shape[1] else np.zeros(out.shape, out.dtype)
    if beta == 0.0:
        out[...] = product
    else:
        out[...] = product + beta * out
    return out


# --- activations ----------------------------------------------------------------------------


def activation_forward(name, z):
    if name == "identity":
        return z.copy()
    if name == "relu":
        return np.maximum(z, 0)
    if name == "leaky_relu":
        return np.where(z > 0, z, z * z.dtype.type(LEAKY_RELU_SLOPE))
    if name == "sigmoid":
        return sigmoid(z)
    if name == "tanh":
        return np.tanh(z)
    if name == "gelu":
        return z * _gaussian_cdf(z)
    # softmax: subtract each row's max first so exp never overflows
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def activation_backward(name, z, a, grad_a):
    one = z.dtype.type(1)
    if name == "identity":
        return grad_a.copy()
    if name == "relu":
        return np.where(z > 0, grad_a, 0).astype(z.dtype)
    if name == "leaky_relu":
        return np.where(z > 0, grad_a, grad_a * z.dtype.type(LEAKY_RELU_SLOPE))
    if name == "sigmoid":
        return grad_a * a * (one - a)
    if name == "tanh":
        return grad_a * (one - a * a)
    if name == "gelu":
        # d/dz [z * Phi(z)] = Phi(z) + z * phi(z)
        pdf = np.exp(-0.5 * z * z) * z.dtype.type(1 / np.sqrt(2 * np.pi))
        return grad_a * (_gaussian_cdf(z) + z * pdf)
    return a * (grad_a - (grad_a * a).sum(axis=1, keepdims=True))


def sigmoid(z):
    # two branches so exp never overflows: 1/(1+e^-z) for z >= 0, e^z/(1+e^z) for z < 0
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e)).astype(z.dtype)


def _gaussian_cdf(z):
    return (0.5 * (1 + erf(z / np.sqrt(2)))).astype(z.dtype)


# --- dense layer ----------------------------------------------------------------------------


def dense_forward(x, w, b, activation, out_z=None, out_a=None):
    if out_z is None:  # one output given means both are (the public kernel allocates them)
        z = x @ w + b
        return z, activation_forward(activation, z)
    out_z[...] = x @ w + b
    out_a[...] = activation_forward(activation, out_z)
    return out_z, out_a


def dense_backward(x, w, z, a, grad_a, activation, want_grad_x=True):
    grad_z = activation_backward(activation, z, a, grad_a)
    grad_w = x.T @ grad_z
    grad_b = grad_z.sum(axis=0)
    grad_x = grad_z @ w.T if want_grad_x else None
    return grad_x, grad_w, grad_b


# --- losses ---------------------------------------------------------------------------------


def loss_forward_backward(name, output, target, sample_weight=None, class_weight=None,
                          clip_probabilities=False):
    terms, grad = _loss_terms(name, output, target, clip_probabilities)
    if sample_weight is None and class_weight is None:
        return _plain_mean(name, output, terms, grad)
    s = loss_row_weights(output, target, sample_weight, class_weight)
    return _weighted_mean(name, output, terms, grad, s)


def _loss_terms(name, output, target, clip_probabilities=False):
    # each loss's formula, once: (terms, grad) before any reduction (see the two means below)
    if name == "cross_entropy":
        return _cross_entropy_terms(output, target, clip_probabilities)
    return _element_loss(name, output, target, clip_probabilities)


def neg_log_clip_bounds(dtype):
    """[-log(1 - eps), -log(eps)] in ``dtype`` (eps its machine epsilon): the range of -log p for
    p clipped to [eps, 1 - eps], as scikit-learn's log losses clip it."""
    t = np.dtype(dtype).type
    eps = np.finfo(dtype).eps
    return np.array([-np.log(t(1) - eps), -np.log(t(eps))], dtype)


def _clipped_neg_log(neg_log, dtype):
    # -log p of p clipped to [eps, 1 - eps] (scikit-learn's log losses); NaN stays NaN
    lo, hi = neg_log_clip_bounds(dtype)
    return np.clip(neg_log, lo, hi)


def _clipped_binary_log_loss(output, target):
    # scikit-learn's binary log loss per element: p = 1 / (1 + exp(-o)) clipped to [eps, 1 - eps],
    # -(t log p + (1 - t) log(1 - p)); a more accurate form would differ by up to 1e-3 where |o|
    # nears 36, enough to turn an lbfgs line search another way
    t = output.dtype.type
    eps = np.finfo(output.dtype).eps
    with np.errstate(over="ignore"):  # exp(-o) = inf: p = 0, clipped to eps
        p = t(1) / (t(1) + np.exp(-output))
    p = np.clip(p, t(eps), t(1) - t(eps))
    return -(target * np.log(p) + (t(1) - target) * np.log(t(1) - p))


def _cross_entropy_terms(output, target, clip_probabilities=False):
    # target * log_prob (a row's loss is minus their sum) and d/do of that loss with softmax fused:
    # softmax - target, softmax = e / sum(e) with e = exp(output - max) (scikit-learn's; the max
    # subtracted first so exp never overflows). Clipped: the terms of p clipped as
    # _clipped_neg_log says, the gradient not
    shifted = output - output.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    total = e.sum(axis=1, keepdims=True)
    log_prob = shifted - np.log(total)
    if target.ndim == 1:
        target = np.eye(output.shape[1], dtype=output.dtype)[target]
    grad = e / total - target
    if clip_probabilities:
        return -(target * _clipped_neg_log(-log_prob, output.dtype)), grad
    return target * log_prob, grad


def _element_loss(name, output, target, clip_probabilities=False):
    # every element's loss e and its derivative de/do, in output's dtype; mse's derivative is
    # 2d with the 2 left to the means, each of which rounds it as it always has
    diff = output - target
    if name == "mse":
        per_element, grad_element = diff * diff, diff
    elif name == "mae":
        per_element, grad_element = np.abs(diff), np.sign(diff)
    elif name == "huber":  # 0.5 d^2 where |d| <= delta, else delta (|d| - 0.5 delta)
        small = np.abs(diff) <= HUBER_DELTA
        per_element = np.where(small, 0.5 * diff * diff, HUBER_DELTA * (np.abs(diff) - 0.5 * HUBER_DELTA))
        grad_element = np.where(small, diff, HUBER_DELTA * np.sign(diff))
    elif name == "poisson":  # log link fused: d/do (exp(o) - t o) = exp(o) - t
        rate = np.exp(output)
        per_element, grad_element = rate - target * output, rate - target
    else:  # binary_cross_entropy, stable form: max(o, 0) - o*t + log(1 + exp(-|o|))
        if clip_probabilities:  # scikit-learn's formula as it computes it (1 - p cancels)
            per_element = _clipped_binary_log_loss(output, target)
        else:
            per_element = np.maximum(output, 0) - output * target + np.log1p(np.exp(-np.abs(output)))
        grad_element = sigmoid(output) - target
    return per_element.astype(output.dtype, copy=False), grad_element.astype(output.dtype, copy=False)


def _plain_mean(name, output, terms, grad):
    # the mean over rows (cross_entropy) or over elements, and its gradient
    t = output.dtype.type
    if name == "cross_entropy":
        batch = output.shape[0]
        return float(-terms.sum() / batch), grad / t(batch)
    if name == "mse":
        return float(np.mean(terms)), (2 / output.size) * grad
    return float(np.mean(terms)), grad / t(output.size)


def loss_row_weights(output, target, sample_weight, class_weight):
    """Each row's weight ``s_i = sample_weight[i] * class_weight[label_i]`` in output's dtype
    (label_i: the integer label, or the index of the one-hot target's 1)."""
    s = np.ones(output.shape[0], output.dtype) if sample_weight is None else sample_weight
    if class_weight is not None:
        labels = target if target.ndim == 1 else target.argmax(axis=1)
        s = s * class_weight[labels]
    return s


def _weighted_mean(name, output, terms, grad, s):
    # sum_i s_i l_i / sum_i s_i over the rows' losses l_i, each row's gradient scaled by its share
    if name == "cross_entropy":
        per_row, grad_row = -terms.sum(axis=1), grad
    else:
        n_out = output.shape[1]
        per_row = terms.mean(axis=1)
        grad = 2 * grad if name == "mse" else grad
        grad_row = grad * (output.dtype.type(1) / output.dtype.type(n_out))
    total = s.sum()
    with np.errstate(invalid="ignore", divide="ignore"):  # weights summing to 0: NaN, as documented
        loss = (s * per_row).sum() / total
        share = s / total  # each row's share of the batch's weight
    return float(loss), (grad_row * share[:, None]).astype(output.dtype)


# --- optimizers (update param and slots in place) --------------------------------------------


def sgd_step(param, grad, velocity, *, lr, momentum=0.0, nesterov=False, weight_decay=0.0,
             dampening=0.0, step=None):
    first = step == 1
    t = param.dtype.type
    g = grad + t(weight_decay) * param if weight_decay else grad
    if momentum:
        if dampening and first:
            velocity[...] = g
        elif dampening:
            velocity *= t(momentum)
            velocity += t(1 - dampening) * g
        else:
            velocity *= t(momentum)
            velocity += g
        g = g + t(momentum) * velocity if nesterov else velocity
    param -= t(lr) * g


def adam_step(param, grad, m, v, *, step, lr, beta1=0.9, beta2=0.999, eps=1e-8,
              weight_decay=0.0, decoupled=False, eps_on_raw_moment=False):
    t = param.dtype.type
    if weight_decay and decoupled:
        param *= t(1 - lr * weight_decay)
    g = grad + t(weight_decay) * param if weight_decay and not decoupled else grad
    m *= t(beta1)
    m += t(1 - beta1) * g
    v *= t(beta2)
    v += t(1 - beta2) * g * g
    bias_correction1 = 1 - beta1**step
    bias_correction2_sqrt = np.sqrt(1 - beta2**step)
    if eps_on_raw_moment:  # scikit-learn's: the second correction moves into the step size
        step_size = lr * bias_correction2_sqrt / bias_correction1
        denom = np.sqrt(v) + t(eps)
    else:
        step_size = lr / bias_correction1
        denom = np.sqrt(v) / t(bias_correction2_sqrt) + t(eps)
    param -= t(step_size) * (m / denom)


def rmsprop_step(param, grad, square_avg, velocity, *, lr, alpha=0.99, eps=1e-8, momentum=0.0,
                 weight_decay=0.0, centered=False, grad_avg=None):
    t = param.dtype.type
    g = grad + t(weight_decay) * param if weight_decay else grad
    square_avg *= t(alpha)
    square_avg += t(1 - alpha) * g * g
    if centered:
        grad_avg += t(1 - alpha) * (g - grad_avg)
        update = g / (np.sqrt(square_avg - grad_avg * grad_avg) + t(eps))
    else:
        update = g / (np.sqrt(square_avg) + t(eps))
    if momentum:
        velocity *= t(momentum)
        velocity += update
        update = velocity
    param -= t(lr) * update


# --- learning-rate schedules and dropout masks ------------------------------------------------


def scheduled_lr(base_lr, schedule, t):
    base_lr, s = float(base_lr), schedule
    if s.name == "step":
        return base_lr * float(s.gamma) ** float((t - 1) // s.step_size)
    if s.name == "exponential":
        return base_lr * float(s.gamma) ** float(t - 1)
    if s.name == "cosine":
        if t <= s.warmup_steps:
            return base_lr * (float(t) / float(s.warmup_steps))
        progress = min(1.0, float(t - s.warmup_steps) / float(s.total_steps - s.warmup_steps))
        return float(s.min_lr) + (base_lr - float(s.min_lr)) * (1.0 + math.cos(math.pi * progress)) / 2.0
    if s.name == "invscaling":
        return base_lr / float(t) ** float(s.power_t)
    return base_lr


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # splitmix64's increment
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def mix64(z):
    """splitmix64's step on uint64 ``z`` (a scalar or an array): add the golden-ratio increment,
    then its output mix. Arithmetic wraps modulo 2^64, as in C."""
    with np.errstate(over="ignore"):
        z = np.asarray(z, dtype=np.uint64) + _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _MIX1
        z = (z ^ (z >> np.uint64(27))) * _MIX2
        return z ^ (z >> np.uint64(31))


def dropout_mask(seed, step, layer, p, shape, dtype):
    key = mix64(mix64(mix64(seed) ^ np.uint64(step)) ^ np.uint64(layer))
    bits = mix64(key ^ np.arange(shape[0] * shape[1], dtype=np.uint64))
    if dtype == np.float64:
        u = (bits >> np.uint64(11)).astype(np.float64) * 2.0**-53
    else:
        u = (bits >> np.uint64(40)).astype(np.float64) * 2.0**-24
    keep = dtype.type(1.0 / (1.0 - p))
    return np.where(u >= p, keep, dtype.type(0)).astype(dtype).reshape(shape)
