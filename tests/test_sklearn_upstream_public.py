"""Public-attribute versions of the scikit-learn tests that read its private state (the PRIVATE
list of tests/test_sklearn_upstream.py): same data, same claim, measured through fit /
partial_fit / predict_proba and the fitted attributes scikit-learn documents.

How: with ``momentum=0`` and one batch per epoch an sgd epoch moves the parameters by exactly
``-rate * gradient``, and the gradient can be taken numerically from the public loss (log loss
of predict_proba plus ``0.5 * alpha * sum ||W||^2 / n``) by assigning perturbed ``coefs_`` /
``intercepts_``. So the analytic gradient is the step divided by the rate, and the rate is the
step divided by the gradient.
"""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_almost_equal

pytest.importorskip("sklearn", reason="scikit-learn not installed (pip install fastmlp[sklearn])")

from sklearn import neural_network as sk  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.metrics import log_loss  # noqa: E402

from fastmlp.sklearn import MLPClassifier  # noqa: E402

MODES = {"default": {}, "compat": {"sklearn_compat": True}}


def _params(est):
    return [p.copy() for p in est.coefs_ + est.intercepts_]


def _assign(est, params):
    n = len(est.coefs_)
    est.coefs_ = [p.copy() for p in params[:n]]
    est.intercepts_ = [p.copy() for p in params[n:]]


def _public_loss(est, X, y):
    penalty = 0.5 * est.alpha * sum(float((w**2).sum()) for w in est.coefs_) / len(X)
    return log_loss(y, est.predict_proba(X), labels=est.classes_) + penalty


def _numerical_gradient(est, X, y, epsilon=1e-5):
    """Central differences of the public loss, one parameter at a time (upstream's epsilon)."""
    start = _params(est)
    flat = np.concatenate([p.ravel() for p in start])
    grad = np.empty_like(flat)
    for i in range(flat.size):
        values = []
        for sign in (1, -1):
            moved = flat.copy()
            moved[i] += sign * epsilon
            _assign(est, _unflatten(moved, start))
            values.append(_public_loss(est, X, y))
        grad[i] = (values[0] - values[1]) / (2 * epsilon)
    _assign(est, start)
    return grad


def _unflatten(flat, like):
    out, at = [], 0
    for p in like:
        out.append(flat[at:at + p.size].reshape(p.shape))
        at += p.size
    return out


def _flat(params):
    return np.concatenate([p.ravel() for p in params])


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("n_labels", [2, 3])
@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu"])
def test_gradient_public(mode, n_labels, activation):
    """Upstream test_gradient (reads _loss_grad_lbfgs): the analytic gradient equals the
    numerical one to 7 decimals, the analytic one read from one sgd step of rate 1."""
    n_samples, n_features = 5, 10
    random_state = np.random.RandomState(seed=42)
    X = random_state.rand(n_samples, n_features)
    y = 1 + np.mod(np.arange(n_samples) + 1, n_labels)
    mlp = MLPClassifier(activation=activation, hidden_layer_sizes=10, solver="sgd", momentum=0.0,
                        alpha=1e-5, learning_rate_init=1.0, shuffle=False, random_state=1,
                        **MODES[mode])
    mlp.partial_fit(X, y, classes=np.unique(y))  # initialises (and takes one step)
    theta = _params(mlp)
    numgrad = _numerical_gradient(mlp, X, y)
    mlp.partial_fit(X, y)
    grad = _flat(theta) - _flat(_params(mlp))  # rate 1: the step is the gradient
    assert_almost_equal(numgrad, grad)
    assert np.abs(grad).max() > 1e-3  # a real gradient, not a step that did nothing


def _rate_of_next_step(mlp, X, y, step):
    """Run ``step()`` (one sgd epoch) and return the rate it used: step / gradient."""
    grad = _numerical_gradient(mlp, X, y)
    before = _flat(_params(mlp))
    step()
    moved = before - _flat(_params(mlp))
    return float(moved @ grad / (grad @ grad))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("learning_rate", ["invscaling", "constant"])
def test_learning_rate_warmstart_public(mode, learning_rate):
    """Upstream test_learning_rate_warmstart (reads _optimizer.learning_rate): a warm-start fit
    starts a fresh optimizer at learning_rate_init, and the rate it leaves (used by the next
    partial_fit) is learning_rate_init / (t + 1) ** power_t with t = 8 samples seen (invscaling)
    or learning_rate_init (constant). Rates agree to 1e-6 relative: the numerical gradient's
    error (~epsilon^2 = 1e-10 against gradients of order 0.1) bounds the ratio's."""
    X = np.array([[3, 2], [1, 6], [5, 6], [-2, -4]], dtype=float)
    y = [1, 1, 1, 0]
    mlp = MLPClassifier(solver="sgd", hidden_layer_sizes=4, learning_rate=learning_rate,
                        max_iter=1, power_t=0.25, warm_start=True, momentum=0.0, random_state=0,
                        **MODES[mode])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp.fit(X, y)
        rate_of_fit = _rate_of_next_step(mlp, X, y, lambda: mlp.fit(X, y))
    rate_after = _rate_of_next_step(mlp, X, y, lambda: mlp.partial_fit(X, y))
    assert rate_of_fit == pytest.approx(mlp.learning_rate_init, rel=1e-6)
    if learning_rate == "constant":
        assert rate_after == pytest.approx(mlp.learning_rate_init, rel=1e-6)
    else:
        assert rate_after == pytest.approx(mlp.learning_rate_init / pow(8 + 1, mlp.power_t),
                                           rel=1e-6)


@pytest.mark.parametrize("mode", MODES)
def test_adaptive_learning_rate_public(mode):
    """Upstream test_adaptive_learning_rate (reads _optimizer.learning_rate): the fit stops
    early because the rate fell below 1e-6. Public: n_iter_ is scikit-learn's (1 improving
    epoch, then 6 rounds of n_iter_no_change + 1 epochs: five divisions by 5 and the stop) and
    the rate left for partial_fit is 0.001 / 5**5 < 1e-6."""
    X = np.array([[3, 2], [1, 6]], dtype=float)
    y = [1, 0]
    params = dict(tol=0.5, max_iter=3000, solver="sgd", learning_rate="adaptive", momentum=0.0,
                  random_state=0)
    clf = MLPClassifier(**params, **MODES[mode]).fit(X, y)
    theirs = sk.MLPClassifier(**params).fit(X, y)
    assert clf.max_iter > clf.n_iter_ == theirs.n_iter_ == 1 + 6 * (clf.n_iter_no_change + 1)
    rate = _rate_of_next_step(clf, X, y, lambda: clf.partial_fit(X, y))
    assert rate < 1e-6
    assert rate == pytest.approx(clf.learning_rate_init / 5**5, rel=1e-6)
