"""The default mode (the compiled epoch, ``sklearn_compat=False``) gives scikit-learn's numbers:
same random_state and float64 data, same loss_curve_, n_iter_, coefs_ and intercepts_.

Tolerance 1e-10 relative, test_sklearn_compat's: the engine runs scikit-learn's rules in other
code (C++ epochs, fastmlp's units times a known factor), so besides the matrix products' sum
order (a few ulps per product) its float64 roundings differ where a factor is not a power of 2
(the gradient scale 3/2 of three squared-error outputs, Adam's eps divided by it); over these
20-25 epochs the loss curves agree to ~1e-15 and the weights to ~1e-12 of their scale, while
any difference of rule (eps placement, a penalty counted 1/k times, batch losses weighed by
weight rather than by rows) is of order 1e-5 or more. Weights are compared with an absolute
floor of 1e-10 times the array's largest weight, as a weight near zero has no meaningful
relative error.
"""

import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn", reason="scikit-learn not installed (pip install fastmlp[sklearn])")

import scipy.sparse as sparse  # noqa: E402
from sklearn import neural_network as sk  # noqa: E402
from sklearn.datasets import load_digits, make_multilabel_classification, make_regression  # noqa: E402

from fastmlp.sklearn import MLPClassifier, MLPRegressor  # noqa: E402

RTOL = 1e-10


def _digits():
    X, y = load_digits(return_X_y=True)
    return X[:600] / 16, y[:600]


def _multi_output():
    X, y = make_regression(300, 10, n_targets=3, random_state=0)
    return X, y / 100


def _multi_label():
    return make_multilabel_classification(300, 10, n_classes=4, random_state=0)


def _poisson():
    X, y = _multi_output()
    return X, np.exp(y[:, 0] / 3)


def _three_classes():
    from sklearn.datasets import make_classification

    return make_classification(600, 12, n_classes=3, n_informative=6, random_state=0)


def _two_classes():
    from sklearn.datasets import make_classification

    return make_classification(600, 12, random_state=0)


def _weights(n):
    return np.random.default_rng(1).uniform(0.2, 3.0, n)


# name: (classifier?, data, estimator params, how to fit)
CASES = {
    "adam": (True, _digits, dict(), "fit"),
    "adam-alpha": (True, _digits, dict(alpha=0.01), "fit"),
    "sgd-nesterov": (True, _digits, dict(solver="sgd"), "fit"),
    "sgd-momentum": (True, _digits, dict(solver="sgd", nesterovs_momentum=False), "fit"),
    "sgd-constant": (True, _digits, dict(solver="sgd", momentum=0.0, learning_rate_init=0.1), "fit"),
    "sgd-invscaling": (True, _digits, dict(solver="sgd", learning_rate="invscaling",
                                           learning_rate_init=0.5), "fit"),
    "sgd-adaptive": (True, _digits, dict(solver="sgd", learning_rate="adaptive", tol=0.05,
                                         n_iter_no_change=2), "fit"),
    "lbfgs": (True, _digits, dict(solver="lbfgs"), "fit"),
    "early-stopping": (True, _digits, dict(early_stopping=True), "fit"),
    "sample-weight": (True, _digits, dict(), "weighted"),
    "sample-weight-alpha": (False, _multi_output, dict(alpha=0.1), "weighted"),
    "multi-label": (True, _multi_label, dict(), "fit"),
    "multi-output": (False, _multi_output, dict(), "fit"),
    "multi-output-alpha-sgd": (False, _multi_output, dict(alpha=0.1, solver="sgd"), "fit"),
    "multi-output-alpha-adam": (False, _multi_output, dict(alpha=0.1), "fit"),
    "poisson": (False, _poisson, dict(loss="poisson"), "fit"),
    "sparse-input": (True, _digits, dict(), "sparse"),
    "partial-fit": (True, _digits, dict(), "partial_fit"),
    "warm-start": (True, _digits, dict(warm_start=True), "warm_start"),
    # outputs that saturate (p below eps): scikit-learn's log losses clip p to [eps, 1 - eps]
    # in the loss value; unclipped, these loss curves were 1e-1 off
    "adam-saturating-softmax": (True, _three_classes, dict(learning_rate_init=0.3, max_iter=15),
                                "fit"),
    "lbfgs-saturating-logistic": (True, _two_classes, dict(solver="lbfgs", activation="logistic",
                                                          hidden_layer_sizes=(7, 5)), "fit"),
    # the other backends' epochs follow the same rules (fastmlp-only parameter: ours alone)
    "numpy-backend": (True, _digits, dict(backend="numpy"), "fit"),
    "numba-backend-weighted-alpha": (False, _multi_output, dict(alpha=0.1, backend="numba"),
                                     "weighted"),
    "numpy-backend-lbfgs": (True, _two_classes, dict(solver="lbfgs", backend="numpy",
                                                    activation="logistic",
                                                    hidden_layer_sizes=(7, 5)), "fit"),
    "numba-backend-lbfgs-weighted": (True, _digits, dict(solver="lbfgs", backend="numba"),
                                     "weighted"),
}
FASTMLP_ONLY = ("backend",)


