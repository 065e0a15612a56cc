"""Conversions: scikit-learn <-> fastmlp <-> PyTorch round trips predict identically."""

import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn", reason="scikit-learn not installed (pip install fastmlp[sklearn])")

from sklearn import neural_network as sk  # noqa: E402
from sklearn.datasets import make_classification, make_multilabel_classification, make_regression  # noqa: E402

import fastmlp as fm  # noqa: E402
from fastmlp import convert  # noqa: E402
from fastmlp.sklearn import MLPClassifier  # noqa: E402

# fastmlp's GEMM and NumPy's BLAS sum in different orders: float64 outputs differ by a few ulps
# (~1e-15 relative for these sizes); 1e-12 leaves room and still catches a transposed weight.
RTOL = 1e-12


def _fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # short fits end in ConvergenceWarning
        return est.fit(X, y)


@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "identity"])
def test_sklearn_multiclass_to_fastmlp_and_back(activation):
    X, y = make_classification(150, 6, n_informative=4, n_classes=3, random_state=0)
    labels = np.array(["ant", "bee", "cat"])[y]
    est = _fit(sk.MLPClassifier((9, 5), activation=activation, max_iter=20, random_state=0), X, labels)
    model = fm.from_sklearn(est)
    np.testing.assert_allclose(model.predict_proba(X), est.predict_proba(X), rtol=RTOL, atol=1e-15)
    np.testing.assert_array_equal(model.classes_[model.predict(X)], est.predict(X))
    back = convert.to_sklearn(model)
    np.testing.assert_array_equal(back.predict_proba(X), est.predict_proba(X))  # same weights, same code
    np.testing.assert_array_equal(back.predict(X), est.predict(X))


def test_binary_multilabel_and_regression_round_trips():
    X, y = make_classification(120, 5, random_state=1)
    est = _fit(sk.MLPClassifier((7,), max_iter=20, random_state=0), X, y)
    model = fm.from_sklearn(est)
    assert model.loss == "binary_cross_entropy" and model.layer_sizes[-1] == 1
    np.testing.assert_allclose(model.predict_proba(X)[:, 0], est.predict_proba(X)[:, 1], rtol=RTOL)
    np.testing.assert_array_equal(convert.to_sklearn(model).predict(X), est.predict(X))

    Xm, Ym = make_multilabel_classification(100, 5, n_classes=3, random_state=0)
    est = _fit(sk.MLPClassifier((7,), max_iter=20, random_state=0), Xm, Ym)
    model = fm.from_sklearn(est)
    np.testing.assert_array_equal(model.predict(Xm), est.predict(Xm))
    np.testing.assert_array_equal(convert.to_sklearn(model).predict(Xm), est.predict(Xm))

    Xr, yr = make_regression(100, 4, n_targets=2, random_state=0)
    est = _fit(sk.MLPRegressor(hidden_layer_sizes=(6,), max_iter=20, random_state=0), Xr, yr)
    model = fm.from_sklearn(est)
    np.testing.assert_allclose(model.predict(Xr), est.predict(Xr), rtol=RTOL, atol=1e-12)
    np.testing.assert_array_equal(convert.to_sklearn(model).predict(Xr), est.predict(Xr))


def test_fastmlp_estimator_and_float32():
    X, y = make_classification(100, 5, n_classes=3, n_informative=3, random_state=2)
    est = _fit(MLPClassifier((8,), max_iter=5, random_state=0), X.astype(np.float32), y)
    model = fm.from_sklearn(est)
    assert model.dtype == np.float32
    # float32 both sides, GEMMs summing in different orders: a few float32 ulps
    np.testing.assert_allclose(model.predict_proba(X), est.predict_proba(X), rtol=1e-5, atol=1e-6)


def test_fastmlp_model_to_sklearn_and_bad_input():
    model = fm.MLP([4, 6, 3], activation="tanh", loss="cross_entropy", dtype="float64", seed=0)
    X = np.random.default_rng(0).normal(size=(20, 4))
    est = convert.to_sklearn(model, classes=["a", "b", "c"])
    np.testing.assert_allclose(est.predict_proba(X), model.predict_proba(X), rtol=RTOL)
    assert list(est.predict(X)) == list(np.array(["a", "b", "c"])[model.predict(X)])
    with pytest.raises(ValueError, match="one hidden activation"):
        convert.to_sklearn(fm.MLP([4, 5, 5, 3], activation=["relu", "tanh"]))
    with pytest.raises(ValueError, match="no coefs_"):
        fm.from_sklearn(sk.MLPClassifier())


def test_torch_round_trip():
    torch = pytest.importorskip("torch", reason="torch not installed (pip install fastmlp[torch])")
    model = fm.MLP([5, 8, 7, 3], activation=["relu", "tanh"], loss="cross_entropy", dtype="float64",
                   seed=1)
    X = np.random.default_rng(0).normal(size=(30, 5))
    module = convert.torch_module(model)
    assert set(convert.to_torch_state_dict(model)) == {"0.weight", "0.bias", "2.weight", "2.bias",
                                                        "4.weight", "4.bias"}
    with torch.no_grad():
        logits = module(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(logits, model.forward(X), rtol=RTOL, atol=1e-14)
    again = fm.MLP.from_torch(module, loss="cross_entropy")
    assert again.hidden_activations == ["relu", "tanh"]
    np.testing.assert_array_equal(again.weights[0], model.weights[0])
    np.testing.assert_array_equal(again.predict_proba(X), model.predict_proba(X))
    with pytest.raises(ValueError, match="not supported"):
        fm.MLP.from_torch(torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.Dropout(0.1),
                                               torch.nn.Linear(3, 2)))
    with pytest.raises(TypeError, match="torch.nn.Sequential"):
        fm.MLP.from_torch(torch.nn.Linear(3, 2))


def test_poisson_regressor_round_trip():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 4))
    y = rng.poisson(np.exp(0.5 * X[:, 0]))
    est = _fit(sk.MLPRegressor(loss="poisson", hidden_layer_sizes=(5,), max_iter=20, random_state=0), X, y)
    model = fm.from_sklearn(est)
    assert model.loss == "poisson"
    np.testing.assert_allclose(model.predict(X), est.predict(X), rtol=RTOL)  # both exp(output)
    np.testing.assert_array_equal(convert.to_sklearn(model).predict(X), est.predict(X))
