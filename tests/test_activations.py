"""activation_forward / activation_backward of every backend against the float64 oracle.

Each kernel runs in its own dtype; the oracle runs in float64 on the same values upcast, and
the error is bounded by tolerances.activation_forward_bound / activation_backward_gauge·rtol
(arithmetic activations: a few ulps; exp/tanh/erf-based: the transcendental rtol; softmax adds
n·u for its row sum; gelu and tanh' and softmax' carry the cancellation in their gauges).
"""

from __future__ import annotations

import numpy as np
import pytest

from tolerances import (ACTIVATIONS, activation_backward_gauge, activation_backward_rtol,
                        activation_forward_bound, assert_within, tiny)

DTYPES = [np.float32, np.float64]
NAMES = list(ACTIVATIONS) + ["logistic"]  # the alias must work like sigmoid
CANON = {"logistic": "sigmoid"}
SHAPES = [(1, 1), (3, 7), (17, 10), (64, 37), (0, 4), (300, 97)]  # 300x97 > the C++ 2^14-element chunk: threads split it


def pre_activations(rng, shape, dtype):
    """z ~ N(0, 3²) plus, when there is room, rows of edge values (0, ±tiny, ±1e4, ±30)."""
    z = (3 * rng.standard_normal(shape)).astype(dtype)
    edges = np.array([0.0, -0.0, 1e-30, -1e-30, 1e4, -1e4, 30.0, -30.0, 0.5, -0.75], dtype)
    if shape[0] >= 3:
        n = shape[1]
        z[0] = np.resize(edges, n)
        z[1] = np.resize(edges[::-1], n)
    return z


def fwd_ref(oracle, name, z):
    return oracle.activation_forward(name, z.astype(np.float64))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", NAMES)
def test_forward_vs_oracle(backend, oracle, rng, dtype, shape, name):
    z = pre_activations(rng, shape, dtype)
    z_before = z.copy()
    a = backend.activation_forward(name, z)
    assert isinstance(a, np.ndarray) and a.dtype == dtype and a.shape == shape
    assert np.array_equal(z, z_before, equal_nan=True), "activation_forward modified z"
    assert a.size == 0 or not np.shares_memory(a, z), "activation_forward must return a new array"
    ref = fwd_ref(oracle, name, z)
    canon = CANON.get(name, name)
    assert np.isfinite(a).all(), f"{backend.__name__} {name}: non-finite activation"
    assert_within(a, ref, activation_forward_bound(canon, z, ref, dtype),
                  f"{backend.__name__} activation_forward({name}) {np.dtype(dtype).name}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ACTIVATIONS)
@pytest.mark.parametrize("layout", ["F", "neg_rows", "step2_cols"])
def test_forward_strided_input(backend, oracle, rng, dtype, name, layout):
    base = pre_activations(rng, (12, 22), dtype)
    z = {"F": np.asfortranarray(base[:, :11]), "neg_rows": base[::-1, :11], "step2_cols": base[:, ::2]}[layout]
    a = backend.activation_forward(name, z)
    ref = fwd_ref(oracle, name, z)
    assert_within(a, ref, activation_forward_bound(name, z, ref, dtype), f"{name} on {layout} z")


@pytest.mark.parametrize("dtype", DTYPES)
def test_forward_edge_values(backend, dtype):
    """Huge inputs give exact saturated values, never NaN/overflow."""
    z = np.array([[1e4, -1e4, 0.0, 88.0, -88.0, 700.0 if dtype == np.float64 else 80.0]], dtype)
    sig = backend.activation_forward("sigmoid", z)
    assert np.isfinite(sig).all()
    assert sig[0, 0] == 1 and sig[0, 1] == 0 and sig[0, 2] == 0.5
    assert np.array_equal(backend.activation_forward("logistic", z), sig)
    th = backend.activation_forward("tanh", z)
    assert th[0, 0] == 1 and th[0, 1] == -1 and th[0, 2] == 0
    ge = backend.activation_forward("gelu", z)
    assert ge[0, 0] == dtype(1e4) and ge[0, 1] == 0 and ge[0, 2] == 0
    sm = backend.activation_forward("softmax", np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]], dtype))
    assert np.isfinite(sm).all()
    assert sm[0, 0] == 1 and sm[0, 1] == 0
    np.testing.assert_allclose(sm[1], 1 / 3, rtol=4 * np.finfo(dtype).eps)  # shift-invariance
    sm1 = backend.activation_forward("softmax", np.array([[5.0], [-1e4]], dtype))
    assert (sm1 == 1).all(), "softmax of a single column is 1"
    relu = backend.activation_forward("relu", np.array([[-0.0, 0.0, -1e-30, 3.0]], dtype))
    assert np.array_equal(relu, [[0, 0, 0, 3]])
    leaky = backend.activation_forward("leaky_relu", np.array([[-2.0, 2.0, 0.0]], dtype))
    np.testing.assert_allclose(leaky, [[-0.02, 2.0, 0.0]], rtol=4 * np.finfo(dtype).eps)


