"""Dropout: counter-based masks keyed on (seed, step, layer, element) that every backend draws
bit for bit alike, inverted scaling, training agreement with the oracle, gradients through a
fixed mask, and nothing dropped at prediction."""

from __future__ import annotations

import numpy as np
import pytest

import fastmlp as fm
from fastmlp.backends import OptimizerConfig
from test_train_agreement import (LOSSES, assert_networks_agree, loss_name, make_data, make_network,
                                  up_y, upcast)
from tolerances import train_rtol

DTYPES = [np.float32, np.float64]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed,step,layer,p,shape", [
    (0, 1, 0, 0.5, (1, 1)), (12345, 7, 1, 0.3, (50, 33)), (2**64 - 1, 10**9, 3, 0.9, (7, 129)),
    (42, 3, 0, 0.0, (4, 5)), (42, 3, 0, 0.999, (64, 64)), (5, 2, 2, 0.2, (0, 8)),
])
def test_masks_identical_across_backends(backend, oracle, dtype, seed, step, layer, p, shape):
    got = backend.dropout_mask(seed, step, layer, p, shape, dtype)
    want = oracle.dropout_mask(seed, step, layer, p, shape, dtype)
    assert got.dtype == dtype and got.shape == shape
    assert np.array_equal(got, want), "masks must agree bit for bit"
    assert set(np.unique(got)) <= {dtype(0), dtype(1.0 / (1.0 - p))}


