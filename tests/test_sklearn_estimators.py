"""fastmlp.sklearn estimators beyond scikit-learn's checks: fastmlp's extras, data kinds, the
fast engine, warnings and bad input."""

import pickle
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn", reason="scikit-learn not installed (pip install fastmlp[sklearn])")

import scipy.sparse as sp  # noqa: E402
from sklearn.datasets import make_classification, make_multilabel_classification, make_regression  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from fastmlp.sklearn import MLPClassifier, MLPRegressor  # noqa: E402
from fastmlp.sklearn._engine import EngineRunner  # noqa: E402
from fastmlp.sklearn._loop import LoopRunner  # noqa: E402


@pytest.fixture(scope="module")
def blobs():
    X, y = make_classification(300, 8, n_informative=6, n_classes=3, random_state=0)
    return StandardScaler().fit_transform(X), y


def quiet_fit(est, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(*args, **kwargs)


def test_fitted_attributes(blobs):
    X, y = blobs
    clf = quiet_fit(MLPClassifier(hidden_layer_sizes=(16, 8), max_iter=30,
                                       learning_rate_init=0.01, random_state=0), X, y)
    assert list(clf.classes_) == [0, 1, 2]
    assert [w.shape for w in clf.coefs_] == [(8, 16), (16, 8), (8, 3)]
    assert [b.shape for b in clf.intercepts_] == [(16,), (8,), (3,)]
    assert clf.n_layers_ == 4 and clf.n_outputs_ == 3 and clf.out_activation_ == "softmax"
    assert clf.n_features_in_ == 8 and clf.n_iter_ == len(clf.loss_curve_) == 30
    assert clf.t_ == 30 * len(X)
    assert clf.loss_ == clf.loss_curve_[-1] and clf.best_loss_ == min(clf.loss_curve_)
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]  # it learns
    assert clf.validation_scores_ is None and clf.best_validation_score_ is None
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)  # softmax rows, float64
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(proba), rtol=1e-12)
    assert clf.score(X, y) > 0.8


def test_engine_runs_when_it_can_and_learns(blobs):
    X, y = blobs
    clf = quiet_fit(MLPClassifier(alpha=0.0, max_iter=40, learning_rate_init=0.01,
                                       random_state=0), X, y)
    assert isinstance(clf._runner, EngineRunner)
    assert clf.coefs_[0] is clf._runner.model.weights[0]  # one set of arrays, updated in C++
    assert clf.score(X, y) > 0.85
    again = pickle.loads(pickle.dumps(clf))  # the engine's model holds a module: pickled as arrays
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))
    again.partial_fit(X, y)  # resumes with the pickled optimizer state
    assert again.n_iter_ == 1 and len(again.loss_curve_) == 41


ENGINE_CASES = {
    "regression-3-outputs": lambda: make_regression(128, 5, n_targets=3, random_state=0),
    "multiclass": lambda: make_classification(128, 5, n_informative=3, n_classes=3, random_state=0),
    "multilabel": lambda: make_multilabel_classification(128, 5, n_classes=4, random_state=0),
    "weighted-binary": lambda: make_classification(128, 5, random_state=0),
    "regression-poisson": lambda: (np.random.default_rng(1).normal(size=(128, 5)),
                                   np.random.default_rng(2).poisson(2.0, size=(128, 2))),
}


