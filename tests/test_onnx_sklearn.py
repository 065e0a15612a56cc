"""ONNX for fastmlp's scikit-learn estimators: their own to_onnx, and whole Pipelines through
skl2onnx.to_onnx after fastmlp.sklearn.register_onnx_converters().

Tolerances: tests/onnx_checks.py's worst-case bound (see tests/test_onnx.py). A float32 graph of
a Pipeline fitted in float64 also rounds X and the scaler's output to float32: that error enters
the bound as e0 = 4·u·(|X| + |mean|) / scale (rounding X, the subtraction, the division, and the
float64 reference's own).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")

import skl2onnx  # noqa: E402
from sklearn.exceptions import ConvergenceWarning, NotFittedError  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from fastmlp import onnx_export  # noqa: E402
from fastmlp.sklearn import MLPClassifier, MLPRegressor, register_onnx_converters  # noqa: E402
from onnx_checks import assert_close, assert_labels_agree, network_bound, run  # noqa: E402
from tolerances import TRANSCENDENTAL_RTOL, unit_roundoff  # noqa: E402

ACTIVATIONS = ("identity", "logistic", "tanh", "relu", "leaky_relu", "gelu")


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _data(n=240, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5)) * [1, 2, 0.5, 3, 1] + [0, 1, -2, 5, 0]
    return X, rng


def _targets(kind, X, rng):
    score = X[:, 0] - 0.5 * X[:, 1] + 0.3 * X[:, 3]
    if kind == "multiclass":
        return np.array(["low", "mid", "high"])[np.digitize(score, [-1, 1.5])]
    if kind == "binary":
        return np.where(score > 0.5, 7, 3)
    return (np.c_[score, X[:, 2] + 2, X[:, 4]] > [0.5, 0, 0.3]).astype(np.int64)  # multilabel


def _bound(est, X, dtype, e0=0.0):
    hidden = est._hidden
    return network_bound(X, est.coefs_, est.intercepts_, list(hidden) + ["identity"], dtype, e0)


def _check_classifier(est, out, X, expected_proba, expected_label, dtype, e0=0.0):
    """Probabilities within the bound; labels equal away from near-ties."""
    scores, _, err, _ = _bound(est, X, dtype, e0)[-1]
    u = unit_roundoff(dtype)
    rtol = TRANSCENDENTAL_RTOL[np.dtype(dtype)]
    if est.out_activation_ == "softmax":
        p = np.exp(scores - scores.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        bound = p * 2 * (err.max(1, keepdims=True) + 4 * u * p.shape[1] + rtol)
        top2 = np.sort(scores, axis=1)[:, -2:]
        near_tie = top2[:, 1] - top2[:, 0] <= 2 * err.max(axis=1)
    else:
        p = 1 / (1 + np.exp(-scores))
        bound = 0.25 * err + 2 * rtol * p
        near_tie = np.abs(scores) <= err + 4 * rtol
        if p.shape[1] == 1:
            bound, near_tie = np.c_[bound, bound], near_tie.ravel()
    assert_close(out["probabilities"], expected_proba, bound, "probabilities")
    assert_labels_agree(out["label"], expected_label, near_tie, "label")


# --- the estimators' own to_onnx --------------------------------------------------------------


@pytest.mark.parametrize("kind", ["multiclass", "binary", "multilabel"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_classifier_to_onnx_matches_predict(activation, dtype, kind):
    X, rng = _data()
    y = _targets(kind, X, rng)
    clf = MLPClassifier((9, 7), activation=activation, max_iter=15, random_state=0,
                        dtype=np.dtype(dtype).name).fit(X, y)
    X_new = _data(seed=1)[0].astype(dtype)  # fresh rows
    proto = clf.to_onnx()
    onnx.checker.check_model(proto, full_check=True)
    out = run(proto, X_new)
    assert list(out) == ["label", "probabilities"]
    _check_classifier(clf, out, X_new, clf.predict_proba(X_new), clf.predict(X_new), dtype)
    meta = onnx_export.metadata(proto)
    assert meta["layer_sizes"] == [5, 9, 7, len(clf.classes_) if kind == "multiclass" else clf.n_outputs_]
    assert meta["classes"] == clf.classes_.tolist()
    assert meta["multilabel"] == (kind == "multilabel")


@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_targets", [1, 2])
def test_regressor_to_onnx_matches_predict(loss, dtype, n_targets):
    X, rng = _data()
    y = np.exp(0.2 * X[:, :n_targets] + 0.1)
    reg = MLPRegressor(loss=loss, hidden_layer_sizes=(8,), activation=["gelu"], max_iter=15,
                       random_state=0, dtype=np.dtype(dtype).name).fit(X, y.ravel() if n_targets == 1 else y)
    X_new = _data(seed=2)[0].astype(dtype)
    out = run(reg.to_onnx(), X_new)
    scores, _, err, value_err = _bound(reg, X_new, dtype)[-1]
    if loss == "poisson":
        value_err = np.exp(scores) * (1.01 * err + 2 * TRANSCENDENTAL_RTOL[np.dtype(dtype)])
    assert out["variable"].shape == (len(X_new), n_targets) and out["variable"].dtype == dtype
    assert_close(out["variable"], reg.predict(X_new).reshape(len(X_new), -1), value_err, "variable")


def test_unfitted_and_unlabelable_estimators_are_refused():
    with pytest.raises(NotFittedError):
        MLPClassifier().to_onnx()
    with pytest.raises(NotFittedError):
        MLPRegressor().to_onnx()
    X, _ = _data(60)
    clf = MLPClassifier((3,), max_iter=2).fit(X, np.where(X[:, 0] > 0, 0, 1))
    clf.classes_ = np.array([0.5, 1.5])  # scikit-learn refuses such labels in fit; ONNX would cut them
    with pytest.raises(ValueError, match="classes"):
        clf.to_onnx()


def test_estimator_to_onnx_writes_path(tmp_path):
    X, rng = _data(80)
    clf = MLPClassifier((4,), max_iter=3, random_state=0).fit(X, _targets("binary", X, rng))
    proto = clf.to_onnx(tmp_path / "clf.onnx", opset=15, name="clf")
    assert onnx.load(str(tmp_path / "clf.onnx")) == proto
    assert proto.graph.name == "clf" and proto.opset_import[0].version == 15
    with pytest.raises(FileNotFoundError, match="nowhere"):
        clf.to_onnx(tmp_path / "nowhere" / "clf.onnx")


# --- Pipelines through skl2onnx ---------------------------------------------------------------


def _pipeline_e0(pipe, X, dtype):
    if dtype == np.float64:
        return 0.0
    scaler = pipe[0]
    return 4 * unit_roundoff(np.float32) * (np.abs(X) + np.abs(scaler.mean_)) / scaler.scale_


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", ["multiclass", "binary", "multilabel"])
def test_classifier_pipeline_exports_whole(kind, dtype):
    register_onnx_converters()
    X, rng = _data()
    pipe = make_pipeline(StandardScaler(), MLPClassifier((10,), activation="tanh", max_iter=20,
                                                         random_state=0)).fit(X, _targets(kind, X, rng))
    X_new = _data(seed=3)[0]
    proto = skl2onnx.to_onnx(pipe, X_new[:1].astype(dtype), options={MLPClassifier: {"zipmap": False}})
    onnx.checker.check_model(proto, full_check=True)
    ops = {n.op_type for n in proto.graph.node}
    assert "Scaler" in ops or {"Sub", "Div"} <= ops  # the scaler is in the graph too
    out = run(proto, X_new.astype(dtype))
    assert list(out) == ["label", "probabilities"]
    _check_classifier(pipe[-1], out, pipe[0].transform(X_new), pipe.predict_proba(X_new), pipe.predict(X_new),
                      dtype, e0=_pipeline_e0(pipe, X_new, dtype))


def test_classifier_pipeline_default_zipmap_like_sklearns_mlp():
    """skl2onnx's defaults: output_label and output_probability (a list of {class: p} maps), the
    same outputs scikit-learn's own MLPClassifier gives. ZipMap takes float32 only (for both MLPs),
    so float64 inputs need options={MLPClassifier: {"zipmap": False}}."""
    register_onnx_converters()
    register_onnx_converters()  # a second call is harmless
    X, rng = _data()
    y = _targets("multiclass", X, rng)
    pipe = make_pipeline(StandardScaler(), MLPClassifier((6,), max_iter=10, random_state=0)).fit(X, y)
    out = run(skl2onnx.to_onnx(pipe, X[:1].astype(np.float32)), X.astype(np.float32))
    assert list(out) == ["output_label", "output_probability"]
    np.testing.assert_array_equal(out["output_label"], pipe.predict(X))
    proba = pipe.predict_proba(X)
    got = np.array([[row[c] for c in pipe.classes_] for row in out["output_probability"]])
    np.testing.assert_allclose(got, proba, rtol=0, atol=1e-6)  # ZipMap's maps hold float32


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
def test_regressor_pipeline_exports_whole(loss, dtype):
    register_onnx_converters()
    X, rng = _data()
    y = np.exp(0.2 * X[:, [0, 3]] - 0.5)
    pipe = make_pipeline(StandardScaler(), MLPRegressor(loss=loss, hidden_layer_sizes=(8, 4),
                                                        activation="relu", max_iter=20, random_state=0)).fit(X, y)
    X_new = _data(seed=4)[0]
    proto = skl2onnx.to_onnx(pipe, X_new[:1].astype(dtype))
    onnx.checker.check_model(proto, full_check=True)
    out = run(proto, X_new.astype(dtype))
    assert list(out) == ["variable"] and out["variable"].dtype == dtype
    scores, _, err, value_err = _bound(pipe[-1], pipe[0].transform(X_new), dtype,
                                       _pipeline_e0(pipe, X_new, dtype))[-1]
    if loss == "poisson":
        value_err = np.exp(scores) * (1.01 * err + 2 * TRANSCENDENTAL_RTOL[np.dtype(dtype)])
    assert_close(out["variable"], pipe.predict(X_new), value_err, "variable")
