"""The playground's JSON API: every request field checked, sizes capped, errors as {"error": ...}.

Routes (JSON in, JSON out; the exports answer files):
    GET  /api/limits                      the caps and the choices the form offers
    POST /api/session   {dataset, n_points, noise, hidden, activation, loss, optimizer, lr,
                         batch_size, seed, csv?, target?}       -> {session, state, points}
                        (dataset "csv": csv is the file's text, target its column, the last
                        by default; n_points and noise do not apply)
    POST /api/train     {session, steps} or {session, epochs}   -> state
    GET  /api/state?session=ID                                  -> state
    GET  /api/boundary?session=ID&resolution=N                  -> the decision grid or the fit
    POST /api/explain   {session, all_backends?}  -> fm.explain of the next step, as its JSON
                        (as_dict; only the shown backend's trace unless all_backends is true)
    POST /api/compare   {session, rates, steps}   -> the same next steps at each rate (plain SGD),
                        the loss measured on the first 256 rows of those batches
    POST /api/replay    {session, rates, steps} -> copies of the network trained on the same next steps
                        at each rate (plain SGD), the loss on the whole training set after every
                        step and, for 2-D classification, the decision picture at every step
    POST /api/csv       {csv, target?}  -> the columns, task and classes of a CSV (nothing kept)
    POST /api/close     {session}   -> the session is dropped (the page sends it when it closes)
    GET  /api/export/model.npz?session=ID   /api/export/model.onnx?session=ID
    GET  /api/export/step.md?session=ID     (the last explained step, as markdown)
"""

from __future__ import annotations

import math
import os
import secrets
import tempfile
import threading
from collections import OrderedDict

from .csv_table import MAX_CLASSES, MAX_CSV_BYTES, MAX_CSV_COLUMNS, MAX_CSV_ROWS, CsvError, parse_csv
from .session import CLASSIFICATION, DATASETS, Session

LIMITS = {
    "max_width": 64, "max_depth": 6, "min_points": 20, "max_points": 2000, "max_steps": 2000,
    "max_epochs": 50, "max_batch_size": 256, "max_lr": 100.0, "max_noise": 1.0,
    "min_resolution": 10, "max_resolution": 100, "max_rates": 6, "max_compare_steps": 200,
    "max_sessions": 16, "max_body_bytes": MAX_CSV_BYTES + 65536,  # a CSV travels in the session request
    "max_csv_bytes": MAX_CSV_BYTES, "max_csv_rows": MAX_CSV_ROWS, "max_csv_columns": MAX_CSV_COLUMNS,
    "max_classes": MAX_CLASSES, "max_replay_rates": 4, "max_replay_steps": 60, "replay_resolution": 24,
    # the inspector shows every number of a step: past these the page would carry megabytes
    "max_explain_rows": 64, "max_explain_params": 5000,
    "max_compare_rows": 100_000,  # rates x steps x batch size of one side-by-side comparison
}
ACTIVATIONS = ("relu", "leaky_relu", "tanh", "sigmoid", "gelu", "identity")
LOSSES = {"classification": ("cross_entropy",), "regression": ("mse", "mae", "huber")}
OPTIMIZERS = ("sgd", "adam", "rmsprop", "adamw")
DEFAULTS = {"dataset": "moons", "n_points": 400, "noise": 0.2, "hidden": [8, 8], "activation": "tanh",
            "loss": None, "optimizer": "sgd", "lr": 0.1, "batch_size": 16, "seed": 0,
            "csv": None, "target": None}  # dataset "csv": the text of the file the user opened, its target


