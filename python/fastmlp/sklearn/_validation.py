"""Checks of the estimators' constructor parameters, run at fit time (scikit-learn's rule:
``__init__`` only stores). Every message names the parameter and what it accepts."""

from __future__ import annotations

import numbers

import numpy as np

SKLEARN_ACTIVATIONS = ("identity", "logistic", "tanh", "relu")
FASTMLP_ACTIVATIONS = SKLEARN_ACTIVATIONS + ("sigmoid", "leaky_relu", "gelu")
SOLVERS = ("lbfgs", "sgd", "adam")
LEARNING_RATES = ("constant", "invscaling", "adaptive")
MONITORS = ("auto", "loss", "val_loss", "val_score")


def _real(est, name, low=None, high=None, low_open=False, high_open=False):
    value = getattr(est, name)
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"{name} must be a finite real number, got {value!r}")
    if low is not None and (value < low or (low_open and value == low)):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low}, got {value!r}")
    if high is not None and (value > high or (high_open and value == high)):
        raise ValueError(f"{name} must be {'<' if high_open else '<='} {high}, got {value!r}")
    return float(value)


def _int(est, name, low):
    value = getattr(est, name)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    return int(value)


def _choice(est, name, choices):
    value = getattr(est, name)
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return value


def _bool(est, name):
    value = getattr(est, name)
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def hidden_layer_sizes(value):
    sizes = [value] if not hasattr(value, "__iter__") or isinstance(value, str) else list(value)
    for s in sizes:
        if isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 1:
            raise ValueError(f"hidden_layer_sizes must be positive ints, got {value!r}")
    return [int(s) for s in sizes]


def hidden_activations(est, n_hidden):
    """One activation name per hidden layer: a name for all, or a list with one per layer."""
    allowed = SKLEARN_ACTIVATIONS if est.sklearn_compat else FASTMLP_ACTIVATIONS
    act = est.activation
    names = [act] * n_hidden if isinstance(act, str) else list(act)
    if len(names) != n_hidden:
        raise ValueError(f"activation lists {len(names)} names, the network has {n_hidden} hidden "
                         f"layers (hidden_layer_sizes={est.hidden_layer_sizes!r})")
    for name in names:
        if not isinstance(name, str) or name not in allowed:
            raise ValueError(f"activation must be one of {', '.join(map(repr, allowed))} (or a list "
                             f"of them, one per hidden layer), got {act!r}")
    if est.sklearn_compat and not isinstance(act, str):
        raise ValueError("sklearn_compat=True takes one activation name, as scikit-learn does")
    return ["logistic" if n == "sigmoid" else n for n in names]


def dropout(est, n_hidden):
    rates = est.dropout
    rates = [rates] * n_hidden if isinstance(rates, numbers.Real) else list(rates)
    if len(rates) != n_hidden:
        raise ValueError(f"dropout lists {len(rates)} rates, the network has {n_hidden} hidden layers")
    for r in rates:
        if isinstance(r, bool) or not isinstance(r, numbers.Real) or not 0.0 <= r < 1.0:
            raise ValueError(f"dropout rates must lie in [0, 1), got {est.dropout!r}")
    return [float(r) for r in rates]


def check_params(est):
    """Validate every parameter; returns nothing, raises ValueError/TypeError naming the culprit."""
    hidden_layer_sizes(est.hidden_layer_sizes)
    _choice(est, "solver", SOLVERS)
    _real(est, "alpha", low=0.0)
    if not (isinstance(est.batch_size, str) and est.batch_size == "auto"):
        _int(est, "batch_size", 1)
    _choice(est, "learning_rate", LEARNING_RATES)
    _real(est, "learning_rate_init", low=0.0, low_open=True)
    _real(est, "power_t", low=0.0)
    _int(est, "max_iter", 1)
    _bool(est, "shuffle")
    _real(est, "tol", low=0.0)
    _bool(est, "warm_start")
    _real(est, "momentum", low=0.0, high=1.0)
    _bool(est, "nesterovs_momentum")
    _bool(est, "early_stopping")
    _real(est, "validation_fraction", low=0.0, high=1.0, high_open=True)
    _real(est, "beta_1", low=0.0, high=1.0, high_open=True)
    _real(est, "beta_2", low=0.0, high=1.0, high_open=True)
    _real(est, "epsilon", low=0.0, low_open=True)
    if est.n_iter_no_change != np.inf:
        _int(est, "n_iter_no_change", 1)
    _int(est, "max_fun", 1)
    _real(est, "weight_decay", low=0.0)
    _choice(est, "monitor", MONITORS)
    if est.backend not in ("cpp", "numba", "numpy"):
        raise ValueError(f"backend must be 'cpp', 'numba' or 'numpy', got {est.backend!r}")
    if est.dtype is not None:
        try:
            ok = np.dtype(est.dtype) in (np.float32, np.float64)
        except TypeError:
            ok = False
        if not ok:
            raise ValueError(f"dtype must be None, 'float32' or 'float64', got {est.dtype!r}")
    if est.n_threads is not None:
        _int(est, "n_threads", 1)
        from ..backends._checks import MAX_THREADS

        if est.n_threads > MAX_THREADS:
            raise ValueError(f"n_threads must be <= {MAX_THREADS}, got {est.n_threads}")
    if est.solver == "lbfgs":
        epoch_only = {"schedule": est.schedule is not None, "dropout": est.dropout != 0,
                      "validation_data": est.validation_data is not None,
                      "monitor": est.monitor != "auto"}
        used = [name for name, on in epoch_only.items() if on]
        if used:
            raise ValueError(f"{', '.join(used)} apply to the epoch solvers 'sgd' and 'adam'; "
                             "solver='lbfgs' minimises the full-batch loss without epochs")
    if est.sklearn_compat:
        extras = {"dropout": est.dropout != 0, "weight_decay": est.weight_decay != 0,
                  "schedule": est.schedule is not None, "validation_data": est.validation_data is not None,
                  "monitor": est.monitor != "auto",
                  "class_weight": getattr(est, "class_weight", None) is not None}
        used = [name for name, on in extras.items() if on]
        if used:
            raise ValueError(f"sklearn_compat=True reproduces scikit-learn, which has no {', '.join(used)}; "
                             "leave those at their defaults or set sklearn_compat=False")
