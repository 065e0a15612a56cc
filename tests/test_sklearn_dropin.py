"""Regression tests for the drop-in's former gaps: code written for scikit-learn's
MLPs behaves the same with fastmlp's, in the default mode and with ``sklearn_compat=True``.

Tolerances: the loss checks compare a loss fastmlp reports with one recomputed in NumPy from
``predict_proba`` on the same float64 weights; both sum the same ~150 terms in different orders
(and the engine's log-softmax differs from log(softmax) by a few ulps), so they agree to
~1e-14 relative; 1e-9 leaves room and still fails on any missing term (a penalty of alpha=1 on
these weights is of order 1e-2, a stale model's loss differs at 1e-3 or more). Comparisons
with scikit-learn use test_sklearn_compat's 1e-10 (its docstring gives the reason).
"""

import re
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn", reason="scikit-learn not installed (pip install fastmlp[sklearn])")

from sklearn import neural_network as sk  # noqa: E402
from sklearn.datasets import load_iris  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.metrics import log_loss  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils._param_validation import InvalidParameterError  # noqa: E402
from sklearn.utils.class_weight import compute_sample_weight  # noqa: E402

from fastmlp.sklearn import MLPClassifier, MLPRegressor  # noqa: E402

MODES = {"default": {}, "compat": {"sklearn_compat": True}}
LOSS_RTOL = 1e-9
SK_RTOL = 1e-10


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def public_loss(est, X, y):
    """scikit-learn's training loss of ``est``'s current weights, from public attributes only:
    log loss of predict_proba plus ``0.5 * alpha * sum ||W||^2 / n``."""
    penalty = 0.5 * est.alpha * sum(float((w**2).sum()) for w in est.coefs_) / len(X)
    return log_loss(y, est.predict_proba(X), labels=est.classes_) + penalty


# --- item 1: a diverging fit ------------------------------------------------------------------

@pytest.mark.parametrize("mode", MODES)
def test_huge_inputs_raise_sklearns_value_error(mode):
    rng = np.random.RandomState(0)
    X = np.finfo(np.float64).max * rng.uniform(size=(10, 2))
    y = rng.standard_normal(10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numpy's overflow warnings in the per-batch loop
        with pytest.raises(ValueError, match="Solver produced non-finite parameter weights"):
            MLPRegressor(**MODES[mode]).fit(X, y)


@pytest.mark.parametrize("mode", MODES)
def test_too_large_learning_rate_raises_value_error_in_fit_and_partial_fit(iris, mode):
    X, y = iris
    params = dict(hidden_layer_sizes=20, activation="identity", solver="sgd", learning_rate_init=1.0,
                  max_iter=20, random_state=0, **MODES[mode])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match="Solver produced non-finite parameter weights"):
            MLPRegressor(**params).fit(X, y.astype(float))
        est = MLPRegressor(**params)
        with pytest.raises(ValueError, match="non-finite"):
            for _ in range(20):
                est.partial_fit(X, y.astype(float))


@pytest.mark.parametrize("mode", MODES)
def test_late_divergence_with_early_stopping_keeps_the_best_weights(iris, mode):
    X, y = iris
    est = MLPRegressor(hidden_layer_sizes=20, activation="identity", solver="sgd",
                       learning_rate_init=0.001, max_iter=30, early_stopping=True, warm_start=True,
                       n_iter_no_change=100, random_state=0, **MODES[mode])
    y = y.astype(float)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X, y)
        good = est.score(X, y)
        best = est.best_validation_score_
        # the second fit diverges: its validation scores are NaN and never beat the first's best
        est.set_params(learning_rate_init=10.0, max_iter=20)
        est.fit(X, y)
    assert good > 0.5 and np.isfinite(best)
    assert np.isnan(est.validation_scores_[-1]) and isinstance(est.validation_scores_[-1], float)
    assert est.best_validation_score_ == best
    assert all(np.isfinite(p).all() for p in est.coefs_ + est.intercepts_)
    assert est.score(X, y) == pytest.approx(good, rel=1e-12)  # the first fit's best weights
    if mode == "default":  # the engine names the epoch that diverged
        assert any("diverged" in str(w.message) for w in caught)


