"""fm.explain's numbers: every backend's step (read back from the JSON output) against a textbook
step computed here in plain NumPy, and the learning-rate sweep's three outcomes."""

from __future__ import annotations

import json

import numpy as np
import pytest

import fastmlp as fm
from fastmlp.backends import available_backends
from fastmlp.explain import explain

# float64 throughout. The step is a few dozen operations on numbers of order 1: sums of at most
# 4 terms, one exp / log / tanh per entry (libm and SIMD versions are within a few ulp), one
# subtraction for the update. A correct backend differs from these textbook formulas by a few
# units of roundoff (2^-53 = 1.1e-16) of the largest number involved, about 1e-15; 1e-12 leaves
# 1000x margin, while a formula error (a wrong derivative, a missing 1/N, a transposed W, a
# wrong sign in the update) changes the numbers by 1e-3 or more.
RTOL = 1e-12


def _activation(name, z):
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-z))
    if name == "tanh":
        return np.tanh(z)
    if name == "relu":
        return np.maximum(z, 0.0)
    if name == "softmax":
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    assert name == "identity", name
    return z.copy()


def _slope(name, z, a):
    return {"sigmoid": a * (1 - a), "tanh": 1 - a * a, "relu": (z > 0).astype(float)}[name]


def _loss(name, z, t):
    """The loss from the last layer's z. The cross-entropies use log(p) written in z
    (log sigmoid(z) = -log1p(e^-z), log softmax = z - logsumexp z): at a divergent learning rate
    p rounds to 1 and log(1 - p) computed from p loses every digit."""
    if name == "binary_cross_entropy":
        return float(np.mean(np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))))
    if name == "cross_entropy":
        m = z.max(axis=1, keepdims=True)
        log_p = z - m - np.log(np.exp(z - m).sum(axis=1, keepdims=True))
        return float(np.mean(-(t * log_p).sum(axis=1)))
    assert name == "mse", name
    return float(np.mean((z - t) ** 2))


LINK = {"binary_cross_entropy": "sigmoid", "cross_entropy": "softmax", "mse": "identity"}


def textbook_step(weights, biases, hidden, loss, x, t, lr):
    """One gradient-descent step written from the formulas, with nothing from fastmlp."""
    L = len(weights)
    v = {"x": x, "t": t}
    a = x
    inputs, zs, outs = [], [], []
    for k in range(1, L + 1):
        inputs.append(a)
        z = a @ weights[k - 1] + biases[k - 1]
        a = _activation(hidden, z) if k < L else z
        zs.append(z)
        outs.append(a)
        v[f"W{k}"], v[f"b{k}"], v[f"z{k}"] = weights[k - 1], biases[k - 1], z
        if k < L:
            v[f"a{k}"] = a
    p = _activation(LINK[loss], zs[-1])
    v["p"], v["error"], v["loss"] = p, p - t, _loss(loss, zs[-1], t)
    n = len(t) if loss == "cross_entropy" else t.size
    delta = (2 if loss == "mse" else 1) * (p - t) / n
    v[f"delta{L}"] = delta
    grads_w, grads_b = [None] * L, [None] * L
    for k in range(L, 0, -1):
        if k < L:
            dl_da = delta @ weights[k].T
            v[f"dL_da{k}"] = dl_da
            v[f"fprime{k}"] = _slope(hidden, zs[k - 1], outs[k - 1])
            delta = dl_da * v[f"fprime{k}"]
            v[f"delta{k}"] = delta
        grads_w[k - 1] = inputs[k - 1].T @ delta
        grads_b[k - 1] = delta.sum(axis=0)
        v[f"dL_dW{k}"], v[f"dL_db{k}"] = grads_w[k - 1], grads_b[k - 1]
    new_w = [w - lr * g for w, g in zip(weights, grads_w)]
    new_b = [b - lr * g for b, g in zip(biases, grads_b)]
    for k in range(1, L + 1):
        v[f"dW{k}"], v[f"W{k}_new"] = -lr * grads_w[k - 1], new_w[k - 1]
        v[f"db{k}"], v[f"b{k}_new"] = -lr * grads_b[k - 1], new_b[k - 1]
    a = x
    for k in range(1, L + 1):
        z = a @ new_w[k - 1] + new_b[k - 1]
        a = _activation(hidden, z) if k < L else z
    v["p_after"] = _activation(LINK[loss], a)
    v["loss_after"] = _loss(loss, a, t)
    return v


