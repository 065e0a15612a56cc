"""The NumPy backend: the oracle and the textbook.

Every function here is plain NumPy, computes in the dtype it is given (float64 for the
oracle), and owns the docstring that the Numba and C++ backends copy. Read this file first;
`backends/numba.py` and `csrc/nn/*.hpp` follow it function by function.

Names: x input (batch, n_in); w weight (n_in, n_out); b bias (n_out,); z = x @ w + b the
pre-activation; a = f(z) the activation; grad_<name> = dLoss/d<name>.
"""

from __future__ import annotations

import math

import numpy as np

from . import _checks as check
from ..errors import NonFiniteLossError
from ._erf import erf
from .network import Network

LEAKY_RELU_SLOPE = 0.01  # PyTorch's default negative_slope
HUBER_DELTA = 1.0  # PyTorch's default delta


# --- matrix multiply ------------------------------------------------------------------------


def matmul(a, b, *, trans_a=False, trans_b=False, out=None, alpha=1.0, beta=0.0):
    """General matrix multiply: ``out = alpha * op(a) @ op(b) + beta * out``.

    op(a) is ``a.T`` when ``trans_a`` (likewise b). ``a`` and ``b`` are 2-D float32 or float64
    arrays of one dtype, of any strides and order. ``out``, when given, must be C-contiguous,
    writable, of shape (M, N) and the same dtype; when ``beta == 0`` its contents are never
    read (NaN in ``out`` does not leak). Without ``out`` a new array is returned (beta must
    then be 0). Returns ``out``.
    """
    a, b, out, alpha, beta = check.matmul_args(a, b, trans_a, trans_b, out, alpha, beta)
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
    """Apply activation ``name`` to the pre-activation ``z`` (batch, n); returns a new ``a``.

    Names: identity, relu, leaky_relu (slope 0.01), sigmoid (alias logistic), tanh,
    gelu (exact, with erf), softmax (over each row).
    """
    name = check.activation_name(name)
    check.float_array(z, "z", 2)
    if name == "identity":
        return z.copy()
    if name == "relu":
        return np.maximum(z, 0)
    if name == "leaky_relu":
        return np.where(z > 0, z, z * z.dtype.type(LEAKY_RELU_SLOPE))
    if name == "sigmoid":
        return _sigmoid(z)
    if name == "tanh":
        return np.tanh(z)
    if name == "gelu":
        return z * _gaussian_cdf(z)
    # softmax: subtract each row's max first so exp never overflows
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def activation_backward(name, z, a, grad_a):
    """Chain rule through activation ``name``: returns ``grad_z = grad_a * f'(z)``.

    ``z`` is the pre-activation, ``a = f(z)`` the activation (both (batch, n)); the derivative
    is taken from whichever is cheaper. For softmax it is the Jacobian-vector product
    ``a * (grad_a - sum(grad_a * a, axis=1))``.
    """
    name = check.activation_backward_args(name, z, a, grad_a)
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


def _sigmoid(z):
    # two branches so exp never overflows: 1/(1+e^-z) for z >= 0, e^z/(1+e^z) for z < 0
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e)).astype(z.dtype)


def _gaussian_cdf(z):
    return (0.5 * (1 + erf(z / np.sqrt(2)))).astype(z.dtype)


# --- dense layer ----------------------------------------------------------------------------


def dense_forward(x, w, b, activation, out_z=None, out_a=None):
    """One dense layer forward: ``z = x @ w + b``, ``a = activation(z)``; returns ``(z, a)``.

    ``x`` is (batch, n_in), ``w`` (n_in, n_out), ``b`` (n_out,), all one float dtype; ``x`` and
    ``w`` may have any strides. ``out_z`` and ``out_a``, when given, receive the results
    (C-contiguous, writable, (batch, n_out)).
    """
    x, w, b, out_z, out_a = check.dense_forward_args(x, w, b, activation, out_z, out_a)
    out_z[...] = x @ w + b
    out_a[...] = activation_forward(activation, out_z)
    return out_z, out_a


