"""The playground's JSON API over real HTTP (no browser): build, train, explain, caps, errors."""

from __future__ import annotations

import copy
import json
import re
import threading
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

import fastmlp as fm
from fastmlp.playground import make_server
from fastmlp.playground.api import LIMITS

STATIC = Path(fm.__file__).parent / "playground" / "static"


@pytest.fixture(scope="module")
def server():
    srv = make_server(port=0)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def call(server, method, route, body=None, raw=False):
    """(status, parsed JSON or bytes, headers) of one request; HTTP errors are returned, not raised."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(server.address.rstrip("/") + route, data=data, method=method,
                                 headers={"Content-Type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            payload, status, headers = resp.read(), resp.status, resp.headers
    except urllib.error.HTTPError as exc:
        payload, status, headers = exc.read(), exc.code, exc.headers
    return status, (payload if raw else json.loads(payload)), headers


def build(server, **cfg):
    status, answer, _ = call(server, "POST", "/api/session", cfg)
    assert status == 200, answer
    return answer["session"], answer


def test_moons_trains_past_90_percent_on_the_real_backend(server):
    sid, answer = build(server, dataset="moons", hidden=[8, 8], activation="tanh", lr=0.3, batch_size=16)
    assert answer["state"]["backend"] in fm.available_backends()
    if "cpp" in fm.available_backends():
        assert answer["state"]["backend"] == "cpp"
    assert len(answer["points"]["x"]) == 320 and len(answer["points"]["x_val"]) == 80
    state = None
    for _ in range(10):
        status, state, _ = call(server, "POST", "/api/train", {"session": sid, "epochs": 5})
        assert status == 200, state
        if state["history"][-1]["val_metric"] > 0.9:
            break
    last = state["history"][-1]
    assert last["metric"] > 0.9 and last["val_metric"] > 0.9, last
    assert state["diverged"] is None
    assert state["history"][0]["loss"] > last["loss"]  # the curve went down
    status, grid, _ = call(server, "GET", f"/api/boundary?session={sid}&resolution=20")
    assert status == 200 and grid["kind"] == "boundary" and len(grid["label"]) == 400
    assert set(grid["label"]) == {0, 1}  # both classes have a region


def test_explain_gives_fm_explain_numbers_for_the_next_batch(server):
    sid, answer = build(server, dataset="xor", n_points=100, hidden=[4], lr=0.5, batch_size=8, seed=3)
    call(server, "POST", "/api/train", {"session": sid, "steps": 7})
    # the same model and next batch, rebuilt outside the server from the session's own state
    session = server.sessions.get({"session": sid})
    xb, yb = session.next_batch()
    expected = fm.explain(session.model, xb, yb, lr=0.5, backend=session.model.backend_name).as_dict()
    status, data, _ = call(server, "POST", "/api/explain", {"session": sid})
    assert status == 200, data
    assert data["kind"] == "fastmlp.explain" and data["lr"] == 0.5
    got, want = data["backends"][data["backend"]], expected["backends"][expected["backend"]]
    # JSON floats round-trip exactly (explain/_json.py), so one dL/dW entry matches to the bit
    assert got["dL_dW1"][1][2] == want["dL_dW1"][1][2]
    np.testing.assert_array_equal(got["dL_dW2"], want["dL_dW2"])
    # and it is a_prev^T delta for that entry, summed over the batch's rows
    x, delta = np.array(got["x"]), np.array(got["delta1"])
    assert got["dL_dW1"][1][2] == pytest.approx(float(x[:, 1] @ delta[:, 2]), rel=1e-12)
    assert list(data["backends"]) == [data["backend"]]  # the others only on request (megabytes)
    status, full, _ = call(server, "POST", "/api/explain", {"session": sid, "all_backends": True})
    assert set(full["backends"]) == set(expected["backends"]) and full["comparison"] == expected["comparison"]
    status, md, headers = call(server, "GET", f"/api/export/step.md?session={sid}", raw=True)
    assert status == 200 and md.startswith(b"# One training step") and "markdown" in headers["Content-Type"]


def test_a_diverging_learning_rate_is_reported(server):
    sid, _ = build(server, dataset="moons", lr=80, optimizer="sgd")
    status, state, _ = call(server, "POST", "/api/train", {"session": sid, "steps": 200})
    assert status == 200
    assert state["diverged"] and "diverging" in state["diverged"] and "too large" in state["diverged"]
    status, answer, _ = call(server, "POST", "/api/compare", {"session": sid, "rates": [0.01, 80], "steps": 5})
    assert status == 200


def test_rates_side_by_side_mark_the_diverging_one(server):
    sid, _ = build(server, dataset="moons", lr=0.1)
    status, answer, _ = call(server, "POST", "/api/compare", {"session": sid, "rates": [0.05, 50], "steps": 10})
    assert status == 200, answer
    small, huge = answer["runs"]
    assert small["status"] == "ok" and len(small["curve"]) == 11
    assert huge["status"] == "diverged"


@pytest.mark.parametrize("body, field", [
    ({"hidden": [LIMITS["max_width"] + 1]}, "hidden"),
    ({"hidden": [4] * (LIMITS["max_depth"] + 1)}, "hidden"),
    ({"hidden": "8, x"}, "hidden"),
    ({"n_points": LIMITS["max_points"] + 1}, "n_points"),
    ({"n_points": "many"}, "n_points"),
    ({"lr": -0.1}, "lr"),
    ({"lr": "fast"}, "lr"),
    ({"lr": 1e9}, "lr"),
    ({"batch_size": 0}, "batch_size"),
    ({"dataset": "mnist"}, "dataset"),
    ({"activation": "swish"}, "activation"),
    ({"loss": "mse"}, "loss"),
    ({"optimizer": "lbfgs"}, "optimizer"),
    ({"noise": 3}, "noise"),
    ({"colour": "red"}, "colour"),
])
def test_bad_inputs_get_400_naming_the_field(server, body, field):
    status, answer, _ = call(server, "POST", "/api/session", body)
    assert status == 400
    assert field in answer["error"] and "Traceback" not in answer["error"]


def test_caps_per_request(server):
    sid, _ = build(server, dataset="circles", n_points=100, batch_size=1)
    status, answer, _ = call(server, "POST", "/api/train", {"session": sid, "steps": LIMITS["max_steps"] + 1})
    assert status == 400 and "steps" in answer["error"]
    status, answer, _ = call(server, "POST", "/api/train", {"session": sid, "epochs": 50})  # 4000 steps
    assert status == 400 and "at most" in answer["error"]
    status, answer, _ = call(server, "POST", "/api/train", {"session": sid})
    assert status == 400 and "steps or epochs" in answer["error"]
    status, answer, _ = call(server, "POST", "/api/train", {"session": sid, "step": 3})
    assert status == 400 and "unknown field 'step'" in answer["error"]
    status, answer, _ = call(server, "POST", "/api/compare", {"session": sid, "rates": [0.1] * 7})
    assert status == 400 and "rates" in answer["error"]
    status, answer, _ = call(server, "GET", f"/api/boundary?session={sid}&resolution=5000")
    assert status == 400 and "resolution" in answer["error"]
    # the inspector carries every number of the step: a wide network on a big batch is refused
    sid, _ = build(server, dataset="moons", hidden=[64, 64], batch_size=LIMITS["max_explain_rows"] + 1)
    status, answer, _ = call(server, "POST", "/api/explain", {"session": sid})
    assert status == 400 and "batch_size 65" in answer["error"] and "parameters" in answer["error"]
    sid, _ = build(server, dataset="moons", hidden=[4], batch_size=LIMITS["max_batch_size"])
    status, answer, _ = call(server, "POST", "/api/compare", {"session": sid, "rates": [0.1] * 6, "steps": 200})
    assert status == 400 and "rates x steps x batch_size" in answer["error"]


def test_unknown_sessions_routes_and_bodies(server):
    status, answer, _ = call(server, "POST", "/api/train", {"session": "nope", "steps": 1})
    assert status == 404 and "session" in answer["error"]
    status, answer, _ = call(server, "GET", "/api/nothing")
    assert status == 404 and "no API route" in answer["error"]
    status, answer, _ = call(server, "GET", "/api/train?session=x")
    assert status == 405
    req = urllib.request.Request(server.address + "api/session", data=b"{not json", method="POST")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=10)
    assert err.value.code == 400 and "not JSON" in json.loads(err.value.read())["error"]


def test_close_ends_the_session(server):
    sid, _ = build(server, dataset="xor", n_points=40)
    assert call(server, "POST", "/api/close", {"session": sid})[1] == {"closed": True}
    assert call(server, "GET", f"/api/state?session={sid}")[0] == 404


def test_regression_shows_the_fit(server):
    sid, _ = build(server, dataset="house-prices", hidden=[16], lr=0.01, loss="mse", n_points=200)
    status, state, _ = call(server, "POST", "/api/train", {"session": sid, "epochs": 10})
    assert status == 200 and state["metric_name"] == "r2"
    assert state["history"][-1]["loss"] < state["history"][0]["loss"]
    status, fit, _ = call(server, "GET", f"/api/boundary?session={sid}")
    assert fit["kind"] == "fit" and len(fit["actual"]) == len(fit["predicted"]) == 40


def test_exports(server):
    sid, _ = build(server, dataset="spirals", n_points=150, hidden=[8])
    status, data, headers = call(server, "GET", f"/api/export/model.npz?session={sid}", raw=True)
    assert status == 200 and data[:2] == b"PK" and "attachment" in headers["Content-Disposition"]
    status, answer, _ = call(server, "GET", f"/api/export/step.md?session={sid}")
    assert status == 400 and "no explained step" in answer["error"]
    pytest.importorskip("onnx")
    status, data, _ = call(server, "GET", f"/api/export/model.onnx?session={sid}", raw=True)
    assert status == 200 and len(data) > 100


def test_static_files_and_their_types(server):
    for route, kind in [("/", "text/html"), ("/index.html", "text/html"), ("/app.js", "text/javascript"),
                        ("/api.js", "text/javascript"), ("/draw.js", "text/javascript"),
                        ("/inspector.js", "text/javascript"), ("/style.css", "text/css")]:
        status, body, headers = call(server, "GET", route, raw=True)
        assert status == 200 and headers["Content-Type"].startswith(kind), route
        assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert call(server, "GET", "/../pyproject.toml", raw=True)[0] == 404
    assert call(server, "GET", "/session.py", raw=True)[0] == 404


def test_requests_for_another_host_are_refused(server):
    req = urllib.request.Request(server.address + "api/limits", headers={"Host": "evil.example:80"})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=10)
    assert err.value.code == 403


def test_the_page_fetches_nothing_from_outside():
    files = [p for p in STATIC.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"index.html", "app.js", "style.css"}
    for path in files:
        text = path.read_text(encoding="utf-8")
        # the SVG namespace is a name, never fetched; any other absolute URL would be
        urls = [u for u in re.findall(r"(?:https?:)?//[\w.-]+\.[a-z]{2,}[^\s\"')]*", text)
                if u != "http://www.w3.org/2000/svg"]
        assert urls == [], (path.name, urls)


def test_cli_parses_playground():
    from fastmlp.cli import build_parser

    args = build_parser().parse_args(["playground", "--port", "0", "--no-browser"])
    assert args.port == 0 and args.no_browser and args.func.__module__ == "fastmlp.cli_playground"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["playground", "--port", "70000"])


def test_the_explained_step_is_the_step_training_takes(server):
    # 80 training rows, batch 8: after 10 steps the next batch starts a new shuffle (the hard case)
    sid, _ = build(server, dataset="moons", n_points=100, hidden=[4], optimizer="sgd", lr=0.2, batch_size=8)
    assert call(server, "POST", "/api/train", {"session": sid, "steps": 10})[1]["epochs"] == 1.0
    status, first, _ = call(server, "POST", "/api/explain", {"session": sid})
    status, again, _ = call(server, "POST", "/api/explain", {"session": sid})
    assert first["backends"][first["backend"]]["x"] == again["backends"][again["backend"]]["x"]
    status, state, _ = call(server, "POST", "/api/train", {"session": sid, "steps": 1})
    step = first["backends"][first["backend"]]
    # the engine's SGD step and explain's W - lr dL/dW on the same batch: float64, a few ulps apart
    np.testing.assert_allclose(state["weights"][0], step["W1_new"], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(state["biases"][1], step["b2_new"], rtol=1e-12, atol=1e-15)


# --- a CSV the user opens ----------------------------------------------------------------------


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


# --- accuracy / R^2 curves and the replay -------------------------------------------------------


def test_the_metric_curves_measure_the_whole_sets_each_time(server):
    sid, answer = build(server, dataset="circles", n_points=200, hidden=[8], lr=0.3)
    session = server.sessions.get({"session": sid})
    for body in ({"steps": 3}, {"epochs": 1}, {"steps": 1}):
        status, state, _ = call(server, "POST", "/api/train", {"session": sid, **body})
        train, val = session.model.evaluate(session.X, session.y), session.model.evaluate(session.X_val, session.y_val)
        last = state["history"][-1]
        assert last["metric"] == train["accuracy"] and last["val_metric"] == val["accuracy"]
        assert last["loss"] == train["loss"] and last["val_loss"] == val["loss"]
    assert [h["step"] for h in state["history"]] == [0, 3, 13, 14]
    sid, _ = build(server, dataset="house-prices", hidden=[8], lr=0.01, loss="mse", n_points=100)
    status, state, _ = call(server, "POST", "/api/train", {"session": sid, "epochs": 2})
    session = server.sessions.get({"session": sid})
    assert state["history"][-1]["val_metric"] == session.model.evaluate(session.X_val, session.y_val)["r2"]


def test_the_replay_trains_copies_and_leaves_the_session_as_it_was(server):
    sid, _ = build(server, dataset="moons", hidden=[8], optimizer="adam", lr=0.01, batch_size=16)
    call(server, "POST", "/api/train", {"session": sid, "steps": 5})
    session = server.sessions.get({"session": sid})
    before = [w.copy() for w in session.model.weights]
    next_x = session.next_batch()[0].copy()
    status, data, _ = call(server, "POST", "/api/replay", {"session": sid, "rates": [0.1, 1, 60], "steps": 12})
    assert status == 200, data
    assert data["steps"] == 12 and data["n_train"] == 320 and data["diverge_factor"] == 10
    assert data["grid"]["resolution"] == LIMITS["replay_resolution"]
    for w, w0 in zip(session.model.weights, before):
        np.testing.assert_array_equal(w, w0)  # the copies trained, not the session's network
    np.testing.assert_array_equal(session.next_batch()[0], next_x)
    start = session.model.evaluate(session.X, session.y)["loss"]
    for run in data["runs"]:
        assert run["curve"][0] == start  # one starting network, measured on the whole training set
        assert len(run["frames"]) == len(run["curve"])
        assert len(run["frames"][0]["label"]) == LIMITS["replay_resolution"] ** 2
        if run["status"] == "ok":
            assert len(run["curve"]) == 13 and run["reason"] is None and run["diverged_at"] is None
            assert all(c is not None and c <= 10 * start for c in run["curve"])
        else:  # said only when the numbers show it
            k = run["diverged_at"]
            last = run["curve"][k] if k < len(run["curve"]) else None
            assert last is None or last > 10 * start, run["curve"]
            assert len(run["curve"]) in (k, k + 1)
    assert data["runs"][2]["status"] == "diverged"
    # plain SGD at rate 0.1 on the same batches, by hand: the replay's curve to the bit
    model = copy.deepcopy(session.model)
    rows = session._next_rows(12 * 16, consume=False)
    model.fit(session.X[rows[:16]], session.y[rows[:16]], epochs=1, batch_size=16,
              optimizer=fm.optim.get_optimizer("sgd", lr=0.1), shuffle=False)
    assert data["runs"][0]["curve"][1] == model.evaluate(session.X, session.y)["loss"]


def test_replay_caps(server):
    sid, _ = build(server, dataset="xor", n_points=60)
    status, answer, _ = call(server, "POST", "/api/replay", {"session": sid, "rates": [0.1] * 5})
    assert status == 400 and "1 to 4 learning rates" in answer["error"]
    status, answer, _ = call(server, "POST", "/api/replay", {"session": sid, "rates": [0.1], "steps": 61})
    assert status == 400 and "steps must be from 1 to 60" in answer["error"]
    status, answer, _ = call(server, "POST", "/api/replay", {"session": sid, "rates": [-1]})
    assert status == 400 and "rates must be a number > 0" in answer["error"]
    status, answer, _ = call(server, "POST", "/api/replay", {"session": sid, "rates": [0.1], "resolution": 9})
    assert status == 400 and "unknown field 'resolution'" in answer["error"]
