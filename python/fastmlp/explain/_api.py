"""``fm.explain``: compute one training step three ways and wrap it in an `Explanation`."""

from __future__ import annotations

import numpy as np

from .. import checks as check
from .. import losses as _losses
from .. import model_inputs
from ..backends import BACKENDS, get_backend
from ..model import MLP
from . import _examples, _lr_sweep
from ._compare import REFERENCE, compare
from ._explanation import FORMATS, Explanation
from ._json import plain
from ._trace import Setup, gradients, loss_after_update, one_step, run

# explain shows every number of the step (three times, for the backends): past these sizes the
# output is no longer something a person reads, and fm.gradcheck is the tool to use instead.
MAX_PARAMS = 100_000
MAX_ROWS = 1024
COMPARISON_ORDER = ("numpy", "numba", "cpp")  # the oracle first, then from Python-like to C++


def explain(model=None, x=None, y=None, lr=None, example=None, backend=None, format="text", seed=0):
    """One training step of a small network, every number named, in the order a learner meets it.

    The inputs; for each layer ``z = a_prev W + b`` and ``a = f(z)``; the prediction, the error
    and the loss; the output delta dL/dz; going back, each layer's delta by the chain rule and
    the gradients dL/dW and dL/db; the update ``dW = -lr * dL/dW`` and the new weights; the
    loss after the step. Then short training runs at many learning rates, naming the rates
    that crawl, train well and diverge over the run beside the best single step, and the C++, Numba and NumPy backends computing the same numbers digit by digit.

    Parameters
    ----------
    model : fastmlp.MLP, optional
        The network to step (never modified: the step runs on float64 copies of its weights).
        Without a model, ``example`` picks a built-in network and batch.
    x, y : array-like, optional
        The batch, required with ``model`` (a few rows: every number is shown).
    lr : float, optional
        Learning rate of the step (plain gradient descent, whatever optimizer the model has).
        Default: the sweep's best single step, the grid rate whose one step lowers this
        batch's loss most (the sweep shows what it does over many steps).
    example : "xor" or "house", optional
        Without a model: "xor" (default), the XOR truth table on a 2-2-1 sigmoid network with
        binary cross-entropy, or "house", 4 scaled houses on a 3-2-1 tanh network with mean
        squared error.
    backend : "cpp", "numba" or "numpy", optional
        Whose numbers the explanation shows (default: the model's backend, or the fastest
        available). Every available backend is computed for the comparison regardless.
    format : "text", "markdown", "html" or "json"
        What ``str(explanation)`` (and so ``print``) gives; every format stays available
        through ``to_text()``, ``to_markdown()``, ``to_html()`` and ``to_json()``.
    seed : int
        Seeds the example network's initial weights (and, for "house", the houses drawn).

    Returns
    -------
    Explanation
        ``as_dict()`` holds every number; ``loss_before``, ``loss_after`` and ``lr`` summarize.
    """
    format = _choice(format, "format", FORMATS)
    seed = check.integer(seed, "seed", low=0)
    if lr is not None:
        lr = check.number(lr, "lr", low=0.0, low_open=True)
    if model is None:
        if x is not None or y is not None:
            raise ValueError("x and y are the batch of a model: pass model= too, or leave x and y "
                             "out to use an example")
        name = _choice("xor" if example is None else example, "example", _examples.EXAMPLES)
        setup, about = _example_setup(_examples.load(name, seed), seed)
    else:
        if example is not None:
            raise ValueError(f"example={example!r} and model= exclude each other: an example brings "
                             "its own network")
        setup, about = _model_setup(model, x, y)
    backend_name = _backend_name(backend, model)
    kernels = get_backend(backend_name)  # ImportError names the backend and why

    # the learning-rate sweep runs on the oracle: the rates chosen must not depend on the backend
    oracle = get_backend(REFERENCE)
    with np.errstate(all="ignore"):  # an overflow is reported below, as the loss it makes
        loss_before, grads_w, grads_b = gradients(oracle, setup)
    if not np.isfinite(loss_before):
        raise ValueError(f"the loss of this batch is {loss_before} before any step: check the "
                         "model's weights and x, y for extreme values")
    grid = _lr_sweep.grid()
    grid_losses = [loss_after_update(oracle, setup, grads_w, grads_b, r) for r in grid]
    window = _lr_sweep.run_window(grid, grid_losses)
    run_grid, run_losses = [grid[i] for i in window], [grid_losses[i] for i in window]
    params = sum(w.size + b.size for w, b in zip(setup.weights, setup.biases))
    steps = _lr_sweep.run_steps(len(setup.x), params, len(run_grid))
    points = _lr_sweep.checkpoints_of(steps)
    curves = [run(oracle, setup, r, steps, _lr_sweep.GIVE_UP) for r in run_grid]
    named = _lr_sweep.name_runs(run_grid, curves, run_losses)
    picked = named["picked"]
    step_lr = run_grid[picked["best single step"]] if lr is None else lr

    traces, unavailable = {}, {}
    for name in COMPARISON_ORDER:
        try:
            traces[name] = one_step(get_backend(name), setup, step_lr)
        except ImportError as exc:
            unavailable[name] = str(exc)

    data = {
        "kind": "fastmlp.explain",
        "title": about["title"],
        "example": about["example"],
        "data": about["data"],
        "network": about["network"],
        "backend": backend_name,
        "lr": step_lr,
        "lr_from": "sweep" if lr is None else "caller",
        "loss_before": traces[backend_name]["loss"],
        "loss_after": traces[backend_name]["loss_after"],
        "backends": traces,
        "unavailable_backends": unavailable,
        "comparison": compare(traces),
        "lr_sweep": {
            "computed_by": REFERENCE,
            "grid": grid,
            "grid_loss_after": grid_losses,
            "run_steps": steps,
            "checkpoints": points,
            "run_grid": run_grid,
            "grid_run_verdict": named["verdicts"],
            "grid_run_loss": [_lr_sweep.checkpoints(c, points) for c in curves],
            "rates": [_sweep_entry(kernels, setup, labels, run_grid[i], curves[i], named["verdicts"][i], points)
                      for i, labels in _columns(picked)],
        },
    }
    return Explanation(plain(data), format=format)


