"""Checks of the MLP constructor's arguments (and of a state's config, which holds the same):
each returns the normalised value or raises naming the argument."""

from __future__ import annotations

import numbers

import numpy as np

from . import init as _init
from . import losses as _losses
from . import checks as check


def layer_sizes(layer_sizes):
    if isinstance(layer_sizes, (str, bytes)) or not hasattr(layer_sizes, "__len__"):
        raise TypeError("layer_sizes must be a list of ints such as [784, 256, 10]")
    sizes = list(layer_sizes)
    if len(sizes) < 2:
        raise ValueError(f"layer_sizes needs an input and an output size, got {sizes}")
    for s in sizes:
        if isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 1:
            raise ValueError(f"layer_sizes must be positive ints, got {sizes}")
    return [int(s) for s in sizes]


def hidden_activations(activation, n_layers, loss):
    n_hidden = n_layers - 1
    if isinstance(activation, str):
        return [check.activation_name(activation)] * n_hidden
    names = [check.activation_name(a) for a in activation]
    if len(names) == n_layers:
        link = _losses.output_link(loss)
        if names[-1] not in (link, "identity"):
            raise ValueError(f"the output activation {names[-1]!r} does not match loss {loss!r} (its link is {link!r})")
        names = names[:-1]
    if len(names) != n_hidden:
        raise ValueError(f"activation needs {n_hidden} names (one per hidden layer), got {len(names)}")
    return names


def dropout_rates(dropout, n_hidden):
    """The Network's per-layer rates (the output layer's 0), or [] when nothing is dropped."""
    if isinstance(dropout, (str, bytes)):
        raise TypeError(f"dropout must be a rate or a list of rates, got {dropout!r}")
    rates = list(dropout) if hasattr(dropout, "__len__") else [dropout] * n_hidden
    if len(rates) != n_hidden:
        raise ValueError(f"dropout needs one rate per hidden layer ({n_hidden}), got {len(rates)}")
    rates = [check.number(p, "dropout", low=0.0, high=1.0, high_open=True) for p in rates]
    return rates + [0.0] if any(rates) else []


def float_dtype(dtype):
    try:
        dt = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"dtype must be 'float32' or 'float64', got {dtype!r}") from exc
    if dt not in check.FLOAT_DTYPES:
        raise TypeError(f"dtype must be 'float32' or 'float64', got {dt}")
    return dt


def init_scheme(init):
    """The initial-weights scheme's name; checked here, as a model built from a state draws none."""
    if not isinstance(init, str) or init not in _init.SCHEMES:
        raise ValueError(f"init {init!r} is unknown; choose one of {', '.join(_init.SCHEMES)}")
    return init


def l2_penalty(l2, alpha=None):
    """The L2 penalty: ``l2``, or ``alpha`` (its old name, which the caller warns about) when given."""
    if alpha is None:
        return check.number(l2, "l2", low=0.0)
    if l2 != 0:
        raise TypeError("give the L2 penalty as l2 or as alpha (its old name), not both")
    return check.number(alpha, "alpha", low=0.0)


def config_l2(config: dict):
    """A state config's L2 penalty: "l2", or "alpha" in states and files saved before the rename."""
    if "l2" in config and "alpha" in config:
        raise ValueError("config holds both 'l2' and 'alpha' (l2's old name); keep one")
    key = "alpha" if "alpha" in config else "l2"
    return check.number(config.get(key, 0.0), key, low=0.0)
