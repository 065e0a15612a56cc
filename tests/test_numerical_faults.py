"""Numerical faults: where the mathematics is finite the kernels are too, however large
the inputs; where training does go non-finite the error says when (epoch and batch).

Every expected value below is derived by hand from the definitions (softmax, sigmoid, their
losses) in the limit of huge arguments, where they are exact in floating point: e.g.
softmax([1e4, 0, -1e4]) is [1, e^-1e4, e^-2e4], which rounds to exactly [1, 0, 0].
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import fastmlp as fm

DTYPES = [np.float32, np.float64]


def finite(*arrays):
    return all(np.isfinite(np.asarray(a)).all() for a in arrays)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("big", [1e4, 1e30])
def test_cross_entropy_of_huge_logits(backend, dtype, big):
    """Logits +-big: the log-sum-exp shift keeps exp() from overflowing. Row 0 is right
    (loss 0, gradient 0), row 1 wrong by 2·big (loss 2·big, gradient (p − onehot)/batch =
    (1, 0, −1)/2), both exactly representable."""
    out = np.array([[big, 0.0, -big], [big, 0.0, -big]], dtype)
    labels = np.array([0, 2])
    loss, grad = backend.loss_forward_backward("cross_entropy", out, labels)
    assert finite(loss, grad)
    # float32: 2e30 is exact in float64 but rounds once in float32, hence rtol u32
    assert loss == pytest.approx(big, rel=2.0**-23)  # mean of 0 and 2·big
    np.testing.assert_array_equal(grad, np.array([[0, 0, 0], [0.5, 0, -0.5]], dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("big", [1e4, 1e30])
def test_binary_cross_entropy_of_huge_logits(backend, dtype, big):
    """BCE fused with the sigmoid: max(o, 0) − o·t + log1p(e^−|o|). Right answers cost 0, wrong
    ones cost |o| (exactly, as e^−|o| underflows to 0); gradients (sigmoid(o) − t)/n are ±1/n or 0."""
    out = np.array([[big], [-big], [big], [-big]], dtype)
    target = np.array([[1.0], [0.0], [0.0], [1.0]], dtype)
    loss, grad = backend.loss_forward_backward("binary_cross_entropy", out, target)
    assert finite(loss, grad)
    assert loss == pytest.approx(big / 2, rel=2.0**-23)  # (0 + 0 + big + big) / 4
    np.testing.assert_array_equal(grad, np.array([[0], [0], [0.25], [-0.25]], dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_activations_of_huge_inputs(backend, dtype):
    """sigmoid(±1e4) = 1 / 0, tanh(±1e4) = ±1, gelu(1e4) = 1e4 and gelu(−1e4) = 0, softmax of
    a row with a 2e4 spread is one-hot: all exact, none NaN. The derivatives are 0 (saturated)
    or 1 (gelu's linear end), finite everywhere."""
    z = np.array([[1e4, -1e4, 0.0]], dtype)
    grad_a = np.ones_like(z)
    expected = {
        "sigmoid": [1.0, 0.0, 0.5], "tanh": [1.0, -1.0, 0.0], "gelu": [1e4, 0.0, 0.0],
        "softmax": [1.0, 0.0, 0.0], "relu": [1e4, 0.0, 0.0],
    }
    for name, want in expected.items():
        a = backend.activation_forward(name, z)
        np.testing.assert_array_equal(np.abs(a), np.abs(np.array([want], dtype)), err_msg=name)
        g = backend.activation_backward(name, z, a, grad_a)
        assert finite(g), (name, g)
    g = backend.activation_backward("sigmoid", z, backend.activation_forward("sigmoid", z), grad_a)
    np.testing.assert_array_equal(g[0, :2], [0, 0])  # a·(1 − a) with a exactly 1 or 0


@pytest.mark.parametrize("dtype", DTYPES)
def test_dense_backward_through_saturated_sigmoid_is_finite(backend, dtype):
    """A layer driven to ±1e4 pre-activations: every gradient is finite (and zero through the
    saturated units)."""
    x = np.array([[1.0, -1.0]], dtype)
    w = np.array([[1e4, -1e4], [0.0, 0.0]], dtype)
    b = np.zeros(2, dtype)
    z, a = backend.dense_forward(x, w, b, "sigmoid")
    gx, gw, gb = backend.dense_backward(x, w, z, a, np.ones_like(a), "sigmoid")
    assert finite(z, a, gx, gw, gb)
    np.testing.assert_array_equal(gb, [0, 0])


def _data(n=64):
    rng = np.random.default_rng(0)
    return rng.standard_normal((n, 4)).astype(np.float32), rng.integers(0, 3, n)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy's overflow warnings are the point
def test_diverging_training_names_epoch_and_batch(backend):
    """SGD with lr 1e12 diverges: a FloatingPointError that names the batch and leaves finite
    weights (the bad batch is never applied). The epoch number: the next test."""
    name = backend.__name__.rsplit(".", 1)[-1]
    X, y = _data()
    m = fm.MLP([4, 8, 3], backend=name, seed=0)
    with pytest.raises(FloatingPointError, match=r"batch \d+") as info:
        m.fit(X, y, epochs=50, batch_size=8, optimizer=fm.optim.SGD(lr=1e12))
    assert all(np.isfinite(w).all() for w in m.weights + m.biases)
    assert "the weights were not updated" in str(info.value)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_non_finite_weight_error_names_the_epoch_number(backend):
    """A NaN planted in the weights before the second fit: epoch 0 (of that fit), batch 0."""
    name = backend.__name__.rsplit(".", 1)[-1]
    X, y = _data()
    m = fm.MLP([4, 8, 3], backend=name, seed=0)
    m.fit(X, y, epochs=1, batch_size=8)
    m.weights[0][0, 0] = np.nan
    with pytest.raises(FloatingPointError, match=r"epoch 0\b.*batch 0\b|batch 0\b.*epoch 0\b"):
        m.fit(X, y, epochs=2, batch_size=8)


def test_badly_scaled_float32_data_warns_with_advice():
    """Features of size 1e6 in float32: a warning that suggests scaling or float64."""
    X, _ = _data()
    m = fm.MLP([4, 8, 1], loss="mse", backend="numpy", seed=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            m.fit(X * 1e6, X[:, :1] * 1e6, epochs=1, batch_size=8)
        except FloatingPointError:
            pass
    messages = " ".join(str(w.message) for w in caught)
    assert "scal" in messages.lower() or "standardiz" in messages.lower(), messages
