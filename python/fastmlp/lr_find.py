"""The learning-rate range test (Smith, 2017; popularised by fastai's lr_find).

Train a copy of the model for a few hundred steps while the learning rate grows exponentially
from ``start_lr`` to ``end_lr``, record the loss of every step, and stop once the loss has
blown up. Too small a rate leaves the loss flat, a good one makes it fall fastest, too large a
one makes it explode; the suggestion is the rate where the smoothed loss falls fastest.
The model itself is not changed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import optim as _optim
from .backends import _checks as check


@dataclass
class LRFindResult:
    """Rates tried, the loss of each step (raw and smoothed), and the suggested rate."""

    lrs: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    suggested_lr: float

    def __str__(self) -> str:
        best = int(np.argmin(self.smoothed))
        return (f"lr_find: {len(self.lrs)} steps from {self.lrs[0]:.1e} to {self.lrs[-1]:.1e}; "
                f"lowest smoothed loss {self.smoothed[best]:.4g} at lr {self.lrs[best]:.1e}; "
                f"suggested lr {self.suggested_lr:.1e} (steepest descent)")


def lr_find(model, X, y, *, optimizer="sgd", start_lr=1e-6, end_lr=10.0, num_steps=100,
            batch_size=32, smoothing=0.9, diverge=4.0, seed=0):
    """Run the range test on a copy of ``model``; returns an `LRFindResult`.

    ``optimizer``: a name or `fastmlp.optim` instance whose other settings are kept while its
    rate sweeps. Stops early when the smoothed loss exceeds ``diverge`` times its minimum.
    """
    X, y = model._check_xy(X, y, "X", "y")
    start_lr = check.number(start_lr, "start_lr", low=0.0, low_open=True)
    end_lr = check.number(end_lr, "end_lr", low=start_lr, low_open=True)
    num_steps = check.integer(num_steps, "num_steps", low=2)
    batch_size = check.integer(batch_size, "batch_size", low=1)
    smoothing = check.number(smoothing, "smoothing", low=0.0, high=1.0, high_open=True)
    diverge = check.number(diverge, "diverge", low=1.0, low_open=True)

    net = model.network.copy()
    config = _optim.get_optimizer(optimizer).config
    net.optimizer = type(config)(**vars(config))
    net.schedule = type(net.schedule)()  # constant: this function sets every step's rate itself
    net.slots_m = [np.zeros_like(p) for p in net.params]
    net.slots_v = [np.zeros_like(p) for p in net.params]
    net.step = 0
    rng = np.random.default_rng(seed)
    lrs = start_lr * (end_lr / start_lr) ** (np.arange(num_steps) / (num_steps - 1))
    losses, smoothed, average = [], [], 0.0
    order = rng.permutation(len(X))
    for step, lr in enumerate(lrs):
        start = (step * batch_size) % len(X)
        if start + batch_size > len(X):
            order = rng.permutation(len(X))
        rows = order[start:start + batch_size]
        net.optimizer.lr = float(lr)
        try:
            loss, _ = model.backend.train_step(net, X[rows], y[rows])
        except FloatingPointError:  # the loss overflowed: as diverged as it gets
            break
        average = smoothing * average + (1 - smoothing) * loss
        losses.append(loss)
        smoothed.append(average / (1 - smoothing ** (step + 1)))  # bias-corrected, as Adam does
        if smoothed[-1] > diverge * min(smoothed):
            break
    n = len(losses)
    smoothed_arr = np.array(smoothed)
    # steepest fall of the smoothed loss against log(lr), ignoring the last (diverging) steps
    usable = max(2, int(0.9 * n)) if n > 2 else n
    slopes = np.gradient(smoothed_arr[:usable], np.log(lrs[:usable])) if usable >= 2 else np.zeros(1)
    suggested = float(lrs[int(np.argmin(slopes))])
    return LRFindResult(lrs[:n], np.array(losses), smoothed_arr, suggested)