@pytest.mark.parametrize("alpha", [0.0, 0.01])
@pytest.mark.parametrize("case", list(ENGINE_CASES))
def test_engine_sgd_equals_sklearn_rules(case, alpha):
    # SGD with (Nesterov) momentum and a constant rate is one rule in both conventions once the
    # engine scales fastmlp's mean-over-outputs gradient, alpha and rate by s (see _engine):
    # the compiled engine and the per-batch sklearn_compat loop must take the same steps.
    X, y = ENGINE_CASES[case]()
    is_regression = case.startswith("regression")
    y = y / 100 if case == "regression-3-outputs" else y
    weights = np.random.default_rng(0).uniform(0.5, 2, len(y)) if case.startswith("weighted") else None
    cls = MLPRegressor if is_regression else MLPClassifier
    kw = dict(loss="poisson") if case.endswith("poisson") else {}
    kw.update(hidden_layer_sizes=(7,), solver="sgd", momentum=0.9, alpha=alpha, max_iter=3,
              learning_rate_init=0.01, random_state=0, batch_size=32)
    fast = quiet_fit(cls(**kw), X, y, sample_weight=weights)
    exact = quiet_fit(cls(sklearn_compat=True, **kw), X, y, sample_weight=weights)
    assert isinstance(fast._runner, EngineRunner) and isinstance(exact._runner, LoopRunner)
    # float64 GEMMs summing in different orders, a velocity stored as v/lr: rounding only, and
    # three epochs of smooth updates keep it near 1e-15; a wrong scale s is off by >= 1e-3
    for a, b in zip(fast.coefs_ + fast.intercepts_, exact.coefs_ + exact.intercepts_):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-10 * np.abs(b).max())
    # the reported losses differ by design in two cases (_engine doc): regression with alpha (the
    # penalty is reported at 1/k) and sample weights (the engine's epoch loss is the weighted mean
    # over rows, scikit-learn's weighs each batch's mean by its row count)
    if not (alpha and is_regression) and weights is None:
        np.testing.assert_allclose(fast.loss_curve_, exact.loss_curve_, rtol=1e-10)


def test_float32_stays_float32(blobs):
    X, y = blobs
    clf = quiet_fit(MLPClassifier(max_iter=5, random_state=0), X.astype(np.float32), y)
    assert clf.coefs_[0].dtype == np.float32 and clf.predict_proba(X).dtype == np.float32
    reg = quiet_fit(MLPRegressor(max_iter=5, dtype="float32"), X, y.astype(float))
    assert reg.coefs_[0].dtype == np.float32


def test_sparse_input_equals_dense(blobs):
    X, y = blobs
    X = np.where(np.abs(X) < 0.5, 0.0, X)
    kw = dict(max_iter=5, random_state=0)
    dense = quiet_fit(MLPClassifier(**kw), X, y)
    for fmt in (sp.csr_matrix, sp.csc_matrix):
        sparse = quiet_fit(MLPClassifier(**kw), fmt(X), y)
        np.testing.assert_array_equal(sparse.loss_curve_, dense.loss_curve_)
        np.testing.assert_array_equal(sparse.predict_proba(fmt(X)), dense.predict_proba(X))


def test_multilabel_and_multioutput():
    X, Y = make_multilabel_classification(200, 6, n_classes=4, random_state=0)
    clf = quiet_fit(MLPClassifier(max_iter=50, random_state=0), X, Y)
    assert clf.out_activation_ == "logistic" and clf.predict(X).shape == Y.shape
    assert clf.predict_proba(X).shape == Y.shape
    Xr, Yr = make_regression(200, 5, n_targets=3, random_state=0)
    reg = quiet_fit(MLPRegressor(max_iter=200, learning_rate_init=0.01, random_state=0), Xr, Yr / 100)
    assert reg.predict(Xr).shape == (200, 3) and reg.score(Xr, Yr / 100) > 0.8


def test_partial_fit_needs_classes_then_learns(blobs):
    X, y = blobs
    clf = MLPClassifier(solver="sgd", learning_rate_init=0.05, random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X, y)
    for _ in range(20):
        clf.partial_fit(X, y, classes=[0, 1, 2])
    assert len(clf.loss_curve_) == 20 and clf.loss_curve_[-1] < clf.loss_curve_[0]
    with pytest.raises(AttributeError, match="has no attribute 'partial_fit'"):
        MLPClassifier(solver="lbfgs").partial_fit(X, y, classes=[0, 1, 2])


def test_sample_weight_zero_equals_dropping_rows(blobs):
    X, y = blobs
    w = np.ones(len(y))
    w[::3] = 0.0
    kw = dict(solver="lbfgs", max_iter=30, random_state=0)
    weighted = quiet_fit(MLPClassifier(**kw), X, y, sample_weight=w)
    dropped = quiet_fit(MLPClassifier(**kw), X[w > 0], y[w > 0])
    # full-batch lbfgs: zero weight removes a row's terms exactly, the rest is rounding
    np.testing.assert_allclose(weighted.coefs_[0], dropped.coefs_[0], rtol=1e-7, atol=1e-9)


