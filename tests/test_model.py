"""The model API: construction, forward, predict, fit, History, and bad arguments."""

import numpy as np
import pytest

import fastmlp as fm
from fastmlp.backends import available_backends

BACKENDS = available_backends()


def blobs(n=120, n_features=4, n_classes=3, seed=0):
    """Separable Gaussian blobs: a task any working network learns in a few epochs."""
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((n_classes, n_features)) * 4
    y = rng.integers(0, n_classes, n)
    return centers[y] + rng.standard_normal((n, n_features)), y


def test_layers_shapes_dtype_and_seed():
    m = fm.MLP([5, 7, 3], dtype="float64", backend="numpy", seed=3)
    assert [w.shape for w in m.weights] == [(5, 7), (7, 3)]
    assert [b.shape for b in m.biases] == [(7,), (3,)]
    assert all(w.dtype == np.float64 for w in m.weights)
    assert m.n_params == 5 * 7 + 7 + 7 * 3 + 3
    same = fm.MLP([5, 7, 3], dtype="float64", backend="numpy", seed=3)
    other = fm.MLP([5, 7, 3], dtype="float64", backend="numpy", seed=4)
    assert np.array_equal(m.weights[0], same.weights[0])
    assert not np.array_equal(m.weights[0], other.weights[0])


def test_he_and_glorot_scales():
    # He: var 2/n_in for relu; Glorot uniform: var 2/(n_in+n_out) for tanh. 400x400 draws give
    # the sample variance to about 1 % (std of a variance estimate ~ sqrt(2/N) = 0.35 %).
    he = fm.MLP([400, 400, 2], activation="relu", backend="numpy").weights[0]
    gl = fm.MLP([400, 400, 2], activation="tanh", backend="numpy").weights[0]
    assert he.var() == pytest.approx(2 / 400, rel=0.03)
    assert gl.var() == pytest.approx(2 / 800, rel=0.03)
    assert np.abs(gl).max() <= np.sqrt(6 / 800)


@pytest.mark.parametrize("backend", BACKENDS)
def test_forward_return_all_is_the_layer_equations(backend):
    m = fm.MLP([4, 6, 3], activation="tanh", dtype="float64", backend=backend, seed=1)
    X = np.random.default_rng(0).standard_normal((5, 4))
    layers = m.forward(X, return_all=True)
    z0 = X @ m.weights[0] + m.biases[0]
    np.testing.assert_allclose(layers[0]["z"], z0, rtol=1e-12)
    np.testing.assert_allclose(layers[0]["a"], np.tanh(z0), rtol=1e-12)
    z1 = layers[0]["a"] @ m.weights[1] + m.biases[1]
    np.testing.assert_allclose(layers[1]["z"], z1, rtol=1e-12, atol=1e-15)
    # the last layer's a is the softmax link applied to the logits
    np.testing.assert_allclose(layers[1]["a"].sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(m.forward(X), z1, rtol=1e-12, atol=1e-15)
    proba = m.predict_proba(X)
    np.testing.assert_allclose(proba, layers[1]["a"], rtol=1e-12)
    assert np.array_equal(m.predict(X), proba.argmax(axis=1))


def test_weights_are_the_models_own_arrays():
    m = fm.MLP([3, 2], activation="relu", loss="mse", dtype="float64", backend="numpy")
    m.weights[0][...] = 0.0
    m.biases[0][...] = [1.5, -2.0]
    X = np.ones((4, 3))
    np.testing.assert_array_equal(m.predict(X), np.tile([1.5, -2.0], (4, 1)))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adamw", "rmsprop"])
def test_fit_lowers_the_loss(backend, optimizer):
    X, y = blobs()
    m = fm.MLP([4, 16, 3], activation="relu", backend=backend, seed=0)
    before = m.evaluate(X, y)["loss"]
    history = m.fit(X, y, epochs=15, batch_size=16, optimizer=optimizer)
    assert history.epochs == 15
    assert [len(history.loss), len(history.metric)] == [15, 15]
    assert history.loss[-1] < history.loss[0]
    assert m.evaluate(X, y)["loss"] < 0.5 * before


def test_history_records_validation():
    X, y = blobs()
    m = fm.MLP([4, 8, 3], backend="numpy")
    h = m.fit(X[:100], y[:100], epochs=3, validation_data=(X[100:], y[100:]))
    assert len(h.loss) == len(h.metric) == len(h.val_loss) == len(h.val_metric) == 3
    assert all(0 <= acc <= 1 for acc in h.metric + h.val_metric)
    assert h.val_loss[-1] == pytest.approx(m.evaluate(X[100:], y[100:])["loss"], rel=1e-6)
    keys = {"loss", "accuracy", "val_loss", "val_accuracy", "seconds"}  # names, not timings
    assert set(h.as_dict()) == keys


@pytest.mark.parametrize("backend", BACKENDS)
def test_progress_bar_does_not_change_the_weights(backend, capsys):
    # verbose=1 runs the epoch in chunks of batches; the batches and their order are the same
    X, y = blobs(n=203)
    quiet = fm.MLP([4, 8, 3], dtype="float64", backend=backend, seed=2)
    loud = fm.MLP([4, 8, 3], dtype="float64", backend=backend, seed=2)
    h1 = quiet.fit(X, y, epochs=2, batch_size=8, optimizer="adam", verbose=0)
    h2 = loud.fit(X, y, epochs=2, batch_size=8, optimizer="adam", verbose=1)
    for a, b in zip(quiet.weights + quiet.biases, loud.weights + loud.biases):
        np.testing.assert_array_equal(a, b)
    assert h1.loss == pytest.approx(h2.loss, rel=1e-12)


def test_verbose_two_prints_one_line_per_epoch(capsys):
    X, y = blobs()
    fm.MLP([4, 8, 3], backend="numpy").fit(X, y, epochs=3, verbose=2)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("epoch")]
    assert len(lines) == 3 and "loss" in lines[0] and "accuracy" in lines[0]


