"""The playground's HTTP server: the stdlib's ThreadingHTTPServer on 127.0.0.1.

Static files come from this package's static/ folder (a fixed list read at start: no path from
a request reaches the file system); /api/... goes to `api.handle`. Requests whose Host is not
this server's own address are refused, so another web site cannot drive it (DNS rebinding).
"""

from __future__ import annotations

import json
import traceback
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from . import api

STATIC = Path(__file__).parent / "static"
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png",
         ".md": "text/markdown; charset=utf-8"}
# the page loads only its own files; canvases export as data: / blob: URLs
CSP = "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; connect-src 'self'"


def static_files() -> dict:
    """URL path -> file for everything in static/ ("/" is index.html)."""
    files = {"/" + p.relative_to(STATIC).as_posix(): p for p in STATIC.rglob("*") if p.is_file()
             and p.suffix in TYPES}
    files["/"] = STATIC / "index.html"
    return files


class Handler(BaseHTTPRequestHandler):
    server_version = "fastmlp-playground"
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # quiet unless the server was started verbose
        if self.server.verbose:
            super().log_message(format, *args)

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def _dispatch(self, method: str):
        url = urlsplit(self.path)
        if not self._host_ok():
            return self._json({"error": "this server answers only requests addressed to "
                                        f"{self.server.address}"}, HTTPStatus.FORBIDDEN)
        if url.path.startswith("/api/"):
            return self._api(method, url)
        if method == "GET" and url.path in self.server.files:
            path = self.server.files[url.path]
            return self._send(path.read_bytes(), TYPES[path.suffix])
        self._json({"error": f"not found: {url.path}"}, HTTPStatus.NOT_FOUND)

    def _host_ok(self) -> bool:
        host = self.headers.get("Host", "")
        port = self.server.server_address[1]
        return host in (f"127.0.0.1:{port}", f"localhost:{port}")

    def _api(self, method: str, url):
        try:
            body = dict(parse_qsl(url.query))
            if method == "POST":
                body.update(self._json_body())
            response = api.handle(self.server.sessions, method, url.path, body)
        except api.ApiError as exc:
            return self._json({"error": str(exc)}, exc.status)
        except Exception as exc:  # never a traceback on the page: one line, the details in the log
            if self.server.verbose:
                traceback.print_exc()
            return self._json({"error": f"internal error: {type(exc).__name__}: {exc}"},
                              HTTPStatus.INTERNAL_SERVER_ERROR)
        if response.content_type == "application/json":
            return self._json(response.body, response.status)
        self._send(response.body, response.content_type, response.status, response.filename)

    def _json_body(self) -> dict:
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            raise api.ApiError("Content-Length must be a number") from None
        if length > api.LIMITS["max_body_bytes"]:
            raise api.ApiError(f"request body of {length} bytes; at most {api.LIMITS['max_body_bytes']}", 413)
        raw = self.rfile.read(length) if length else b"{}"
        try:
            body = json.loads(raw or b"{}")
        except (ValueError, UnicodeDecodeError) as exc:
            raise api.ApiError(f"the request body is not JSON: {exc}") from None
        if not isinstance(body, dict):
            raise api.ApiError("the request body must be a JSON object")
        return body

    def _json(self, data, status=HTTPStatus.OK):
        self._send(json.dumps(data, allow_nan=False).encode("utf-8"), "application/json", status)

    def _send(self, data: bytes, content_type: str, status=HTTPStatus.OK, filename=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy", CSP)
        if filename:
            self.send_header("Content-Disposition", f'attachment; filename="{filename}"')
        self.end_headers()
        self.wfile.write(data)


class PlaygroundServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host="127.0.0.1", port=0, verbose=False):
        super().__init__((host, port), Handler)
        self.sessions = api.Sessions()
        self.files = static_files()
        self.verbose = verbose

    @property
    def address(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/"


def make_server(port: int = 0, host: str = "127.0.0.1", verbose: bool = False) -> PlaygroundServer:
    """A playground server bound to ``host:port`` (port 0: a free one); call serve_forever()."""
    return PlaygroundServer(host, port, verbose)