class ApiError(Exception):
    """A request the API refuses: ``status`` and a message naming the field."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


class Response:
    def __init__(self, body, status=200, content_type="application/json", filename=None):
        self.body, self.status, self.content_type, self.filename = body, status, content_type, filename


# --- field checks ----------------------------------------------------------------------------


def _int(body, name, low, high):
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value)
        else:
            raise ApiError(f"{name} must be a whole number from {low} to {high}, got {value!r}")
    if not low <= value <= high:
        raise ApiError(f"{name} must be from {low} to {high}, got {value} (the playground caps it "
                       "to keep the page responsive)" if value > high else
                       f"{name} must be from {low} to {high}, got {value}")
    return value


def _float(body, name, low, high, low_open=False):
    value = body.get(name)
    try:
        ok = not isinstance(value, bool) and value is not None
        value = float(value) if ok else None
    except (TypeError, ValueError):
        value = None
    if value is None or not math.isfinite(value) or value > high or value < low or (low_open and value == low):
        side = ">" if low_open else ">="
        raise ApiError(f"{name} must be a number {side} {low:g} and <= {high:g}, got {body.get(name)!r}")
    return value


def _choice(body, name, choices):
    value = body.get(name)
    if value not in choices:
        raise ApiError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def _hidden(body):
    value = body.get("hidden")
    if isinstance(value, str):  # the form's text box: "8, 8"
        parts = [p.strip() for p in value.split(",") if p.strip()]
        if not all(p.isdigit() for p in parts):
            raise ApiError(f"hidden must be layer sizes separated by commas, such as 8, 8; got {value!r}")
        value = [int(p) for p in parts]
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise ApiError(f"hidden must be a list of layer sizes, such as [8, 8]; got {value!r}")
    if len(value) > LIMITS["max_depth"]:
        raise ApiError(f"hidden has {len(value)} layers; the playground allows at most {LIMITS['max_depth']}")
    for i, width in enumerate(value):
        if not 1 <= width <= LIMITS["max_width"]:
            raise ApiError(f"hidden layer {i + 1} has width {width}; widths go from 1 to {LIMITS['max_width']}")
    return value


def check_config(body: dict) -> dict:
    """The session's configuration from a request, defaults filled in, every field checked."""
    unknown = sorted(set(body) - set(DEFAULTS))
    if unknown:
        raise ApiError(f"unknown field {unknown[0]!r}; the fields are {', '.join(DEFAULTS)}")
    body = {**DEFAULTS, **{k: v for k, v in body.items() if v is not None}}
    dataset = _choice(body, "dataset", DATASETS + ("csv",))
    table = _csv_table(body) if dataset == "csv" else None
    for field in ("csv", "target"):
        if table is None and body[field] is not None:
            raise ApiError(f"{field} is only read with dataset 'csv', got dataset {dataset!r}")
    task = table.task if table else "classification" if dataset in CLASSIFICATION else "regression"
    if body["loss"] is None:
        body["loss"] = LOSSES[task][0]
    if body["loss"] not in LOSSES[task]:
        raise ApiError(f"loss must be one of {', '.join(LOSSES[task])} for {dataset} ({task}), "
                       f"got {body['loss']!r}")
    return {
        "dataset": dataset,
        "n_points": _int(body, "n_points", LIMITS["min_points"], LIMITS["max_points"]),
        "noise": _float(body, "noise", 0.0, LIMITS["max_noise"]),
        "hidden": _hidden(body),
        "activation": _choice(body, "activation", ACTIVATIONS),
        "loss": body["loss"],
        "optimizer": _choice(body, "optimizer", OPTIMIZERS),
        "lr": _float(body, "lr", 0.0, LIMITS["max_lr"], low_open=True),
        "batch_size": _int(body, "batch_size", 1, LIMITS["max_batch_size"]),
        "seed": _int(body, "seed", 0, 2**31 - 1),
        "target": table.target if table else None, "table": table,
    }


def _csv_table(body):
    if body["csv"] is None:
        raise ApiError("dataset 'csv' needs csv: the text of the CSV file (open one on the page)")
    try:
        return parse_csv(body["csv"], body["target"])
    except CsvError as exc:
        raise ApiError(str(exc)) from None


