"""A CSV the user opens in the playground: parsed into features and a target whose kind picks
the task and the picture, trained like a built-in data set, and refused with the reason when
it cannot be read."""

from __future__ import annotations

import numpy as np
import pytest

from fastmlp.playground.api import LIMITS

from playground_http import build, call, server  # noqa: F401  (server: the module's fixture)


def make_csv(rows: int, features: int, target=None, header=True, seed=0) -> str:
    """Features drawn from a normal; the target is ``target(X)`` or two classes split by x0 + x1."""
    X = np.random.default_rng(seed).normal(size=(rows, features)) * 5 + 3
    y = (X[:, 0] + X[:, 1] > 6).astype(int) if target is None else target(X)
    lines = [",".join([f"f{i}" for i in range(features)] + ["y"])] if header else []
    lines += [",".join(repr(float(v)) for v in r) + f",{t}" for r, t in zip(X, y)]
    return "\n".join(lines) + "\n", X, y


def test_a_csv_trains_like_a_built_in_data_set(server):
    text, X, y = make_csv(300, 2)
    status, info, _ = call(server, "POST", "/api/csv", {"csv": text})
    assert status == 200, info
    assert info == {"columns": ["f0", "f1", "y"], "target": "y", "task": "classification", "n_rows": 300,
                    "n_features": 2, "classes": [0.0, 1.0]}
    sid, answer = build(server, dataset="csv", csv=text, hidden=[8], lr=0.3)
    state = answer["state"]
    assert state["data"]["task"] == "classification" and state["layer_sizes"] == [2, 8, 2]
    assert "csv" not in state["config"] and state["config"]["target"] == "y"  # the text is not echoed back
    session = server.sessions.get({"session": sid})
    # the features are z-scores of the training split (its mean 0, its std 1), the rows are the file's
    np.testing.assert_allclose(session.X.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(session.X.std(axis=0), 1, rtol=1e-12)
    assert len(session.X) + len(session.X_val) == 300 and set(session.y) == {0, 1}
    status, state, _ = call(server, "POST", "/api/train", {"session": sid, "epochs": 10})
    assert state["history"][-1]["val_metric"] > 0.9  # the classes split on a line: easy to learn
    status, grid, _ = call(server, "GET", f"/api/boundary?session={sid}&resolution=10")
    assert grid["kind"] == "boundary" and set(grid["label"]) == {0, 1}


def test_a_csv_target_picks_the_task_and_the_picture():
    from fastmlp.playground.csv_table import parse_csv

    text, X, y = make_csv(50, 3, target=lambda X: X[:, 0] * 2.5)  # a quantity: regression
    table = parse_csv(text)
    assert table.task == "regression" and table.target == "y" and table.X.shape == (50, 3)
    np.testing.assert_array_equal(table.y, X[:, 0] * 2.5)  # repr() round-trips every float exactly
    # the target by name or by index, the other columns become the features; classes 3, 7, 9 -> 0, 1, 2
    text, X, y = make_csv(40, 2, target=lambda X: np.array([3, 7, 9])[np.arange(len(X)) % 3], header=False)
    table = parse_csv(text)
    assert table.columns == ["column 1", "column 2", "column 3"] and table.classes == [3.0, 7.0, 9.0]
    np.testing.assert_array_equal(table.y, np.arange(40) % 3)
    table = parse_csv(text, target="column 1")
    assert table.task == "regression" and table.X.shape == (40, 2)
    np.testing.assert_array_equal(table.X[:, 0], X[:, 1])
    assert parse_csv(text, target=2).task == "classification"


def test_a_csv_with_more_inputs_has_curves_and_no_boundary(server):
    text, X, y = make_csv(120, 5, target=lambda X: X @ np.arange(1.0, 6.0))
    sid, answer = build(server, dataset="csv", csv=text, hidden=[8], lr=0.05, loss="mae")
    assert answer["state"]["data"]["task"] == "regression" and answer["state"]["config"]["loss"] == "mae"
    status, fit, _ = call(server, "GET", f"/api/boundary?session={sid}")
    assert fit["kind"] == "fit" and len(fit["actual"]) == 24
    text, _, _ = make_csv(120, 5)
    sid, answer = build(server, dataset="csv", csv=text, hidden=[4])
    status, none, _ = call(server, "GET", f"/api/boundary?session={sid}")
    assert status == 200 and none["kind"] == "none" and "5 inputs" in none["reason"]
    status, replay, _ = call(server, "POST", "/api/replay", {"session": sid, "rates": [0.1], "steps": 3})
    assert replay["grid"] is None and "frames" not in replay["runs"][0]


@pytest.mark.parametrize("text, words", [
    ("", "csv must be the text of a CSV file"),
    ("a,b\n1,2\n", "1 data rows; it needs from 2"),
    ("a,b\n1,2\n3,x\n", "csv row 3 column 'b': 'x' is not a number"),
    ("a,b\n1,2\n3,nan\n", "csv row 3 column 'b': 'nan' is not a finite number"),
    ("a,b\n1,2\n3,inf\n", "not a finite number"),
    ("a,b\n1,2\n3\n", "csv row 3 has 1 cells; the first line has 2"),
    ("a\n1\n2\n", "1 columns; it needs at least 2"),
    ("a,a\n1,2\n3,4\n", "two columns of the same name"),
    ("a,b\n1,2\n3,2\n", "target column 'b' has a single value"),
    (",".join(f"c{i}" for i in range(40)) + "\n" + "1," * 39 + "1\n" + "2," * 39 + "2\n", "40 columns"),
    ("a,b\n" + "1,2\n" * 2001, "2001 data rows"),
    ("a,b\n" + "1.00000000000,2\n" * 19000 + "3,4\n", "bytes; the playground opens files of at most"),
])
def test_bad_csv_files_are_refused_with_the_reason(server, text, words):
    for route, body in [("/api/csv", {"csv": text}), ("/api/session", {"dataset": "csv", "csv": text})]:
        status, answer, _ = call(server, "POST", route, body)
        assert status == 400 and words in answer["error"], (route, answer)


def test_csv_fields_are_checked(server):
    text, _, _ = make_csv(30, 2)
    status, answer, _ = call(server, "POST", "/api/session", {"dataset": "csv", "csv": text, "target": "price"})
    assert status == 400 and "target must be one of the csv's columns (f0, f1, y)" in answer["error"]
    status, answer, _ = call(server, "POST", "/api/session", {"dataset": "csv"})
    assert status == 400 and "dataset 'csv' needs csv" in answer["error"]
    status, answer, _ = call(server, "POST", "/api/session", {"dataset": "moons", "csv": text})
    assert status == 400 and "only read with dataset 'csv'" in answer["error"]
    status, answer, _ = call(server, "POST", "/api/session", {"dataset": "moons", "target": "y"})
    assert status == 400 and "target is only read with dataset 'csv'" in answer["error"]
    status, answer, _ = call(server, "POST", "/api/csv", {"csv": text, "header": True})
    assert status == 400 and "unknown field 'header'" in answer["error"]
    status, answer, _ = call(server, "POST", "/api/session", {"dataset": "csv", "csv": text, "loss": "mse"})
    assert status == 400 and "loss must be one of cross_entropy" in answer["error"]
    status, answer, _ = call(server, "POST", "/api/csv", {"csv": 12})
    assert status == 400 and "got int" in answer["error"]
    too_big = "a,b\n" + "1,2\n" * (LIMITS["max_body_bytes"] // 4 + 1)
    status, answer, _ = call(server, "POST", "/api/csv", {"csv": too_big})
    assert status == 413 and "at most" in answer["error"]
