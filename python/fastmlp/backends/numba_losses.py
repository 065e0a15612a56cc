"""Numba's losses: numpy_unchecked.py loss_forward_backward, compiled.

Each loss's formula is written once (`_loss_terms`: per element, or per row for cross-entropy)
and then reduced, as in the oracle, by the plain mean or by the weighted mean over rows; sums
run in NumPy's pairwise order so results match the oracle bit for bit.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..names import LOSS_CODE
from .numba_activations import sigmoid
from .numba_sums import mean, pairwise_sum, row_argmax, row_max

MSE = LOSS_CODE["mse"]
CROSS_ENTROPY = LOSS_CODE["cross_entropy"]
BINARY_CROSS_ENTROPY = LOSS_CODE["binary_cross_entropy"]
MAE = LOSS_CODE["mae"]
HUBER = LOSS_CODE["huber"]
POISSON = LOSS_CODE["poisson"]

HUBER_DELTA = 1.0  # as numpy_unchecked.py


@njit(cache=True)
def _sign(d):
    if d > 0:
        return type(d)(1)
    if d < 0:
        return type(d)(-1)
    return d  # 0 stays 0, NaN stays NaN (np.sign)


@njit(cache=True)
def _clip(x, bounds):
    # numpy_unchecked.py _clipped_neg_log: x within bounds[0] .. bounds[1]; NaN stays NaN
    if x < bounds[0]:
        return bounds[0]
    if x > bounds[1]:
        return bounds[1]
    return x


@njit(cache=True)
def _element_loss(code, o, target, clip_bounds):
    # numpy_unchecked.py _element_loss for one element: (loss e, its derivative de/do; mse's
    # factor 2 is left to the means); clip_bounds empty, or the log losses' clipping
    t = type(o)
    d = o - target
    if code == MSE:
        return d * d, d
    if code == MAE:
        return abs(d), _sign(d)
    if code == HUBER:
        delta = t(HUBER_DELTA)
        if abs(d) <= delta:
            return t(0.5) * d * d, d
        return delta * (abs(d) - t(0.5 * HUBER_DELTA)), delta * _sign(d)
    if code == POISSON:  # log link fused: d/do (exp(o) - t o) = exp(o) - t
        rate = np.exp(o)
        return rate - target * o, rate - target
    # BINARY_CROSS_ENTROPY: max(o, 0) - o t + log1p(exp(-|o|)), sigmoid fused
    if clip_bounds.size:  # numpy_unchecked.py _clipped_binary_log_loss (scikit-learn's formula)
        eps = clip_bounds[2]
        p = t(1) / (t(1) + np.exp(-o))
        p = eps if p < eps else (t(1) - eps if p > t(1) - eps else p)
        return -(target * np.log(p) + (t(1) - target) * np.log(t(1) - p)), sigmoid(o) - target
    mx = o if (o >= 0 or o != o) else t(0)
    return mx - o * target + np.log1p(np.exp(-abs(o))), sigmoid(o) - target


@njit(cache=True)
def _cross_entropy_row(output, i, labels, targets, use_labels, grad, scratch, clip_bounds):
    # numpy_unchecked.py _cross_entropy_terms for row i: scratch = target * log_prob (the row's
    # loss is minus their sum; clipped: -(target * clipped -log_prob)), grad = softmax - target,
    # softmax = e / sum(e), e = exp(output - max)
    t = output.dtype.type
    n_out = output.shape[1]
    m = row_max(output, i)
    for j in range(n_out):
        grad[i, j] = np.exp(output[i, j] - m)  # e, summed below
    total = pairwise_sum(grad[i], 0, n_out)
    lse = np.log(total)
    for j in range(n_out):
        log_prob = (output[i, j] - m) - lse
        target = (t(1) if labels[i] == j else t(0)) if use_labels else targets[i, j]
        grad[i, j] = grad[i, j] / total - target
        if clip_bounds.size:
            scratch[i, j] = -(target * _clip(-log_prob, clip_bounds))
        else:
            scratch[i, j] = target * log_prob


@njit(cache=True)
def _loss_terms(code, output, labels, targets, use_labels, grad, scratch, clip_bounds):
    # every element's loss term into scratch and its derivative into grad, before any reduction
    if code == CROSS_ENTROPY:
        for i in range(output.shape[0]):
            _cross_entropy_row(output, i, labels, targets, use_labels, grad, scratch, clip_bounds)
        return
    of = output.reshape(output.size)
    tf = targets.reshape(output.size)
    gf = grad.reshape(output.size)
    sf = scratch.reshape(output.size)
    for k in range(output.size):
        sf[k], gf[k] = _element_loss(code, of[k], tf[k], clip_bounds)


@njit(cache=True)
def _plain_mean(code, output, grad, scratch):
    # numpy_unchecked.py _plain_mean: the mean over rows (cross-entropy) or over elements
    t = output.dtype.type
    size = output.size
    gf = grad.reshape(size)
    sf = scratch.reshape(size)
    if code == CROSS_ENTROPY:
        tb = t(output.shape[0])
        for k in range(size):
            gf[k] = gf[k] / tb
        return -pairwise_sum(sf, 0, size) / tb
    if code == MSE:
        c = t(2 / size)
        for k in range(size):
            gf[k] = c * gf[k]
    else:
        tsize = t(size)
        for k in range(size):
            gf[k] = gf[k] / tsize
    return mean(sf)


@njit(cache=True)
def _weighted_mean(code, output, labels, targets, use_labels, sample_weight, class_weight, rows,
                   grad, scratch):
    # numpy_unchecked.py loss_row_weights and _weighted_mean: rows[0] receives the row weights,
    # rows[1] the rows' losses l_i and then s_i l_i; grad's rows are scaled by their share
    t = output.dtype.type
    batch, n_out = output.shape
    s = rows[0]
    weighted_rows = rows[1]
    for i in range(batch):
        w = sample_weight[i] if sample_weight.size else t(1)
        if class_weight.size:
            w = w * class_weight[labels[i] if use_labels else row_argmax(targets, i)]
        s[i] = w
    if code == CROSS_ENTROPY:
        for i in range(batch):
            weighted_rows[i] = -pairwise_sum(scratch[i], 0, n_out)
    else:
        inv_n = t(1) / t(n_out)
        two = t(2) if code == MSE else t(1)  # mse's factor 2; times 1 is exact
        for i in range(batch):
            for j in range(n_out):
                grad[i, j] = (two * grad[i, j]) * inv_n
            weighted_rows[i] = pairwise_sum(scratch[i], 0, n_out) / t(n_out)
    total = pairwise_sum(s, 0, batch)
    if total == 0:  # 0/0 is NaN in the oracle; Numba's Python semantics would raise instead
        for i in range(batch):
            for j in range(n_out):
                grad[i, j] = t(np.nan)
        return t(np.nan)
    for i in range(batch):
        weighted_rows[i] = s[i] * weighted_rows[i]
    loss = pairwise_sum(weighted_rows, 0, batch) / total
    for i in range(batch):
        share = s[i] / total
        for j in range(n_out):
            grad[i, j] = grad[i, j] * share
    return loss


@njit(cache=True)
def loss_forward_backward(code, output, labels, targets, use_labels, sample_weight, class_weight,
                          rows, grad, scratch, clip_bounds):
    """Mean loss (in the dtype) of C-contiguous output (batch, n_out); grad receives dLoss/doutput.

    ``labels`` (int64, batch) are used when ``use_labels``, else ``targets`` (batch, n_out).
    ``sample_weight`` (batch,) and ``class_weight`` (n_out,) are empty when not given; with
    either, the weighted mean is taken and ``rows[0]`` receives each row's weight. ``rows`` is a
    (2, batch) and ``scratch`` a (batch, n_out) work array. ``clip_bounds``: empty, or
    numba.py _clip_bounds (clip_probabilities) in output's dtype.
    """
    _loss_terms(code, output, labels, targets, use_labels, grad, scratch, clip_bounds)
    if sample_weight.size or class_weight.size:
        return _weighted_mean(code, output, labels, targets, use_labels, sample_weight, class_weight,
                              rows, grad, scratch)
    return _plain_mean(code, output, grad, scratch)


@njit(cache=True)
def count_correct(code, output, labels, targets, use_labels):
    """numpy_train.py _count_correct: argmax hits for cross_entropy, all-sides-right rows for BCE."""
    n = 0
    if code == CROSS_ENTROPY:
        for i in range(output.shape[0]):
            label = labels[i] if use_labels else row_argmax(targets, i)
            if row_argmax(output, i) == label:
                n += 1
    elif code == BINARY_CROSS_ENTROPY:
        for i in range(output.shape[0]):
            ok = True
            for j in range(output.shape[1]):
                if (output[i, j] > 0) != (targets[i, j] > 0.5):
                    ok = False
                    break
            n += ok
    return n
