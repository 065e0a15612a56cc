"""The textbook that fm.explain's tests hold every backend to (test_explain.py: one step;
test_explain_lr_sweep.py: the learning-rate sweep's runs): one gradient-descent step written
from the formulas in plain NumPy, with nothing from fastmlp, and the comparison of a step's
numbers with it."""

from __future__ import annotations

import numpy as np

# float64 throughout. The step is a few dozen operations on numbers of order 1: sums of at most
# 4 terms, one exp / log / tanh per entry (libm and SIMD versions are within a few ulp), one
# subtraction for the update. A correct backend differs from these textbook formulas by a few
# units of roundoff (2^-53 = 1.1e-16) of the largest number involved, about 1e-15; 1e-12 leaves
# 1000x margin, while a formula error (a wrong derivative, a missing 1/N, a transposed W, a
# wrong sign in the update) changes the numbers by 1e-3 or more.
RTOL = 1e-12


def _activation(name, z):
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-z))
    if name == "tanh":
        return np.tanh(z)
    if name == "relu":
        return np.maximum(z, 0.0)
    if name == "softmax":
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    assert name == "identity", name
    return z.copy()


def _slope(name, z, a):
    return {"sigmoid": a * (1 - a), "tanh": 1 - a * a, "relu": (z > 0).astype(float)}[name]


def _loss(name, z, t):
    """The loss from the last layer's z. The cross-entropies use log(p) written in z
    (log sigmoid(z) = -log1p(e^-z), log softmax = z - logsumexp z): at a divergent learning rate
    p rounds to 1 and log(1 - p) computed from p loses every digit."""
    if name == "binary_cross_entropy":
        return float(np.mean(np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))))
    if name == "cross_entropy":
        m = z.max(axis=1, keepdims=True)
        log_p = z - m - np.log(np.exp(z - m).sum(axis=1, keepdims=True))
        return float(np.mean(-(t * log_p).sum(axis=1)))
    assert name == "mse", name
    return float(np.mean((z - t) ** 2))


LINK = {"binary_cross_entropy": "sigmoid", "cross_entropy": "softmax", "mse": "identity"}


def textbook_step(weights, biases, hidden, loss, x, t, lr):
    """One gradient-descent step written from the formulas, with nothing from fastmlp."""
    L = len(weights)
    v = {"x": x, "t": t}
    a = x
    inputs, zs, outs = [], [], []
    for k in range(1, L + 1):
        inputs.append(a)
        z = a @ weights[k - 1] + biases[k - 1]
        a = _activation(hidden, z) if k < L else z
        zs.append(z)
        outs.append(a)
        v[f"W{k}"], v[f"b{k}"], v[f"z{k}"] = weights[k - 1], biases[k - 1], z
        if k < L:
            v[f"a{k}"] = a
    p = _activation(LINK[loss], zs[-1])
    v["p"], v["error"], v["loss"] = p, p - t, _loss(loss, zs[-1], t)
    n = len(t) if loss == "cross_entropy" else t.size
    delta = (2 if loss == "mse" else 1) * (p - t) / n
    v[f"delta{L}"] = delta
    grads_w, grads_b = [None] * L, [None] * L
    for k in range(L, 0, -1):
        if k < L:
            dl_da = delta @ weights[k].T
            v[f"dL_da{k}"] = dl_da
            v[f"fprime{k}"] = _slope(hidden, zs[k - 1], outs[k - 1])
            delta = dl_da * v[f"fprime{k}"]
            v[f"delta{k}"] = delta
        grads_w[k - 1] = inputs[k - 1].T @ delta
        grads_b[k - 1] = delta.sum(axis=0)
        v[f"dL_dW{k}"], v[f"dL_db{k}"] = grads_w[k - 1], grads_b[k - 1]
    new_w = [w - lr * g for w, g in zip(weights, grads_w)]
    new_b = [b - lr * g for b, g in zip(biases, grads_b)]
    for k in range(1, L + 1):
        v[f"dW{k}"], v[f"W{k}_new"] = -lr * grads_w[k - 1], new_w[k - 1]
        v[f"db{k}"], v[f"b{k}_new"] = -lr * grads_b[k - 1], new_b[k - 1]
    a = x
    for k in range(1, L + 1):
        z = a @ new_w[k - 1] + new_b[k - 1]
        a = _activation(hidden, z) if k < L else z
    v["p_after"] = _activation(LINK[loss], a)
    v["loss_after"] = _loss(loss, a, t)
    return v


def assert_step_matches(trace: dict, expected: dict, what: str):
    assert set(trace) == set(expected), f"{what}: quantities {sorted(set(trace) ^ set(expected))} differ"
    for key, want in expected.items():
        want = np.asarray(want, dtype=np.float64)
        got = np.asarray(trace[key], dtype=np.float64)
        assert got.shape == want.shape, f"{what} {key}: shape {got.shape} != {want.shape}"
        scale = max(1.0, float(np.max(np.abs(want))) if want.size else 1.0)
        err = float(np.max(np.abs(got - want))) if want.size else 0.0
        assert err <= RTOL * scale, f"{what} {key}: max |diff| {err:.3e} > {RTOL * scale:.1e}"


def example_inputs(data):
    """(weights, biases, x, t) of an explanation's data, read from the numpy backend's trace."""
    trace = data["backends"]["numpy"]
    L = len(data["network"]["layer_sizes"]) - 1
    weights = [np.array(trace[f"W{k}"]) for k in range(1, L + 1)]
    biases = [np.array(trace[f"b{k}"]) for k in range(1, L + 1)]
    return weights, biases, np.array(trace["x"]), np.array(trace["t"])