def test_class_weight_shifts_predictions(blobs):
    X, y = blobs
    kw = dict(max_iter=40, random_state=0)
    plain = quiet_fit(MLPClassifier(**kw), X, y)
    heavy = quiet_fit(MLPClassifier(class_weight={0: 1.0, 1: 1.0, 2: 20.0}, **kw), X, y)
    assert (heavy.predict(X) == 2).sum() > (plain.predict(X) == 2).sum()
    balanced = quiet_fit(MLPClassifier(class_weight="balanced", **kw), X, y)
    assert balanced.score(X, y) > 0.7
    with pytest.raises(ValueError, match="class_weight as an array needs one weight per class"):
        quiet_fit(MLPClassifier(class_weight=[1.0, 2.0], **kw), X, y)


def test_extras_dropout_activation_list_weight_decay_schedule(blobs):
    X, y = blobs
    clf = quiet_fit(MLPClassifier(hidden_layer_sizes=(32, 16), activation=["relu", "tanh"],
                                  dropout=[0.2, 0.0], weight_decay=1e-3, schedule="cosine",
                                  max_iter=40, learning_rate_init=0.01, random_state=0), X, y)
    assert clf.score(X, y) > 0.8
    with pytest.raises(ValueError, match="activation lists 1 names"):
        MLPClassifier(hidden_layer_sizes=(4, 4), activation=["relu"]).fit(X, y)


def test_validation_data_and_monitor(blobs):
    X, y = blobs
    clf = quiet_fit(MLPClassifier(max_iter=15, random_state=0, validation_data=(X[:50], y[:50])),
                    X[50:], y[50:])
    assert len(clf.validation_loss_curve_) == len(clf.validation_scores_) == 15
    assert clf.validation_loss_curve_[-1] < clf.validation_loss_curve_[0]
    stopper = quiet_fit(MLPClassifier(max_iter=500, random_state=0, early_stopping=True,
                                      monitor="val_loss", n_iter_no_change=3), X, y)
    assert stopper.n_iter_ < 500
    with pytest.raises(ValueError, match="monitor='val_loss' needs validation data"):
        MLPClassifier(monitor="val_loss", max_iter=2).fit(X, y)


def test_max_iter_warning_says_what_to_change(blobs):
    X, y = blobs
    with pytest.warns(ConvergenceWarning, match="Raise max_iter.*lower learning_rate_init"):
        MLPClassifier(max_iter=2, random_state=0).fit(X, y)
    with pytest.warns(ConvergenceWarning, match="Raise max_iter"):
        MLPClassifier(solver="lbfgs", max_iter=2, random_state=0).fit(X, y)


@pytest.mark.parametrize("param, value, match", [
    ("hidden_layer_sizes", (0,), "hidden_layer_sizes"),
    ("solver", "newton", "solver"),
    ("alpha", -1.0, "alpha"),
    ("batch_size", 0, "batch_size"),
    ("learning_rate_init", 0.0, "learning_rate_init"),
    ("momentum", 1.5, "momentum"),
    ("dropout", 1.0, "dropout"),
    ("backend", "gpu", "backend"),
    ("dtype", "int8", "dtype"),
    ("dtype", "not-a-dtype", "dtype"),
    ("monitor", "accuracy", "monitor"),
    ("n_threads", 0, "n_threads"),
    ("solver", "lbfgs", "validation_data"),
])
def test_bad_parameters_name_themselves(blobs, param, value, match):
    X, y = blobs
    extra = {"validation_data": (X, y)} if match == "validation_data" else {}
    with pytest.raises((ValueError, TypeError), match=match):
        MLPClassifier(max_iter=1, **{param: value}, **extra).fit(X, y)


def test_bad_data():
    with pytest.raises(ValueError, match="NaN"):
        MLPRegressor(max_iter=1).fit(np.array([[np.nan], [1.0]]), [1.0, 2.0])
    with pytest.raises(ValueError, match="y >= 0"):
        MLPRegressor(loss="poisson", max_iter=1).fit(np.ones((3, 1)), [1.0, -1.0, 0.0])


def test_warm_start_continues_and_switches_solver(blobs):
    X, y = blobs
    clf = quiet_fit(MLPClassifier(solver="lbfgs", max_iter=5, warm_start=True, random_state=0), X, y)
    first = clf.coefs_[0].copy()
    clf.set_params(solver="adam", max_iter=3)
    quiet_fit(clf, X, y)
    assert clf.n_iter_ == 3 and not np.array_equal(clf.coefs_[0], first)
    with pytest.raises(ValueError, match="same classes"):
        clf.fit(X, np.where(y == 2, 3, y))