def test_known_generator_values(oracle):
    """mix64 is splitmix64's step: its first outputs from state 0 are published constants."""
    z, outputs = np.uint64(0), []
    for _ in range(3):
        outputs.append(int(oracle.mix64(z)))
        with np.errstate(over="ignore"):  # uint64 wraps, as splitmix64's state does
            z = z + np.uint64(0x9E3779B97F4A7C15)
    assert outputs == [0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_keep_rate_within_binomial_bounds(oracle, dtype, p):
    """200,000 elements: kept count within 6 standard deviations of n(1-p) (a false alarm has
    probability ~2e-9), per row block too; masks of other steps and layers are independent
    (agreement rate p^2 + (1-p)^2, same bound)."""
    n_rows, n_cols = 400, 500
    n = n_rows * n_cols
    mask = oracle.dropout_mask(7, 1, 0, p, (n_rows, n_cols), dtype)
    kept = int((mask > 0).sum())
    sigma = np.sqrt(n * p * (1 - p))
    assert abs(kept - n * (1 - p)) <= 6 * sigma
    for other in (oracle.dropout_mask(7, 2, 0, p, (n_rows, n_cols), dtype),
                  oracle.dropout_mask(7, 1, 1, p, (n_rows, n_cols), dtype),
                  oracle.dropout_mask(8, 1, 0, p, (n_rows, n_cols), dtype)):
        q = p * p + (1 - p) * (1 - p)
        agree = int(((mask > 0) == (other > 0)).sum())
        assert abs(agree - n * q) <= 6 * np.sqrt(n * q * (1 - q))
    # the first and the last rows are no less random than the whole
    for block in (mask[:20], mask[-20:]):
        m = block.size
        assert abs(int((block > 0).sum()) - m * (1 - p)) <= 6 * np.sqrt(m * p * (1 - p))


def dropout_network(dtype=np.float64, loss="mse", optimizer=None, seed=0, rates=(0.3, 0.5, 0.0)):
    net = make_network(loss=loss, optimizer=optimizer or OptimizerConfig("sgd", lr=0.1), dtype=dtype,
                       seed=seed)
    net.dropout = list(rates)
    net.seed = 1234
    return net


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("loss_case", LOSSES)
def test_dropout_training_agrees_with_oracle(backend, oracle, dtype, loss_case):
    net = dropout_network(dtype, loss_name(loss_case), OptimizerConfig("adam", lr=1e-2), seed=3)
    ref = upcast(net)
    X, Y = make_data(loss_case, dtype, seed=4)
    order = np.random.default_rng(5).permutation(len(X))
    rtol = train_rtol(dtype, work=10 * (5 + 21))
    for epoch in range(2):
        got = backend.train_epoch(net, X, Y, order, 5)
        want = oracle.train_epoch(ref, X.astype(np.float64), up_y(Y), order, 5)
        np.testing.assert_allclose(got[0], want[0], rtol=rtol)
        assert got[1] == want[1]
        assert_networks_agree(net, ref, rtol, f"{backend.__name__} {loss_case} dropout epoch {epoch}")
    got = backend.train_step(net, X[:7], Y[:7])
    want = oracle.train_step(ref, X[:7].astype(np.float64), up_y(Y[:7]))
    np.testing.assert_allclose(got[0], want[0], rtol=rtol)
    assert_networks_agree(net, ref, rtol, "dropout step")


def test_dropout_changes_training(backend):
    """The masks reach both passes: with dropout the step differs from the step without, and
    from a step with another seed."""
    X, Y = make_data("mse", np.float64, seed=6)
    results = []
    for rates, seed in (((0.0, 0.0, 0.0), 1234), ((0.3, 0.5, 0.0), 1234), ((0.3, 0.5, 0.0), 99)):
        net = dropout_network(rates=rates)
        net.seed = seed
        backend.train_step(net, X, Y)
        results.append(net.weights[0].copy())
    assert not np.allclose(results[0], results[1]) and not np.allclose(results[1], results[2])


def test_gradient_through_a_fixed_mask(oracle):
    """float64 central differences of the loss with the step's masks held fixed equal the
    gradient the step applies (read off SGD with lr 1). h = 1e-6: errors ~1e-10; rtol 1e-5."""
    net = dropout_network(rates=(0.4, 0.4, 0.0), optimizer=OptimizerConfig("sgd", lr=1.0), seed=7)
    net.activations = ["tanh", "sigmoid", "identity"]
    X, Y = make_data("mse", np.float64, seed=8)
    x, y = X[:6], Y[:6]
    masks = [oracle.dropout_mask(net.seed, net.step + 1, i, p, (6, w.shape[1]), np.float64) if p else None
             for i, (p, w) in enumerate(zip(net.dropout, net.weights))]
    assert all((m > 0).any() and (m == 0).any() for m in masks[:2]), "the masks must drop something"

    def loss_of(weights):
        a = x
        for w, b, act, m in zip(weights, net.biases, net.activations, masks):
            _, a = oracle.dense_forward(a, w, b, act)
            if m is not None:
                a = a * m
        return oracle.loss_forward_backward("mse", a, y)[0]

    probe = net.copy()
    before = [w.copy() for w in probe.weights]
    loss, _ = oracle.train_step(probe, x, y)
    np.testing.assert_allclose(loss, loss_of(net.weights), rtol=1e-15)
    for i, w in enumerate(net.weights):
        grad = before[i] - probe.weights[i]  # lr 1
        fd = np.empty_like(w)
        for idx in np.ndindex(w.shape):
            plus = [v.copy() for v in net.weights]
            minus = [v.copy() for v in net.weights]
            plus[i][idx] += 1e-6
            minus[i][idx] -= 1e-6
            fd[idx] = (loss_of(plus) - loss_of(minus)) / 2e-6
        np.testing.assert_allclose(grad, fd, rtol=1e-5, atol=1e-9)


def test_bad_dropout(backend):
    X, Y = make_data("mse", np.float64)
    for rates, match in (((1.0, 0.0, 0.0), r"^dropout\[0\] must be < 1"),
                         ((-0.1, 0.0, 0.0), r"^dropout\[0\] must be >= 0"),
                         ((0.1, 0.1, 0.1), r"dropout on the output layer must be 0"),
                         ((0.1, 0.0), r"dropout needs one rate per layer \(3\)")):
        net = dropout_network(rates=rates)
        with pytest.raises(ValueError, match=match):
            backend.train_step(net, X, Y)
        assert net.step == 0
    net = dropout_network()
    net.seed = -1
    with pytest.raises(ValueError, match=r"^seed must be >= 0"):
        backend.train_epoch(net, X, Y, np.arange(len(X)), 4)
    with pytest.raises(ValueError, match=r"^p must be < 1"):
        backend.dropout_mask(0, 1, 0, 1.0, (2, 2), np.float32)
    with pytest.raises(ValueError, match=r"^step must be >= 1"):
        backend.dropout_mask(0, 0, 0, 0.5, (2, 2), np.float32)
    with pytest.raises(TypeError, match=r"^dtype must be float32 or float64"):
        backend.dropout_mask(0, 1, 0, 0.5, (2, 2), np.int32)


def test_mlp_dropout_predicts_without_dropping_and_reproduces(tmp_path):
    rng = np.random.default_rng(9)
    X = rng.standard_normal((200, 4)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    model = fm.MLP([4, 32, 16, 2], dropout=[0.5, 0.2], backend="numpy", seed=3)
    assert model.dropout == [0.5, 0.2] and model.network.dropout == [0.5, 0.2, 0.0]
    twin = fm.MLP([4, 32, 16, 2], dropout=[0.5, 0.2], backend="cpp", seed=3)
    model.fit(X, y, epochs=3, batch_size=16, optimizer=fm.optim.Adam(lr=1e-2))
    twin.fit(X, y, epochs=3, batch_size=16, optimizer=fm.optim.Adam(lr=1e-2))
    for a, b in zip(model.weights, twin.weights):  # same masks on both backends
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)  # float32 after 39 Adam steps
    # prediction drops nothing: the plain forward pass with the trained weights
    plain = fm.MLP([4, 32, 16, 2], backend="numpy", seed=3)
    for dst, src in zip(plain.weights + plain.biases, model.weights + model.biases):
        dst[...] = src
    np.testing.assert_array_equal(model.predict_proba(X), plain.predict_proba(X))
    assert model.evaluate(X, y)["accuracy"] > 0.9
    model.save(tmp_path / "m.npz")
    loaded = fm.MLP.load(tmp_path / "m.npz", backend="numpy")
    assert loaded.dropout == [0.5, 0.2]
    with pytest.raises(ValueError, match=r"dropout needs one rate per hidden layer \(2\)"):
        fm.MLP([4, 32, 16, 2], dropout=[0.5])
    with pytest.raises(ValueError, match=r"^dropout must be < 1"):
        fm.MLP([4, 32, 2], dropout=1.0)


def test_threads_do_not_change_the_masks():
    """The C++ epoch splits large masks over threads: 1 and 2 threads give bitwise identical
    weights (a 64 x 512 hidden layer has 32768 mask elements, two chunks of 2^14)."""
    cpp = pytest.importorskip("fastmlp.backends.cpp")
    before = cpp.get_num_threads()
    rng = np.random.default_rng(10)
    X = rng.standard_normal((256, 20)).astype(np.float32)
    Y = rng.integers(0, 4, 256)
    results = []
    try:
        for threads in (1, 2):
            cpp.set_num_threads(threads)
            net = make_network((20, 512, 4), ("relu", "identity"), "cross_entropy",
                               OptimizerConfig("sgd", lr=0.05), np.float32, seed=11)
            net.dropout, net.seed = [0.5, 0.0], 3
            cpp.train_epoch(net, X, Y, np.arange(256), 64)
            results.append([p.copy() for p in net.params])
    finally:
        cpp.set_num_threads(before)
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)
