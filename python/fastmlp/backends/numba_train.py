"""Numba's training loop: numpy_train.py train_step / train_epoch / loss_gradient, compiled.

`loss_gradient_block` and `finish_gradient` are loss_gradient in blocks of rows (numba.py calls
the first on each block, so Ctrl-C lands between them, as csrc/nn/gradient.cpp polls for it).

`train_epoch` runs a range of an epoch's batches in one compiled call (numba.py calls it on
chunks so Ctrl-C lands between them); `train_step` is the same loop on one batch. The layer,
loss, optimizer, schedule and dropout kernels come from the other numba_*.py files.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

from .numba_dense import dense_backward, dense_forward
from .numba_dropout import dropout_key, dropout_mask
from .numba_losses import count_correct, loss_forward_backward
from .numba_optim import apply_optimizer, clip_grad_norm
from .numba_schedule import scheduled_lr

# --- L2 penalty (numpy_train.py l2_penalty and the gradient term in train_step) ----------------


@njit(cache=True)
def _square_at(flat, k):
    # past the end: 0.0, and adding +0.0 to a sum of squares leaves it as it is
    if k >= flat.size:
        return 0.0
    v = np.float64(flat[k])
    return v * v


@njit(cache=True)
def sum_of_squares(flat):
    # 8 partial sums (element k into sum k % 8) added pairwise: train.cpp's order, bit for bit;
    # scalars, not an array, so that nothing is allocated in the training loop
    p0 = p1 = p2 = p3 = p4 = p5 = p6 = p7 = 0.0
    for k in range(0, flat.size, 8):
        p0 += _square_at(flat, k)
        p1 += _square_at(flat, k + 1)
        p2 += _square_at(flat, k + 2)
        p3 += _square_at(flat, k + 3)
        p4 += _square_at(flat, k + 4)
        p5 += _square_at(flat, k + 5)
        p6 += _square_at(flat, k + 6)
        p7 += _square_at(flat, k + 7)
    return ((p0 + p1) + (p2 + p3)) + ((p4 + p5) + (p6 + p7))


@njit(cache=True)
def l2_penalty(weights, l2, batch_weight):
    squares = 0.0
    for w in weights:
        squares += sum_of_squares(w.reshape(w.size))
    return 0.5 * l2 * squares / batch_weight


@njit(cache=True)
def add_scaled(grad, w, coef):
    # grad = grad + coef * w, coef already in the dtype (numpy_train.py: t(l2 / batch_weight) * w)
    for k in range(grad.size):
        grad[k] = grad[k] + coef * w[k]


# --- training -----------------------------------------------------------------------------------

# What train_epoch reads, by name (Numba compiles namedtuples as typed records).
# Tuples of arrays (slots 1-D, in the order w0, b0, w1, b1, ...; slots_g empty arrays unless
# centered RMSprop), one activation code and dropout rate (0: none) per layer; l2 is the
# penalty of numpy_train.py l2_penalty; clip_bounds the log losses' clipping (empty: none,
# numba_losses); seed keys the dropout masks (the oracle's dropout_mask).
Net = namedtuple("Net", "weights biases slots_m slots_v slots_g act_codes loss_code l2 clip_bounds "
                       "dropout seed")
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
def _forward(net, x, rows, step, zs, acts, masks, dropped):
    """Every layer on x (rows of the workspaces zs, acts); dropout masks of update step + 1
    where net.dropout says. Returns the last layer's output."""
    weights, dropout = net.weights, net.dropout
    inp = x
    for i in range(len(weights)):
        dense_forward(inp, weights[i], net.biases[i], net.act_codes[i], zs[i][:rows], acts[i][:rows])
        inp = acts[i][:rows]
        if dropout[i] > 0:  # the next layer and the backward pass see a * mask
            n = inp.shape[1]
            mask = masks[i][:rows * n]
            dropout_mask(dropout_key(net.seed, step + 1, i), dropout[i], mask)
            d = dropped[i][:rows]
            for r in range(rows):
                for j in range(n):
                    d[r, j] = inp[r, j] * mask[r * n + j]
            inp = d
    return acts[len(weights) - 1][:rows]


@njit(cache=True)
def _loss(net, out, y_labels, y_targets, use_labels, sw, class_weight, rows_ws, grad_out, scratch):
    """The loss kernel (its gradient into grad_out) plus the L2 penalty:
    (loss with penalty, penalty, the rows' total weight)."""
    rows = out.shape[0]
    loss = loss_forward_backward(net.loss_code, out, y_labels, y_targets, use_labels, sw,
                                 class_weight, rows_ws[:, :rows], grad_out, scratch[:rows],
                                 net.clip_bounds)
    batch_weight = np.float64(rows)
    if sw.size > 0 or class_weight.size > 0:
        batch_weight = 0.0
        for r in range(rows):
            batch_weight += np.float64(rows_ws[0, r])
    total = np.float64(loss)
    penalty = 0.0
    if net.l2 != 0:
        penalty = l2_penalty(net.weights, net.l2, batch_weight)
        total += penalty
    return total, penalty, batch_weight