# --- the sessions ----------------------------------------------------------------------------


class Sessions:
    """The live sessions by id; past ``max_sessions`` the least recently used one is dropped."""

    def __init__(self):
        self._items = OrderedDict()
        self._lock = threading.Lock()

    def create(self, cfg: dict) -> tuple:
        session = Session(cfg)
        sid = secrets.token_hex(8)
        with self._lock:
            self._items[sid] = session
            while len(self._items) > LIMITS["max_sessions"]:
                self._items.popitem(last=False)
        return sid, session

    def get(self, body: dict) -> Session:
        sid = body.get("session")
        with self._lock:
            session = self._items.get(sid) if isinstance(sid, str) else None
            if session is None:
                raise ApiError(f"session {sid!r} is not open (closed, or the server restarted): build the "
                               "network again", status=404)
            self._items.move_to_end(sid)
        return session

    def close(self, body: dict) -> bool:
        with self._lock:
            return self._items.pop(body.get("session"), None) is not None

    def __len__(self):
        return len(self._items)


# --- routes ----------------------------------------------------------------------------------


def handle(sessions: Sessions, method: str, route: str, body: dict) -> Response:
    """Answer one API request; raises ApiError for a request it refuses."""
    key = (method, route)
    if key == ("GET", "/api/limits"):
        return Response({"limits": LIMITS, "datasets": [*DATASETS, "csv"], "activations": list(ACTIVATIONS),
                         "losses": {k: list(v) for k, v in LOSSES.items()}, "optimizers": list(OPTIMIZERS),
                         "defaults": DEFAULTS})
    if key == ("POST", "/api/session"):
        sid, session = sessions.create(check_config(body))
        with session.lock:
            return Response({"session": sid, "state": session.state(), "points": session.points()})
    if key == ("POST", "/api/csv"):  # the columns of a file before a network is built on it
        unknown = sorted(set(body) - {"csv", "target"})
        if unknown:
            raise ApiError(f"unknown field {unknown[0]!r} for /api/csv; it takes csv, target")
        return Response(_csv_table({"csv": body.get("csv"), "target": body.get("target")}).summary())
    if key == ("POST", "/api/close"):
        return Response({"closed": sessions.close(body)})
    if route.startswith("/api/") and method in ("GET", "POST") and route in _SESSION_ROUTES:
        want, fn = _SESSION_ROUTES[route]
        if method != want:
            raise ApiError(f"{route} takes {want}, not {method}", status=405)
        fields = {"session", *_FIELDS.get(route, ())}
        unknown = sorted(set(body) - fields)
        if unknown:
            raise ApiError(f"unknown field {unknown[0]!r} for {route}; it takes {', '.join(sorted(fields))}")
        session = sessions.get(body)
        with session.lock:  # one request at a time per session: steps never interleave
            return fn(session, body)
    raise ApiError(f"no API route {method} {route}", status=404)


