"""Copies of one network trained on the same batches at several learning rates (plain SGD), each
measured after every step: the side-by-side curves and the animated replay."""

from __future__ import annotations

import copy

import numpy as np

from ..optim import get_optimizer

DIVERGE_FACTOR = 10.0  # a loss this many times its first value means the rate diverges


def divergence(loss, start):
    """Why ``loss`` (None: not finite) counts as diverged from ``start``, or None when it does not."""
    if loss is None:
        return "the loss is no longer a finite number"
    if start is not None and loss > DIVERGE_FACTOR * start:
        return f"the loss {loss:.4g} grew past {DIVERGE_FACTOR:g} x its start {start:.4g}"
    return None


def train_at_rates(model, X, y, batch_size: int, rates: list, steps: int, measure, picture=None) -> list:
    """For each rate: a copy of ``model`` trained ``steps`` steps on the consecutive batches of (X, y),
    ``measure(copy)`` (a loss or None) before and after each step, and ``picture(copy)`` when given.
    A copy stops at its first diverged measurement, or when the engine refuses a non-finite loss."""
    out = []
    for lr in rates:
        model_lr = copy.deepcopy(model)
        curve = [measure(model_lr)]
        frames = [picture(model_lr)] if picture else None
        status, reason, diverged_at = "ok", None, None
        with np.errstate(all="ignore"):
            for k in range(steps):
                sl = slice(k * batch_size, (k + 1) * batch_size)
                try:
                    model_lr.fit(X[sl], y[sl], epochs=1, batch_size=batch_size,
                                 optimizer=get_optimizer("sgd", lr=lr) if k == 0 else None, shuffle=False)
                except FloatingPointError:
                    status, reason, diverged_at = "diverged", f"step {k + 1}'s batch loss was not a finite number", k + 1
                    break
                curve.append(measure(model_lr))
                if picture:
                    frames.append(picture(model_lr))
                reason = divergence(curve[-1], curve[0])
                if reason:
                    status, diverged_at = "diverged", k + 1
                    break
        run = {"lr": lr, "curve": curve, "status": status, "reason": reason, "diverged_at": diverged_at}
        if picture:
            run["frames"] = frames
        out.append(run)
    return out
