"""The learning-rate range test (Smith, 2017; popularised by fastai's lr_find).

Train a copy of the model for a few hundred steps while the learning rate grows exponentially
from ``start_lr`` to ``end_lr``, record the loss of every step, and stop once the loss has
blown up. Too small a rate leaves the loss flat, a good one makes it fall fastest, too large a
one makes it explode; the suggestion is the rate where the smoothed loss falls fastest.

The test runs the optimizer the model will train with (a rate good for SGD is far too large for
Adam, whose steps are already normalised), and its suggestion is then checked: a short run at
the constant suggested rate, from the model's own weights, must lower the loss; if it does not,
the suggestion is divided by 10 until it does (at most CHECK_TRIES times). The model itself is
not changed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import checks as check
from . import model_inputs
from . import optim as _optim

CHECK_STEPS = 50  # steps of the check run: enough to see a too-large rate diverge or stall
CHECK_TRIES = 4  # the suggestion may be divided by 10 this many times before lr_find gives up
CHECK_ROWS = 2048  # rows on which the loss is measured before and after the check run


@dataclass
class LRFindResult:
    """Rates tried, the loss of each step (raw and smoothed), the suggested rate, the optimizer
    they were run with, and the check of the suggestion (the loss on up to CHECK_ROWS rows before
    and after CHECK_STEPS steps at the suggested rate)."""

    lrs: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    suggested_lr: float
    optimizer: str = "sgd"
    steepest_lr: float = float("nan")  # the steepest-descent rate before the check
    check_loss_before: float = float("nan")
    check_loss_after: float = float("nan")
    check_steps: int = CHECK_STEPS

    @property
    def checked(self) -> bool:
        """True when the check run at the suggested rate lowered the loss."""
        return bool(self.check_loss_after < self.check_loss_before)

    def __str__(self) -> str:
        best = int(np.argmin(self.smoothed))
        text = (f"lr_find with {self.optimizer}: {len(self.lrs)} steps from {self.lrs[0]:.1e} to "
                f"{self.lrs[-1]:.1e}; lowest smoothed loss {self.smoothed[best]:.4g} at lr {self.lrs[best]:.1e}; "
                f"suggested lr {self.suggested_lr:.1e} for {self.optimizer}")
        if self.steepest_lr != self.suggested_lr:
            text += (f" (the steepest descent, {self.steepest_lr:.1e}, did not lower the loss in a "
                     f"{self.check_steps}-step run, so it was divided by 10)")
        check_text = (f"; check: {self.check_steps} {self.optimizer} steps at it took the loss from "
                      f"{self.check_loss_before:.4g} to {self.check_loss_after:.4g}")
        if not self.checked:
            check_text += " (not lower: no rate tried trains this model; check the data and the model)"
        return text + check_text


def lr_find(model, X, y, *, optimizer=None, start_lr=1e-6, end_lr=10.0, num_steps=100,
            batch_size=32, smoothing=0.9, diverge=4.0, seed=0):
    """Run the range test on a copy of ``model``; returns an `LRFindResult`.

    ``optimizer``: a name or `fastmlp.optim` instance whose other settings are kept while its
    rate sweeps; None (the default) uses the optimizer the model will train with: the one of its
    last `fit`, or Adam, as `fit` starts with. Stops early when the smoothed loss exceeds
    ``diverge`` times its minimum. The suggestion is checked by a short run at it (see the module).
    """
    X, y = model_inputs.check_xy(model, X, y, "X", "y")
    start_lr = check.number(start_lr, "start_lr", low=0.0, low_open=True)
    end_lr = check.number(end_lr, "end_lr", low=start_lr, low_open=True)
    num_steps = check.integer(num_steps, "num_steps", low=2)
    batch_size = check.integer(batch_size, "batch_size", low=1)
    smoothing = check.number(smoothing, "smoothing", low=0.0, high=1.0, high_open=True)
    diverge = check.number(diverge, "diverge", low=1.0, low_open=True)
    if optimizer is None:
        optimizer = model.optimizer if model.optimizer is not None else "adam"
    config = _optim.get_optimizer(optimizer).config

    net = _fresh_copy(model, config)
    rng = np.random.default_rng(seed)
    lrs = start_lr * (end_lr / start_lr) ** (np.arange(num_steps) / (num_steps - 1))
    losses, smoothed, average = [], [], 0.0
    batches = _batches(rng, len(X), batch_size)
    for step, lr in enumerate(lrs):
        rows = next(batches)
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
    steepest = float(lrs[int(np.argmin(slopes))])

    suggested, before, after = steepest, np.nan, np.nan
    for _ in range(CHECK_TRIES + 1):
        before, after = _check_run(model, config, X, y, suggested, batch_size, seed)
        if after < before:
            break
        suggested /= 10
    else:
        suggested = steepest  # nothing tried trained: report the steepest rate and the failed check
        before, after = _check_run(model, config, X, y, suggested, batch_size, seed)
    return LRFindResult(lrs[:n], np.array(losses), smoothed_arr, suggested, optimizer=config.name,
                        steepest_lr=steepest, check_loss_before=before, check_loss_after=after)


def _fresh_copy(model, config):
    """A copy of the model's network with a fresh ``config`` optimizer and a constant schedule."""
    net = model.network.copy()
    net.start_optimizer(type(config)(**vars(config)))
    net.schedule = type(net.schedule)()  # constant: lr_find sets every step's rate itself
    return net


def _batches(rng, n: int, batch_size: int):
    """Row indices of each step's batch: passes over a fresh permutation, as fit shuffles."""
    while True:
        order = rng.permutation(n)
        for start in range(0, max(n - batch_size, 0) + 1, batch_size):
            yield order[start:start + batch_size]


def _check_run(model, config, X, y, lr, batch_size, seed):
    """(loss before, loss after) CHECK_STEPS steps at the constant rate ``lr`` from the model's
    weights, both measured on the same CHECK_ROWS rows; after is inf when the run overflowed."""
    net = _fresh_copy(model, config)
    net.optimizer.lr = float(lr)
    rows = np.random.default_rng([seed, 1]).permutation(len(X))[:CHECK_ROWS]
    before = _loss(model, net, X[rows], y[rows])
    batches = _batches(np.random.default_rng([seed, 2]), len(X), batch_size)
    try:
        for _ in range(CHECK_STEPS):
            batch = next(batches)
            model.backend.train_step(net, X[batch], y[batch])
    except FloatingPointError:
        return before, float("inf")
    after = _loss(model, net, X[rows], y[rows])
    return before, after if np.isfinite(after) else float("inf")


def _loss(model, net, X, y) -> float:
    a = X
    with np.errstate(all="ignore"):
        for w, b, act in zip(net.weights, net.biases, net.activations):
            _, a = model.backend.dense_forward(a, w, b, act)
        return float(model.backend.loss_forward_backward(model.loss, a, y)[0])