def _train(est, how, X, y):
    if how == "weighted":
        return est.fit(X, y, sample_weight=_weights(len(X)))
    if how == "sparse":
        return est.fit(sparse.csr_matrix(X), y)
    if how == "partial_fit":
        classes = np.unique(y)
        for _ in range(5):
            est.partial_fit(X, y, classes=classes)
        return est
    if how == "warm_start":
        est.fit(X, y)
        est.set_params(max_iter=5)
        return est.fit(X, y)
    return est.fit(X, y)


def _close(ours, theirs, what):
    ours, theirs = np.asarray(ours, np.float64), np.asarray(theirs, np.float64)
    assert ours.shape == theirs.shape, what
    floor = RTOL * np.abs(theirs).max()
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=floor, err_msg=what)


@pytest.mark.parametrize("case", CASES)
def test_default_mode_gives_sklearns_numbers(case):
    is_classifier, data, params, how = CASES[case]
    X, y = data()
    params = dict(random_state=0, max_iter=20) | params
    ours_cls, theirs_cls = (MLPClassifier, sk.MLPClassifier) if is_classifier else \
        (MLPRegressor, sk.MLPRegressor)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning at max_iter, on both sides alike
        theirs = _train(theirs_cls(**{k: v for k, v in params.items() if k not in FASTMLP_ONLY}),
                        how, X, y)
        ours = _train(ours_cls(**params), how, X, y)
    assert ours.n_iter_ == theirs.n_iter_
    if hasattr(theirs, "loss_curve_"):  # lbfgs keeps none
        _close(ours.loss_curve_, theirs.loss_curve_, "loss_curve_")
    _close(ours.loss_, theirs.loss_, "loss_")
    for i, (a, b) in enumerate(zip(ours.coefs_, theirs.coefs_)):
        _close(a, b, f"coefs_[{i}]")
    for i, (a, b) in enumerate(zip(ours.intercepts_, theirs.intercepts_)):
        _close(a, b, f"intercepts_[{i}]")


@pytest.mark.parametrize("n", [0, 1, 2, 7, 200, 20001])
def test_the_epoch_shuffle_is_sklearns(n):
    """The epoch loop's shuffle (without scikit-learn's input checks) gives sklearn.utils.shuffle's
    order, epoch after epoch, and leaves the RandomState where it leaves it."""
    from sklearn.utils import shuffle as sk_shuffle

    from fastmlp.sklearn._base import shuffled

    ours, theirs = np.random.RandomState(n), np.random.RandomState(n)
    a = b = np.arange(n, dtype=int)
    for _ in range(3):
        a, b = shuffled(a, ours), sk_shuffle(b, random_state=theirs)
        np.testing.assert_array_equal(a, b)
        assert a.dtype == b.dtype
    assert ours.randint(1 << 30) == theirs.randint(1 << 30)
    if n > 2:  # a shuffle that moved nothing would pass the rest
        assert not np.array_equal(a, np.arange(n))