def test_second_fit_continues_with_the_same_optimizer():
    X, y = blobs()
    m = fm.MLP([4, 8, 3], backend="numpy")
    m.fit(X, y, epochs=1, batch_size=20, optimizer=fm.optim.Adam(lr=0.01))
    step = m.network.step
    m.fit(X, y, epochs=1, batch_size=20)
    assert m.network.step == 2 * step and m.optimizer.lr == 0.01
    m.fit(X, y, epochs=1, batch_size=20, optimizer="sgd")
    assert m.network.step == step and m.network.optimizer.name == "sgd"


def test_regression_and_binary_outputs():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.3
    reg = fm.MLP([3, 1], activation="identity", loss="mse", dtype="float64", backend="numpy")
    reg.fit(X, y, epochs=200, batch_size=50, optimizer=fm.optim.SGD(lr=0.1))
    assert reg.predict(X).shape == (200,)
    assert reg.evaluate(X, y)["r2"] > 0.999
    with pytest.raises(AttributeError, match="predict_proba"):
        reg.predict_proba(X)
    yb = (X[:, 0] > 0).astype(float)
    clf = fm.MLP([3, 1], loss="binary_cross_entropy", backend="numpy")
    clf.fit(X, yb, epochs=50, batch_size=20, optimizer=fm.optim.Adam(lr=0.05))
    proba = clf.predict_proba(X)
    assert proba.shape == (200, 1) and np.all((proba >= 0) & (proba <= 1))  # float32 may round to 0 or 1
    assert np.mean(clf.predict(X) == yb) > 0.95


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"layer_sizes": [4]}, ValueError, "layer_sizes"),
        ({"layer_sizes": [4, 0, 3]}, ValueError, "layer_sizes"),
        ({"layer_sizes": "4,3"}, TypeError, "layer_sizes"),
        ({"activation": "swish"}, ValueError, "activation"),
        ({"activation": ["relu", "relu"]}, ValueError, "activation"),
        ({"loss": "hinge"}, ValueError, "loss"),
        ({"dtype": "float16"}, TypeError, "dtype"),
        ({"dtype": "int32"}, TypeError, "dtype"),
        ({"backend": "cuda"}, ValueError, "backend"),
        ({"seed": -1}, ValueError, "seed"),
        ({"init": "orthogonal"}, ValueError, "init"),
    ],
)
def test_bad_constructor_arguments(kwargs, error, match):
    args = {"layer_sizes": [4, 5, 3], "backend": "numpy", **kwargs}
    with pytest.raises(error, match=match):
        fm.MLP(**args)


@pytest.mark.parametrize(
    "change, error, match",
    [
        (lambda X, y: (X[:, :3], y), ValueError, "features"),
        (lambda X, y: (np.where(X > 2, np.nan, X), y), ValueError, "NaN"),
        (lambda X, y: (np.where(X > 2, np.inf, X), y), ValueError, "NaN or infinity"),
        (lambda X, y: (X[:0], y[:0]), ValueError, "empty"),
        (lambda X, y: (X[0], y), ValueError, "2-D"),
        (lambda X, y: (X.astype(str), y), TypeError, "X must hold real numbers"),
        (lambda X, y: (X, y[:-1]), ValueError, "rows"),
        (lambda X, y: (X, y + 5), ValueError, "labels"),
        (lambda X, y: (X, y - 1), ValueError, "labels"),
        (lambda X, y: (X, y.astype(str)), TypeError, "integer class labels"),
    ],
)
def test_bad_fit_data(change, error, match):
    X, y = blobs()
    m = fm.MLP([4, 5, 3], backend="numpy")
    with pytest.raises(error, match=match):
        m.fit(*change(X, y), epochs=1)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"epochs": -1}, ValueError, "epochs"),
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"batch_size": 2.5}, TypeError, "batch_size"),
        ({"optimizer": "lbfgs"}, ValueError, "optimizer"),
        ({"optimizer": 3}, TypeError, "optimizer"),
        ({"verbose": 7}, ValueError, "verbose"),
        ({"validation_data": (np.zeros((2, 4)),)}, ValueError, "validation_data"),
    ],
)
def test_bad_fit_arguments(kwargs, error, match):
    X, y = blobs()
    with pytest.raises(error, match=match):
        fm.MLP([4, 5, 3], backend="numpy").fit(X, y, **kwargs)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: fm.optim.SGD(lr=0), "lr"),
        (lambda: fm.optim.SGD(lr=-1), "lr"),
        (lambda: fm.optim.Adam(lr=float("nan")), "lr"),
        (lambda: fm.optim.SGD(momentum=1.0), "momentum"),
        (lambda: fm.optim.SGD(nesterov=True), "nesterov"),
        (lambda: fm.optim.Adam(beta1=1.0), "beta1"),
        (lambda: fm.optim.Adam(eps=0), "eps"),
        (lambda: fm.optim.RMSprop(alpha=-0.1), "alpha"),
        (lambda: fm.optim.AdamW(weight_decay=-1), "weight_decay"),
    ],
)
def test_impossible_hyperparameters(make, match):
    with pytest.raises(ValueError, match=match):
        make()
