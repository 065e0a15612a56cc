"""Training works: real networks reach the accuracy their task allows, on every backend."""

import numpy as np
import pytest

import fastmlp as fm
from fastmlp import datasets
from fastmlp.backends import available_backends

BACKENDS = available_backends()


@pytest.mark.parametrize("backend", BACKENDS)
def test_xor_truth_table_reaches_100_percent(backend):
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    y = np.array([0, 1, 1, 0])
    m = fm.MLP([2, 8, 2], activation="tanh", backend=backend, seed=0)
    m.fit(X, y, epochs=300, batch_size=4, optimizer=fm.optim.Adam(lr=0.05))
    assert m.evaluate(X, y)["accuracy"] == 1.0


@pytest.mark.parametrize("backend", BACKENDS)
def test_moons_above_95_percent(backend):
    X, y = datasets.moons(n_samples=600, noise=0.1, seed=0)
    X_test, y_test = datasets.moons(n_samples=400, noise=0.1, seed=1)
    m = fm.MLP([2, 32, 32, 2], activation="relu", backend=backend, seed=0)
    m.fit(X, y, epochs=60, batch_size=32, optimizer=fm.optim.Adam(lr=0.01))
    assert m.evaluate(X_test, y_test)["accuracy"] > 0.95


@pytest.mark.slow
@pytest.mark.parametrize("backend", [b for b in BACKENDS if b != "numpy"])
def test_shipped_mnist_subset_above_95_percent(backend):
    X, y, X_test, y_test = datasets.load_mnist_small()
    m = fm.MLP([784, 128, 10], activation="relu", backend=backend, seed=0)
    m.fit(X, y, epochs=4, batch_size=64, optimizer=fm.optim.Adam(lr=1e-3))
    assert m.evaluate(X_test, y_test)["accuracy"] > 0.95


def test_same_training_on_every_backend_float64():
    # The model API end to end: three backends, one seed, float64 -> the same weights to
    # rounding (tests/test_train_agreement.py holds the kernels to tighter stated bounds).
    X, y = datasets.moons(n_samples=100, noise=0.2, seed=3)
    results = {}
    for backend in BACKENDS:
        m = fm.MLP([2, 6, 2], activation="tanh", dtype="float64", backend=backend, seed=5)
        m.fit(X, y, epochs=3, batch_size=16, optimizer=fm.optim.SGD(lr=0.1, momentum=0.9))
        results[backend] = m.weights + m.biases
    for backend, params in results.items():
        for p, ref in zip(params, results["numpy"]):
            np.testing.assert_allclose(p, ref, rtol=1e-10, atol=1e-12, err_msg=backend)
