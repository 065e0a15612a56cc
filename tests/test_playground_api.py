"""The playground's JSON API over real HTTP (no browser): build, train, explain, compare rates,
regression, exports and closing a session, each against the engine's own numbers. What the API
refuses is in test_playground_errors.py; CSV files, replay and static files have files of their own."""

from __future__ import annotations

import numpy as np
import pytest

import fastmlp as fm

from playground_http import build, call, server  # noqa: F401  (server: the module's fixture)


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


def test_close_ends_the_session(server):
    sid, _ = build(server, dataset="xor", n_points=40)
    assert call(server, "POST", "/api/close", {"session": sid})[1] == {"closed": True}
    assert call(server, "GET", f"/api/state?session={sid}")[0] == 404
