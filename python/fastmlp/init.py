"""Weight initialisation: Glorot (Xavier) uniform and He (Kaiming) normal, seeded.

He keeps the variance of ReLU-like layers' outputs constant (gain 2 / n_in); Glorot balances
forward and backward variance for symmetric activations (tanh, sigmoid, identity). Biases
start at zero.
"""

from __future__ import annotations

import numpy as np

RELU_LIKE = ("relu", "leaky_relu", "gelu")
SCHEMES = ("auto", "glorot", "he")


def glorot_uniform(n_in: int, n_out: int, rng: np.random.Generator) -> np.ndarray:
    """U(-limit, limit) with limit = sqrt(6 / (n_in + n_out)) (Glorot & Bengio, 2010)."""
    limit = np.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-limit, limit, size=(n_in, n_out))


def he_normal(n_in: int, n_out: int, rng: np.random.Generator) -> np.ndarray:
    """N(0, 2 / n_in) (He et al., 2015)."""
    return rng.standard_normal((n_in, n_out)) * np.sqrt(2.0 / n_in)


def initialize(layer_sizes, activations, dtype, seed, scheme="auto"):
    """Weights (n_in, n_out) and zero biases for every layer; returns (weights, biases).

    ``scheme`` "auto" uses He for a layer feeding a ReLU-like activation and Glorot otherwise.
    Draws happen in float64 and are then cast, so float32 and float64 models built with the
    same seed start from the same numbers (rounded).
    """
    if scheme not in SCHEMES:
        raise ValueError(f"init {scheme!r} is unknown; choose one of {', '.join(SCHEMES)}")
    rng = np.random.default_rng(seed)
    weights, biases = [], []
    for n_in, n_out, act in zip(layer_sizes[:-1], layer_sizes[1:], activations):
        use_he = scheme == "he" or (scheme == "auto" and act in RELU_LIKE)
        weights.append(_draw(n_in, n_out, rng, use_he, np.dtype(dtype)))
        biases.append(np.zeros(n_out, dtype=dtype))
    return weights, biases


# Rows drawn per float64 block: the draws equal one big draw (the generator fills sequentially),
# but the peak stays the model plus ~8 MiB, not the model plus a float64 copy and a temporary.
_BLOCK_ELEMENTS = 1 << 20


def _draw(n_in: int, n_out: int, rng: np.random.Generator, use_he: bool, dtype: np.dtype) -> np.ndarray:
    """The same numbers as ``(he_normal or glorot_uniform)(n_in, n_out, rng).astype(dtype)``."""
    out = np.empty((n_in, n_out), dtype)
    rows = max(1, _BLOCK_ELEMENTS // max(1, n_out))
    scratch = np.empty((min(rows, n_in), n_out), np.float64)
    scale = np.sqrt(2.0 / n_in)
    limit = np.sqrt(6.0 / (n_in + n_out))
    for start in range(0, n_in, rows):
        block = scratch[:min(rows, n_in - start)]
        if use_he:
            rng.standard_normal(out=block)
            block *= scale
        else:
            block[...] = rng.uniform(-limit, limit, size=block.shape)
        out[start:start + len(block)] = block
    return out