def assert_step_matches(trace: dict, expected: dict, what: str):
    assert set(trace) == set(expected), f"{what}: quantities {sorted(set(trace) ^ set(expected))} differ"
    for key, want in expected.items():
        want = np.asarray(want, dtype=np.float64)
        got = np.asarray(trace[key], dtype=np.float64)
        assert got.shape == want.shape, f"{what} {key}: shape {got.shape} != {want.shape}"
        scale = max(1.0, float(np.max(np.abs(want))) if want.size else 1.0)
        err = float(np.max(np.abs(got - want))) if want.size else 0.0
        assert err <= RTOL * scale, f"{what} {key}: max |diff| {err:.3e} > {RTOL * scale:.1e}"


def _from_json(result) -> dict:
    data = json.loads(result.to_json())
    assert data == result.as_dict()
    return data


def _example_inputs(data):
    trace = data["backends"]["numpy"]
    L = len(data["network"]["layer_sizes"]) - 1
    weights = [np.array(trace[f"W{k}"]) for k in range(1, L + 1)]
    biases = [np.array(trace[f"b{k}"]) for k in range(1, L + 1)]
    return weights, biases, np.array(trace["x"]), np.array(trace["t"])


# --- every backend against the textbook ------------------------------------------------------


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
    weights, biases, x, t = _example_inputs(data)
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


# --- the learning-rate sweep -----------------------------------------------------------------


def _textbook_run(weights, biases, hidden, loss, x, t, lr, steps):
    """``steps`` textbook gradient-descent steps: the loss before each, then the loss at the end."""
    curve = []
    with np.errstate(all="ignore"):
        for _ in range(steps):
            v = textbook_step(weights, biases, hidden, loss, x, t, lr)
            curve.append(v["loss"])
            if not np.isfinite(v["loss"]):
                return curve
            weights = [v[f"W{k}_new"] for k in range(1, len(weights) + 1)]
            biases = [v[f"b{k}_new"] for k in range(1, len(weights) + 1)]
        curve.append(v["loss_after"])
    return curve


def _kind(curve):
    """The run's verdict, written again from its definition: diverges (ends no lower than it
    started, or overflowed), unsteady (ends lower, but some step raised the loss), steady."""
    curve = [np.inf if c is None else c for c in curve]
    if not np.isfinite(curve[-1]) or curve[-1] >= curve[0]:
        return "diverges"
    rises = any(b > a * (1 + 1e-9) for a, b in zip(curve, curve[1:]))
    return "unsteady" if rises else "steady"


def _moons_case(seed=0):
    X, y = fm.datasets.moons(n_samples=200, seed=0)
    model = fm.MLP([2, 8, 2], activation="relu", loss="cross_entropy", dtype="float64", backend="numpy", seed=seed)
    return model, X[:16], y[:16]


def _sweep_of(case, seed):
    if case == "moons":
        return explain(*_moons_case(seed)).as_dict()
    return explain(example=case, seed=seed).as_dict()


