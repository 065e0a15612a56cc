"""Guards around training: one `fit` per model at a time, and no non-finite weights left behind.

`one_fit_at_a_time` refuses a second concurrent `fit` on the same model (two threads updating
one set of weights and one step counter lose updates silently). `EpochRollback` snapshots the
weights, optimizer slots and step before each epoch and, when the epoch raises or leaves a
NaN/inf anywhere in them, restores the snapshot before the error propagates: the model is left
at the last finite state (the end of the previous epoch), never half-diverged.

Cost: one copy of the parameters and optimizer slots per epoch (memory: parameters x (1 + slots);
time: a memcpy of that size plus one summing pass over it to check finiteness, small next to an
epoch, which reads every weight several times per batch).
"""

from __future__ import annotations

import functools
import threading

from . import checks as check

_fitting: set = set()  # id() of models inside fit; a set, not a lock on the model (picklable)
_fitting_lock = threading.Lock()


def one_fit_at_a_time(fit):
    """Decorator for MLP.fit: RuntimeError when the same model is already being fitted."""

    @functools.wraps(fit)
    def guarded(self, *args, **kwargs):
        key = id(self)
        with _fitting_lock:
            if key in _fitting:
                raise RuntimeError("fit is already running on this model (in another thread or a "
                                   "callback); train copies of the model, or wait for that fit")
            _fitting.add(key)
        try:
            return fit(self, *args, **kwargs)
        finally:
            with _fitting_lock:
                _fitting.discard(key)

    return guarded


def _state(net) -> list:
    return net.weights + net.biases + net.slots_m + net.slots_v + net.slots_g


class EpochRollback:
    """Snapshot at construction; `check(epoch)` raises FloatingPointError (after restoring) when
    the network holds a non-finite value; `restore()` puts the snapshot back."""

    def __init__(self, net):
        self.net = net
        self.saved = [a.copy() for a in _state(net)]
        self.step = net.step

    def restore(self) -> None:
        for live, saved in zip(_state(self.net), self.saved):
            live[...] = saved
        self.net.step = self.step

    def check(self, epoch: int) -> None:
        bad = next((i for i, a in enumerate(_state(self.net)) if not check.all_finite(a)), None)
        if bad is None:
            return
        self.restore()
        raise FloatingPointError(
            f"epoch {epoch} of this fit (0-based): an update made {_name(self.net, bad)} NaN or "
            f"infinite (the loss was still finite); the weights and optimizer state are rolled "
            f"back to the start of this epoch. Lower the learning rate, raise the optimizer's eps, "
            f"or use clip_norm")


def _name(net, index: int) -> str:
    n = len(net.weights)
    groups = [("w", n), ("b", n), ("m", 2 * n), ("v", 2 * n), ("g", 2 * n)]
    for prefix, count in groups:
        if index < count:
            label = {"w": "weights", "b": "biases", "m": "optimizer slot m", "v": "optimizer slot v",
                     "g": "optimizer slot g"}[prefix]
            return f"{label} {prefix}{index}"
        index -= count
    return "a parameter"


def warn_if_rounded_to_zero(net, dtype) -> None:
    """RuntimeWarning when the optimizer's lr or eps is 0 once cast to the model's dtype (1e-50 in
    float32): an lr of 0 trains nothing, an eps of 0 makes Adam/RMSprop divide 0 by 0."""
    import warnings

    import numpy as np

    for name in ("lr", "eps"):
        value = getattr(net.optimizer, name, None)
        if isinstance(value, float) and value != 0 and np.dtype(dtype).type(value) == 0:
            effect = "nothing is learned" if name == "lr" else "a weight whose gradient is 0 gets NaN"
            warnings.warn(f"optimizer {name}={value!r} rounds to 0 in {np.dtype(dtype).name}: "
                          f"{effect}; use a larger {name} or dtype='float64'", RuntimeWarning,
                          stacklevel=5)  # user -> fit wrapper -> fit -> run_epochs