def dense_backward(x, w, z, a, grad_a, activation):
    """One dense layer backward; returns ``(grad_x, grad_w, grad_b)``.

    Given the forward pass ``z = x @ w + b``, ``a = activation(z)`` and the incoming
    ``grad_a = dLoss/da`` (batch, n_out):
    ``grad_z = activation_backward(activation, z, a, grad_a)``,
    ``grad_w = x.T @ grad_z`` (n_in, n_out), ``grad_b = grad_z.sum(axis=0)`` (n_out,),
    ``grad_x = grad_z @ w.T`` (batch, n_in).
    """
    check.dense_backward_args(x, w, z, a, grad_a, activation)
    grad_z = activation_backward(activation, z, a, grad_a)
    grad_w = x.T @ grad_z
    grad_b = grad_z.sum(axis=0)
    grad_x = grad_z @ w.T
    return grad_x, grad_w, grad_b


# --- losses ---------------------------------------------------------------------------------


def loss_forward_backward(name, output, target, sample_weight=None, class_weight=None):
    """Loss of a batch and its gradient with respect to ``output``; returns ``(loss, grad_output)``.

    ``output`` is the last layer's raw output (batch, n_out). The losses are means:
    mse ``mean((output - target)**2)`` and mae ``mean(|output - target|)`` and huber (delta 1)
    over all elements; cross_entropy ``mean_i(-log softmax(output_i)[y_i])`` with softmax fused
    (``target`` integer labels (batch,) or one-hot/probabilities (batch, n_out));
    binary_cross_entropy ``mean(-t log sigmoid(o) - (1-t) log(1 - sigmoid(o)))`` over all
    elements with sigmoid fused; poisson ``mean(exp(o) - t o)`` over all elements, the output
    being the log of the predicted rate (``torch.nn.PoissonNLLLoss(log_input=True, full=False)``;
    targets >= 0). ``loss`` is a Python float, ``grad_output`` an array like output.

    Weights: ``sample_weight`` (batch,) and, for cross_entropy with integer labels or one-hot
    targets, ``class_weight`` (n_out,), both >= 0. Row i weighs ``s_i = sample_weight[i] *
    class_weight[label_i]`` (a missing factor is 1) and the loss is the weighted mean of the rows'
    losses ``sum_i s_i l_i / sum_i s_i``, where ``l_i`` is row i's loss (the mean over its
    outputs for mse, mae, huber and binary_cross_entropy); ``torch.nn.CrossEntropyLoss(weight=)``
    with mean reduction is exactly this. Weights summing to 0 give a NaN loss (0/0, as PyTorch).
    Without weights the unweighted formulas above run unchanged.
    """
    name, target, sample_weight, class_weight = check.loss_args(name, output, target, sample_weight,
                                                                class_weight)
    if sample_weight is not None or class_weight is not None:
        s = row_weights(output, target, sample_weight, class_weight)
        return _weighted_loss(name, output, target, s)
    batch, n_out = output.shape
    diff = output - target if target.ndim == 2 else None
    if name == "mse":
        return float(np.mean(diff * diff)), (2 / output.size) * diff
    if name == "mae":
        return float(np.mean(np.abs(diff))), np.sign(diff) / output.size
    if name == "huber":
        small = np.abs(diff) <= HUBER_DELTA
        per_element = np.where(small, 0.5 * diff * diff, HUBER_DELTA * (np.abs(diff) - 0.5 * HUBER_DELTA))
        grad = np.where(small, diff, HUBER_DELTA * np.sign(diff))
        return float(np.mean(per_element)), (grad / output.size).astype(output.dtype)
    if name == "cross_entropy":
        shifted = output - output.max(axis=1, keepdims=True)
        log_prob = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        if target.ndim == 1:
            target = np.eye(n_out, dtype=output.dtype)[target]
        loss = -(target * log_prob).sum() / batch
        # d/d(output) of mean cross-entropy with softmax: (softmax - target) / batch
        return float(loss), (np.exp(log_prob) - target) / output.dtype.type(batch)
    if name == "poisson":  # log link fused: d/do (exp(o) - t o) = exp(o) - t
        rate = np.exp(output)
        return float(np.mean(rate - target * output)), (rate - target) / output.dtype.type(output.size)
    # binary_cross_entropy, stable form: max(o, 0) - o*t + log(1 + exp(-|o|))
    per_element = np.maximum(output, 0) - output * target + np.log1p(np.exp(-np.abs(output)))
    return float(np.mean(per_element)), (_sigmoid(output) - target) / output.dtype.type(output.size)


