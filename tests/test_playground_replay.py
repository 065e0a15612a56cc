"""The playground's accuracy / R^2 curves (measured on the whole sets every time) and the replay
of several learning rates on copies of the session's network, with its caps."""

from __future__ import annotations

import copy

import numpy as np

import fastmlp as fm
from fastmlp.playground.api import LIMITS

from playground_http import build, call, server  # noqa: F401  (server: the module's fixture)


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