# --- backward -------------------------------------------------------------------------------


def backward_inputs(oracle, rng, shape, dtype, name):
    z = pre_activations(rng, shape, dtype)
    a = oracle.activation_forward(name, z)  # a = f(z) in the working dtype, as a forward pass gives
    grad_a = rng.standard_normal(shape).astype(dtype)
    return z, a, grad_a


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", NAMES)
def test_backward_vs_oracle(backend, oracle, rng, dtype, shape, name):
    canon = CANON.get(name, name)
    z, a, grad_a = backward_inputs(oracle, rng, shape, dtype, canon)
    before = [z.copy(), a.copy(), grad_a.copy()]
    got = backend.activation_backward(name, z, a, grad_a)
    assert isinstance(got, np.ndarray) and got.dtype == dtype and got.shape == shape
    for arr, old, label in zip((z, a, grad_a), before, ("z", "a", "grad_a")):
        assert np.array_equal(arr, old), f"activation_backward modified {label}"
    assert got.size == 0 or not any(np.shares_memory(got, x) for x in (z, a, grad_a))
    ref = oracle.activation_backward(name, *(x.astype(np.float64) for x in (z, a, grad_a)))
    gauge = activation_backward_gauge(canon, z, a, grad_a)
    bound = activation_backward_rtol(canon, shape[1], dtype) * gauge + tiny(dtype)
    assert np.isfinite(got).all()
    assert_within(got, ref, bound, f"{backend.__name__} activation_backward({name}) {np.dtype(dtype).name}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_backward_strided_inputs(backend, oracle, rng, dtype, name):
    z, a, grad_a = backward_inputs(oracle, rng, (10, 26), dtype, name)
    # F-ordered z and a (a recomputed for the sliced z: softmax's a is row-normalised), and a
    # grad_a that is every other column of a wider array
    z = np.asfortranarray(z[:, :13])
    a = np.asfortranarray(oracle.activation_forward(name, np.ascontiguousarray(z)))
    grad_a = grad_a[:, ::2]
    got = backend.activation_backward(name, z, a, grad_a)
    ref = oracle.activation_backward(name, *(x.astype(np.float64) for x in (z, a, grad_a)))
    bound = activation_backward_rtol(name, 13, dtype) * activation_backward_gauge(name, z, a, grad_a) + tiny(dtype)
    assert_within(got, ref, bound, f"{name} backward, strided inputs")


@pytest.mark.parametrize("dtype", DTYPES)
def test_backward_kinks_and_saturation(backend, dtype):
    """relu'(0) = 0 and leaky_relu'(0) = 0.01 (the oracle's z > 0 convention, as PyTorch);
    saturated sigmoid/tanh/gelu/softmax give finite gradients."""
    z = np.array([[0.0, -0.0, 2.0, -2.0]], dtype)
    g = np.ones_like(z)
    relu_g = backend.activation_backward("relu", z, backend.activation_forward("relu", z), g)
    assert np.array_equal(relu_g, [[0, 0, 1, 0]])
    leaky_g = backend.activation_backward("leaky_relu", z, backend.activation_forward("leaky_relu", z), g)
    np.testing.assert_allclose(leaky_g, [[0.01, 0.01, 1, 0.01]], rtol=4 * np.finfo(dtype).eps)
    big = np.array([[1e4, -1e4, 0.0]], dtype)
    gb = np.array([[1.0, -2.0, 3.0]], dtype)
    for name in ("sigmoid", "tanh", "gelu", "softmax", "identity"):
        a = backend.activation_forward(name, big)
        grad = backend.activation_backward(name, big, a, gb)
        assert np.isfinite(grad).all(), f"{name}'({big}) not finite: {grad}"
    sig = backend.activation_forward("sigmoid", big)
    np.testing.assert_array_equal(backend.activation_backward("sigmoid", big, sig, gb), [[0, 0, 0.75]])
    ge = backend.activation_backward("gelu", big, backend.activation_forward("gelu", big), gb)
    np.testing.assert_allclose(ge, [[1.0, 0.0, 1.5]], rtol=4 * np.finfo(dtype).eps, atol=0)
