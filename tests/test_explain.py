"""fm.explain's numbers: every backend's step (read back from the JSON output) against a textbook
step computed in plain NumPy (explain_textbook.py). The learning-rate sweep is tested in
test_explain_lr_sweep.py, the call itself (result object, refused arguments) in test_explain_api.py."""

from __future__ import annotations

import json

import numpy as np
import pytest

import fastmlp as fm
from fastmlp.backends import available_backends
from fastmlp.explain import explain

from explain_textbook import RTOL, assert_step_matches, example_inputs, textbook_step


def _from_json(result) -> dict:
    data = json.loads(result.to_json())
    assert data == result.as_dict()
    return data


@pytest.mark.parametrize("example, hidden, loss", [("xor", "sigmoid", "binary_cross_entropy"),
                                                   ("house", "tanh", "mse")])
@pytest.mark.parametrize("seed", [0, 3])
def test_example_step_equals_textbook_for_every_backend(example, hidden, loss, seed):
    data = _from_json(explain(example=example, seed=seed, format="json"))
    assert sorted(data["backends"]) == sorted(available_backends())
    net = data["network"]
    assert net["loss"] == loss and net["activations"][0] == hidden
    # the example's weights are fastmlp's seeded initial weights for that network
    model = fm.MLP(net["layer_sizes"], activation=hidden, loss=loss, dtype="float64", backend="numpy", seed=seed)
    weights, biases, x, t = example_inputs(data)
    for w_json, w_model in zip(weights, model.weights):
        np.testing.assert_array_equal(w_json, w_model)
    expected = textbook_step(weights, biases, hidden, loss, x, t, data["lr"])
    for name, trace in data["backends"].items():
        assert_step_matches(trace, expected, f"{example} seed {seed}, {name}")
    assert data["loss_before"] == data["backends"][data["backend"]]["loss"]


def test_xor_inputs_are_the_truth_table():
    data = explain().as_dict()
    assert data["example"] == "xor" and data["network"]["layer_sizes"] == [2, 2, 1]
    trace = data["backends"][data["backend"]]
    assert trace["x"] == [[0, 0], [0, 1], [1, 0], [1, 1]] and trace["t"] == [[0], [1], [1], [0]]


def test_house_is_a_scaled_3_2_1_regression():
    data = explain(example="house").as_dict()
    assert data["network"]["layer_sizes"] == [3, 2, 1] and data["network"]["loss"] == "mse"
    x = np.array(data["backends"]["numpy"]["x"])
    # scaled over 200 houses: a few rows of standardized features lie within a few units of 0
    assert np.all(np.abs(x) < 5) and not np.allclose(x, x[0])
    assert data["data"]["feature_names"] == ["area_m2", "age_years", "distance_km"]


@pytest.mark.parametrize("backend", available_backends())
def test_user_model_cross_entropy_relu(backend):
    """Any small model: relu hidden layers, softmax cross-entropy with integer labels, a given lr."""
    rng = np.random.default_rng(7)
    model = fm.MLP([3, 4, 3, 2], activation="relu", loss="cross_entropy", dtype="float64", backend=backend, seed=5)
    x, labels = rng.standard_normal((5, 3)), np.array([0, 1, 1, 0, 1])
    before = [w.copy() for w in model.weights]
    data = _from_json(explain(model, x, labels, lr=0.3))
    assert data["backend"] == backend and data["lr"] == 0.3 and data["lr_from"] == "caller"
    t = np.eye(2)[labels]
    expected = textbook_step([np.array(w) for w in before], [np.zeros(n) for n in (4, 3, 2)],
                             "relu", "cross_entropy", x, t, 0.3)
    for name, trace in data["backends"].items():
        assert_step_matches(trace, expected, f"user model, {name}")
    for w, w0 in zip(model.weights, before):  # explain never changes the model
        np.testing.assert_array_equal(w, w0)


def test_float32_model_is_explained_in_float64():
    model = fm.MLP([2, 3, 1], activation="tanh", loss="mse", dtype="float32", backend="numpy", seed=2)
    x, y = np.array([[0.5, -1.0], [2.0, 0.25]]), np.array([1.0, -0.5])
    data = explain(model, x, y, lr=0.05).as_dict()
    assert data["network"]["model_dtype"] == "float32" and data["network"]["dtype"] == "float64"
    weights = [np.asarray(w, dtype=np.float64) for w in model.weights]
    expected = textbook_step(weights, [np.zeros(3), np.zeros(1)], "tanh", "mse", x, y.reshape(-1, 1), 0.05)
    assert_step_matches(data["backends"]["numpy"], expected, "float32 model")


def test_comparison_rows_agree_with_the_traces():
    data = explain(example="house").as_dict()
    names = list(data["backends"])
    assert names[0] == "numpy"
    quantities = [row["quantity"] for row in data["comparison"]]
    assert "loss" in quantities and "dL_dW1" in quantities and "x" not in quantities
    for row in data["comparison"]:
        for name in names:
            value = np.array(data["backends"][name][row["quantity"]])[tuple(row["index"])]
            assert row["values"][name] == value
        diffs = [np.max(np.abs(np.array(data["backends"][n][row["quantity"]]) -
                               np.array(data["backends"]["numpy"][row["quantity"]]))) for n in names]
        assert row["max_abs_diff"] == max(diffs)
        scale = max(1.0, float(np.max(np.abs(data["backends"]["numpy"][row["quantity"]]))))
        assert row["max_abs_diff"] <= RTOL * scale, row
