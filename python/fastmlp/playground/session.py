"""One playground session: a data set, an `fastmlp.MLP` on the real backend, and its history.

Training goes through ``MLP.fit`` (the engine people train with): ``steps`` steps are the next
``steps * batch_size`` rows of a seeded shuffle, passed to one ``fit(epochs=1, shuffle=False)``,
so the optimizer state carries over between requests and every step is the library's own.
"""

from __future__ import annotations

import math
import threading
import warnings

import numpy as np

from .. import datasets
from ..explain import explain as _explain
from ..backends import available_backends
from ..model import MLP
from ..optim import get_optimizer
from .grid import grid_points, predicted_classes
from .rates import DIVERGE_FACTOR, train_at_rates

CLASSIFICATION = ("xor", "moons", "circles", "spirals")
DATASETS = CLASSIFICATION + ("house-prices",)
MAX_HISTORY = 5000  # curve points kept per session (older points are thinned out)
COMPARE_EVAL_ROWS = 256  # the side-by-side curves measure the loss on the first rows of those batches


def load_data(name: str, n_points: int, noise: float, seed: int, table=None):
    """(X_train, y_train, X_val, y_val, info) of a data set (or of ``table``, a checked CSV): 80% /
    20%; regression and CSV features standardized, a regression target too."""
    if table is not None:
        X, y = table.X, table.y
    elif name == "house-prices":
        X, y = datasets.house_prices(n_points, noise=noise, seed=seed)
    else:
        X, y = getattr(datasets, name)(n_points, noise=noise, seed=seed)
    X_tr, X_va, y_tr, y_va = datasets.train_test_split(X, y, test_size=0.2, seed=seed)
    task = table.task if table is not None else "classification" if name in CLASSIFICATION else "regression"
    info = {"name": name, "task": task, "n_features": int(X.shape[1]), "n_train": len(X_tr), "n_val": len(X_va)}
    if table is not None or name == "house-prices":  # the network sees z-scores
        X_tr, X_va = datasets.standardize(X_tr, X_va)
    if task == "regression":  # the page shows the target as z-scores too
        mean, std = float(y_tr.mean()), float(y_tr.std()) or 1.0
        y_tr, y_va = ((y_tr - mean) / std)[:, None], ((y_va - mean) / std)[:, None]
        info.update(target_mean=mean, target_std=std)
        info["n_outputs"] = 1
    else:
        info["n_outputs"] = int(max(y.max() + 1, 2))
    if table is not None:
        info["feature_names"] = [c for c in table.columns if c != table.target]
        info["csv"] = table.summary()
    else:
        info["feature_names"] = list(datasets.HOUSE_FEATURES) if name == "house-prices" else ["x0", "x1"]
    return X_tr, y_tr, X_va, y_va, info


