"""Sums and row scans for the Numba kernels, in exactly NumPy's order.

NumPy adds a contiguous axis pairwise (`pairwise_sum`) and other axes row by row
(`column_sums`); the kernels call these wherever numpy_unchecked.py calls ``sum``/``mean``/
``max``/``argmax``, so float results match the oracle bit for bit.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def _pairwise_block(x, lo, n):
    # NumPy's leaf: up to 7 terms in turn, else 8 accumulators over n <= 128 terms
    if n < 8:
        res = x.dtype.type(-0.0)
        for i in range(n):
            res += x[lo + i]
        return res
    r0, r1, r2, r3 = x[lo], x[lo + 1], x[lo + 2], x[lo + 3]
    r4, r5, r6, r7 = x[lo + 4], x[lo + 5], x[lo + 6], x[lo + 7]
    i = 8
    stop = n - n % 8
    while i < stop:
        r0 += x[lo + i]
        r1 += x[lo + i + 1]
        r2 += x[lo + i + 2]
        r3 += x[lo + i + 3]
        r4 += x[lo + i + 4]
        r5 += x[lo + i + 5]
        r6 += x[lo + i + 6]
        r7 += x[lo + i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += x[lo + i]
        i += 1
    return res


@njit(cache=True)
def pairwise_sum(x, lo, n):
    """Sum of x[lo:lo+n] in exactly the order of NumPy's pairwise summation (np.add.reduce over
    a contiguous axis): leaves of <= 128 terms, larger ranges split in halves (n/2 rounded down
    to a multiple of 8) and the halves' sums added. NumPy recurses; this walks the same tree
    with an explicit stack (Numba's on-disk cache crashes on recursive functions)."""
    if n <= 128:
        return _pairwise_block(x, lo, n)
    node_lo = np.empty(192, np.int64)
    node_n = np.empty(192, np.int64)
    node_combine = np.empty(192, np.bool_)
    vals = np.empty(96, x.dtype)
    sp = 0
    vp = 0
    node_lo[0], node_n[0], node_combine[0] = lo, n, False
    sp = 1
    while sp:
        sp -= 1
        lo_i, n_i, combine = node_lo[sp], node_n[sp], node_combine[sp]
        if combine:  # both halves are on the value stack: left + right
            vp -= 1
            vals[vp - 1] = vals[vp - 1] + vals[vp]
        elif n_i <= 128:
            vals[vp] = _pairwise_block(x, lo_i, n_i)
            vp += 1
        else:
            n2 = n_i // 2
            n2 -= n2 % 8
            node_lo[sp], node_n[sp], node_combine[sp] = lo_i, n_i, True
            node_lo[sp + 1], node_n[sp + 1], node_combine[sp + 1] = lo_i + n2, n_i - n2, False
            node_lo[sp + 2], node_n[sp + 2], node_combine[sp + 2] = lo_i, n2, False  # left first
            sp += 3
    return vals[0]


@njit(cache=True)
def mean(flat):
    """np.mean: pairwise sum in the dtype, divided by the count as np.intp (float64), cast back."""
    return flat.dtype.type(np.float64(pairwise_sum(flat, 0, flat.size)) / flat.size)


@njit(cache=True)
def column_sums(g, out):
    """out = g.sum(axis=0): NumPy adds rows in turn, or sums pairwise when g has one column."""
    batch, n = g.shape
    if n == 1:
        out[0] = pairwise_sum(g.reshape(g.size), 0, batch)
        return
    for j in range(n):
        out[j] = -0.0
    for i in range(batch):
        for j in range(n):
            out[j] += g[i, j]


@njit(cache=True)
def row_max(z, i):
    """z[i].max(): NaN propagates."""
    m = z[i, 0]
    for j in range(1, z.shape[1]):
        v = z[i, j]
        if v > m or v != v:
            m = v
    return m


@njit(cache=True)
def row_argmax(z, i):
    """np.argmax(z[i]): the first maximum; a NaN counts as the maximum (the first NaN wins)."""
    best = 0
    m = z[i, 0]
    if m != m:
        return 0
    for j in range(1, z.shape[1]):
        v = z[i, j]
        if v != v:
            return j
        if v > m:
            m = v
            best = j
    return best
