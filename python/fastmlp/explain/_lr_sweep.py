"""Learning rates named by what a short training run at each does, and the best single step.

The step's direction is fixed (minus the gradient); only its length, the learning rate, varies.
For every rate 1, 2, 5 x 10^k on a wide grid, the loss after one step is computed; for those
within a few decades of the best single step (`run_window`), also the loss curve of RUN_STEPS steps (fewer for a large batch and
model, see `run_steps`) of plain gradient descent on the batch. A rate's run is then named by what it does:

- "diverges":  it ends no lower than it started (or overflows);
- "unsteady":  it ends lower, but the loss rose on some step on the way;
- "crawls":    it falls at every step but by less than CRAWL_FRACTION of what the good run falls;
- "falls steadily": it falls at every step, and by a good part of what the good run falls.

and three rates are picked: good (lowest after the run among runs that fall at every step), too
small (the largest smaller rate that crawls) and too large (the smallest larger rate that
diverges). The best single step (the rate whose first step lowers the loss most) is shown beside
them with its own run: greedy in one step, it is often too long for the steps that follow.
"""

from __future__ import annotations

import math

import numpy as np

GRID_DECADES = range(-5, 7)  # 1e-5 .. 5e6: wide enough that the largest step overshoots any small net
GRID_MANTISSAS = (1, 2, 5)
RUN_STEPS = 100  # long enough to see a rate oscillate or creep; quick on a small batch (<0.5 s)
MIN_RUN_STEPS = 10  # a large batch and model get shorter runs, never shorter than this
RUN_FLOPS = 2e9  # about a second of float64 work for all the runs together, past the small cases
CRAWL_FRACTION = 0.1  # a run "crawls" when it lowers the loss by less than a tenth of the good run
RISE_TOL = 1e-9  # relative: a step "raises" the loss by more than roundoff, not by 1e-16 noise
GIVE_UP = 1e3  # a run whose loss passes 1000x its start has diverged: stop it there
EXPLODE_FACTOR = 10.0  # one step "explodes" the loss: at least 10 times the loss before
BARELY = 0.01  # a relative change of the loss under 1% "barely moves"

DIVERGES, UNSTEADY, CRAWLS, STEADY, FLAT = "diverges", "unsteady", "crawls", "falls steadily", "stays flat"


def grid() -> list:
    """The rates tried: 1, 2, 5 x 10^k, as exact decimal floats (0.002, not 2 * 0.001)."""
    return [float(f"{m}e{k}") for k in GRID_DECADES for m in GRID_MANTISSAS]


RUN_BELOW, RUN_ABOVE = 1e4, 1e3  # runs cover the grid from best single step / 1e4 to x 1e3


def run_window(rates: list, one_step_losses: list) -> list:
    """Indices of the grid rates that get a run: from RUN_BELOW below the best single step to
    RUN_ABOVE above it. Far smaller rates only crawl and far larger ones blow up at once; leaving
    them out keeps the runs quick."""
    losses = np.array([x if math.isfinite(x) else np.inf for x in one_step_losses])
    greedy = rates[int(np.argmin(losses))]
    return [i for i, r in enumerate(rates) if greedy / RUN_BELOW <= r * (1 + 1e-9) and r <= greedy * RUN_ABOVE * (1 + 1e-9)]


def run_steps(rows: int, params: int, n_rates: int) -> int:
    """Steps per run: RUN_STEPS, fewer when rows x params makes the runs long (a step costs about
    6 rows x params flops: forward, and backward's two products)."""
    affordable = int(RUN_FLOPS // (6 * rows * params * n_rates))
    return max(MIN_RUN_STEPS, min(RUN_STEPS, affordable))


def checkpoints_of(steps: int) -> list:
    """The steps after which the table shows the loss: 1, a tenth, three tenths and all of them."""
    return sorted({1, max(1, steps // 10), max(1, 3 * steps // 10), steps})


def run_kind(curve) -> str:
    """What a run's loss curve (loss at step 0, 1, ...; inf once it overflowed) does, before
    "crawls" is told apart from "falls steadily" (that needs the good run: see `name_runs`)."""
    start, end = curve[0], curve[-1]
    if not math.isfinite(end) or end >= start:
        return FLAT if end == start else DIVERGES
    rises = any(b > a + RISE_TOL * abs(a) for a, b in zip(curve, curve[1:]))
    return UNSTEADY if rises else STEADY


def name_runs(rates: list, curves: list, one_step_losses: list) -> dict:
    """Each grid rate's verdict, and the rates called "too small", "good", "too large" and
    "best single step", from every rate's run (``curves``) and first-step loss."""
    kinds = [run_kind(c) for c in curves]
    ends = np.array([c[-1] if math.isfinite(c[-1]) else np.inf for c in curves])
    steady = [i for i, k in enumerate(kinds) if k == STEADY]
    falling = [i for i, k in enumerate(kinds) if k in (STEADY, UNSTEADY)]
    pool = steady or falling or list(range(len(rates)))
    good = min(pool, key=lambda i: (ends[i], i))
    start = curves[good][0]
    drop = start - ends[good]
    verdicts = []
    for i, kind in enumerate(kinds):
        if kind == STEADY and drop > 0 and start - ends[i] < CRAWL_FRACTION * drop:
            kind = CRAWLS
        verdicts.append(kind)
    smaller = [i for i in range(good) if verdicts[i] == CRAWLS]
    small = smaller[-1] if smaller else 0
    larger = [i for i in range(good + 1, len(rates)) if verdicts[i] == DIVERGES]
    large = larger[0] if larger else len(rates) - 1
    losses = np.array([x if math.isfinite(x) else np.inf for x in one_step_losses])
    greedy = int(np.argmin(losses))
    return {"verdicts": verdicts,
            "picked": {"too small": small, "good": good, "too large": large, "best single step": greedy}}


def checkpoints(curve, points) -> list:
    """The loss after each of ``points`` steps; None for steps a diverged run never took."""
    return [curve[n] if n < len(curve) else None for n in points]


def verdict(loss_before: float, loss_after: float) -> str:
    """What one step did to the loss, in a learner's words."""
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
