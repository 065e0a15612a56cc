"""fm.explain's learning-rate sweep: each rate named by what its own run does, steady runs equal to
textbook gradient descent (explain_textbook.py), the one-step columns, a divergent rate, and the
run lengths that keep the sweep quick."""

from __future__ import annotations

import numpy as np
import pytest

import fastmlp as fm
from fastmlp.explain import explain

from explain_textbook import RTOL, example_inputs, textbook_step


def _textbook_run(weights, biases, hidden, loss, x, t, lr, steps):
    """``steps`` textbook gradient-descent steps: the loss before each, then the loss at the end."""
    curve = []
    with np.errstate(all="ignore"):
        for _ in range(steps):
            v = textbook_step(weights, biases, hidden, loss, x, t, lr)
            curve.append(v["loss"])
            if not np.isfinite(v["loss"]):
                return curve
            weights = [v[f"W{k}_new"] for k in range(1, len(weights) + 1)]
            biases = [v[f"b{k}_new"] for k in range(1, len(weights) + 1)]
        curve.append(v["loss_after"])
    return curve


def _kind(curve):
    """The run's verdict, written again from its definition: diverges (ends no lower than it
    started, or overflowed), unsteady (ends lower, but some step raised the loss), steady."""
    curve = [np.inf if c is None else c for c in curve]
    if not np.isfinite(curve[-1]) or curve[-1] >= curve[0]:
        return "diverges"
    rises = any(b > a * (1 + 1e-9) for a, b in zip(curve, curve[1:]))
    return "unsteady" if rises else "steady"


def _moons_case(seed=0):
    X, y = fm.datasets.moons(n_samples=200, seed=0)
    model = fm.MLP([2, 8, 2], activation="relu", loss="cross_entropy", dtype="float64", backend="numpy", seed=seed)
    return model, X[:16], y[:16]


def _sweep_of(case, seed):
    if case == "moons":
        return explain(*_moons_case(seed)).as_dict()
    return explain(example=case, seed=seed).as_dict()


