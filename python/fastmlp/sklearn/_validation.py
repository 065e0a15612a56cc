"""Checks of the estimators' constructor parameters, run at fit time (scikit-learn's rule:
``__init__`` only stores). Every message names the parameter and what it accepts.

Two layers: ``PARAMETER_CONSTRAINTS`` is scikit-learn's declaration (its ``_fit_context`` checks
it on every fit / partial_fit and raises ``InvalidParameterError`` with its standard message);
`check_params` then checks what a declaration cannot say (finite values, list contents, options
that exclude each other), raising the same error type."""

from __future__ import annotations

import numbers
from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import (HasMethods, Interval, InvalidParameterError, Options,
                                             StrOptions)

SKLEARN_ACTIVATIONS = ("identity", "logistic", "tanh", "relu")
FASTMLP_ACTIVATIONS = SKLEARN_ACTIVATIONS + ("sigmoid", "leaky_relu", "gelu")
SOLVERS = ("lbfgs", "sgd", "adam")
LEARNING_RATES = ("constant", "invscaling", "adaptive")
MONITORS = ("auto", "loss", "val_loss", "val_score")
BACKENDS = ("cpp", "numba", "numpy")

# scikit-learn's MLP constraints (1.9), widened only where fastmlp accepts more (activation
# names and lists), then fastmlp's own parameters
PARAMETER_CONSTRAINTS = {
    "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
    "activation": [StrOptions(set(FASTMLP_ACTIVATIONS)), list, tuple],
    "solver": [StrOptions(set(SOLVERS))],
    "alpha": [Interval(Real, 0, None, closed="left")],
    "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
    "learning_rate": [StrOptions(set(LEARNING_RATES))],
    "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
    "power_t": [Interval(Real, 0, None, closed="left")],
    "max_iter": [Interval(Integral, 1, None, closed="left")],
    "shuffle": ["boolean"],
    "random_state": ["random_state"],
    "tol": [Interval(Real, 0, None, closed="left")],
    "verbose": ["verbose"],
    "warm_start": ["boolean"],
    "momentum": [Interval(Real, 0, 1, closed="both")],
    "nesterovs_momentum": ["boolean"],
    "early_stopping": ["boolean"],
    "validation_fraction": [Interval(Real, 0, 1, closed="left")],
    "beta_1": [Interval(Real, 0, 1, closed="left")],
    "beta_2": [Interval(Real, 0, 1, closed="left")],
    "epsilon": [Interval(Real, 0, None, closed="neither")],
    "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), Options(Real, {np.inf})],
    "max_fun": [Interval(Integral, 1, None, closed="left")],
    "dropout": [Interval(Real, 0, 1, closed="left"), list, tuple],
    "weight_decay": [Interval(Real, 0, None, closed="left")],
    "schedule": [None, str, HasMethods(["resolve"])],
    "backend": [StrOptions(set(BACKENDS))],
    "dtype": [None, str, type, np.dtype],
    "n_threads": [None, Interval(Integral, 1, None, closed="left")],
    "validation_data": [None, tuple, list],
    "monitor": [StrOptions(set(MONITORS))],
    "sklearn_compat": ["boolean"],
}


def _real(est, name, low=None, high=None, low_open=False, high_open=False):
    value = getattr(est, name)
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise InvalidParameterError(f"{name} must be a finite real number, got {value!r}")
    if low is not None and (value < low or (low_open and value == low)):
        raise InvalidParameterError(
            f"{name} must be {'>' if low_open else '>='} {low}, got {value!r}")
    if high is not None and (value > high or (high_open and value == high)):
        raise InvalidParameterError(
            f"{name} must be {'<' if high_open else '<='} {high}, got {value!r}")
    return float(value)


def _int(est, name, low):
    value = getattr(est, name)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise InvalidParameterError(f"{name} must be an int >= {low}, got {value!r}")
    return int(value)


