"""What the playground's HTTP tests share (test_playground_api, _errors, _static, _csv, _replay):
a real server on a free port for the test module (the `server` fixture), one request with its
status, JSON and headers (`call`), and a session built from a config (`build`)."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request

import pytest

from fastmlp.playground import make_server


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