@pytest.mark.parametrize("mode", MODES)
def test_epochs_after_a_divergence_run_on_as_sklearns(iris, mode):
    """scikit-learn runs on in NaN after its loss turns NaN; so do both modes (the engine
    without training): the same n_iter_, the same NaN epochs in loss_curve_ and
    validation_scores_, and the same kept weights (found by fuzz/fuzz_sklearn_exact.py: the
    engine used to stop at the divergence, n_iter_ 1 against 4)."""
    X, y = iris
    params = dict(hidden_layer_sizes=20, activation="identity", solver="sgd",
                  learning_rate_init=0.5, max_iter=10, early_stopping=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = sk.MLPRegressor(**params).fit(X, y.astype(float))
        ours = MLPRegressor(**params, **MODES[mode]).fit(X, y.astype(float))
    assert np.isnan(theirs.loss_curve_[-1]) and np.isfinite(theirs.loss_curve_[0])
    assert ours.n_iter_ == theirs.n_iter_ == 10
    # the epoch that diverges: inf in scikit-learn's curve (it finishes the epoch), NaN in the
    # engine's (it stops at the first non-finite batch); every later one NaN in both
    np.testing.assert_array_equal(np.isfinite(ours.loss_curve_), np.isfinite(theirs.loss_curve_))
    np.testing.assert_array_equal(np.isnan(ours.validation_scores_),
                                  np.isnan(theirs.validation_scores_))
    finite = ~np.isnan(theirs.validation_scores_)
    np.testing.assert_allclose(np.array(ours.validation_scores_)[finite],
                               np.array(theirs.validation_scores_)[finite], rtol=SK_RTOL)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(a, b, rtol=SK_RTOL, atol=SK_RTOL * np.abs(b).max())


@pytest.mark.parametrize("mode", MODES)
def test_a_classifier_scores_a_diverged_epoch_as_sklearn_does(mode):
    """scikit-learn scores a classifier's non-finite probabilities by the labels its predict
    derives from them (argmax, or p > 0.5: never NaN). Here (found by
    fuzz/fuzz_sklearn_exact.py) that score beats the best one, early stopping keeps the NaN
    weights and scikit-learn's fit raises; fastmlp's does too (it used to score NaN, keep the
    finite weights and return)."""
    from sklearn.datasets import make_classification

    X, y = make_classification(254, 14, n_informative=4, n_redundant=0, n_classes=2,
                               n_clusters_per_class=1, random_state=1062426995)
    X = X * 10
    params = dict(solver="sgd", random_state=92, max_iter=8, hidden_layer_sizes=(29, 27),
                  alpha=0.1, batch_size=1, learning_rate_init=0.1, shuffle=False,
                  early_stopping=True, learning_rate="adaptive", momentum=0.9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match="non-finite parameter weights"):
            sk.MLPClassifier(**params).fit(X, y)
        with pytest.raises(ValueError, match="non-finite parameter weights"):
            MLPClassifier(**params, **MODES[mode]).fit(X, y)


@pytest.mark.parametrize("mode", MODES)
def test_validation_scores_of_nan_weights_are_sklearns(iris, mode):
    """A warm-started fit from NaN weights (new arrays assigned to coefs_ and intercepts_)
    scores each epoch by the class the NaN probabilities predict (0.2 here, never NaN), as
    scikit-learn does; that is below the first fit's best, whose weights both keep."""
    X, y = iris
    params = dict(hidden_layer_sizes=10, solver="adam", early_stopping=True, max_iter=5,
                  random_state=0)
    fitted = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for side, cls, extra in (("theirs", sk.MLPClassifier, {}),
                                 ("ours", MLPClassifier, MODES[mode])):
            est = cls(**params, **extra).fit(X, y)
            est.coefs_ = [np.full_like(w, np.nan) for w in est.coefs_]
            est.intercepts_ = [np.full_like(b, np.nan) for b in est.intercepts_]
            est.set_params(warm_start=True, max_iter=2)
            fitted[side] = est.fit(X, y)
    ours, theirs = fitted["ours"].validation_scores_, fitted["theirs"].validation_scores_
    assert len(theirs) == 7 and not np.isnan(theirs).any()
    assert len(ours) == 7  # the epochs after the divergence run on, as scikit-learn's
    np.testing.assert_allclose(ours, theirs, rtol=SK_RTOL)
    assert fitted["ours"].n_iter_ == fitted["theirs"].n_iter_
    for a, b in zip(fitted["ours"].coefs_ + fitted["ours"].intercepts_,
                    fitted["theirs"].coefs_ + fitted["theirs"].intercepts_):
        np.testing.assert_allclose(a, b, rtol=SK_RTOL, atol=SK_RTOL * np.abs(b).max())


# --- item 2: weights assigned to a fitted estimator -------------------------------------------

@pytest.mark.parametrize("mode", MODES)
def test_partial_fit_trains_assigned_weights(iris, mode):
    X, y = iris  # 150 rows: one batch per epoch, so an epoch's loss is its starting weights'
    est = MLPClassifier(hidden_layer_sizes=5, activation="logistic", solver="sgd", alpha=0.0,
                        learning_rate_init=0.1, random_state=0, **MODES[mode])
    est.partial_fit(X, y, classes=[0, 1, 2])
    est.coefs_ = [np.zeros_like(w) for w in est.coefs_]
    est.intercepts_ = [np.zeros_like(b) for b in est.intercepts_]
    est.partial_fit(X, y)
    assert est.loss_curve_[-1] == pytest.approx(np.log(3), rel=LOSS_RTOL)  # uniform probabilities
    for _ in range(19):
        before = public_loss(est, X, y)
        est.partial_fit(X, y)
        assert est.loss_curve_[-1] == pytest.approx(before, rel=LOSS_RTOL)  # the model predict uses
    assert all(np.abs(p).max() > 0 for p in est.coefs_ + est.intercepts_)
    est.coefs_[0] = np.ones_like(est.coefs_[0])  # an item of the list, assigned in place
    before = public_loss(est, X, y)
    est.partial_fit(X, y)
    assert est.loss_curve_[-1] == pytest.approx(before, rel=LOSS_RTOL)
    assert not np.array_equal(est.coefs_[0], np.ones_like(est.coefs_[0]))


def test_assigned_weights_train_as_in_sklearn(iris):
    X, y = iris
    params = dict(hidden_layer_sizes=5, activation="logistic", solver="sgd", learning_rate_init=0.1,
                  random_state=0)
    ours, theirs = MLPClassifier(sklearn_compat=True, **params), sk.MLPClassifier(**params)
    for est in (ours, theirs):
        est.partial_fit(X, y, classes=[0, 1, 2])
        est.coefs_ = [np.zeros_like(w) for w in est.coefs_]
        est.intercepts_ = [np.zeros_like(b) for b in est.intercepts_]
        for _ in range(20):
            est.partial_fit(X, y)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(a, b, rtol=SK_RTOL, atol=1e-14)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=SK_RTOL)


