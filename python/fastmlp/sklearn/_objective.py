"""The estimators' loss and gradient, built from a backend's kernels, in scikit-learn's conventions.

Layers run through `fastmlp.backends.backprop`'s forward and backward over the backend's
kernels (the C++ GEMM with the bias fused, by default); only the output layer's link and loss
are computed here in NumPy, because scikit-learn's definitions differ from fastmlp's kernels:

- squared_error: ``0.5 * mean over outputs of the (weighted) mean over rows of (y - p)^2``
- poisson:       half Poisson deviance ``sum over outputs of mean over rows of
  y log(y / p) - y + p`` with ``p = exp(z)``
- log_loss:      ``-sum over classes of mean over rows of y log p`` with softmax, probabilities
  clipped to [eps, 1 - eps] of their dtype (a single logistic output counts both classes)
- binary log loss (multi-label): ``-sum over labels of mean over rows of
  y log p + (1 - y) log(1 - p)``, same clipping
- plus ``0.5 * alpha * sum ||W||^2 / sum(sample_weight)`` (weights only, never biases).

The gradient is scikit-learn's: the output delta ``p - y`` (the canonical link's), times each
row's weight, back through the layers, ``(x^T delta + alpha W) / sum(sample_weight)``. For
squared error with several outputs that is the gradient of the *sum* over outputs while the
reported loss is their *mean*: scikit-learn does exactly that, and so does this module.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, xlogy

from ..backends import backprop
from ..backends.backprop import Layers


def output_link(name, z):
    """The output activation ``out_activation_`` applied to the last layer's pre-activation."""
    if name == "identity":
        return z
    if name == "softmax":
        shifted = z - z.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        return e / e.sum(axis=1, keepdims=True)
    if name == "logistic":
        return expit(z)
    if name == "exp":
        return np.exp(z)
    raise ValueError(f"unknown output activation {name!r}")


def data_loss(loss, y, p, sample_weight):
    """Mean loss of predictions ``p`` (after the link) against targets ``y`` (both 2-D)."""
    if loss == "squared_error":
        return 0.5 * float(np.average((y - p) ** 2, weights=sample_weight, axis=0).mean())
    if loss == "poisson":
        return float(np.average(xlogy(y, y / p) - y + p, weights=sample_weight, axis=0).sum())
    eps = np.finfo(p.dtype).eps
    p = np.clip(p, eps, 1 - eps)
    if loss == "binary_log_loss":
        per_row = xlogy(y, p) + xlogy(1 - y, 1 - p)
        return -float(np.average(per_row, weights=sample_weight, axis=0).sum())
    # log_loss: a single logistic output stands for two classes
    if p.shape[1] == 1:
        p = np.append(1 - p, p, axis=1)
    if y.shape[1] == 1:
        y = np.append(1 - y, y, axis=1)
    return -float(np.average(xlogy(y, p), weights=sample_weight, axis=0).sum())


def l2_penalty(coefs, alpha, weight_sum):
    """``0.5 * alpha * sum ||W||^2 / weight_sum`` (scikit-learn's L2 term, weights only)."""
    if not alpha:
        return 0.0
    total = 0.0
    for w in coefs:
        flat = w.ravel()
        total += float(np.dot(flat, flat))
    return 0.5 * alpha * total / weight_sum


def layers(coefs, intercepts, hidden):
    """The network as `backprop` reads it: ``hidden`` names each hidden layer's activation; the
    output layer runs as identity (its link is applied here, in scikit-learn's definitions)."""
    last = len(coefs) - 1
    return Layers(coefs, intercepts, [*hidden[:last], "identity"])


def forward(backend, X, coefs, intercepts, hidden, out_activation, masks=None):
    """`backprop.forward`'s cache (each layer's input, z and a) and the prediction ``p``.

    ``masks`` (dropout, already divided by the keep probability; one per hidden layer, None for
    none) multiply the hidden layers' outputs when given.
    """
    cache = backprop.forward(backend, layers(coefs, intercepts, hidden), X, masks)
    return cache, output_link(out_activation, cache.z[-1])


def predict_output(backend, X, coefs, intercepts, hidden, out_activation):
    """The network's output after the link (probabilities, or values for regression)."""
    return forward(backend, X, coefs, intercepts, hidden, out_activation)[1]


def loss_and_grads(backend, X, Y, sample_weight, coefs, intercepts, *, hidden, out_activation,
                   loss, alpha, masks=None, rows=None):
    """``(loss, coef_grads, intercept_grads)`` of one batch in scikit-learn's conventions.

    ``Y`` is 2-D and of X's dtype (one-hot or indicator columns for classifiers);
    ``sample_weight`` None or (n,) of X's dtype. ``rows`` (lbfgs's full batch): run the layers on
    blocks of that many rows and add their sums, so each block's activations stay in cache
    instead of streaming the whole batch's through memory for every layer; the same sums in
    another order (the losses' and gradients' rounding differs by a few ulps).
    """
    n = X.shape[0]
    weight_sum = n if sample_weight is None else float(sample_weight.sum())
    blocked = rows and n > rows and weight_sum > 0  # weight 0 in all: the error np.average gives
    blocks = [slice(lo, lo + rows) for lo in range(0, n, rows)] if blocked else [slice(0, n)]
    value, coef_grads, intercept_grads = 0.0, None, None
    for block in blocks:
        part_sw = None if sample_weight is None else sample_weight[block]
        part_weight = min(block.stop, n) - block.start if part_sw is None else float(part_sw.sum())
        if part_weight == 0 and blocked:
            continue  # rows of weight 0 add nothing (np.average would divide by 0)
        part_masks = None if masks is None else [m if m is None else m[block] for m in masks]
        part_value, cg, ig = _block_sums(backend, X[block], Y[block], part_sw, coefs, intercepts,
                                         hidden, out_activation, loss, part_masks)
        value += part_value if len(blocks) == 1 else part_value * (part_weight / weight_sum)
        if coef_grads is None:
            coef_grads, intercept_grads = cg, ig
        else:
            for total, part in zip(coef_grads + intercept_grads, cg + ig):
                total += part
    value += l2_penalty(coefs, alpha, weight_sum)
    for i, coef in enumerate(coefs):
        if alpha:
            coef_grads[i] += alpha * coef
        coef_grads[i] /= weight_sum
        intercept_grads[i] = intercept_grads[i] / weight_sum
    return value, coef_grads, intercept_grads


def _block_sums(backend, X, Y, sample_weight, coefs, intercepts, hidden, out_activation, loss,
                masks):
    """A block of rows: its mean data loss and the gradient sums x^T delta and delta's column
    sums per layer (not yet divided by the weight sum, no penalty)."""
    cache, p = forward(backend, X, coefs, intercepts, hidden, out_activation, masks)
    value = data_loss(loss, Y, p, sample_weight)
    delta = p - Y
    if sample_weight is not None:
        delta = delta * sample_weight.reshape(-1, 1)
    delta = np.ascontiguousarray(delta, dtype=X.dtype)
    grads = backprop.backward(backend, layers(coefs, intercepts, hidden), cache, delta)
    return value, grads[0::2], grads[1::2]