def _train(session, body):
    if ("steps" in body) == ("epochs" in body):
        raise ApiError("train takes steps or epochs (one of them)")
    if "epochs" in body:
        epochs = _int(body, "epochs", 1, LIMITS["max_epochs"])
        steps = -(-epochs * len(session.X) // session.batch_size)
        if steps > LIMITS["max_steps"]:
            raise ApiError(f"epochs {epochs} is {steps} steps at batch size {session.batch_size}; at most "
                           f"{LIMITS['max_steps']} steps per request")
    else:
        steps = _int(body, "steps", 1, LIMITS["max_steps"])
    return Response(session.train(steps))


def _boundary(session, body):
    resolution = _int({**{"resolution": 50}, **body}, "resolution", LIMITS["min_resolution"], LIMITS["max_resolution"])
    return Response(session.boundary(resolution))


def _explain(session, body):
    params, rows = session.model.n_params, session.batch_size
    if rows > LIMITS["max_explain_rows"] or params > LIMITS["max_explain_params"]:
        raise ApiError(f"the inspector shows every number of a step, so it opens batches of at most "
                       f"{LIMITS['max_explain_rows']} rows on networks of at most {LIMITS['max_explain_params']} "
                       f"parameters; this one has batch_size {rows} and {params} parameters: build a smaller one")
    try:
        data = session.explain().as_dict()
    except ValueError as exc:  # e.g. the loss already overflowed: explain says why in words
        raise ApiError(f"cannot explain this step: {exc}") from None
    if body.get("all_backends") not in (True, "1", "true"):  # the page shows one; "comparison" says they agree
        shown = data["backend"]
        data["backends_omitted"] = sorted(set(data["backends"]) - {shown})
        data["backends"] = {shown: data["backends"][shown]}
    return Response(data)


def _rates(body, most):
    rates = body.get("rates")
    if not isinstance(rates, list) or not 1 <= len(rates) <= most:
        raise ApiError(f"rates must be a list of 1 to {most} learning rates, got {rates!r}")
    return [_float({"rates": r}, "rates", 0.0, LIMITS["max_lr"], low_open=True) for r in rates]


def _compare(session, body):
    rates = _rates(body, LIMITS["max_rates"])
    steps = _int({**{"steps": 20}, **body}, "steps", 1, LIMITS["max_compare_steps"])
    work = len(rates) * steps * session.batch_size
    if work > LIMITS["max_compare_rows"]:
        raise ApiError(f"rates x steps x batch_size is {work} rows; at most {LIMITS['max_compare_rows']} per "
                       "comparison: fewer rates or steps")
    return Response({"steps": steps, "runs": session.compare_rates(rates, steps)})


def _replay(session, body):
    rates = _rates(body, LIMITS["max_replay_rates"])
    steps = _int({**{"steps": 30}, **body}, "steps", 1, LIMITS["max_replay_steps"])
    return Response(session.replay(rates, steps, LIMITS["replay_resolution"]))


def _export_npz(session, body):
    return Response(_written(session.model.save, ".npz"), content_type="application/octet-stream",
                    filename="playground_model.npz")


def _export_onnx(session, body):
    try:
        data = _written(session.model.to_onnx, ".onnx")
    except ImportError as exc:
        raise ApiError(f"ONNX export needs the onnx package: pip install 'fastmlp[onnx]' ({exc})", status=501)
    return Response(data, content_type="application/octet-stream", filename="playground_model.onnx")


def _export_markdown(session, body):
    if session.last_explanation is None:
        raise ApiError("no explained step to export: open a step in the inspector first")
    return Response(session.last_explanation.to_markdown().encode("utf-8"),
                    content_type="text/markdown; charset=utf-8", filename="playground_step.md")


def _written(write, suffix: str) -> bytes:
    """The bytes ``write(path)`` puts in a temporary file."""
    with tempfile.TemporaryDirectory(prefix="fastmlp-playground-") as tmp:
        path = os.path.join(tmp, "model" + suffix)
        write(path)
        with open(path, "rb") as f:
            return f.read()


_FIELDS = {"/api/train": ("steps", "epochs"), "/api/boundary": ("resolution",),
           "/api/explain": ("all_backends",), "/api/compare": ("rates", "steps"), "/api/replay": ("rates", "steps")}
_SESSION_ROUTES = {
    "/api/train": ("POST", _train),
    "/api/state": ("GET", lambda s, b: Response(s.state())),
    "/api/points": ("GET", lambda s, b: Response(s.points())),
    "/api/boundary": ("GET", _boundary),
    "/api/explain": ("POST", _explain),
    "/api/compare": ("POST", _compare),
    "/api/replay": ("POST", _replay),
    "/api/export/model.npz": ("GET", _export_npz),
    "/api/export/model.onnx": ("GET", _export_onnx),
    "/api/export/step.md": ("GET", _export_markdown),
}
