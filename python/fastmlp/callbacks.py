"""Callbacks: code that runs after every epoch of `MLP.fit` and may stop training.

A callback sees the epoch number, the epoch's logs (``loss``, ``accuracy`` or nothing for
regression, ``val_loss``, ``val_accuracy`` / ``val_r2``, ``seconds``) and the model, and returns
True to stop. `EarlyStopping` is the one most people want; any object with an
``on_epoch_end(epoch, logs, model)`` method works.
"""

from __future__ import annotations

import math

from . import checks as check


class Callback:
    """Base class: override what you need. Returning True from on_epoch_end stops training."""

    def on_train_begin(self, model) -> None:
        """Called once before the first epoch of a fit."""

    def on_epoch_end(self, epoch: int, logs: dict, model) -> bool:
        """Called after each epoch (0-based ``epoch``); return True to stop training."""
        return False

    def on_train_end(self, model) -> None:
        """Called once after the last epoch (also after a stop)."""


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs.

    ``monitor`` is a key of the epoch logs ("val_loss", "loss", "val_accuracy", "val_r2", ...);
    None picks "val_loss" when the fit has validation data and "loss" otherwise. ``mode`` "min"
    or "max" says which way is better ("auto": max for accuracy and r2, min otherwise). With
    ``restore_best_weights`` the model ends with the weights of its best epoch (its optimizer
    state stays that of the last epoch, as in Keras).
    """

    def __init__(self, monitor=None, patience=5, min_delta=0.0, mode="auto", restore_best_weights=True):
        if monitor is not None and not isinstance(monitor, str):
            raise TypeError(f"monitor must be a str or None, got {type(monitor).__name__}")
        self.monitor = monitor
        self.patience = check.integer(patience, "patience", low=0)
        self.min_delta = check.number(min_delta, "min_delta", low=0.0)
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
        self.mode = mode
        self.restore_best_weights = bool(restore_best_weights)

    def on_train_begin(self, model) -> None:
        self.best = None
        self.best_epoch = None
        self.best_params = None
        self.wait = 0
        self.stopped_epoch = None

    def on_epoch_end(self, epoch, logs, model) -> bool:
        key = self.monitor or ("val_loss" if "val_loss" in logs else "loss")
        if key not in logs:
            raise ValueError(f"EarlyStopping monitors {key!r}, but the epoch logs hold only {sorted(logs)}")
        value = float(logs[key])
        larger_is_better = self.mode == "max" or (
            self.mode == "auto" and key.endswith(("accuracy", "r2")))
        sign = 1.0 if larger_is_better else -1.0
        if self.best is None or (math.isfinite(value) and sign * (value - self.best) > self.min_delta):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_params = [p.copy() for p in model.network.params]
            return False
        self.wait += 1
        if self.wait >= self.patience:  # Keras' rule: stop after `patience` epochs without gain
            self.stopped_epoch = epoch
            return True
        return False

    def on_train_end(self, model) -> None:
        if self.restore_best_weights and self.best_params is not None:
            for param, best in zip(model.network.params, self.best_params):
                param[...] = best

    def __repr__(self) -> str:
        return (f"EarlyStopping(monitor={self.monitor!r}, patience={self.patience}, "
                f"min_delta={self.min_delta}, mode={self.mode!r}, "
                f"restore_best_weights={self.restore_best_weights})")


def resolve(callbacks, early_stopping) -> list:
    """The callback list of a fit: ``callbacks`` plus EarlyStopping when ``early_stopping`` is
    True (default settings) or an EarlyStopping instance."""
    if callbacks is None:
        callbacks = []
    elif isinstance(callbacks, Callback) or not isinstance(callbacks, (list, tuple)):
        callbacks = [callbacks]
    result = list(callbacks)
    for cb in result:
        if not callable(getattr(cb, "on_epoch_end", None)):
            raise TypeError(f"callbacks must have an on_epoch_end(epoch, logs, model) method, got {cb!r}")
    if early_stopping is True:
        result.append(EarlyStopping())
    elif isinstance(early_stopping, EarlyStopping):
        result.append(early_stopping)
    elif early_stopping not in (False, None):
        raise TypeError("early_stopping must be True, False or a fastmlp.callbacks.EarlyStopping")
    return result


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by ``factor`` when ``monitor`` has not improved by more than
    ``min_delta`` for ``patience`` epochs (PyTorch's ReduceLROnPlateau, mode "rel" off); never
    below ``min_lr``. After a cut it waits ``cooldown`` epochs before counting again. The rate
    it scales is the base rate the schedule (if any) multiplies per step.
    """

    def __init__(self, monitor=None, factor=0.1, patience=10, min_delta=0.0, cooldown=0,
                 min_lr=0.0, mode="auto"):
        self._stopper = EarlyStopping(monitor, patience, min_delta, mode, restore_best_weights=False)
        self.factor = check.number(factor, "factor", low=0.0, high=1.0, low_open=True, high_open=True)
        self.cooldown = check.integer(cooldown, "cooldown", low=0)
        self.min_lr = check.number(min_lr, "min_lr", low=0.0)
        self.reductions = []  # (epoch, new lr) of every cut

    def on_train_begin(self, model) -> None:
        self._stopper.on_train_begin(model)
        self._cooling = 0

    def on_epoch_end(self, epoch, logs, model) -> bool:
        out_of_patience = self._stopper.on_epoch_end(epoch, logs, model)  # tracks the best value
        if self._cooling:  # epochs in cooldown count as neither good nor bad (as in PyTorch)
            self._cooling -= 1
            self._stopper.wait = 0
            return False
        if out_of_patience:
            opt = model.network.optimizer
            new_lr = max(opt.lr * self.factor, self.min_lr)
            if new_lr < opt.lr:
                opt.lr = new_lr
                self.reductions.append((epoch, new_lr))
            self._stopper.wait = 0
            self._cooling = self.cooldown
        return False
