"""fm.explain as a call: the result object and its renderings' entry points, arguments and batches
refused with an error naming them, a missing backend reported rather than fatal, and models
whose training the plain step would misrepresent (dropout, L2) refused."""

from __future__ import annotations

import numpy as np
import pytest

import fastmlp as fm
from fastmlp.explain import explain


def test_explanation_object():
    result = explain(format="markdown")
    assert str(result) == result.to_markdown()
    assert explain().__str__() == explain().to_text()
    assert result._repr_html_() == result.to_html()
    assert "loss" in repr(result) and "2-2-1" in repr(result)
    d = result.as_dict()
    d["lr"] = -1  # a copy: changing it leaves the explanation alone
    assert result.as_dict()["lr"] == result.lr > 0


def _model():
    return fm.MLP([2, 2, 1], activation="tanh", loss="mse", dtype="float64", backend="numpy")


@pytest.mark.parametrize("kwargs, error, word", [
    ({"example": "spirals"}, ValueError, "example"),
    ({"format": "pdf"}, ValueError, "format"),
    ({"lr": 0.0}, ValueError, "lr"),
    ({"lr": float("nan")}, ValueError, "lr"),
    ({"lr": "big"}, TypeError, "lr"),
    ({"seed": -1}, ValueError, "seed"),
    ({"seed": 1.5}, TypeError, "seed"),
    ({"backend": "gpu"}, ValueError, "backend"),
    ({"x": [[1.0, 2.0]], "y": [1.0]}, ValueError, "model"),
    ({"model": "not a model", "x": [[1.0, 2.0]], "y": [1.0]}, TypeError, "model"),
])
def test_bad_arguments_name_the_argument(kwargs, error, word):
    with pytest.raises(error, match=word):
        explain(**kwargs)


def test_bad_model_batches_name_the_argument():
    model = _model()
    with pytest.raises(ValueError, match="x and y"):
        explain(model)
    with pytest.raises(ValueError, match="example"):
        explain(model, [[1.0, 2.0]], [1.0], example="xor")
    with pytest.raises(ValueError, match="x has 3 features"):
        explain(model, [[1.0, 2.0, 3.0]], [1.0])
    with pytest.raises(ValueError, match="y"):
        explain(model, [[1.0, 2.0]], [1.0, 2.0])
    with pytest.raises(ValueError, match="x contains NaN"):
        explain(model, [[np.nan, 2.0]], [1.0])
    with pytest.raises(ValueError, match="x has 2000 rows"):
        explain(model, np.zeros((2000, 2)), np.zeros(2000))
    with pytest.raises(ValueError, match="model has .* parameters"):
        explain(fm.MLP([400, 300, 1], loss="mse", backend="numpy"), np.zeros((1, 400)), [0.0])
    for w in model.weights:  # the loss overflows before any step
        w[...] = 1e300
    with pytest.raises(ValueError, match="loss of this batch"):
        explain(model, [[1e10, 1e10]], [1.0])


def test_missing_backend_is_reported_not_fatal(monkeypatch):
    from fastmlp.explain import _api

    real = _api.get_backend

    def without_numba(name):
        if name == "numba":
            raise ImportError("backend 'numba' is not available: pretend")
        return real(name)

    monkeypatch.setattr(_api, "get_backend", without_numba)
    result = explain(backend="numpy")
    data = result.as_dict()
    assert "numba" not in data["backends"] and "pretend" in data["unavailable_backends"]["numba"]
    assert "numba" not in data["comparison"][0]["values"]
    assert "The numba backend is not available here" in result.to_text(width=100)
    with pytest.raises(ImportError, match="numba"):
        explain(backend="numba")


@pytest.mark.parametrize("extra", [{"dropout": 0.5}, {"l2": 0.01}])
def test_models_with_dropout_or_l2_are_refused_by_name(extra):
    """explain's step is plain gradient descent; a model whose fit adds dropout or an L2 penalty
    would be shown numbers its own training never computes."""
    model = fm.MLP([2, 3, 2], seed=0, **extra)
    x, y = np.array([[0.5, -1.0]]), np.array([1])
    with pytest.raises(ValueError, match=next(iter(extra))):
        fm.explain(model, x, y, lr=0.1)