class Session:
    """A network, its data and its training history; every method holds the session's lock."""

    def __init__(self, cfg: dict):
        self.cfg = {k: v for k, v in cfg.items() if k != "table"}  # the page gets the CSV's summary instead
        self.lock = threading.Lock()
        X_tr, y_tr, X_va, y_va, info = load_data(cfg["dataset"], cfg["n_points"], cfg["noise"], cfg["seed"],
                                                 cfg.get("table"))
        self.X, self.y, self.X_val, self.y_val, self.data_info = X_tr, y_tr, X_va, y_va, info
        sizes = [info["n_features"], *cfg["hidden"], info["n_outputs"]]
        backend = "cpp" if "cpp" in available_backends() else available_backends()[0]
        self.model = MLP(sizes, activation=cfg["activation"], loss=cfg["loss"], dtype="float64",
                         backend=backend, seed=cfg["seed"])
        self.optimizer = get_optimizer(cfg["optimizer"], lr=cfg["lr"])
        self.batch_size = min(cfg["batch_size"], len(X_tr))
        self.rng = np.random.default_rng(cfg["seed"])
        self.orders = [self.rng.permutation(len(X_tr))]  # this epoch's shuffle, then any drawn ahead
        self.cursor = 0  # position in ``orders[0]`` of the next step's first row
        self.steps = 0
        self.epochs_done = 0.0
        self.history = []  # one point per request: step, train and validation loss and metric
        self.first_loss = None
        self.diverged = None  # the message once the loss blew up
        self.last_explanation = None
        self._record()

    # --- batches ---------------------------------------------------------------------------------

    def _next_rows(self, n_rows: int, consume: bool) -> np.ndarray:
        """The indices of the next ``n_rows`` rows, a fresh shuffle at each epoch's end. The shuffles
        are drawn once and queued, so looking ahead (``consume=False``) sees the rows training uses."""
        rows, k, cursor, n = [], 0, self.cursor, len(self.X)
        while n_rows > 0:
            if cursor == n:
                k, cursor = k + 1, 0
            while len(self.orders) <= k:
                self.orders.append(self.rng.permutation(n))
            take = min(n_rows, n - cursor)
            rows.append(self.orders[k][cursor:cursor + take])
            cursor += take
            n_rows -= take
        if consume:
            del self.orders[:k]
            self.cursor = cursor
        return np.concatenate(rows)

    def next_batch(self):
        """The rows the next step will train on (the step the inspector explains)."""
        rows = self._next_rows(self.batch_size, consume=False)
        return self.X[rows], self.y[rows]

    # --- training --------------------------------------------------------------------------------

    def train(self, steps: int) -> dict:
        """``steps`` optimizer steps of the real engine on the next batches; returns the state."""
        if self.diverged:
            return self.state()
        rows = self._next_rows(steps * self.batch_size, consume=True)
        try:
            with np.errstate(all="ignore"):  # an overflow is what a too-large rate shows; reported below
                self.model.fit(self.X[rows], self.y[rows], epochs=1, batch_size=self.batch_size,
                               optimizer=self.optimizer if self.steps == 0 else None, shuffle=False)
        except FloatingPointError as exc:  # fit stops on a non-finite loss
            self.diverged = f"training stopped: {exc}; the learning rate {self.cfg['lr']:g} is too large"
        self.steps += steps
        self.epochs_done = self.steps * self.batch_size / len(self.X)
        self.last_explanation = None
        self._record()
        return self.state()

    def _record(self):
        with np.errstate(all="ignore"):
            tr, va = self.model.evaluate(self.X, self.y), self.model.evaluate(self.X_val, self.y_val)
        metric = "accuracy" if "accuracy" in tr else "r2"
        point = {"step": self.steps, "epoch": self.epochs_done, "loss": _num(tr["loss"]),
                 "val_loss": _num(va["loss"]), "metric": _num(tr[metric]), "val_metric": _num(va[metric])}
        self.history.append(point)
        if len(self.history) > MAX_HISTORY:
            self.history = self.history[:1] + self.history[2::2]
        loss = point["loss"]
        if self.first_loss is None:
            self.first_loss = loss
        elif not self.diverged and (loss is None or loss > DIVERGE_FACTOR * self.first_loss):
            shown = "overflowed" if loss is None else f"grew to {loss:.4g}"
            self.diverged = (f"diverging: the training loss {shown} from {self.first_loss:.4g} at learning "
                             f"rate {self.cfg['lr']:g}; this rate is too large: lower it and build again")

    # --- what the page shows ---------------------------------------------------------------------

    def state(self) -> dict:
        m = self.model
        return {
            "config": self.cfg, "data": self.data_info, "backend": m.backend_name,
            "layer_sizes": list(m.layer_sizes), "activations": list(m.activations),
            "steps": self.steps, "epochs": self.epochs_done, "batch_size": self.batch_size,
            "history": self.history, "diverged": self.diverged,
            "metric_name": m.metric_name,
            "weights": [_plain(w) for w in m.weights], "biases": [_plain(b) for b in m.biases],
        }

    def points(self) -> dict:
        """The data as the page plots it (2-D classification: the points; regression: targets)."""
        return {"x": _plain(self.X), "y": _plain(self.y), "x_val": _plain(self.X_val), "y_val": _plain(self.y_val)}

    def boundary(self, resolution: int) -> dict:
        """Classification on 2-D data: the predicted class and its probability on a grid."""
        if self.data_info["task"] != "classification":
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "never trained": a fresh page shows the untrained fit
                pred = self.model.predict(self.X_val)
            return {"kind": "fit", "actual": _plain(self.y_val[:, 0]), "predicted": _plain(pred)}
        if self.data_info["n_features"] != 2:
            return {"kind": "none", "reason": f"no decision picture: the data has {self.data_info['n_features']} "
                    "inputs and the picture needs 2; the curves and the weights show the training"}
        points, x_range, y_range = grid_points(np.vstack([self.X, self.X_val]), resolution)
        return {"kind": "boundary", "resolution": resolution, "x_range": x_range, "y_range": y_range,
                **predicted_classes(self.model, points)}

    def explain(self):
        """`fastmlp.explain` of the next step: this model, the next batch, the session's rate."""
        xb, yb = self.next_batch()
        result = _explain(self.model, xb, yb, lr=self.cfg["lr"], backend=self.model.backend_name, format="json")
        self.last_explanation = result
        return result

    def compare_rates(self, rates: list, steps: int) -> list:
        """Copies of the model trained ``steps`` steps on the next batches at each rate (plain SGD),
        the loss measured on the first rows of those batches."""
        rows = self._next_rows(steps * self.batch_size, consume=False)
        X, y = self.X[rows], self.y[rows]
        X_eval, y_eval = X[:COMPARE_EVAL_ROWS], y[:COMPARE_EVAL_ROWS]
        return train_at_rates(self.model, X, y, self.batch_size, rates, steps,
                              lambda m: _num(m.evaluate(X_eval, y_eval)["loss"]))

    def replay(self, rates: list, steps: int, resolution: int) -> dict:
        """Copies of the model trained on the next batches at each rate (plain SGD), the loss on the
        whole training set after every step, and for 2-D classification the picture at every step."""
        rows = self._next_rows(steps * self.batch_size, consume=False)
        picture, grid = None, None
        if self.data_info["task"] == "classification" and self.data_info["n_features"] == 2:
            points, x_range, y_range = grid_points(np.vstack([self.X, self.X_val]), resolution)
            picture = lambda m: predicted_classes(m, points, decimals=2)  # noqa: E731
            grid = {"resolution": resolution, "x_range": x_range, "y_range": y_range}
        runs = train_at_rates(self.model, self.X[rows], self.y[rows], self.batch_size, rates, steps,
                              lambda m: _num(m.evaluate(self.X, self.y)["loss"]), picture)
        return {"steps": steps, "batch_size": self.batch_size, "n_train": len(self.X), "grid": grid,
                "diverge_factor": DIVERGE_FACTOR, "runs": runs}


def _num(value):
    value = float(value)
    return value if math.isfinite(value) else None


def _plain(a):
    a = np.asarray(a)
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        return [_num(v) for v in a.ravel()] if a.ndim == 1 else [_plain(r) for r in a]
    return a.tolist()
