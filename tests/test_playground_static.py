"""The playground's page as the server gives it: static files with their types and a strict
content policy, nothing outside the folder, no request for another host, no fetch from outside,
and the `fastmlp playground` command's options."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from pathlib import Path

import pytest

import fastmlp as fm

from playground_http import call, server  # noqa: F401  (server: the module's fixture)

STATIC = Path(fm.__file__).parent / "playground" / "static"


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
