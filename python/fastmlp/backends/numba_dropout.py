"""Numba's dropout masks: numpy_unchecked.py mix64 / dropout_mask, compiled."""

from __future__ import annotations

import numpy as np
from numba import njit

GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # splitmix64's increment
MIX1 = np.uint64(0xBF58476D1CE4E5B9)
MIX2 = np.uint64(0x94D049BB133111EB)


@njit(cache=True)
def mix64(z):
    """splitmix64's step, uint64 throughout: Numba would turn a uint64/int64 mix into float64."""
    z = z + GOLDEN
    z = (z ^ (z >> np.uint64(30))) * MIX1
    z = (z ^ (z >> np.uint64(27))) * MIX2
    return z ^ (z >> np.uint64(31))


@njit(cache=True)
def dropout_key(seed, step, layer):
    """The key of one layer's mask at one update."""
    return mix64(mix64(mix64(np.uint64(seed)) ^ np.uint64(step)) ^ np.uint64(layer))


@njit(cache=True)
def dropout_mask(key, p, mask):
    """mask (1-D) receives 0 or 1/(1-p) (the oracle's dropout_mask for elements 0 .. mask.size-1)."""
    t = mask.dtype.type
    keep = t(1.0 / (1.0 - p))
    for k in range(mask.size):
        bits = mix64(key ^ np.uint64(k))
        if mask.itemsize == 8:  # float64: 53 bits; float32: 24
            u = np.float64(bits >> np.uint64(11)) * 2.0**-53
        else:
            u = np.float64(bits >> np.uint64(40)) * 2.0**-24
        mask[k] = keep if u >= p else t(0)