@pytest.mark.parametrize("case", ["xor", "house", "moons"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rates_are_named_by_what_their_runs_do(case, seed):
    data = _sweep_of(case, seed)
    sweep = data["lr_sweep"]
    by_label = {label: e for e in sweep["rates"] for label in e["labels"]}
    assert set(by_label) == {"too small", "good", "too large", "best single step"}
    lrs = [e["lr"] for e in sweep["rates"]]
    assert lrs == sorted(lrs) and len(set(lrs)) == len(lrs)  # columns by rate, each rate once
    small, good, large = by_label["too small"], by_label["good"], by_label["too large"]
    assert small["lr"] < good["lr"] < large["lr"]
    for e in sweep["rates"]:  # each column's verdict is what its own curve does
        kind = _kind(e["run_curve"])
        assert e["run_verdict"] in ({"steady": ("falls steadily", "crawls")}.get(kind, (kind,))), e["label"]
        assert len(e["run_curve"]) == sweep["run_steps"] + 1 or kind == "diverges"
    assert good["run_verdict"] == "falls steadily" and large["run_verdict"] == "diverges"
    assert small["run_verdict"] == "crawls"
    start = good["run_curve"][0]
    # too small falls less than a tenth as far as good; good ends lowest of all steady runs
    assert start - small["run_curve"][-1] < 0.1 * (start - good["run_curve"][-1])
    ends = [c[-1] for c, v in zip(sweep["grid_run_loss"], sweep["grid_run_verdict"]) if v in ("falls steadily", "crawls")]
    assert good["run_curve"][-1] == min(ends)
    # the best single step is the grid rate whose one step lowers the loss most
    losses = np.array([np.inf if x is None else x for x in sweep["grid_loss_after"]])
    assert by_label["best single step"]["lr"] == sweep["grid"][int(np.argmin(losses))]
    assert data["lr"] == by_label["best single step"]["lr"]  # the explained step is unchanged


@pytest.mark.parametrize("case, hidden, loss", [("xor", "sigmoid", "binary_cross_entropy"), ("house", "tanh", "mse"),
                                                ("moons", "relu", "cross_entropy")])
def test_steady_runs_equal_textbook_gradient_descent(case, hidden, loss):
    data = _sweep_of(case, 0)
    weights, biases, x, t = example_inputs(data)
    for e in data["lr_sweep"]["rates"]:
        if e["run_verdict"] not in ("falls steadily", "crawls"):
            continue  # a divergent run amplifies roundoff: its verdict is checked from its own curve
        want = _textbook_run(weights, biases, hidden, loss, x, t, e["lr"], data["lr_sweep"]["run_steps"])
        # 100 steps of a contracting iteration: roundoff stays near 1e-15 relative; 1e-9 leaves room
        np.testing.assert_allclose(e["run_curve"], want, rtol=1e-9, atol=0, err_msg=e["label"])


def test_best_single_step_overshoots_on_house_and_moons_and_the_text_says_why():
    house = explain(example="house")
    greedy = next(e for e in house.as_dict()["lr_sweep"]["rates"] if "best single step" in e["labels"])
    assert greedy["lr"] == 1.0 and greedy["run_verdict"] == "diverges"  # the house case
    text = house.to_text(width=1000)
    assert "The best single step, lr = 1, is too large to train with" in text
    assert "jumps from wall to wall" in text
    data = explain(*_moons_case()).as_dict()
    by_label = {label: e for e in data["lr_sweep"]["rates"] for label in e["labels"]}
    assert by_label["good"]["lr"] == 0.5  # the rate that trains the moons net
    assert by_label["best single step"]["lr"] > by_label["good"]["lr"]
    assert by_label["best single step"]["run_verdict"] in ("unsteady", "diverges")


def test_sweep_one_step_columns_equal_the_textbook_step():
    data = explain(example="xor").as_dict()
    weights, biases, x, t = example_inputs(data)
    grid, losses = data["lr_sweep"]["grid"], data["lr_sweep"]["grid_loss_after"]
    with np.errstate(all="ignore"):
        textbook = [textbook_step(weights, biases, "sigmoid", "binary_cross_entropy", x, t, r)["loss_after"]
                    for r in grid]
    for rate, got, want in zip(grid, losses, textbook):
        if got is not None and np.isfinite(want):
            assert abs(got - want) <= RTOL * max(1.0, abs(want)), rate
    for e in data["lr_sweep"]["rates"]:
        after = textbook_step(weights, biases, "sigmoid", "binary_cross_entropy", x, t, e["lr"])["loss_after"]
        assert abs(e["loss_after"] - after) <= RTOL * max(1.0, abs(after)), e["label"]


def test_divergent_lr_raises_the_loss_and_says_so():
    result = explain(example="house", lr=50.0)
    assert result.lr == 50.0 and result.loss_after > result.loss_before
    assert "The batch loss went up" in result.to_text(width=100)
    good = explain(example="house")
    assert good.loss_after < good.loss_before
    assert "The batch loss went down" in good.to_text(width=100)


def test_run_length_and_window_keep_the_sweep_quick():
    from fastmlp.explain import _lr_sweep

    assert _lr_sweep.run_steps(4, 9, 22) == 100  # the examples: full runs
    assert _lr_sweep.run_steps(1024, 100_000, 22) == _lr_sweep.MIN_RUN_STEPS  # the largest batch and model
    assert _lr_sweep.checkpoints_of(100) == [1, 10, 30, 100] and _lr_sweep.checkpoints_of(10) == [1, 3, 10]
    grid = _lr_sweep.grid()
    losses = [abs(np.log10(r) - np.log10(2.0)) for r in grid]  # best single step: 2
    window = [grid[i] for i in _lr_sweep.run_window(grid, losses)]
    assert window[0] == 0.0002 and window[-1] == 2000.0 and len(window) == 22
    data = explain(example="xor").as_dict()["lr_sweep"]
    assert data["run_grid"] == window and len(data["grid_run_verdict"]) == len(window)