def row_weights(output, target, sample_weight, class_weight):
    """Each row's weight ``s_i = sample_weight[i] * class_weight[label_i]`` in output's dtype
    (label_i: the integer label, or the index of the one-hot target's 1)."""
    s = np.ones(output.shape[0], output.dtype) if sample_weight is None else sample_weight
    if class_weight is not None:
        labels = target if target.ndim == 1 else target.argmax(axis=1)
        s = s * class_weight[labels]
    return s


def _weighted_loss(name, output, target, s):
    # per_row[i] = l_i, grad_row[i] = d l_i / d output_i; then the weighted mean and its gradient
    n_out = output.shape[1]
    one = output.dtype.type(1)
    if name == "cross_entropy":
        shifted = output - output.max(axis=1, keepdims=True)
        log_prob = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        if target.ndim == 1:
            target = np.eye(n_out, dtype=output.dtype)[target]
        per_row = -(target * log_prob).sum(axis=1)
        grad_row = np.exp(log_prob) - target
    else:
        diff = output - target
        if name == "mse":
            per_element, grad_element = diff * diff, 2 * diff
        elif name == "mae":
            per_element, grad_element = np.abs(diff), np.sign(diff)
        elif name == "huber":
            small = np.abs(diff) <= HUBER_DELTA
            per_element = np.where(small, 0.5 * diff * diff, HUBER_DELTA * (np.abs(diff) - 0.5 * HUBER_DELTA))
            grad_element = np.where(small, diff, HUBER_DELTA * np.sign(diff))
        elif name == "poisson":
            rate = np.exp(output)
            per_element, grad_element = rate - target * output, rate - target
        else:  # binary_cross_entropy
            per_element = np.maximum(output, 0) - output * target + np.log1p(np.exp(-np.abs(output)))
            grad_element = _sigmoid(output) - target
        per_row = per_element.astype(output.dtype).mean(axis=1)
        grad_row = grad_element.astype(output.dtype) * (one / output.dtype.type(n_out))
    total = s.sum()
    with np.errstate(invalid="ignore", divide="ignore"):  # weights summing to 0: NaN, as documented
        loss = (s * per_row).sum() / total
        share = s / total  # each row's share of the batch's weight
    return float(loss), (grad_row * share[:, None]).astype(output.dtype)


# --- optimizers (update param and slots in place) --------------------------------------------


def sgd_step(param, grad, velocity, *, lr, momentum=0.0, nesterov=False, weight_decay=0.0,
             dampening=0.0, step=None):
    """One SGD update in place, as ``torch.optim.SGD`` defines it.

    ``g = grad + weight_decay * param``; with momentum ``velocity = momentum * velocity +
    (1 - dampening) * g`` and the step direction is ``g + momentum * velocity`` (nesterov) or
    ``velocity``; ``param -= lr * direction``. ``velocity`` starts at zero and is updated in
    place. ``step`` is the 1-based count of this update, needed only with dampening: on
    update 1 ``velocity = g`` undamped (PyTorch creates the buffer as a copy of the first g).
    """
    check.optimizer_args(param, grad, {"velocity": velocity}, lr=lr, momentum=momentum,
                         weight_decay=weight_decay, dampening=dampening, step=step)
    first = check.sgd_first_step(dampening, step)
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
              weight_decay=0.0, decoupled=False):
    """One Adam (or AdamW when ``decoupled``) update in place, as ``torch.optim.Adam(W)`` defines it.

    ``step`` is the 1-based count of this update. Adam adds ``weight_decay * param`` to the
    gradient; AdamW instead scales ``param *= 1 - lr * weight_decay``. Then
    ``m = beta1 m + (1-beta1) g``, ``v = beta2 v + (1-beta2) g^2``, and
    ``param -= lr / (1 - beta1^step) * m / (sqrt(v) / sqrt(1 - beta2^step) + eps)``.
    """
    check.optimizer_args(param, grad, {"m": m, "v": v}, step=step, lr=lr, beta1=beta1, beta2=beta2,
                         eps=eps, weight_decay=weight_decay)
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
    denom = np.sqrt(v) / t(bias_correction2_sqrt) + t(eps)
    param -= t(lr / bias_correction1) * (m / denom)