def test_assigned_weights_of_the_wrong_shape_are_refused(iris):
    X, y = iris
    est = MLPClassifier(hidden_layer_sizes=5, solver="sgd", random_state=0)
    est.partial_fit(X, y, classes=[0, 1, 2])
    est.intercepts_ = [np.zeros(1) for _ in est.intercepts_]
    with pytest.raises(ValueError, match="intercepts_ has shapes"):
        est.partial_fit(X, y)


# --- item 3: parameters set between partial_fit calls ------------------------------------------

@pytest.mark.parametrize("mode", MODES)
def test_partial_fit_reads_alpha_on_every_call(iris, mode):
    X, y = iris
    est = MLPClassifier(hidden_layer_sizes=5, solver="sgd", alpha=0.0, learning_rate_init=0.1,
                        random_state=0, **MODES[mode])
    for _ in range(3):
        est.partial_fit(X, y, classes=[0, 1, 2])
    est.set_params(alpha=1.0)
    before = public_loss(est, X, y)  # includes alpha=1's penalty, ~1e-2 here
    est.partial_fit(X, y)
    assert est.loss_curve_[-1] == pytest.approx(before, rel=LOSS_RTOL)
    # the penalty's gradient shrinks the weights: compare with a twin that kept alpha=0
    twin = MLPClassifier(hidden_layer_sizes=5, solver="sgd", alpha=0.0, learning_rate_init=0.1,
                         random_state=0, **MODES[mode])
    for _ in range(4):
        twin.partial_fit(X, y, classes=[0, 1, 2])
    assert sum((w**2).sum() for w in est.coefs_) < sum((w**2).sum() for w in twin.coefs_)


@pytest.mark.parametrize("mode", MODES)
def test_partial_fit_reads_activation_on_every_call(iris, mode):
    X, y = iris
    est = MLPClassifier(hidden_layer_sizes=5, solver="sgd", learning_rate_init=0.1, random_state=0,
                        **MODES[mode])
    est.partial_fit(X, y, classes=[0, 1, 2])
    est.set_params(activation="tanh")
    est.partial_fit(X, y)  # trains with tanh from here on
    before = public_loss(est, X, y)  # predict reads the activation of the last fit: tanh
    est.partial_fit(X, y)
    assert est.loss_curve_[-1] == pytest.approx(before, rel=LOSS_RTOL)


def test_partial_fit_after_set_params_matches_sklearn(iris):
    X, y = iris
    params = dict(hidden_layer_sizes=5, solver="sgd", alpha=0.0, learning_rate_init=0.1,
                  random_state=0)
    ours, theirs = MLPClassifier(sklearn_compat=True, **params), sk.MLPClassifier(**params)
    for est in (ours, theirs):
        est.partial_fit(X, y, classes=[0, 1, 2])
        est.set_params(alpha=0.5, activation="tanh", batch_size=50, shuffle=False)
        for _ in range(5):
            est.partial_fit(X, y)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=SK_RTOL)
    for a, b in zip(ours.coefs_, theirs.coefs_):
        np.testing.assert_allclose(a, b, rtol=SK_RTOL, atol=1e-14)


