"""Messages a newcomer meets using fm.MLP: each names what is wrong and the fix."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import fastmlp as fm


def _iris_like(n=150, k=3):
    rng = np.random.default_rng(0)
    return rng.standard_normal((n, 4)).astype(np.float32), rng.integers(0, k, n)


def test_column_vector_labels_point_to_ravel_and_one_hot():
    X, y = _iris_like()
    model = fm.MLP([4, 8, 3], backend="numpy")
    with pytest.raises(ValueError) as err:
        model.fit(X, y.reshape(-1, 1), epochs=1)
    text = str(err.value)
    assert "must have shape (150, 3)" in text and "got (150, 1)" in text
    assert "y.ravel()" in text and "one-hot" in text
    model.fit(X, y.reshape(-1, 1).ravel(), epochs=1)  # the fix it names works


def test_one_output_binary_cross_entropy_suggests_two_outputs_or_bce():
    X, y = _iris_like(k=2)
    with pytest.raises(ValueError) as err:
        fm.MLP([4, 8, 1], backend="numpy").fit(X, y, epochs=1)
    text = str(err.value)
    assert "labels must lie in [0, 1), got [0, 1]" in text
    assert "use 2 outputs" in text and "loss='binary_cross_entropy'" in text
    # both fixes work
    fm.MLP([4, 8, 2], backend="numpy").fit(X, y, epochs=1)
    fm.MLP([4, 8, 1], loss="binary_cross_entropy", backend="numpy").fit(X, y.astype(np.float32), epochs=1)


def test_labels_beyond_the_outputs_say_how_many_are_needed():
    X, y = _iris_like(k=5)
    with pytest.raises(ValueError, match=r"labels 0 \.\. 4 need 5 outputs"):
        fm.MLP([4, 8, 3], backend="numpy").fit(X, y, epochs=1)


def test_nan_in_labels_is_reported_as_nan_not_as_a_dtype():
    X, y = _iris_like()
    y = y.astype(np.float64)
    y[7] = np.nan
    with pytest.raises(ValueError, match="y contains NaN or infinity") as err:
        fm.MLP([4, 8, 3], backend="numpy").fit(X, y, epochs=1)
    assert "dtype" not in str(err.value)


def test_fractional_labels_point_to_mse():
    X, y = _iris_like()
    y = y.astype(np.float64)
    y[3] = 0.5
    with pytest.raises(TypeError, match=r"integer class labels for cross_entropy, got 0\.5 .*loss='mse'"):
        fm.MLP([4, 8, 3], backend="numpy").fit(X, y, epochs=1)


def test_string_labels_point_to_np_unique():
    X, _ = _iris_like(6)
    with pytest.raises(TypeError, match=r"return_inverse=True"):
        fm.MLP([4, 8, 3], backend="numpy").fit(X, np.array(list("abcabc")), epochs=1)


@pytest.mark.parametrize("kwargs, shown", [({"lr": 0.1}, "fm.optim.Adam(lr=0.1)"),
                                           ({"learning_rate": 0.01}, "fm.optim.Adam(lr=0.01)"),
                                           ({"momentum": 0.9}, "fm.optim.Adam(momentum=0.9)")])
def test_fit_lr_points_to_the_optimizer(kwargs, shown):
    X, y = _iris_like()
    with pytest.raises(TypeError) as err:
        fm.MLP([4, 8, 3], backend="numpy").fit(X, y, **kwargs)
    text = str(err.value)
    assert "belongs to the optimizer" in text and f"optimizer={shown}" in text


def test_fit_other_unknown_keyword_is_named():
    X, y = _iris_like()
    with pytest.raises(TypeError, match=r"unexpected keyword argument nepochs$"):
        fm.MLP([4, 8, 3], backend="numpy").fit(X, y, nepochs=3)


def test_seed_none_draws_a_fresh_seed_and_keeps_it():
    a, b = fm.MLP([4, 8, 3], seed=None, backend="numpy"), fm.MLP([4, 8, 3], seed=None, backend="numpy")
    assert isinstance(a.seed, int) and 0 <= a.seed < 2 ** 32
    assert a.seed != b.seed and not np.array_equal(a.weights[0], b.weights[0])
    again = fm.MLP([4, 8, 3], seed=a.seed, backend="numpy")  # the kept seed repeats the model
    np.testing.assert_array_equal(again.weights[0], a.weights[0])
    with pytest.raises(ValueError, match="seed"):
        fm.MLP([4, 8, 3], seed=-1, backend="numpy")


def test_predict_on_an_untrained_model_warns_once():
    X, y = _iris_like()
    model = fm.MLP([4, 8, 3], backend="numpy")
    with pytest.warns(UserWarning, match="never trained") as record:
        model.predict(X)
    assert "call fit(X, y) first" in str(record[0].message)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.predict(X)  # once only
        model.predict_proba(X)
        trained = fm.MLP([4, 8, 3], backend="numpy")
        trained.fit(X, y, epochs=1)
        trained.predict(X)  # trained: silent
        set_by_hand = fm.MLP([4, 8, 3], backend="numpy")
        set_by_hand.weights[0][...] = 0.5
        set_by_hand.predict(X)  # weights that are not the initial ones: silent


def test_predict_on_a_loaded_trained_model_is_silent(tmp_path):
    X, y = _iris_like()
    model = fm.MLP([4, 8, 3], backend="numpy")
    model.fit(X, y, epochs=1)
    model.save(tmp_path / "m.npz")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fm.MLP.load(tmp_path / "m.npz", backend="numpy").predict(X)


def test_regressor_convergence_warning_names_an_unscaled_target():
    from sklearn.exceptions import ConvergenceWarning
    from fastmlp.sklearn import MLPRegressor

    X, y = fm.datasets.house_prices(n_samples=200, seed=0)
    X = (X - X.mean(0)) / X.std(0)  # inputs scaled; the price (in thousands) is not
    with pytest.warns(ConvergenceWarning) as record:
        MLPRegressor(hidden_layer_sizes=(8,), max_iter=3, random_state=0).fit(X, y)
    text = str(record[0].message)
    assert "The target y reaches" in text and "TransformedTargetRegressor" in text
    with pytest.warns(ConvergenceWarning) as record:  # a scaled target: no such advice
        MLPRegressor(hidden_layer_sizes=(8,), max_iter=3, random_state=0).fit(X, (y - y.mean()) / y.std())
    assert "The target y reaches" not in str(record[0].message)