def rmsprop_step(param, grad, square_avg, velocity, *, lr, alpha=0.99, eps=1e-8, momentum=0.0,
                 weight_decay=0.0, centered=False, grad_avg=None):
    """One RMSprop update in place, as ``torch.optim.RMSprop`` defines it.

    ``g = grad + weight_decay * param``; ``square_avg = alpha * square_avg + (1-alpha) g^2``;
    ``update = g / (sqrt(square_avg) + eps)``, or when ``centered`` (``grad_avg``, an array
    like param starting at zero, is then required) ``grad_avg += (1-alpha) (g - grad_avg)``
    (torch's lerp) and ``update = g / (sqrt(square_avg - grad_avg^2) + eps)``; with momentum
    ``velocity = momentum * velocity + update`` and the step is ``velocity``;
    ``param -= lr * step``.
    """
    slots = {"square_avg": square_avg, "velocity": velocity}
    if centered:
        slots["grad_avg"] = check.needed(grad_avg, "grad_avg", "centered RMSprop")
    check.optimizer_args(param, grad, slots, lr=lr, alpha=alpha, eps=eps, momentum=momentum,
                         weight_decay=weight_decay)
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


# --- learning-rate schedules -------------------------------------------------------------------


def scheduled_lr(base_lr, schedule, t):
    """The learning rate of update ``t`` (1-based: ``net.step`` after incrementing) under ``schedule``.

    ``base_lr`` is the optimizer's ``lr``; ``schedule`` a `ScheduleConfig`. A pure function of
    ``t``, computed in float64 (Python floats) and rounded to the parameters' dtype only where
    the optimizer uses it, so saving ``net.step`` is enough to resume a schedule exactly.

    - constant:    ``base_lr``
    - step:        ``base_lr * gamma ** ((t - 1) // step_size)``
      (``torch.optim.lr_scheduler.StepLR`` stepped once per update)
    - exponential: ``base_lr * gamma ** (t - 1)``
      (``torch.optim.lr_scheduler.ExponentialLR`` stepped once per update)
    - cosine with linear warmup (w = warmup_steps, T = total_steps):
      ``t <= w``: ``base_lr * (t / w)``; else
      ``min_lr + (base_lr - min_lr) * (1 + cos(pi * min(1, (t - w) / (T - w)))) / 2``.
      The warmup equals ``LambdaLR(lambda e: (e + 1) / w)`` stepped per update and peaks at
      ``base_lr`` on update w. Differences from ``SequentialLR(warmup, CosineAnnealingLR(T_max=T - w,
      eta_min=min_lr), milestones=[w])``: the cosine part here runs one update ahead (update t gets
      PyTorch's rate of update t + 1), so update w + 1 is already below ``base_lr`` and update T
      uses exactly ``min_lr``; after update T the rate stays at ``min_lr`` where
      CosineAnnealingLR would rise again. (PyTorch also updates the cosine rate recursively,
      which differs from this closed form in the last bits.)
    - invscaling:  ``base_lr / t ** power_t``, scikit-learn's ``learning_rate="invscaling"``
      formula, but applied per update with t counting updates; scikit-learn changes the
      rate once per epoch with t counting samples seen (``(t + 1) ** power_t``).
    """
    check.schedule_config(schedule)
    t = check.integer(t, "t", low=1)
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


# --- dropout masks -----------------------------------------------------------------------------

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
    """The inverted-dropout mask of hidden layer ``layer`` on update ``step`` (1-based): an array
    of ``shape`` (batch, n_out) holding 0 (dropped) or ``1 / (1 - p)`` (kept) in ``dtype``.

    Counter-based, so every backend draws the same mask with no generator state:
    ``key = mix64(mix64(mix64(seed) ^ step) ^ layer)``; element k (``row * n_out + col``) takes
    ``bits = mix64(key ^ k)`` and ``u = (bits >> 11) * 2^-53`` (float64) or
    ``(bits >> 40) * 2^-24`` (float32), uniform in [0, 1), and is kept when ``u >= p``.
    ``seed`` is an int in [0, 2^64); ``p`` in [0, 1).
    """
    seed, step, layer, p, shape, dtype = check.dropout_mask_args(seed, step, layer, p, shape, dtype)
    key = mix64(mix64(mix64(seed) ^ np.uint64(step)) ^ np.uint64(layer))
    bits = mix64(key ^ np.arange(shape[0] * shape[1], dtype=np.uint64))
    if dtype == np.float64:
        u = (bits >> np.uint64(11)).astype(np.float64) * 2.0**-53
    else:
        u = (bits >> np.uint64(40)).astype(np.float64) * 2.0**-24
    keep = dtype.type(1.0 / (1.0 - p))
    return np.where(u >= p, keep, dtype.type(0)).astype(dtype).reshape(shape)


