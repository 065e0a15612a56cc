"""Training never leaves NaN/inf weights, one fit per model at a time, and the optimizer kernels
refuse bad scalars alike in every backend."""

from __future__ import annotations

import threading
import warnings

import numpy as np
import pytest

import fastmlp as fm
from fastmlp.backends import available_backends
from fastmlp.fit_guard import EpochRollback

BACKENDS = available_backends()


def data(dead_feature=False):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((256, 8)).astype(np.float32)
    if dead_feature:
        X[:, 3] = 0.0  # its weights' gradient stays 0: Adam's update is 0 / (0 + eps)
    return X, (X[:, 0] > 0).astype(int)


def params(m):
    net = m.network
    return [a.copy() for a in net.weights + net.biases + net.slots_m + net.slots_v]


@pytest.mark.parametrize("backend", BACKENDS)
def test_eps_that_rounds_to_zero_warns_and_rolls_back(backend):
    X, y = data(dead_feature=True)
    m = fm.MLP([8, 16, 2], backend=backend, seed=0)
    m.fit(X, y, epochs=1)  # one finite epoch: the state to return to
    before, step = params(m), m.network.step
    with pytest.warns(RuntimeWarning, match="eps=1e-50 rounds to 0 in float32"):
        with pytest.raises(FloatingPointError, match="rolled back to the start of this epoch"):
            m.fit(X, y, epochs=3, optimizer=fm.optim.Adam(eps=1e-50))
    assert all(np.isfinite(a).all() for a in params(m))
    # the new optimizer's fresh slots and step 0, and the weights after the first fit
    for got, want in zip(params(m)[:4], before[:4]):
        np.testing.assert_array_equal(got, want)
    assert step > 0 and m.network.step == 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_diverging_rate_leaves_finite_weights(backend, tmp_path):
    X, y = data()
    m = fm.MLP([8, 16, 2], backend=backend, seed=0)
    start = params(m)[:4]
    with pytest.raises(FloatingPointError, match="epoch 0 .*rolled back"):
        m.fit(X, y, epochs=2, optimizer=fm.optim.Adam(lr=1e38))
    for got, want in zip(params(m)[:4], start):  # was: inf left in the model
        np.testing.assert_array_equal(got, want)
    m.save(tmp_path / "m.npz")  # still saveable (save refuses non-finite weights) and loadable
    assert fm.MLP.load(tmp_path / "m.npz").layer_sizes == [8, 16, 2]


def test_rollback_catches_a_non_finite_update_with_a_finite_loss():
    m = fm.MLP([3, 4, 2], backend="numpy", seed=0)
    m.fit(np.ones((4, 3), np.float32), np.array([0, 1, 0, 1]), epochs=1)
    guard = EpochRollback(m.network)
    w = m.network.weights[1].copy()
    m.network.weights[1][0, 0] = np.inf
    m.network.step += 5
    with pytest.raises(FloatingPointError, match="made weights w1 NaN or infinite"):
        guard.check(epoch=4)
    np.testing.assert_array_equal(m.network.weights[1], w)
    assert m.network.step == guard.step


def test_learning_rate_that_rounds_to_zero_warns():
    X, y = data()
    m = fm.MLP([8, 4, 2], seed=0)
    with pytest.warns(RuntimeWarning, match="lr=1e-50 rounds to 0 in float32: nothing is learned"):
        m.fit(X, y, epochs=1, optimizer=fm.optim.SGD(lr=1e-50))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fm.MLP([8, 4, 2], dtype="float64").fit(X, y, epochs=1, optimizer=fm.optim.SGD(lr=1e-50))


def test_fit_from_a_callback_on_the_same_model_is_refused():
    X, y = data()
    m = fm.MLP([8, 4, 2], seed=0)
    seen = []

    class Refit:
        def on_epoch_end(self, epoch, logs, model):
            try:
                model.fit(X, y, epochs=1)
            except RuntimeError as exc:
                seen.append(str(exc))

    m.fit(X, y, epochs=1, callbacks=[Refit()])
    assert seen and "fit is already running on this model" in seen[0]
    m.fit(X, y, epochs=1)  # the guard is released after the fit