def _choice(est, name, choices):
    value = getattr(est, name)
    if not isinstance(value, str) or value not in choices:
        raise InvalidParameterError(
            f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return value


def _bool(est, name):
    value = getattr(est, name)
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidParameterError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def hidden_layer_sizes(value):
    sizes = [value] if not hasattr(value, "__iter__") or isinstance(value, str) else list(value)
    for s in sizes:
        if isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 1:
            raise InvalidParameterError(f"hidden_layer_sizes must be positive ints, got {value!r}")
    return [int(s) for s in sizes]


def hidden_activations(est, n_hidden):
    """One activation name per hidden layer: a name for all, or a list with one per layer."""
    allowed = SKLEARN_ACTIVATIONS if est.sklearn_compat else FASTMLP_ACTIVATIONS
    act = est.activation
    names = [act] * n_hidden if isinstance(act, str) else list(act)
    if len(names) != n_hidden:
        raise InvalidParameterError(
            f"activation lists {len(names)} names, the network has {n_hidden} hidden "
            f"layers (hidden_layer_sizes={est.hidden_layer_sizes!r})")
    for name in names:
        if not isinstance(name, str) or name not in allowed:
            raise InvalidParameterError(
                f"activation must be one of {', '.join(map(repr, allowed))} (or a list "
                f"of them, one per hidden layer), got {act!r}")
    if est.sklearn_compat and not isinstance(act, str):
        raise InvalidParameterError(
            "sklearn_compat=True takes one activation name, as scikit-learn does")
    return ["logistic" if n == "sigmoid" else n for n in names]


def dropout(est, n_hidden):
    rates = est.dropout
    rates = [rates] * n_hidden if isinstance(rates, numbers.Real) else list(rates)
    if len(rates) != n_hidden:
        raise InvalidParameterError(
            f"dropout lists {len(rates)} rates, the network has {n_hidden} hidden layers")
    for r in rates:
        if isinstance(r, bool) or not isinstance(r, numbers.Real) or not 0.0 <= r < 1.0:
            raise InvalidParameterError(f"dropout rates must lie in [0, 1), got {est.dropout!r}")
    return [float(r) for r in rates]


def check_params(est):
    """Validate every parameter; returns nothing, raises InvalidParameterError (a ValueError and
    a TypeError) naming the culprit."""
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
    if isinstance(est.verbose, str) or not isinstance(est.verbose, (numbers.Integral, np.bool_)):
        raise InvalidParameterError(f"verbose must be a bool or an int, got {est.verbose!r}")
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
    if est.backend not in BACKENDS:
        raise InvalidParameterError(
            f"backend must be 'cpp', 'numba' or 'numpy', got {est.backend!r}")
    if est.dtype is not None:
        try:
            ok = np.dtype(est.dtype) in (np.float32, np.float64)
        except TypeError:
            ok = False
        if not ok:
            raise InvalidParameterError(
                f"dtype must be None, 'float32' or 'float64', got {est.dtype!r}")
    if est.n_threads is not None:
        _int(est, "n_threads", 1)
        from ..checks import MAX_THREADS

        if est.n_threads > MAX_THREADS:
            raise InvalidParameterError(f"n_threads must be <= {MAX_THREADS}, got {est.n_threads}")
    if est.solver == "lbfgs":
        epoch_only = {"schedule": est.schedule is not None, "dropout": est.dropout != 0,
                      "validation_data": est.validation_data is not None,
                      "monitor": est.monitor != "auto"}
        used = [name for name, on in epoch_only.items() if on]
        if used:
            raise InvalidParameterError(
                f"{', '.join(used)} apply to the epoch solvers 'sgd' and 'adam'; "
                "solver='lbfgs' minimises the full-batch loss without epochs")
    if est.sklearn_compat:
        extras = {"dropout": est.dropout != 0, "weight_decay": est.weight_decay != 0,
                  "schedule": est.schedule is not None,
                  "validation_data": est.validation_data is not None,
                  "monitor": est.monitor != "auto"}
        used = [name for name, on in extras.items() if on]
        if used:
            raise InvalidParameterError(
                f"sklearn_compat=True reproduces scikit-learn, which has no {', '.join(used)}; "
                "leave those at their defaults or set sklearn_compat=False")