@njit(cache=True)
def _backward(net, x, rows, zs, acts, grad_as, grad_zs, grad_ws, grad_bs, masks, dropped,
              batch_weight):
    """Last layer first from grad_as[-1]; then the L2 penalty's gradient on the weights."""
    weights, dropout = net.weights, net.dropout
    for i in range(len(weights) - 1, -1, -1):
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
        dense_backward(layer_in, weights[i], zs[i][:rows], acts[i][:rows], grad_as[i][:rows],
                       net.act_codes[i], grad_zs[i][:rows], grad_x, grad_ws[i], grad_bs[i], i > 0)
    if net.l2 != 0:  # d/dW of the penalty; biases are not penalised
        for i in range(len(weights)):
            add_scaled(grad_ws[i].reshape(grad_ws[i].size), weights[i].reshape(weights[i].size),
                       x.dtype.type(net.l2 / batch_weight))


@njit(cache=True)
def _layer_buffers(net, rows, dtype):
    """z, a, grad_a and grad_z per layer, and (where dropout > 0, else empty) mask and dropped."""
    weights, dropout = net.weights, net.dropout
    zs = [np.empty((rows, w.shape[1]), dtype) for w in weights]
    acts = [np.empty((rows, w.shape[1]), dtype) for w in weights]
    grad_as = [np.empty((rows, w.shape[1]), dtype) for w in weights]
    grad_zs = [np.empty((rows, w.shape[1]), dtype) for w in weights]
    masks = [np.empty((rows if dropout[i] > 0 else 0) * w.shape[1], dtype) for i, w in enumerate(weights)]
    dropped = [np.empty((rows if dropout[i] > 0 else 0, w.shape[1]), dtype) for i, w in enumerate(weights)]
    return zs, acts, grad_as, grad_zs, masks, dropped


@njit(cache=True)
def train_epoch(net, opt, schedule, data, first_batch, n_batches, progress):
    """Train on batches first_batch .. first_batch+n_batches-1 of ``data.order`` (the oracle's
    train_step on each batch) and return ``progress`` carried past them. Workspaces are
    allocated once per call; each update's rate is scheduled_lr(opt.lr, schedule, step).
    """
    weights, biases = net.weights, net.biases
    X, order, batch_size, use_labels = data.X, data.order, data.batch_size, data.use_labels
    sample_weight, class_weight = data.sample_weight, data.class_weight
    step, n_correct = progress.step, progress.n_correct
    loss_sum, weight_sum, last_loss = progress.loss_sum, progress.weight_sum, progress.last_loss
    rows_loss_sum, rows_penalty_sum = progress.rows_loss_sum, progress.rows_penalty_sum
    n_layers = len(weights)
    bs = min(batch_size, order.size)
    n_out = weights[n_layers - 1].shape[1]
    # workspaces: a batch of x, the layers' buffers, the parameters' gradients
    xb = np.empty((bs, X.shape[1]), X.dtype)
    zs, acts, grad_as, grad_zs, masks, dropped = _layer_buffers(net, bs, X.dtype)
    grad_ws = [np.empty_like(w) for w in weights]
    grad_bs = [np.empty_like(b) for b in biases]
    scratch = np.empty((bs, n_out), X.dtype)
    lb = np.empty(bs if use_labels else 0, np.int64)
    tb = np.empty((0 if use_labels else bs, n_out), X.dtype)
    swb = np.empty(bs if sample_weight.size else 0, X.dtype)
    rows_ws = np.empty((2, bs), X.dtype)
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
        out = _forward(net, x, rows, step, zs, acts, masks, dropped)
        step_loss, penalty, batch_weight = _loss(net, out, y_labels, y_targets, use_labels,
                                                 swb[:rows], class_weight, rows_ws,
                                                 grad_as[n_layers - 1][:rows], scratch)
        if not np.isfinite(step_loss):  # stop before the NaN/Inf gradient reaches the weights
            return Progress(step, n_correct, loss_sum, weight_sum, rows_loss_sum, rows_penalty_sum,
                            step_loss, batch)
        n_correct += count_correct(net.loss_code, out, y_labels, y_targets, use_labels)
        _backward(net, x, rows, zs, acts, grad_as, grad_zs, grad_ws, grad_bs, masks, dropped,
                  batch_weight)
        if opt.clip_norm >= 0:  # numpy_train.py clip_grad_norm, before the optimizers add weight decay
            clip_grad_norm(grad_ws, grad_bs, opt.clip_norm)
        # optimizer, step counts from 1
        step += 1
        lr = scheduled_lr(opt.lr, schedule, step)
        for i in range(n_layers):
            w = weights[i]
            apply_optimizer(w.reshape(w.size), grad_ws[i].reshape(w.size), net.slots_m[2 * i],
                              net.slots_v[2 * i], net.slots_g[2 * i], opt, step, lr)
            apply_optimizer(biases[i], grad_bs[i], net.slots_m[2 * i + 1], net.slots_v[2 * i + 1],
                              net.slots_g[2 * i + 1], opt, step, lr)
        last_loss = step_loss
        loss_sum += last_loss * batch_weight
        weight_sum += batch_weight
        rows_loss_sum += last_loss * rows
        rows_penalty_sum += penalty * rows
    return Progress(step, n_correct, loss_sum, weight_sum, rows_loss_sum, rows_penalty_sum,
                    last_loss, -1)