LBFGS_BLOCK_CASES = {
    "digits": (True, _digits, dict(), "fit"),
    "weighted-alpha": (False, _multi_output, dict(alpha=0.1), "weighted"),
    "zero-weight-block": (True, _digits, dict(), "zero_block"),
    "multi-label": (True, _multi_label, dict(), "fit"),
    "poisson": (False, _poisson, dict(loss="poisson"), "fit"),
    "sparse-input": (True, _digits, dict(), "sparse"),
}


@pytest.mark.parametrize("compat", [False, True], ids=["engine", "compat"])
@pytest.mark.parametrize("case", LBFGS_BLOCK_CASES)
def test_lbfgs_gives_sklearns_numbers(monkeypatch, case, compat):
    """lbfgs gives scikit-learn's fit with weights (a whole block of weight 0 included),
    alpha, multi-output, multi-label, poisson and sparse input. The default path runs the
    backend's loss_gradient (C++: its own blocks of rows, tests/test_loss_gradient.py); with
    sklearn_compat=True scikit-learn's definitions run in NumPy over blocks of rows (at least
    256; here the smallest, so 300 and 600 rows make 2 and 3 blocks)."""
    from fastmlp.sklearn import _lbfgs, _objective

    monkeypatch.setattr(_lbfgs, "_BLOCK_BYTES", 1)
    block_rows = []
    block_sums = _objective._block_sums

    def counting(backend, X, *args):
        block_rows.append(X.shape[0])
        return block_sums(backend, X, *args)

    monkeypatch.setattr(_objective, "_block_sums", counting)
    is_classifier, data, params, how = LBFGS_BLOCK_CASES[case]
    X, y = data()
    params = dict(random_state=0, max_iter=30, solver="lbfgs", **params)
    ours_cls, theirs_cls = (MLPClassifier, sk.MLPClassifier) if is_classifier else \
        (MLPRegressor, sk.MLPRegressor)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if how == "zero_block":  # rows 256-511 of weight 0: a whole block that adds nothing
            sw = _weights(len(X))
            sw[256:512] = 0.0
            theirs = theirs_cls(**params).fit(X, y, sample_weight=sw)
            ours = ours_cls(sklearn_compat=compat, **params).fit(X, y, sample_weight=sw)
        else:
            theirs = _train(theirs_cls(**params), how, X, y)
            ours = _train(ours_cls(sklearn_compat=compat, **params), how, X, y)
    if compat:
        assert max(block_rows) == 256 and min(block_rows) < 256, "the blocks were not used"
    else:
        assert not block_rows, "the default path ran the NumPy objective"
    assert ours.n_iter_ == theirs.n_iter_
    _close(ours.loss_, theirs.loss_, "loss_")
    for i, (a, b) in enumerate(zip(ours.coefs_, theirs.coefs_)):
        _close(a, b, f"coefs_[{i}]")
    for i, (a, b) in enumerate(zip(ours.intercepts_, theirs.intercepts_)):
        _close(a, b, f"intercepts_[{i}]")


def test_blocked_loss_and_grads_add_up_to_the_whole_batch():
    """The same loss and gradients from blocks of 7 rows as from the whole batch, to a few ulps
    (another order of the same sums; 1e-13 relative), with weights, some of them 0."""
    from fastmlp.backends import get_backend
    from fastmlp.sklearn import _objective

    rng = np.random.default_rng(3)
    X = rng.standard_normal((40, 5))
    Y = np.eye(3)[rng.integers(0, 3, 40)]
    sw = rng.uniform(0.5, 2.0, 40)
    sw[7:14] = 0.0
    coefs = [rng.standard_normal((5, 6)), rng.standard_normal((6, 3))]
    intercepts = [rng.standard_normal(6), rng.standard_normal(3)]
    kw = dict(hidden=["tanh"], out_activation="softmax", loss="log_loss", alpha=0.3)
    backend = get_backend("cpp")
    for weights in (None, sw):
        whole = _objective.loss_and_grads(backend, X, Y, weights, coefs, intercepts, **kw)
        blocks = _objective.loss_and_grads(backend, X, Y, weights, coefs, intercepts, rows=7, **kw)
        np.testing.assert_allclose(blocks[0], whole[0], rtol=1e-13)
        for got, want in zip(blocks[1] + blocks[2], whole[1] + whole[2]):
            np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-13 * np.abs(want).max())
