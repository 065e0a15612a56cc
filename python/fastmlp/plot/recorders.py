"""Callbacks that record what the plots draw: weight snapshots and per-layer gradient norms.

Both count epochs across fits (a second `fit` continues the count) and record the state
before the first epoch as epoch 0. They need no matplotlib.
"""

from __future__ import annotations

import numpy as np

from .. import checks as check
from .. import model_inputs
from ..backends import backprop
from ..callbacks import Callback


class WeightSnapshots(Callback):
    """Copies of the weights and biases before training and after every ``every``-th epoch.

    ``epochs[i]`` is the number of epochs trained when ``weights[i]`` / ``biases[i]`` were
    copied (0: the initial weights). Pass it to `fastmlp.plot.boundary_snapshots` or
    `fastmlp.plot.animate_boundary`.
    """

    def __init__(self, every=1):
        self.every = check.integer(every, "every", low=1)
        self.epochs, self.weights, self.biases = [], [], []
        self._seen = 0

    def __len__(self) -> int:
        return len(self.epochs)

    def _record(self, model):
        self.epochs.append(self._seen)
        self.weights.append([w.copy() for w in model.weights])
        self.biases.append([b.copy() for b in model.biases])

    def on_train_begin(self, model) -> None:
        if not self.epochs:
            self._record(model)

    def on_epoch_end(self, epoch, logs, model) -> bool:
        self._seen += 1
        if self._seen % self.every == 0:
            self._record(model)
        return False


class GradientNorms(Callback):
    """The L2 norm of dLoss/dW (and dLoss/db) of every layer on one fixed batch (X, y),
    before training and after every ``every``-th epoch.

    The gradients come from `fastmlp.backends.backprop.gradients` with the model's own kernels
    at the current weights; nothing is updated. Vanishing gradients show as early layers' norms
    falling orders of magnitude below the last layer's.
    ``epochs`` (n_records,), ``weight_norms`` and ``bias_norms`` (n_records, n_layers) are arrays.
    """

    def __init__(self, X, y, every=1):
        self.X, self.y = X, y
        self.every = check.integer(every, "every", low=1)
        self._epochs, self._weight_norms, self._bias_norms = [], [], []
        self._seen = 0
        self._checked = None  # (X, y) converted for the model, on first use

    @property
    def epochs(self) -> np.ndarray:
        return np.array(self._epochs, dtype=np.int64)

    @property
    def weight_norms(self) -> np.ndarray:
        return _table(self._weight_norms)

    @property
    def bias_norms(self) -> np.ndarray:
        return _table(self._bias_norms)

    def norms(self, model):
        """(weight norms, bias norms) of each layer at ``model``'s current weights."""
        if self._checked is None:
            self._checked = model_inputs.check_xy(model, self.X, self.y, "X", "y")
        X, y = self._checked
        grads = backprop.gradients(model.backend, model.network, X, y)
        weight = [float(np.linalg.norm(g.astype(np.float64))) for g in grads[0::2]]
        bias = [float(np.linalg.norm(g.astype(np.float64))) for g in grads[1::2]]
        return weight, bias

    def _record(self, model):
        weight, bias = self.norms(model)
        self._epochs.append(self._seen)
        self._weight_norms.append(weight)
        self._bias_norms.append(bias)

    def on_train_begin(self, model) -> None:
        if not self._epochs:
            self._record(model)

    def on_epoch_end(self, epoch, logs, model) -> bool:
        self._seen += 1
        if self._seen % self.every == 0:
            self._record(model)
        return False


def _table(rows) -> np.ndarray:
    """(n_records, n_layers) float64; (0, 0) before the first record."""
    return np.array(rows, dtype=np.float64) if rows else np.zeros((0, 0))


def record_gradient_norms(model, X, y, *, epochs, probe_size=256, seed=0, every=1, **fit_kwargs):
    """Train ``model`` (in place) for ``epochs`` epochs on (X, y) while recording per-layer
    gradient norms on a fixed, seeded sample of ``probe_size`` rows of X.

    ``fit_kwargs`` go to `MLP.fit` (batch_size, optimizer, validation_data, ...).
    Returns ``(recorder, history)``: a `GradientNorms` and the fit's History.
    """
    probe_size = check.integer(probe_size, "probe_size", low=1)
    X, y = model_inputs.check_xy(model, X, y, "X", "y")
    rows = np.random.default_rng(seed).permutation(len(X))[:probe_size]
    rows.sort()
    recorder = GradientNorms(X[rows], y[rows], every=every)
    callbacks = fit_kwargs.pop("callbacks", None) or []
    if not isinstance(callbacks, (list, tuple)):
        callbacks = [callbacks]
    history = model.fit(X, y, epochs=epochs, callbacks=[recorder, *callbacks], **fit_kwargs)
    return recorder, history