def _columns(picked: dict) -> list:
    """(grid index, labels) of the sweep table's columns, by rate; a rate picked twice is one column."""
    labels = {}
    for label, i in picked.items():
        labels.setdefault(i, []).append(label)
    return sorted(labels.items())


def _sweep_entry(kernels, setup: Setup, labels: list, rate: float, curve: list, run_verdict: str,
                 points: list) -> dict:
    """The step at ``rate`` by the explained backend, and the oracle's run at it, for the table."""
    step = one_step(kernels, setup, rate)
    L = setup.n_layers
    largest = max(float(np.max(np.abs(step[f"{p}{k}"]))) for k in range(1, L + 1) for p in ("dW", "db"))
    before, after = step["loss"], step["loss_after"]
    return {
        "label": " = ".join(labels), "labels": labels, "lr": rate, "loss_before": before, "loss_after": after,
        "change": after - before, "relative_change": _lr_sweep.relative_change(before, after),
        "largest_step": largest, "verdict": _lr_sweep.verdict(before, after),
        "p_after": step["p_after"],
        "run_loss": _lr_sweep.checkpoints(curve, points), "run_curve": curve, "run_verdict": run_verdict,
    }


def _example_setup(ex, seed: int):
    # the model only draws the seeded initial weights (fastmlp's own init, as fm.MLP would train)
    net = MLP(ex.layer_sizes, activation=ex.hidden_activation, loss=ex.loss, dtype="float64",
              backend="numpy", seed=seed)
    setup = _setup_of(net, ex.x, ex.y)
    about = _about(net, ex.name, f"One training step of a {_sizes(net)} network on {ex.title}")
    about["data"].update(feature_names=ex.feature_names, target_name=ex.target_name, note=ex.data_note)
    about["network"]["seed"] = seed
    return setup, about


def _model_setup(model, x, y):
    if not isinstance(model, MLP):
        raise TypeError(f"model must be a fastmlp.MLP, got {type(model).__name__}")
    if x is None or y is None:
        raise ValueError("explain(model, x, y) needs the batch: pass x and y (a few rows)")
    x, y = model_inputs.check_xy(model, x, y, "x", "y")  # names x / y in every error; casts to the model's dtype
    if len(x) > MAX_ROWS:
        raise ValueError(f"x has {len(x)} rows; explain shows every number of the step, so pass at "
                         f"most {MAX_ROWS} (a few are easier to read)")
    if model.n_params > MAX_PARAMS:
        raise ValueError(f"model has {model.n_params} parameters; explain shows every one of them, so "
                         f"it takes at most {MAX_PARAMS} (fm.gradcheck checks large models' gradients)")
    extras = [f"{name}={value}" for name, value in (("dropout", model.dropout), ("l2", model.l2))
              if np.any(np.asarray(value) != 0)]
    if extras:  # the walkthrough is plain gradient descent: it would show numbers fit never uses
        raise ValueError(f"model has {' and '.join(extras)}; explain shows a plain gradient-descent step "
                         "(no dropout, no L2 penalty), so build the model without them to explain it")
    setup = _setup_of(model, x, y)
    return setup, _about(model, None, f"One training step of a {_sizes(model)} network on your batch "
                                      f"({len(x)} row{'s' if len(x) != 1 else ''})")


def _setup_of(model, x, y) -> Setup:
    """float64 copies of the model's parameters and of the batch (labels stay integers)."""
    to64 = lambda a: np.ascontiguousarray(a, dtype=np.float64)  # noqa: E731
    n_out = model.layer_sizes[-1]
    labels = model.loss == "cross_entropy" and np.asarray(y).ndim == 1
    y = np.ascontiguousarray(y, dtype=np.int64) if labels else to64(y)
    return Setup(
        weights=[to64(w).copy() for w in model.weights],
        biases=[to64(b).copy() for b in model.biases],
        activations=list(model.network.activations),
        loss=model.loss, link=_losses.output_link(model.loss),
        x=to64(x).copy(), y=y,
        t=np.eye(n_out)[y] if labels else y.copy(),
    )


def _about(model, example, title) -> dict:
    return {
        "title": title,
        "example": example,
        "data": {"feature_names": [], "target_name": "", "note": ""},
        "network": {
            "layer_sizes": list(model.layer_sizes),
            "activations": list(model.activations),  # hidden ones, then the loss's output link
            "loss": model.loss,
            "model_dtype": model.dtype.name,
            "dtype": "float64",
            "seed": None,
        },
    }


def _sizes(model) -> str:
    return "-".join(str(n) for n in model.layer_sizes)


def _backend_name(backend, model) -> str:
    if backend is None:
        if model is not None:
            return model.backend_name
        available = [n for n in BACKENDS if _importable(n)]
        return available[0]  # "numpy" always imports
    return _choice(backend, "backend", BACKENDS)


def _importable(name: str) -> bool:
    try:
        get_backend(name)
    except ImportError:
        return False
    return True


def _choice(value, what: str, choices) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{what} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return value
