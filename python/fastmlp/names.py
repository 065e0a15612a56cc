"""The vocabulary: every activation, loss, optimizer and schedule name, their aliases, and the
integer codes the compiled kernels take.

A code is the name's position in its tuple. The C++ core declares the same tuples and
backends/cpp.py refuses to load a core whose order differs; the Numba kernels read their codes
from the ``*_CODE`` dicts here, so no backend keeps an order of its own.
"""

from __future__ import annotations

ACTIVATIONS = ("identity", "relu", "leaky_relu", "sigmoid", "tanh", "gelu", "softmax")
ACTIVATION_ALIASES = {"logistic": "sigmoid", "linear": "identity", "none": "identity"}
LOSSES = ("mse", "cross_entropy", "binary_cross_entropy", "mae", "huber", "poisson")
LOSS_ALIASES = {"squared_error": "mse", "log_loss": "cross_entropy", "bce": "binary_cross_entropy"}
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
SCHEDULES = ("constant", "step", "exponential", "cosine", "invscaling")


def codes(names: tuple) -> dict:
    """{name: its position in ``names``}: the integer a kernel takes for the name."""
    return {name: code for code, name in enumerate(names)}


ACTIVATION_CODE = codes(ACTIVATIONS)
LOSS_CODE = codes(LOSSES)
OPTIMIZER_CODE = codes(OPTIMIZERS)
SCHEDULE_CODE = codes(SCHEDULES)


def _choice(name, what: str, choices: tuple, aliases: dict) -> str:
    """The canonical spelling of ``name`` among ``choices``; unknown names list the choices."""
    if not isinstance(name, str):
        raise TypeError(f"{what} must be a str, got {type(name).__name__}")
    key = aliases.get(name.lower(), name.lower())
    if key not in choices:
        raise ValueError(f"{what} {name!r} is unknown; choose one of {', '.join(choices)}")
    return key


def activation_name(name) -> str:
    """Canonical activation name ('logistic' -> 'sigmoid')."""
    return _choice(name, "activation", ACTIVATIONS, ACTIVATION_ALIASES)


def loss_name(name) -> str:
    """Canonical loss name ('squared_error' -> 'mse')."""
    return _choice(name, "loss", LOSSES, LOSS_ALIASES)