@njit(cache=True)
def train_step(net, opt, schedule, data, progress):
    """One update on the one batch ``data.order`` names (``data.batch_size`` rows)."""
    return train_epoch(net, opt, schedule, data, 0, 1, progress)


@njit(cache=True)
def loss_gradient_block(net, data, lo, hi, grad_ws, grad_bs, sum_ws, sum_bs, first):
    """Rows lo..hi-1 of data.X (C-contiguous; net without dropout and with l2 0, the penalty
    being finish_gradient's): their mean data loss and total weight, (loss, weight); the gradient of
    their summed loss (the mean's times the weight) into sum_ws / sum_bs, written when first,
    else added (grad_ws / grad_bs: this block's, a workspace). A block of weight 0 adds nothing
    and returns (0, 0); a NaN or inf loss returns before the backward pass."""
    X, rows = data.X[lo:hi], hi - lo
    n_out = net.weights[len(net.weights) - 1].shape[1]
    zs, acts, grad_as, grad_zs, masks, dropped = _layer_buffers(net, rows, X.dtype)
    scratch = np.empty((rows, n_out), X.dtype)
    rows_ws = np.empty((2, rows), X.dtype)
    labels = data.labels[lo:hi] if data.use_labels else data.labels
    targets = data.targets if data.use_labels else data.targets[lo:hi]
    sw = data.sample_weight[lo:hi] if data.sample_weight.size else data.sample_weight
    out = _forward(net, X, rows, 0, zs, acts, masks, dropped)
    loss, _, weight = _loss(net, out, labels, targets, data.use_labels, sw, data.class_weight,
                            rows_ws, grad_as[len(net.weights) - 1], scratch)
    if weight == 0:  # rows of weight 0 add nothing (their mean is 0 / 0)
        return 0.0, 0.0
    if not np.isfinite(loss):
        return loss, weight
    _backward(net, X, rows, zs, acts, grad_as, grad_zs, grad_ws, grad_bs, masks, dropped, weight)
    scale = X.dtype.type(weight)
    for i in range(len(grad_ws)):
        add_scaled_into(sum_ws[i].reshape(sum_ws[i].size), grad_ws[i].reshape(grad_ws[i].size),
                        scale, first)
        add_scaled_into(sum_bs[i], grad_bs[i], scale, first)
    return loss, weight


@njit(cache=True)
def add_scaled_into(total, part, scale, first):
    # total = part * scale (first block) or total + part * scale
    for k in range(total.size):
        total[k] = part[k] * scale if first else total[k] + part[k] * scale


@njit(cache=True)
def finish_gradient(net, sum_ws, sum_bs, loss_sum, weight_sum):
    """The blocks' sums divided by the total weight, plus the L2 penalty and its gradient (the
    oracle's numbers): returns (loss with penalty, penalty)."""
    t = sum_ws[0].dtype.type
    total = t(weight_sum)
    for i in range(len(sum_ws)):
        w = sum_ws[i].reshape(sum_ws[i].size)
        for k in range(w.size):
            w[k] = w[k] / total
        for k in range(sum_bs[i].size):
            sum_bs[i][k] = sum_bs[i][k] / total
    penalty = 0.0
    if net.l2 != 0:
        penalty = l2_penalty(net.weights, net.l2, weight_sum)
        for i in range(len(sum_ws)):
            add_scaled(sum_ws[i].reshape(sum_ws[i].size),
                       net.weights[i].reshape(net.weights[i].size), t(net.l2 / weight_sum))
    return loss_sum / weight_sum + penalty, penalty