def test_two_threads_fitting_one_model_do_not_both_run():
    X, y = data()
    m = fm.MLP([8, 4, 2], seed=0)
    inside, release = threading.Event(), threading.Event()

    class Hold:
        def on_epoch_end(self, epoch, logs, model):
            inside.set()
            release.wait(30)

    first = threading.Thread(target=lambda: m.fit(X, y, epochs=1, callbacks=[Hold()]))
    first.start()
    try:
        assert inside.wait(30)
        with pytest.raises(RuntimeError, match="already running on this model"):
            m.fit(X, y, epochs=1)
        fm.MLP([8, 4, 2], seed=0).fit(X, y, epochs=1)  # another model trains meanwhile
    finally:
        release.set()
        first.join(30)
    assert m.network.step == 8  # one fit of 8 batches, nothing lost or doubled


KERNEL_CASES = [
    ("adam lr NaN", lambda b, p, g, s: b.adam_step(p, g, s[0], s[1], step=1, lr=float("nan")), ValueError, "lr must be finite"),
    ("adam step 0", lambda b, p, g, s: b.adam_step(p, g, s[0], s[1], step=0, lr=0.1), ValueError, "step must be >= 1"),
    ("adam step 2^63", lambda b, p, g, s: b.adam_step(p, g, s[0], s[1], step=2**63, lr=0.1), ValueError, "step must be <= "),
    ("adam step float", lambda b, p, g, s: b.adam_step(p, g, s[0], s[1], step=1.5, lr=0.1), TypeError, "step must be an int"),
    ("adam eps inf", lambda b, p, g, s: b.adam_step(p, g, s[0], s[1], step=1, lr=0.1, eps=float("inf")), ValueError, "eps must be finite"),
    ("adam m is v", lambda b, p, g, s: b.adam_step(p, g, s[0], s[0], step=1, lr=0.1), ValueError, "m and v share memory"),
    ("adam m is param", lambda b, p, g, s: b.adam_step(p, g, p, s[1], step=1, lr=0.1), ValueError, "param and m share memory"),
    ("sgd momentum NaN", lambda b, p, g, s: b.sgd_step(p, g, s[0], lr=0.1, momentum=float("nan")), ValueError, "momentum must be finite"),
    ("sgd velocity is grad", lambda b, p, g, s: b.sgd_step(p, g, g, lr=0.1), ValueError, "grad and velocity share memory"),
    ("rmsprop alpha NaN", lambda b, p, g, s: b.rmsprop_step(p, g, s[0], s[1], lr=0.1, alpha=float("nan")), ValueError, "alpha must be finite"),
]


@pytest.mark.parametrize("name,call,exc,match", KERNEL_CASES, ids=[c[0] for c in KERNEL_CASES])
def test_optimizer_kernels_refuse_alike(backend, name, call, exc, match):
    p = np.ones(6, np.float32)
    g = np.full(6, 0.5, np.float32)
    slots = [np.zeros(6, np.float32), np.zeros(6, np.float32)]
    before = p.copy()
    with pytest.raises(exc, match=match):
        call(backend, p, g, slots)
    np.testing.assert_array_equal(p, before)  # refused before anything was written


def test_copies_of_a_model_train_side_by_side():
    import copy
    import pickle

    X, y = data()
    a = fm.MLP([8, 4, 2], seed=0)
    a.fit(X, y, epochs=1)
    b, c = copy.deepcopy(a), pickle.loads(pickle.dumps(a))  # was: "cannot pickle 'module' object"
    threads = [threading.Thread(target=lambda m=m: m.fit(X, y, epochs=2)) for m in (a, b)]
    [t.start() for t in threads]
    [t.join(60) for t in threads]
    c.fit(X, y, epochs=2)
    for m in (b, c):  # not refused as "the same model", and the same numbers as the original
        assert all(np.array_equal(p, q) for p, q in zip(a.weights, m.weights))