# --- training -------------------------------------------------------------------------------


def train_step(net, x, y, sample_weight=None):
    """One training step on a batch: forward, loss, backward, optimizer update (in place).

    ``net`` is a `fastmlp.backends.Network`; ``x`` (batch, n_in) of the network's dtype; ``y``
    the targets the loss takes; ``sample_weight`` None or one weight >= 0 per row (with
    ``net.class_weight`` they weigh the loss as `loss_forward_backward` says). Updates every
    weight, bias and optimizer slot of ``net`` and increments ``net.step``. A non-finite loss
    (weights summing to 0 included) raises FloatingPointError and leaves ``net`` untouched.
    Returns ``(loss, n_correct)``: the batch's mean loss before the update, and how many rows
    the network classified correctly before the update (cross_entropy: argmax equals the
    label; binary_cross_entropy: every output on the right side of 0; regression losses: 0).
    Dropout (``net.dropout[l]`` = p > 0 for hidden layer l) multiplies a_l by
    ``dropout_mask(net.seed, net.step + 1, l, p, a_l.shape, dtype)`` for the next layer and
    the backward pass (training steps only; ``n_correct`` counts the dropped-out forward).
    With ``net.l2`` > 0 the loss includes the L2 penalty
    ``0.5 * l2 * sum_l ||W_l||^2 / sum_i s_i`` (s_i the rows' weights, 1 each without
    weights; scikit-learn's loss_curve_ includes it alike) and each weight gradient gains
    ``l2 * W_l / sum_i s_i``. The update: gradients by backprop plus that L2 term, then
    clipped to ``optimizer.clip_norm`` (`clip_grad_norm`) when set, then the optimizer's
    step (which adds weight_decay).
    """
    net.ensure_slots()
    check.network(net)
    sample_weight = check.batch_arrays(net, x, y, sample_weight=sample_weight)
    class_weight = _class_weight(net)
    # forward: keep every layer's input, z and a (before dropout) for the backward pass
    inputs, zs, activations, masks = [], [], [], []
    a = x
    for i, (w, b, act) in enumerate(zip(net.weights, net.biases, net.activations)):
        inputs.append(a)
        z, a = dense_forward(a, w, b, act)
        zs.append(z)
        activations.append(a)
        p = net.dropout[i] if net.dropout else 0.0
        masks.append(dropout_mask(net.seed, net.step + 1, i, p, a.shape, a.dtype) if p else None)
        if p:  # the next layer sees the dropped activations
            a = a * masks[i]
    loss, grad_a = loss_forward_backward(net.loss, a, y, sample_weight, class_weight)
    if net.l2:
        batch_weight = _batch_weight(net, x, y, sample_weight, class_weight)
        loss += l2_penalty(net.weights, net.l2, batch_weight)
    if not np.isfinite(loss):  # stop before a NaN/Inf gradient reaches the weights
        raise NonFiniteLossError(loss, 0, 0, len(x) - 1)
    n_correct = _count_correct(net.loss, a, y)
    # backward: from the last layer to the first, collecting gradients in update order
    grads = [None] * (2 * len(net.weights))
    for i in reversed(range(len(net.weights))):
        if masks[i] is not None:  # through the dropout: the same mask
            grad_a = grad_a * masks[i]
        grad_a, grads[2 * i], grads[2 * i + 1] = dense_backward(
            inputs[i], net.weights[i], zs[i], activations[i], grad_a, net.activations[i])
    if net.l2:  # d/dW of the penalty; biases are not penalised
        for i, w in enumerate(net.weights):
            grads[2 * i] = grads[2 * i] + w.dtype.type(net.l2 / batch_weight) * w
    _apply_optimizer(net, grads)
    return loss, n_correct


