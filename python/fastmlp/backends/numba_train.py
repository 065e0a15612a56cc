"""The Numba backend's optimizer updates and its compiled training loop (`train_batches`).

Mirrors numpy.py's sgd_step / adam_step / rmsprop_step and train_step / train_epoch; the layer
and loss kernels come from numba_kernels.py.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

from ..names import SCHEDULE_CODE
from .numba_kernels import (ADAMW, RMSPROP, SGD, count_correct_kernel, dense_backward_kernel,
                            dense_forward_kernel, loss_kernel)


# --- optimizers (1-D C-contiguous views of param, grad and slots; constants in the dtype) --------


@njit(cache=True)
def sgd_kernel(param, grad, velocity, lr, momentum, nesterov, weight_decay, dampening, first):
    # g = grad + wd*param; v = mom*v + (1-damp)*g (v = g on the first dampened update);
    # direction g + mom*v (nesterov) or v; param -= lr*dir. dampening arrives as 1 - dampening.
    for i in range(param.size):
        g = grad[i] + weight_decay * param[i] if weight_decay else grad[i]
        if momentum:
            if dampening != 1 and first:
                v = g
            elif dampening != 1:
                v = velocity[i] * momentum + dampening * g
            else:
                v = velocity[i] * momentum + g
            velocity[i] = v
            g = g + momentum * v if nesterov else v
        param[i] -= lr * g


@njit(cache=True)
def adam_corrections(lr, beta1, beta2, step, eps_on_raw_moment):
    """(step size, divisor of sqrt(v)) in float64, as numpy_unchecked.adam_step computes them:
    PyTorch's lr / (1 - b1^t) and sqrt(1 - b2^t), or scikit-learn's form with the divisor 1."""
    bias_correction1 = 1 - beta1 ** np.float64(step)
    correction2_sqrt = np.sqrt(1 - beta2 ** np.float64(step))
    if eps_on_raw_moment:
        return lr * correction2_sqrt / bias_correction1, 1.0
    return lr / bias_correction1, correction2_sqrt


@njit(cache=True)
def adam_kernel(param, grad, m, v, lr_corrected, beta1, one_minus_beta1, beta2, one_minus_beta2,
                bias_correction2_sqrt, eps, weight_decay, decay_factor, decoupled):
    # constants are numpy.py's: t(lr / bias_correction1), t(1 - beta1), t(1 - lr * weight_decay), ...
    for i in range(param.size):
        p = param[i]
        if weight_decay and decoupled:
            p = p * decay_factor
        g = grad[i] + weight_decay * p if weight_decay and not decoupled else grad[i]
        mi = m[i] * beta1 + one_minus_beta1 * g
        vi = v[i] * beta2 + one_minus_beta2 * g * g
        m[i] = mi
        v[i] = vi
        denom = np.sqrt(vi) / bias_correction2_sqrt + eps
        param[i] = p - lr_corrected * (mi / denom)


@njit(cache=True)
def rmsprop_kernel(param, grad, square_avg, velocity, lr, alpha, one_minus_alpha, eps, momentum,
                   weight_decay, centered, grad_avg):
    for i in range(param.size):
        g = grad[i] + weight_decay * param[i] if weight_decay else grad[i]
        s = square_avg[i] * alpha + one_minus_alpha * g * g
        square_avg[i] = s
        if centered:  # torch's lerp: grad_avg += (1 - alpha) (g - grad_avg)
            ga = grad_avg[i] + one_minus_alpha * (g - grad_avg[i])
            grad_avg[i] = ga
            update = g / (np.sqrt(s - ga * ga) + eps)
        else:
            update = g / (np.sqrt(s) + eps)
        if momentum:
            update = velocity[i] * momentum + update
            velocity[i] = update
        param[i] -= lr * update


@njit(cache=True)
def _optimizer_update(param, grad, sm, sv, sg, opt, step, lr):
    # numpy.py _apply_optimizer for one parameter; hyperparameters arrive as float64 and are
    # combined in float64 before the cast, exactly as numpy.py's t(...) expressions do
    t = param.dtype.type
    if opt.code == SGD:
        sgd_kernel(param, grad, sm, t(lr), t(opt.momentum), opt.nesterov, t(opt.weight_decay),
                   t(1 - opt.dampening), step == 1)
    elif opt.code == RMSPROP:  # square_avg = slot_v, velocity = slot_m, grad_avg = slot_g
        rmsprop_kernel(param, grad, sv, sm, t(lr), t(opt.smoothing), t(1 - opt.smoothing), t(opt.eps),
                       t(opt.momentum), t(opt.weight_decay), opt.centered, sg)
    else:
        step_size, correction2_sqrt = adam_corrections(lr, opt.beta1, opt.beta2, step,
                                                       opt.eps_on_raw_moment)
        adam_kernel(param, grad, sm, sv, t(step_size), t(opt.beta1), t(1 - opt.beta1),
                    t(opt.beta2), t(1 - opt.beta2), t(correction2_sqrt), t(opt.eps),
                    t(opt.weight_decay), t(1 - lr * opt.weight_decay), opt.code == ADAMW)


# --- learning-rate schedule (numpy.py scheduled_lr; codes from names.SCHEDULE_CODE) ---------------

CONSTANT = SCHEDULE_CODE["constant"]
STEP = SCHEDULE_CODE["step"]
EXPONENTIAL = SCHEDULE_CODE["exponential"]
COSINE = SCHEDULE_CODE["cosine"]
INVSCALING = SCHEDULE_CODE["invscaling"]


@njit(cache=True)
def scheduled_lr_kernel(base_lr, schedule, t):
    # schedule: a Schedule; float64 maths in numpy.py's order (powers through np.float64 so both
    # call libm's pow)
    s = schedule
    if s.code == STEP:
        return base_lr * s.gamma ** np.float64((t - 1) // s.step_size)
    if s.code == EXPONENTIAL:
        return base_lr * s.gamma ** np.float64(t - 1)
    if s.code == COSINE:
        if t <= s.warmup_steps:
            return base_lr * (np.float64(t) / np.float64(s.warmup_steps))
        progress = min(1.0, np.float64(t - s.warmup_steps) / np.float64(s.total_steps - s.warmup_steps))
        return s.min_lr + (base_lr - s.min_lr) * (1.0 + np.cos(np.pi * progress)) / 2.0
    if s.code == INVSCALING:
        return base_lr / np.float64(t) ** s.power_t
    return base_lr


# --- dropout masks (numpy.py mix64 / dropout_mask) ----------------------------------------------

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
MIX1 = np.uint64(0xBF58476D1CE4E5B9)
MIX2 = np.uint64(0x94D049BB133111EB)


@njit(cache=True)
def mix64(z):
    # uint64 throughout: Numba would turn a uint64/int64 mix into float64
    z = z + GOLDEN
    z = (z ^ (z >> np.uint64(30))) * MIX1
    z = (z ^ (z >> np.uint64(27))) * MIX2
    return z ^ (z >> np.uint64(31))


@njit(cache=True)
def dropout_key(seed, step, layer):
    return mix64(mix64(mix64(np.uint64(seed)) ^ np.uint64(step)) ^ np.uint64(layer))


@njit(cache=True)
def dropout_mask_kernel(key, p, mask):
    """mask (1-D) receives 0 or 1/(1-p) (numpy.py dropout_mask for elements 0 .. mask.size-1)."""
    t = mask.dtype.type
    keep = t(1.0 / (1.0 - p))
    for k in range(mask.size):
        bits = mix64(key ^ np.uint64(k))
        if mask.itemsize == 8:  # float64: 53 bits; float32: 24
            u = np.float64(bits >> np.uint64(11)) * 2.0**-53
        else:
            u = np.float64(bits >> np.uint64(40)) * 2.0**-24
        mask[k] = keep if u >= p else t(0)


# --- L2 penalty (numpy.py l2_penalty and the gradient term in train_step) -----------------------


@njit(cache=True)
def l2_penalty_kernel(weights, alpha, batch_weight):
    squares = 0.0
    for w in weights:
        flat = w.reshape(w.size)
        sq = 0.0
        for k in range(flat.size):
            v = np.float64(flat[k])
            sq += v * v
        squares += sq
    return 0.5 * alpha * squares / batch_weight


@njit(cache=True)
def add_scaled(grad, w, coef):
    # grad = grad + coef * w, coef already in the dtype (numpy.py: t(alpha / batch_weight) * w)
    for k in range(grad.size):
        grad[k] = grad[k] + coef * w[k]


@njit(cache=True)
def _clip_grad_norm(grad_ws, grad_bs, max_norm):
    # numpy.py clip_grad_norm: float64 sum of squares in parameter order w0, b0, w1, b1, ...
    squares = 0.0
    for i in range(len(grad_ws)):
        for grads in (grad_ws[i].reshape(grad_ws[i].size), grad_bs[i]):
            sq = 0.0
            for k in range(grads.size):
                v = np.float64(grads[k])
                sq += v * v
            squares += sq
    coef = max_norm / (np.sqrt(squares) + 1e-6)
    if coef < 1.0:
        for i in range(len(grad_ws)):
            for grads in (grad_ws[i].reshape(grad_ws[i].size), grad_bs[i]):
                c = grads.dtype.type(coef)
                for k in range(grads.size):
                    grads[k] = grads[k] * c


# --- training -----------------------------------------------------------------------------------

# What train_batches reads, by name (Numba compiles namedtuples as typed records).
# optimizer code: SGD/ADAM/ADAMW/RMSPROP; smoothing: RMSprop's alpha; clip_norm < 0: no clipping.
Optimizer = namedtuple("Optimizer", "code lr momentum nesterov weight_decay beta1 beta2 eps "
                                    "eps_on_raw_moment smoothing dampening centered clip_norm")
# code indexes network.SCHEDULES; the fields are network.ScheduleConfig's.
Schedule = namedtuple("Schedule", "code step_size gamma total_steps warmup_steps min_lr power_t")
# Tuples of arrays (slots 1-D, in the order w0, b0, w1, b1, ...; slots_g empty arrays unless
# centered RMSprop), one activation code and dropout rate (0: none) per layer; l2 is the
# penalty of numpy.py l2_penalty; seed keys the dropout masks (numpy.py dropout_mask).
Net = namedtuple("Net", "weights biases slots_m slots_v slots_g act_codes loss_code l2 dropout seed")
# Rows of X with labels (use_labels) or targets (the other one empty); sample_weight (rows of X)
# and class_weight (n_out) empty when not given; the epoch's batches are X[order[i:i + batch_size]].
Data = namedtuple("Data", "X labels targets use_labels sample_weight class_weight order batch_size")
# The epoch so far: updates made (net.step), rows classified correctly, the sum of each batch's
# loss times its total weight (its size without weights) and of those weights, the sums of
# each batch's loss and of its L2 part times its row count, the last batch's loss, and the
# batch whose loss was NaN or inf (-1: none; training stopped before its update).
Progress = namedtuple("Progress", "step n_correct loss_sum weight_sum rows_loss_sum rows_penalty_sum "
                                  "last_loss bad_batch")


@njit(cache=True)
def train_batches(net, opt, schedule, data, first_batch, n_batches, progress):
    """Train on batches first_batch .. first_batch+n_batches-1 of ``data.order`` (numpy.py
    train_step on each batch) and return ``progress`` carried past them. Workspaces are
    allocated once per call; each update's rate is scheduled_lr_kernel(opt.lr, schedule, step).
    """
    weights, biases, dropout, l2 = net.weights, net.biases, net.dropout, net.l2
    X, order, batch_size, use_labels = data.X, data.order, data.batch_size, data.use_labels
    sample_weight, class_weight = data.sample_weight, data.class_weight
    step, n_correct = progress.step, progress.n_correct
    loss_sum, weight_sum, last_loss = progress.loss_sum, progress.weight_sum, progress.last_loss
    rows_loss_sum, rows_penalty_sum = progress.rows_loss_sum, progress.rows_penalty_sum
    n_layers = len(weights)
    bs = min(batch_size, order.size)
    n_out = weights[n_layers - 1].shape[1]
    # workspaces: a batch of x, z and a per layer, grad_a/grad_z per layer, grads of parameters
    xb = np.empty((bs, X.shape[1]), X.dtype)
    zs = [np.empty((bs, w.shape[1]), X.dtype) for w in weights]
    acts = [np.empty((bs, w.shape[1]), X.dtype) for w in weights]
    grad_as = [np.empty((bs, w.shape[1]), X.dtype) for w in weights]
    grad_zs = [np.empty((bs, w.shape[1]), X.dtype) for w in weights]
    grad_ws = [np.empty_like(w) for w in weights]
    grad_bs = [np.empty_like(b) for b in biases]
    scratch = np.empty((bs, n_out), X.dtype)
    lb = np.empty(bs if use_labels else 0, np.int64)
    tb = np.empty((0 if use_labels else bs, n_out), X.dtype)
    weighted = sample_weight.size > 0 or class_weight.size > 0
    swb = np.empty(bs if sample_weight.size else 0, X.dtype)
    rows_ws = np.empty((2, bs), X.dtype)
    # dropout: per layer, the mask and the dropped activations (empty where the rate is 0)
    masks = [np.empty((bs if dropout[i] > 0 else 0) * w.shape[1], X.dtype) for i, w in enumerate(weights)]
    dropped = [np.empty((bs if dropout[i] > 0 else 0, w.shape[1]), X.dtype) for i, w in enumerate(weights)]
    for batch in range(first_batch, first_batch + n_batches):
        start = batch * batch_size
        rows = min(batch_size, order.size - start)
        x = xb[:rows]
        for r in range(rows):
            src = order[start + r]
            for j in range(X.shape[1]):
                x[r, j] = X[src, j]
            if use_labels:
                lb[r] = data.labels[src]
            else:
                for j in range(n_out):
                    tb[r, j] = data.targets[src, j]
            if sample_weight.size:
                swb[r] = sample_weight[src]
        y_labels = lb[:rows]
        y_targets = tb[:rows]
        # forward
        inp = x
        for i in range(n_layers):
            dense_forward_kernel(inp, weights[i], biases[i], net.act_codes[i], zs[i][:rows], acts[i][:rows])
            inp = acts[i][:rows]
            if dropout[i] > 0:  # the next layer and the backward pass see a * mask
                n = inp.shape[1]
                mask = masks[i][:rows * n]
                dropout_mask_kernel(dropout_key(net.seed, step + 1, i), dropout[i], mask)
                d = dropped[i][:rows]
                for r in range(rows):
                    for j in range(n):
                        d[r, j] = inp[r, j] * mask[r * n + j]
                inp = d
        out = acts[n_layers - 1][:rows]
        grad_out = grad_as[n_layers - 1][:rows]
        loss = loss_kernel(net.loss_code, out, y_labels, y_targets, use_labels, swb[:rows], class_weight,
                           rows_ws[:, :rows], grad_out, scratch[:rows])
        batch_weight = np.float64(rows)
        if weighted:
            batch_weight = 0.0
            for r in range(rows):
                batch_weight += np.float64(rows_ws[0, r])
        step_loss = np.float64(loss)
        penalty = 0.0
        if l2 != 0:
            penalty = l2_penalty_kernel(weights, l2, batch_weight)
            step_loss += penalty
        if not np.isfinite(step_loss):  # stop before the NaN/Inf gradient reaches the weights
            return Progress(step, n_correct, loss_sum, weight_sum, rows_loss_sum, rows_penalty_sum,
                            step_loss, batch)
        n_correct += count_correct_kernel(net.loss_code, out, y_labels, y_targets, use_labels)
        # backward, last layer first
        for i in range(n_layers - 1, -1, -1):
            if dropout[i] > 0:  # through the dropout: the same mask
                g = grad_as[i][:rows]
                n = g.shape[1]
                for r in range(rows):
                    for j in range(n):
                        g[r, j] = g[r, j] * masks[i][r * n + j]
            layer_in = x
            if i:
                layer_in = dropped[i - 1][:rows] if dropout[i - 1] > 0 else acts[i - 1][:rows]
            grad_x = grad_as[i - 1][:rows] if i else grad_as[0][:0]
            dense_backward_kernel(layer_in, weights[i], zs[i][:rows], acts[i][:rows], grad_as[i][:rows],
                                  net.act_codes[i], grad_zs[i][:rows], grad_x, grad_ws[i], grad_bs[i], i > 0)
        if l2 != 0:  # d/dW of the penalty; biases are not penalised
            for i in range(n_layers):
                add_scaled(grad_ws[i].reshape(grad_ws[i].size), weights[i].reshape(weights[i].size),
                           X.dtype.type(l2 / batch_weight))
        if opt.clip_norm >= 0:  # numpy.py clip_grad_norm, before the optimizers add weight decay
            _clip_grad_norm(grad_ws, grad_bs, opt.clip_norm)
        # optimizer, step counts from 1
        step += 1
        lr = scheduled_lr_kernel(opt.lr, schedule, step)
        for i in range(n_layers):
            w = weights[i]
            _optimizer_update(w.reshape(w.size), grad_ws[i].reshape(w.size), net.slots_m[2 * i],
                              net.slots_v[2 * i], net.slots_g[2 * i], opt, step, lr)
            _optimizer_update(biases[i], grad_bs[i], net.slots_m[2 * i + 1], net.slots_v[2 * i + 1],
                              net.slots_g[2 * i + 1], opt, step, lr)
        last_loss = step_loss
        loss_sum += last_loss * batch_weight
        weight_sum += batch_weight
        rows_loss_sum += last_loss * rows
        rows_penalty_sum += penalty * rows
    return Progress(step, n_correct, loss_sum, weight_sum, rows_loss_sum, rows_penalty_sum,
                    last_loss, -1)
