"""l2: scikit-learn's L2 penalty (its alpha), 0.5 * l2 * sum ||W||^2 / sum_i s_i added to each
step's loss and l2 * W / sum_i s_i to each weight gradient (biases untouched); MLP's old name
for it, alpha, still works and warns."""

from __future__ import annotations

import numpy as np
import pytest

import fastmlp as fm
from fastmlp.backends import OptimizerConfig
from test_train_agreement import assert_networks_agree, make_data, make_network, up_y, upcast
from tolerances import train_rtol

DTYPES = [np.float32, np.float64]


def gradient_by_sgd(oracle, net, x, y, sample_weight=None):
    """The step's gradient, read off a plain SGD update with lr 1: grad = before - after."""
    probe = net.copy()
    probe.optimizer = OptimizerConfig("sgd", lr=1.0)
    before = [p.copy() for p in probe.params]
    loss, _ = oracle.train_step(probe, x, y, sample_weight)
    return loss, [b - a for b, a in zip(before, probe.params)]


def test_oracle_matches_sklearn_backprop(oracle):
    """The oracle's loss and gradients with l2 and sample weights equal scikit-learn's
    MLPClassifier._backprop on the same weights (softmax + log loss is our cross_entropy)."""
    pytest.importorskip("sklearn")
    from sklearn.neural_network import MLPClassifier

    net = make_network(activations=("tanh", "tanh", "identity"), loss="cross_entropy", seed=1)
    net.l2 = 0.3
    X, Y = make_data("cross_entropy-labels", np.float64, seed=2)
    sw = np.random.default_rng(3).uniform(0.2, 2.0, len(X))
    loss, grads = gradient_by_sgd(oracle, net, X, Y, sw)

    clf = MLPClassifier(hidden_layer_sizes=(7, 6), activation="tanh", alpha=0.3)
    clf.partial_fit(X, Y, classes=np.arange(3))
    clf.coefs_ = [w.copy() for w in net.weights]
    clf.intercepts_ = [b.copy() for b in net.biases]
    onehot = np.eye(3)[Y]
    n_layers = len(net.weights) + 1
    activations = [X] + [None] * (n_layers - 1)
    coef_grads = [np.empty_like(w) for w in net.weights]
    intercept_grads = [np.empty_like(b) for b in net.biases]
    ref_loss, ref_cg, ref_ig = clf._backprop(X, onehot, sw, activations, [None] * (n_layers - 1),
                                             coef_grads, intercept_grads)
    # float64; SGD with lr 1 recovers the gradient to ~u * |W| (|W| ~ 1): 1e-12 absolute
    np.testing.assert_allclose(loss, ref_loss, rtol=1e-12)
    for i in range(len(net.weights)):
        np.testing.assert_allclose(grads[2 * i], ref_cg[i], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(grads[2 * i + 1], ref_ig[i], rtol=1e-9, atol=1e-12)


def test_penalty_is_in_the_loss_and_its_gradient(oracle):
    """Finite differences of loss + penalty (written out here) equal the step's gradient;
    h = 1e-6 in float64 gives errors ~1e-10 (rtol 1e-5, atol 1e-8 leave ample room)."""
    net = make_network(loss="mse", seed=4, sizes=(3, 4, 2), activations=("tanh", "identity"))
    net.l2 = 0.7
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((6, 3)), rng.standard_normal((6, 2))

    def total_loss(weights):
        a = x
        for w, b, act in zip(weights, net.biases, net.activations):
            _, a = oracle.dense_forward(a, w, b, act)
        data_loss = oracle.loss_forward_backward("mse", a, y)[0]
        return data_loss + 0.5 * 0.7 * sum((w ** 2).sum() for w in weights) / 6

    loss, grads = gradient_by_sgd(oracle, net, x, y)
    np.testing.assert_allclose(loss, total_loss(net.weights), rtol=1e-14)
    for i, w in enumerate(net.weights):
        fd = np.empty_like(w)
        for idx in np.ndindex(w.shape):
            plus = [v.copy() for v in net.weights]
            minus = [v.copy() for v in net.weights]
            plus[i][idx] += 1e-6
            minus[i][idx] -= 1e-6
            fd[idx] = (total_loss(plus) - total_loss(minus)) / 2e-6
        np.testing.assert_allclose(grads[2 * i], fd, rtol=1e-5, atol=1e-8)
    # biases carry no penalty: their gradient is the unpenalised one
    plain = net.copy()
    plain.l2 = 0.0
    _, plain_grads = gradient_by_sgd(oracle, plain, x, y)
    for i in range(len(net.weights)):
        np.testing.assert_allclose(grads[2 * i + 1], plain_grads[2 * i + 1], rtol=1e-14, atol=1e-17)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("weighted", [False, True])
def test_l2_training_agrees_with_oracle(backend, oracle, dtype, weighted):
    net = make_network(loss="cross_entropy", optimizer=OptimizerConfig("sgd", lr=0.1, momentum=0.9),
                       dtype=dtype, seed=6)
    net.l2 = 0.05
    ref = upcast(net)
    X, Y = make_data("cross_entropy-labels", dtype, seed=7)
    sw = np.random.default_rng(8).uniform(0.5, 2.0, len(X)) if weighted else None
    order = np.random.default_rng(9).permutation(len(X))
    rtol = train_rtol(dtype, work=5 * (5 + 21) + 2)
    got = backend.train_epoch(net, X, Y, order, 5, sample_weight=sw)
    want = oracle.train_epoch(ref, X.astype(np.float64), up_y(Y), order, 5, sample_weight=sw)
    np.testing.assert_allclose(got[0], want[0], rtol=rtol)
    assert_networks_agree(net, ref, rtol, f"{backend.__name__} l2 epoch")
    got = backend.train_step(net, X[:6], Y[:6], None if sw is None else sw[:6])
    want = oracle.train_step(ref, X[:6].astype(np.float64), Y[:6], None if sw is None else sw[:6])
    np.testing.assert_allclose(got[0], want[0], rtol=rtol)
    assert_networks_agree(net, ref, rtol, f"{backend.__name__} l2 step")


def test_l2_changes_the_loss_by_the_penalty(backend):
    net = make_network(loss="mse", seed=10)
    heavy = net.copy()
    heavy.l2 = 2.0
    X, Y = make_data("mse", np.float64, seed=11)
    plain_loss, _ = backend.train_step(net, X[:5], Y[:5])
    heavy_loss, _ = backend.train_step(heavy, X[:5], Y[:5])
    penalty = 0.5 * 2.0 * sum((w ** 2).sum() for w in make_network(loss="mse", seed=10).weights) / 5
    np.testing.assert_allclose(heavy_loss - plain_loss, penalty, rtol=1e-12)  # float64


def test_bad_l2(backend):
    net = make_network(loss="mse")
    X, Y = make_data("mse", np.float64)
    for value, match in ((-0.1, r"l2 \(the L2 penalty\) must be >= 0"), (float("nan"), r"must be finite")):
        net.l2 = value
        with pytest.raises(ValueError, match=match):
            backend.train_step(net, X, Y)
    with pytest.raises(ValueError, match=r"^l2 must be >= 0"):
        fm.MLP([2, 3, 1], loss="mse", l2=-1.0)


def test_mlp_l2_shrinks_weights_and_is_saved(tmp_path):
    rng = np.random.default_rng(12)
    X = rng.standard_normal((200, 4)).astype(np.float32)
    y = X @ rng.standard_normal(4) + 0.1 * rng.standard_normal(200)
    norms = []
    for l2 in (0.0, 5.0):
        model = fm.MLP([4, 16, 1], loss="mse", backend="numpy", l2=l2, seed=1)
        model.fit(X, y, epochs=5, optimizer=fm.optim.Adam(lr=1e-2))
        norms.append(sum(float((w ** 2).sum()) for w in model.weights))
    assert norms[1] < 0.75 * norms[0]  # seeded: 16.6 vs 28.4
    model.save(tmp_path / "m.npz")
    loaded = fm.MLP.load(tmp_path / "m.npz", backend="numpy")
    assert loaded.l2 == 5.0 and loaded.network.l2 == 5.0


def test_alpha_is_a_deprecated_alias_of_l2():
    """MLP(alpha=...) and model.alpha still work, each use warning once and naming l2."""
    with pytest.warns(FutureWarning, match=r"MLP\(l2=") as caught:
        model = fm.MLP([2, 3, 1], loss="mse", alpha=0.25)
    assert len(caught) == 1 and model.l2 == 0.25 and model.state()["config"]["l2"] == 0.25
    with pytest.warns(FutureWarning, match=r"MLP\.l2") as caught:
        assert model.alpha == 0.25
    assert len(caught) == 1
    with pytest.warns(FutureWarning, match=r"MLP\.l2"):
        model.alpha = 0.5
    assert model.l2 == 0.5 and model.network.l2 == 0.5
    with pytest.warns(FutureWarning), pytest.raises(ValueError, match=r"^alpha must be >= 0"):
        fm.MLP([2, 3, 1], loss="mse", alpha=-1.0)
    with pytest.warns(FutureWarning), pytest.raises(TypeError, match=r"l2 or as alpha"):
        fm.MLP([2, 3, 1], loss="mse", l2=0.1, alpha=0.1)


def test_l2_name_does_not_warn(recwarn):
    model = fm.MLP([2, 3, 1], loss="mse", l2=0.25)
    model.l2 = model.l2 * 2
    assert model.l2 == 0.5 and not [w for w in recwarn if w.category is FutureWarning]


def test_sklearn_estimators_keep_alpha_and_pass_it_on_as_l2(recwarn):
    """The estimators' alpha is scikit-learn's own name: it reaches the model as l2, no warning."""
    pytest.importorskip("sklearn")
    from fastmlp.sklearn import MLPRegressor
    X = np.random.default_rng(13).standard_normal((40, 3))
    est = MLPRegressor(hidden_layer_sizes=(4,), alpha=0.3, max_iter=2, backend="numpy").fit(X, X.sum(axis=1))
    assert est.alpha == 0.3 and est.get_params()["alpha"] == 0.3
    assert not [w for w in recwarn if w.category is FutureWarning]


@pytest.mark.parametrize("dtype", DTYPES)
def test_cpp_and_numba_sum_the_penalty_in_the_same_order(dtype):
    # Both sum ||W||^2 in 8 partial sums (train.cpp / numba_train.py sum_of_squares): the
    # penalty, and so the step's loss, is bitwise the same. Weight counts 1..17 and a prime
    # straddle the groups of 8; x = 0 and y = 0 make the mse data loss 0, so the loss is the
    # penalty alone. A running sum differs from 8 partial sums in the
    # last bit for most of the larger sizes, so another order in either backend fails here.
    from fastmlp.backends import Network, available_backends, get_backend

    if not {"cpp", "numba"} <= set(available_backends()):
        pytest.skip("needs the C++ and Numba backends")
    rng = np.random.default_rng(12)
    for n_in in [1, 2, 7, 8, 9, 16, 17, 131, 1000, 4099]:
        w = [rng.standard_normal((n_in, 1)).astype(dtype)]
        x = np.zeros((3, n_in), dtype)
        y = np.zeros((3, 1), dtype)
        losses = []
        for name in ("cpp", "numba"):
            net = Network([w[0].copy()], [np.zeros(1, dtype)], ["identity"], "mse",
                          OptimizerConfig("sgd", lr=1e-3))
            net.l2 = 0.5
            losses.append(get_backend(name).train_step(net, x, y)[0])
        assert losses[0] == losses[1], (n_in, losses)
        ref = 0.5 * 0.5 * float(np.sum(w[0].astype(np.float64) ** 2)) / 3
        np.testing.assert_allclose(losses[0], ref, rtol=1e-14)
