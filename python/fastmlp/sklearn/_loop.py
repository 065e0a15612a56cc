"""The per-batch training loop: backend kernels for the layers, scikit-learn's rules in NumPy.

This is what ``sklearn_compat=True`` runs, batch by batch exactly as scikit-learn does, so its
loss curve matches scikit-learn's to rounding. Every other fit runs the compiled epoch
(`_engine`). Speed is secondary here: every batch returns to Python.

Beyond scikit-learn (only with ``sklearn_compat=False``): per-layer activations, dropout
(inverted: kept units are divided by the keep probability), ``weight_decay`` (PyTorch's: added
to the gradient for sgd, decoupled for adam) and a learning-rate schedule multiplying the rate
of every update.
"""

from __future__ import annotations

import numpy as np

from ..backends import get_backend
from ..backends.numpy import scheduled_lr
from . import _objective
from ._rules import SklearnAdam, SklearnSGD


class LoopRunner:
    """Runs epochs over (coefs, intercepts) in place; holds the optimizer state between calls."""

    def __init__(self, est, coefs, intercepts, *, hidden, out_activation, loss, dropout, seed):
        self.backend_name = est.backend
        self.hidden, self.out_activation, self.loss = hidden, out_activation, loss
        self.alpha = float(est.alpha)
        self.weight_decay = float(est.weight_decay)
        self.dropout = list(dropout)
        self.solver = est.solver
        self.schedule = None
        self.steps = 0
        self.rng = np.random.default_rng(seed)
        params = coefs + intercepts
        if est.solver == "sgd":
            self.optimizer = SklearnSGD(params, est.learning_rate_init, est.learning_rate,
                                        est.momentum, est.nesterovs_momentum, est.power_t)
        else:
            self.optimizer = SklearnAdam(params, est.learning_rate_init, est.beta_1, est.beta_2,
                                         est.epsilon)

    def refresh(self, est, hidden, dropout):
        """Re-read what scikit-learn re-reads on every partial_fit call (alpha, the hidden
        activations) and fastmlp's dropout rates; the optimizer's settings (weight_decay among
        them) stay those of its first call, as in scikit-learn's ``_optimizer``."""
        self.alpha = float(est.alpha)
        self.hidden = list(hidden)
        self.dropout = list(dropout)

    @staticmethod
    def adopt(coefs, intercepts):
        """The estimator's arrays, trained in place as scikit-learn trains them (velocities by
        position); only arrays the kernels cannot take (not C-contiguous) are copied."""
        dtype = coefs[0].dtype
        fix = [np.ascontiguousarray(p, dtype=dtype) for p in list(coefs) + list(intercepts)]
        return fix[:len(coefs)], fix[len(coefs):]

    @property
    def backend(self):
        return get_backend(self.backend_name)

    def set_schedule(self, schedule_config):
        self.schedule = schedule_config

    def _masks(self, n_rows, coefs, dtype):
        if not any(self.dropout):
            return None
        masks = []
        for rate, w in zip(self.dropout, coefs[:-1]):
            if rate == 0:
                masks.append(None)
                continue
            keep = self.rng.random((n_rows, w.shape[1])) >= rate
            masks.append((keep / (1.0 - rate)).astype(dtype))
        return masks

    def epoch(self, coefs, intercepts, X, Y, sample_weight, order, batch_size, shuffled):
        """One pass in ``order``'s batches; returns the epoch's mean loss (scikit-learn's units)."""
        backend, params = self.backend, coefs + intercepts
        total = 0.0
        for start in range(0, len(order), batch_size):
            if shuffled:
                rows = order[start:start + batch_size]
                xb, yb = X[rows], Y[rows]
            else:  # contiguous slices, as scikit-learn takes them without shuffling
                rows = slice(start, min(start + batch_size, len(order)))
                xb, yb = X[rows], Y[rows]
            swb = None if sample_weight is None else sample_weight[rows]
            loss, coef_grads, intercept_grads = _objective.loss_and_grads(
                backend, np.ascontiguousarray(xb), yb, swb, coefs, intercepts, hidden=self.hidden,
                out_activation=self.out_activation, loss=self.loss, alpha=self.alpha,
                masks=self._masks(len(xb), coefs, X.dtype))
            total += loss * len(xb)
            grads = coef_grads + intercept_grads
            self.steps += 1
            if self.weight_decay and self.solver == "sgd":
                grads = [g + self.weight_decay * p for g, p in zip(grads, params)]
            lr0 = self.optimizer.learning_rate_init
            # the schedule's factor on the initial rate (its min_lr is in the rate's units)
            scale = 1.0 if self.schedule is None else scheduled_lr(lr0, self.schedule, self.steps) / lr0
            if self.weight_decay and self.solver == "adam":
                for p in params:
                    p *= 1.0 - self.optimizer.learning_rate_init * scale * self.weight_decay
            self.optimizer.update(params, grads, scale)
        return total / len(order)

    def iteration_ends(self, samples_seen):
        self.optimizer.iteration_ends(samples_seen)

    def stop_or_slow_down(self):
        return self.optimizer.stop_or_slow_down()

    @property
    def learning_rate(self):
        return self.optimizer.learning_rate
