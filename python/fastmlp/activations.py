"""Activation functions by name, for users and learners.

The maths lives in the backends (`activation_forward` / `activation_backward`); this module
names them and applies them with the NumPy oracle, e.g. ``fastmlp.activations.apply("gelu", z)``.
"""

from __future__ import annotations

import numpy as np

from . import names
from .backends import numpy as oracle

NAMES = names.ACTIVATIONS
ALIASES = dict(names.ACTIVATION_ALIASES)
FORMULAS = {
    "identity": "f(z) = z",
    "relu": "f(z) = max(z, 0)",
    "leaky_relu": "f(z) = z if z > 0 else 0.01 z",
    "sigmoid": "f(z) = 1 / (1 + exp(-z))",
    "tanh": "f(z) = tanh(z)",
    "gelu": "f(z) = z * Phi(z), Phi the standard normal CDF",
    "softmax": "f(z)_j = exp(z_j) / sum_k exp(z_k)  (over each row)",
}


def canonical(name: str) -> str:
    """The canonical name of an activation ('logistic' -> 'sigmoid')."""
    return names.activation_name(name)


def apply(name: str, z) -> np.ndarray:
    """f(z) for a 1-D or 2-D array (computed by the NumPy oracle)."""
    z = np.asarray(z, dtype=np.float64)
    flat = z.ndim == 1
    a = oracle.activation_forward(name, z.reshape(1, -1) if flat else z)
    return a.ravel() if flat else a
