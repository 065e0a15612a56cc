"""Numba's activations: numpy_unchecked.py activation_forward / activation_backward, compiled.

Constants are cast to the array's dtype where NumPy would cast them (``t(0.5) * z``) and softmax
sums in NumPy's pairwise order, so results agree with the oracle; `numba.py` checks arguments.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..names import ACTIVATION_CODE
from .numba_sums import pairwise_sum, row_max

# the codes the wrappers pass for names (fastmlp.names: a code is the name's position)
IDENTITY = ACTIVATION_CODE["identity"]
RELU = ACTIVATION_CODE["relu"]
LEAKY_RELU = ACTIVATION_CODE["leaky_relu"]
SIGMOID = ACTIVATION_CODE["sigmoid"]
TANH = ACTIVATION_CODE["tanh"]
GELU = ACTIVATION_CODE["gelu"]
SOFTMAX = ACTIVATION_CODE["softmax"]

LEAKY_RELU_SLOPE = 0.01  # as numpy_unchecked.py
SQRT2 = math.sqrt(2.0)  # the oracle divides by np.sqrt(2) in float64
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)  # the oracle's 1 / np.sqrt(2 * np.pi)


@njit(cache=True)
def sigmoid(v):
    """numpy_unchecked.sigmoid of one value: two branches so exp never overflows."""
    t = type(v)
    e = np.exp(-abs(v))
    if v >= 0:
        return t(1) / (t(1) + e)
    return e / (t(1) + e)


@njit(cache=True)
def _gaussian_cdf(v):
    # computed in float64 with erf, cast to the dtype (numpy_unchecked.py _gaussian_cdf)
    return type(v)(0.5 * (1.0 + math.erf(np.float64(v) / SQRT2)))


@njit(cache=True)
def activation_forward(code, z, a):
    """a = f(z) for C-contiguous (batch, n) z and a (a may be z itself except for softmax)."""
    t = z.dtype.type
    if code == SOFTMAX:
        for i in range(z.shape[0]):
            m = row_max(z, i)
            for j in range(z.shape[1]):
                a[i, j] = np.exp(z[i, j] - m)
            s = pairwise_sum(a[i], 0, a.shape[1])
            for j in range(z.shape[1]):
                a[i, j] = a[i, j] / s
        return
    zf = z.reshape(z.size)
    af = a.reshape(a.size)
    if code == IDENTITY:
        for i in range(zf.size):
            af[i] = zf[i]
    elif code == RELU:
        for i in range(zf.size):
            v = zf[i]
            af[i] = t(0) if v < 0 else v
    elif code == LEAKY_RELU:
        slope = t(LEAKY_RELU_SLOPE)
        for i in range(zf.size):
            v = zf[i]
            af[i] = v if v > 0 else v * slope
    elif code == SIGMOID:
        for i in range(zf.size):
            af[i] = sigmoid(zf[i])
    elif code == TANH:
        for i in range(zf.size):
            af[i] = np.tanh(zf[i])
    else:  # GELU
        for i in range(zf.size):
            v = zf[i]
            af[i] = v * _gaussian_cdf(v)


@njit(cache=True)
def activation_backward(code, z, a, grad_a, grad_z):
    """grad_z = grad_a * f'(z), all C-contiguous (batch, n); grad_z must not alias the others."""
    t = z.dtype.type
    one = t(1)
    if code == SOFTMAX:
        for i in range(z.shape[0]):
            for j in range(z.shape[1]):
                grad_z[i, j] = grad_a[i, j] * a[i, j]
            s = pairwise_sum(grad_z[i], 0, z.shape[1])
            for j in range(z.shape[1]):
                grad_z[i, j] = a[i, j] * (grad_a[i, j] - s)
        return
    zf = z.reshape(z.size)
    af = a.reshape(a.size)
    gf = grad_a.reshape(grad_a.size)
    out = grad_z.reshape(grad_z.size)
    if code == IDENTITY:
        for i in range(zf.size):
            out[i] = gf[i]
    elif code == RELU:
        for i in range(zf.size):
            out[i] = gf[i] if zf[i] > 0 else t(0)
    elif code == LEAKY_RELU:
        slope = t(LEAKY_RELU_SLOPE)
        for i in range(zf.size):
            out[i] = gf[i] if zf[i] > 0 else gf[i] * slope
    elif code == SIGMOID:
        for i in range(zf.size):
            out[i] = gf[i] * af[i] * (one - af[i])
    elif code == TANH:
        for i in range(zf.size):
            out[i] = gf[i] * (one - af[i] * af[i])
    else:  # GELU: Phi(z) + z * phi(z)
        c = t(INV_SQRT_2PI)
        half = t(-0.5)
        for i in range(zf.size):
            v = zf[i]
            pdf = np.exp(half * v * v) * c
            out[i] = gf[i] * (_gaussian_cdf(v) + v * pdf)