@pytest.mark.parametrize("case", ["xor", "house", "moons"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rates_are_named_by_what_their_runs_do(case, seed):
    data = _sweep_of(case, seed)
    sweep = data["lr_sweep"]
    by_label = {label: e for e in sweep["rates"] for label in e["labels"]}
    assert set(by_label) == {"too small", "good", "too large", "best single step"}
    lrs = [e["lr"] for e in sweep["rates"]]
    assert lrs == sorted(lrs) and len(set(lrs)) == len(lrs)  # columns by rate, each rate once
    small, good, large = by_label["too small"], by_label["good"], by_label["too large"]
    assert small["lr"] < good["lr"] < large["lr"]
    for e in sweep["rates"]:  # each column's verdict is what its own curve does
        kind = _kind(e["run_curve"])
        assert e["run_verdict"] in ({"steady": ("falls steadily", "crawls")}.get(kind, (kind,))), e["label"]
        assert len(e["run_curve"]) == sweep["run_steps"] + 1 or kind == "diverges"
    assert good["run_verdict"] == "falls steadily" and large["run_verdict"] == "diverges"
    assert small["run_verdict"] == "crawls"
    start = good["run_curve"][0]
    # too small falls less than a tenth as far as good; good ends lowest of all steady runs
    assert start - small["run_curve"][-1] < 0.1 * (start - good["run_curve"][-1])
    ends = [c[-1] for c, v in zip(sweep["grid_run_loss"], sweep["grid_run_verdict"]) if v in ("falls steadily", "crawls")]
    assert good["run_curve"][-1] == min(ends)
    # the best single step is the grid rate whose one step lowers the loss most
    losses = np.array([np.inf if x is None else x for x in sweep["grid_loss_after"]])
    assert by_label["best single step"]["lr"] == sweep["grid"][int(np.argmin(losses))]
    assert data["lr"] == by_label["best single step"]["lr"]  # the explained step is unchanged


@pytest.mark.parametrize("case, hidden, loss", [("xor", "sigmoid", "binary_cross_entropy"), ("house", "tanh", "mse"),
                                                ("moons", "relu", "cross_entropy")])
def test_steady_runs_equal_textbook_gradient_descent(case, hidden, loss):
    data = _sweep_of(case, 0)
    weights, biases, x, t = _example_inputs(data)
    for e in data["lr_sweep"]["rates"]:
        if e["run_verdict"] not in ("falls steadily", "crawls"):
            continue  # a divergent run amplifies roundoff: its verdict is checked from its own curve
        want = _textbook_run(weights, biases, hidden, loss, x, t, e["lr"], data["lr_sweep"]["run_steps"])
        # 100 steps of a contracting iteration: roundoff stays near 1e-15 relative; 1e-9 leaves room
        np.testing.assert_allclose(e["run_curve"], want, rtol=1e-9, atol=0, err_msg=e["label"])


def test_best_single_step_overshoots_on_house_and_moons_and_the_text_says_why():
    house = explain(example="house")
    greedy = next(e for e in house.as_dict()["lr_sweep"]["rates"] if "best single step" in e["labels"])
    assert greedy["lr"] == 1.0 and greedy["run_verdict"] == "diverges"  # the house case
    text = house.to_text(width=1000)
    assert "The best single step, lr = 1, is too large to train with" in text
    assert "jumps from wall to wall" in text
    data = explain(*_moons_case()).as_dict()
    by_label = {label: e for e in data["lr_sweep"]["rates"] for label in e["labels"]}
    assert by_label["good"]["lr"] == 0.5  # the rate that trains the moons net
    assert by_label["best single step"]["lr"] > by_label["good"]["lr"]
    assert by_label["best single step"]["run_verdict"] in ("unsteady", "diverges")


def test_sweep_one_step_columns_equal_the_textbook_step():
    data = explain(example="xor").as_dict()
    weights, biases, x, t = _example_inputs(data)
    grid, losses = data["lr_sweep"]["grid"], data["lr_sweep"]["grid_loss_after"]
    with np.errstate(all="ignore"):
        textbook = [textbook_step(weights, biases, "sigmoid", "binary_cross_entropy", x, t, r)["loss_after"]
                    for r in grid]
    for rate, got, want in zip(grid, losses, textbook):
        if got is not None and np.isfinite(want):
            assert abs(got - want) <= RTOL * max(1.0, abs(want)), rate
    for e in data["lr_sweep"]["rates"]:
        after = textbook_step(weights, biases, "sigmoid", "binary_cross_entropy", x, t, e["lr"])["loss_after"]
        assert abs(e["loss_after"] - after) <= RTOL * max(1.0, abs(after)), e["label"]


def test_divergent_lr_raises_the_loss_and_says_so():
    result = explain(example="house", lr=50.0)
    assert result.lr == 50.0 and result.loss_after > result.loss_before
    assert "The batch loss went up" in result.to_text(width=100)
    good = explain(example="house")
    assert good.loss_after < good.loss_before
    assert "The batch loss went down" in good.to_text(width=100)


# --- the result object and bad input ---------------------------------------------------------


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


def test_run_length_and_window_keep_the_sweep_quick():
    from fastmlp.explain import _lr_sweep

    assert _lr_sweep.run_steps(4, 9, 22) == 100  # the examples: full runs
    assert _lr_sweep.run_steps(1024, 100_000, 22) == _lr_sweep.MIN_RUN_STEPS  # the largest batch and model
    assert _lr_sweep.checkpoints_of(100) == [1, 10, 30, 100] and _lr_sweep.checkpoints_of(10) == [1, 3, 10]
    grid = _lr_sweep.grid()
    losses = [abs(np.log10(r) - np.log10(2.0)) for r in grid]  # best single step: 2
    window = [grid[i] for i in _lr_sweep.run_window(grid, losses)]
    assert window[0] == 0.0002 and window[-1] == 2000.0 and len(window) == 22
    data = explain(example="xor").as_dict()["lr_sweep"]
    assert data["run_grid"] == window and len(data["grid_run_verdict"]) == len(window)