def train_epoch(net, X, Y, order, batch_size, sample_weight=None):
    """One epoch: `train_step` on each batch ``X[order[i:i + batch_size]]`` in turn.

    ``order`` is an integer array of row indices (usually a permutation of range(len(X)));
    the last batch may be smaller. ``sample_weight`` (None or one weight per row of X) is
    gathered by ``order`` like Y. Returns ``(mean_loss, n_correct)`` over the epoch: the
    weighted mean of every sample's loss (each batch's loss weighted by its total weight:
    its size without weights) and the sum of the steps' correct counts. A batch with a
    non-finite loss raises FloatingPointError naming the batch; the batches before it have
    been applied, that one has not.
    """
    net.ensure_slots()
    check.network(net)
    sample_weight = check.batch_arrays(net, X, Y, "X", "Y", sample_weight)
    order = check.epoch_order(order, len(X))
    batch_size = check.integer(batch_size, "batch_size", low=1)
    class_weight = _class_weight(net)
    loss_sum, weight_sum, n_correct = 0.0, 0.0, 0
    for start in range(0, len(order), batch_size):
        rows = order[start:start + batch_size]
        sw = None if sample_weight is None else sample_weight[rows]
        try:
            loss, correct = train_step(net, X[rows], Y[rows], sw)
        except NonFiniteLossError as exc:  # train_step numbers the batch from 0
            raise exc.shifted(start // batch_size, start) from None
        batch_weight = _batch_weight(net, X[rows], Y[rows], sw, class_weight)
        loss_sum += loss * batch_weight
        weight_sum += batch_weight
        n_correct += correct
    return (loss_sum / weight_sum if len(order) else 0.0), n_correct


def l2_penalty(weights, alpha, batch_weight):
    """scikit-learn's L2 term ``0.5 * alpha * sum_l ||W_l||^2 / batch_weight``, in float64."""
    squares = sum(float(np.square(w, dtype=np.float64).sum()) for w in weights)
    return 0.5 * alpha * squares / batch_weight


def _class_weight(net):
    return check.class_weights(net.class_weight, check.loss_name(net.loss), None,
                               net.weights[-1].shape[1], net.dtype)


def _batch_weight(net, x, y, sample_weight, class_weight):
    """The batch's total weight as a Python float: its row count without weights."""
    if sample_weight is None and class_weight is None:
        return len(x)
    probe = np.empty((len(x), net.weights[-1].shape[1]), net.dtype)
    return float(row_weights(probe, y, sample_weight, class_weight).astype(np.float64).sum())


def _count_correct(loss, output, y):
    loss = check.loss_name(loss)
    if loss == "cross_entropy":
        labels = y if y.ndim == 1 else y.argmax(axis=1)
        return int((output.argmax(axis=1) == labels).sum())
    if loss == "binary_cross_entropy":
        return int(((output > 0) == (y > 0.5)).all(axis=1).sum())
    return 0


def clip_grad_norm(grads, max_norm):
    """Scale ``grads`` (a list, replaced in place) by ``max_norm / (total_norm + 1e-6)`` when that
    is below 1, as ``torch.nn.utils.clip_grad_norm_``; total_norm is the L2 norm of all of them
    together, computed in float64. Returns total_norm."""
    total_norm = math.sqrt(sum(float(np.square(g, dtype=np.float64).sum()) for g in grads))
    coef = max_norm / (total_norm + 1e-6)
    if coef < 1.0:
        for i, g in enumerate(grads):
            grads[i] = g * g.dtype.type(coef)
    return total_norm


def _apply_optimizer(net: Network, grads):
    opt = net.optimizer
    if opt.clip_norm is not None:  # clip first; the optimizers add weight decay afterwards
        clip_grad_norm(grads, opt.clip_norm)
    net.step += 1
    lr = scheduled_lr(opt.lr, net.schedule, net.step)  # every parameter takes this update's rate
    slots_g = net.slots_g if opt.centered else [None] * len(grads)
    for param, grad, m, v, g_avg in zip(net.params, grads, net.slots_m, net.slots_v, slots_g):
        if opt.name == "sgd":
            sgd_step(param, grad, m, lr=lr, momentum=opt.momentum, nesterov=opt.nesterov,
                     weight_decay=opt.weight_decay, dampening=opt.dampening, step=net.step)
        elif opt.name in ("adam", "adamw"):
            adam_step(param, grad, m, v, step=net.step, lr=lr, beta1=opt.beta1,
                      beta2=opt.beta2, eps=opt.eps, weight_decay=opt.weight_decay,
                      decoupled=opt.name == "adamw")
        else:
            rmsprop_step(param, grad, v, m, lr=lr, alpha=opt.alpha, eps=opt.eps,
                         momentum=opt.momentum, weight_decay=opt.weight_decay,
                         centered=opt.centered, grad_avg=g_avg)