# --- item 4: class_weight with sklearn_compat ---------------------------------------------------

def test_compat_class_weight_is_sklearns_fit_with_row_weights(iris):
    X, y = iris
    weights = {0: 1.0, 1: 3.0, 2: 0.5}
    params = dict(hidden_layer_sizes=5, solver="sgd", learning_rate_init=0.05, max_iter=15,
                  random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = MLPClassifier(sklearn_compat=True, class_weight=weights, **params).fit(X, y)
        theirs = sk.MLPClassifier(**params).fit(
            X, y, sample_weight=compute_sample_weight(weights, y))
        plain = MLPClassifier(sklearn_compat=True, **params).fit(X, y)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=SK_RTOL)
    assert not np.allclose(ours.loss_curve_, plain.loss_curve_, rtol=1e-3)


# --- item 5: invalid constructor values ---------------------------------------------------------

def _sorted_sets(message):
    """The message with each {...} listing sorted (a set prints in hash order)."""
    return re.sub(r"\{([^{}]*)\}", lambda m: "{" + ", ".join(sorted(m.group(1).split(", "))) + "}",
                  message)


@pytest.mark.parametrize("param, value", [
    ("alpha", -1.0), ("verbose", "yes"), ("solver", "newton"), ("max_iter", 0),
    ("learning_rate_init", 0.0), ("n_iter_no_change", 0), ("momentum", 1.5),
    ("hidden_layer_sizes", "ten"), ("shuffle", "yes"),
])
@pytest.mark.parametrize("cls, theirs_cls", [(MLPClassifier, sk.MLPClassifier),
                                             (MLPRegressor, sk.MLPRegressor)])
def test_invalid_parameters_raise_sklearns_error(cls, theirs_cls, param, value):
    X, y = np.random.RandomState(0).rand(20, 3), np.arange(20) % 2
    with pytest.raises(InvalidParameterError) as theirs:
        theirs_cls(**{param: value}).fit(X, y)
    with pytest.raises(InvalidParameterError) as ours:
        cls(**{param: value}).fit(X, y)
    assert _sorted_sets(str(ours.value)) == _sorted_sets(str(theirs.value))
    if param == "solver":
        return  # partial_fit exists for 'sgd' and 'adam' only
    # scikit-learn's _fit_context checks a fitted estimator's partial_fit no more; fastmlp's own
    # checks still raise the same error type, naming the parameter
    est = cls(max_iter=1, solver="sgd")
    est.partial_fit(X, y, **({"classes": [0, 1]} if cls is MLPClassifier else {}))
    with pytest.raises(InvalidParameterError, match=param):
        est.set_params(**{param: value}).partial_fit(X, y)
    assert issubclass(InvalidParameterError, ValueError) and issubclass(InvalidParameterError, TypeError)


@pytest.mark.parametrize("param, value", [
    ("backend", "gpu"), ("dropout", 1.0), ("monitor", "accuracy"), ("n_threads", 0),
    ("weight_decay", -1.0), ("sklearn_compat", "yes"), ("activation", "swish"),
])
def test_fastmlp_parameters_raise_invalid_parameter_error(param, value):
    X, y = np.random.RandomState(0).rand(20, 3), np.arange(20) % 2
    with pytest.raises(InvalidParameterError, match=param):
        MLPClassifier(max_iter=1, **{param: value}).fit(X, y)


@pytest.mark.parametrize("schedule, rate", [("invscaling", 0.2), ("adaptive", 0.05)])
@pytest.mark.parametrize("nesterov", [True, False])
def test_momentum_with_a_changing_rate_trains_as_in_sklearn(schedule, rate, nesterov):
    # The velocity forms differ (rate outside vs inside it); the default engine rescales its
    # velocity when the rate changes, so every epoch's loss is scikit-learn's. float64, the same
    # steps in another summation order: agreement to ~1e-14 is seen, 1e-9 leaves room and would
    # still catch the former gap (7 % after one rate change, several-fold by the end).
    from sklearn.datasets import load_digits

    X, y = load_digits(n_class=2, return_X_y=True)
    kw = dict(solver="sgd", momentum=0.9, nesterovs_momentum=nesterov, learning_rate=schedule,
              learning_rate_init=rate, max_iter=150, random_state=1, hidden_layer_sizes=(30,))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs = sk.MLPClassifier(**kw).fit(X / 16, y)
        ours = MLPClassifier(**kw).fit(X / 16, y)
    assert ours.n_iter_ == theirs.n_iter_
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-9)
