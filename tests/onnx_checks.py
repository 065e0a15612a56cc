"""What the ONNX tests share: running a graph in onnxruntime, and the error bound between two
implementations of the same network (fastmlp and onnxruntime) that round differently.

The bound follows tests/tolerances.py's recipe, carried through the layers: each Gemm of K terms
adds 2·γ_{K+2}·G (G = |a_prev|·|W| + |b|, both sides' rounding), the error already in a_prev is
carried by |W|, and each activation multiplies the error by its largest slope and adds its own
rounding (a few ulps of |a| for arithmetic ones, TRANSCENDENTAL_RTOL for exp/tanh/erf, plus
8·u·|z| for gelu, whose Phi(z) = (1 + erf) / 2 loses relative accuracy where Phi is tiny).
These are worst-case bounds, so they never flake, and a wrong weight, slope, link or layer gives
an error of the size of the values themselves: orders of magnitude above them.
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort

from tolerances import LIPSCHITZ, TRANSCENDENTAL_RTOL, gamma, tiny, unit_roundoff

_ARITHMETIC = {"identity", "relu", "leaky_relu"}


def run(model_proto, X) -> dict:
    """{output name: value} of ``model_proto`` on X in onnxruntime's CPU provider."""
    session = ort.InferenceSession(model_proto.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, {session.get_inputs()[0].name: X})))


def _act64(name, z):
    if name in ("identity", "linear"):
        return z
    if name == "relu":
        return np.maximum(z, 0)
    if name == "leaky_relu":
        return np.where(z > 0, z, 0.01 * z)
    if name in ("sigmoid", "logistic"):
        return 1 / (1 + np.exp(-z))
    if name == "tanh":
        return np.tanh(z)
    if name == "gelu":
        from fastmlp.backends._erf import erf

        return z * 0.5 * (1 + erf(z / np.sqrt(2)))
    if name == "softmax":
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    if name == "exp":
        return np.exp(z)
    raise ValueError(name)


def _act_bound(name, z, a, ez, dtype):
    u = unit_roundoff(dtype)
    rtol = TRANSCENDENTAL_RTOL[np.dtype(dtype)]
    if name in ("identity", "linear"):
        return ez
    if name == "softmax":  # |da_j| <= a_j (|dz_j| + sum_k a_k |dz_k|) <= 2 a_j max_k |dz_k|
        n = z.shape[1]
        return a * (2 * ez.max(axis=1, keepdims=True) + 2 * ((n + 8) * u + rtol)) + tiny(dtype)
    if name == "exp":  # d exp(z) = exp(z) dz (first order, so 1.01 for the second-order term)
        return a * (1.01 * ez + 2 * rtol) + tiny(dtype)
    slope = LIPSCHITZ["sigmoid" if name == "logistic" else name]
    own = 2 * (4 * u if name in _ARITHMETIC else rtol) * np.abs(a)
    if name == "gelu":
        own = own + 8 * u * np.abs(z)
    return slope * ez + own + tiny(dtype)


def network_bound(X, weights, biases, activations, dtype, e0=0.0):
    """(values, bound) for every layer's output: the float64 forward pass of the network and the
    largest difference two float-``dtype`` implementations may show, per element. ``e0``: the
    error already in X (0 when both sides read the same X)."""
    a = np.asarray(X, dtype=np.float64)
    err = np.broadcast_to(np.asarray(e0, dtype=np.float64), a.shape)
    layers = []
    for w, b, act in zip(weights, biases, activations):
        w64, b64 = np.asarray(w, np.float64), np.asarray(b, np.float64).reshape(-1)
        k = w64.shape[0]
        z = a @ w64 + b64
        gauge = np.abs(a) @ np.abs(w64) + np.abs(b64)
        ez = err @ np.abs(w64) + 2 * gamma(k + 2, dtype) * gauge + (k + 2) * tiny(dtype)
        a = _act64(act, z)
        err = _act_bound(act, z, a, ez, dtype)
        layers.append((z, a, ez, err))
    return layers


def assert_close(actual, expected, bound, what):
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    excess = np.abs(actual - expected) - bound
    worst = np.unravel_index(int(np.argmax(excess)), excess.shape)
    assert excess[worst] <= 0, (f"{what}: |{actual[worst]} - {expected[worst]}| = "
                                f"{abs(actual[worst] - expected[worst]):.3g} > bound {bound[worst]:.3g} "
                                f"at {worst}")


def assert_labels_agree(actual, expected, near_tie, what):
    """Labels equal wherever the decision is not a near-tie (``near_tie``: a bool per row/element,
    True where rounding may flip it); and at most a few flips in all."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    differ = actual != expected
    assert not (differ & ~near_tie).any(), (
        f"{what}: labels differ away from a tie at {np.argwhere(differ & ~near_tie)[:5].tolist()}")
    assert differ.sum() <= max(2, differ.size // 100), f"{what}: {differ.sum()} near-tie flips"
