"""Three learning rates for the same step, picked from the step's own numbers.

The step's direction is fixed (minus the gradient); only its length, the learning rate, varies.
The loss after the step is computed for every rate 1, 2, 5 x 10^k on a wide grid, then:

- good:      the grid rate whose step lowers this batch's loss the most;
- too small: good / 1000, a step so short the loss barely moves;
- too large: the smallest grid rate above good whose step multiplies the loss by at least
  EXPLODE_FACTOR (or, if none does, the one that raises it most).

Picking from the curve rather than fixing 0.001 / 0.1 / 100 makes the three outcomes happen for
any network and batch: rates are only "small" or "large" relative to the curvature of the loss.
"""

from __future__ import annotations

import math

import numpy as np

GRID_DECADES = range(-5, 7)  # 1e-5 .. 5e6: wide enough that the largest step overshoots any small net
GRID_MANTISSAS = (1, 2, 5)
SMALL_FACTOR = 1000  # too small = good / 1000: the loss moves about a thousandth as much
EXPLODE_FACTOR = 10.0  # "explodes": the loss after the step is at least 10 times the loss before
BARELY = 0.01  # a relative change of the loss under 1% "barely moves"


def grid() -> list:
    """The rates tried: 1, 2, 5 x 10^k, as exact decimal floats (0.002, not 2 * 0.001)."""
    return [float(f"{m}e{k}") for k in GRID_DECADES for m in GRID_MANTISSAS]


def choose(loss_before: float, rates: list, losses: list) -> dict:
    """{"too small", "good", "too large"} -> rate, from the loss after a step at each grid rate."""
    losses = np.array([x if math.isfinite(x) else np.inf for x in losses], dtype=np.float64)
    best = int(np.argmin(losses))
    good = rates[best]
    above = range(best + 1, len(rates))
    exploding = [i for i in above if losses[i] >= EXPLODE_FACTOR * loss_before]
    if exploding:
        large = rates[exploding[0]]
    elif len(above):
        large = rates[max(above, key=lambda i: losses[i])]
    else:  # good is the largest rate tried
        large = good * 10
    small = float(f"{good / SMALL_FACTOR:.1g}")  # keep 1-2-5 rates readable: 2 / 1000 -> 0.002
    return {"too small": small, "good": good, "too large": large}


def verdict(loss_before: float, loss_after: float) -> str:
    """What the step did to the loss, in a learner's words."""
    if not math.isfinite(loss_after):
        return "explodes (overflow)"
    change = loss_after - loss_before
    scale = abs(loss_before) if loss_before != 0 else 1.0
    if abs(change) < BARELY * scale:
        return "barely moves"
    if change < 0:
        return "drops"
    if loss_after >= EXPLODE_FACTOR * loss_before:
        return "explodes"
    return "rises"


def relative_change(loss_before: float, loss_after: float):
    """(after - before) / before, or None when the loss before is 0 or the loss after is not finite."""
    if loss_before == 0 or not math.isfinite(loss_after):
        return None
    return (loss_after - loss_before) / loss_before
