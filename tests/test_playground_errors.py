"""What the playground's JSON API refuses, over real HTTP: a bad field gets 400 naming it, a request
beyond a cap says which, and unknown sessions, routes, methods and bodies get 404 / 405 / 400."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from fastmlp.playground.api import LIMITS

from playground_http import build, call, server  # noqa: F401  (server: the module's fixture)


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
