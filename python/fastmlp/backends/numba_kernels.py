"""The Numba backend's compiled kernels; `backends/numba.py` checks arguments and calls these.

Every kernel mirrors a function of `backends/numpy.py` operation by operation, so that float64
results agree to a few ulps (float32 closely too): constants are cast to the array's dtype
where NumPy would cast them (``t(0.5) * z``), sums use NumPy's pairwise order where NumPy uses
it (`pairwise_sum`), and nothing calls NumPy's BLAS. All kernels are ``@njit(cache=True)``
with ``fastmath=False`` (the GEMM in numba_gemm.py allows FMA contraction only) and no
``parallel=True``: results are deterministic and a fresh process loads them from the on-disk
cache instead of compiling.

Arrays reaching these kernels are C-contiguous (the wrappers copy strided inputs); the GEMM
(numba_gemm.py) takes any strides.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..names import ACTIVATION_CODE, LOSS_CODE, OPTIMIZER_CODE
from .numba_gemm import gemm_c

# the codes the wrappers pass for names (fastmlp.names: a code is the name's position)
IDENTITY = ACTIVATION_CODE["identity"]
RELU = ACTIVATION_CODE["relu"]
LEAKY_RELU = ACTIVATION_CODE["leaky_relu"]
SIGMOID = ACTIVATION_CODE["sigmoid"]
TANH = ACTIVATION_CODE["tanh"]
GELU = ACTIVATION_CODE["gelu"]
SOFTMAX = ACTIVATION_CODE["softmax"]
MSE = LOSS_CODE["mse"]
CROSS_ENTROPY = LOSS_CODE["cross_entropy"]
BINARY_CROSS_ENTROPY = LOSS_CODE["binary_cross_entropy"]
MAE = LOSS_CODE["mae"]
HUBER = LOSS_CODE["huber"]
POISSON = LOSS_CODE["poisson"]
SGD = OPTIMIZER_CODE["sgd"]
ADAM = OPTIMIZER_CODE["adam"]
ADAMW = OPTIMIZER_CODE["adamw"]
RMSPROP = OPTIMIZER_CODE["rmsprop"]

LEAKY_RELU_SLOPE = 0.01  # as backends/numpy.py
HUBER_DELTA = 1.0
SQRT2 = math.sqrt(2.0)  # numpy.py divides by np.sqrt(2) in float64
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)  # numpy.py: 1 / np.sqrt(2 * np.pi)

# --- sums in NumPy's order ----------------------------------------------------------------------


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
def _mean(flat):
    # np.mean: pairwise sum in the dtype, divided by the count as np.intp (float64), cast back
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
def _row_max(z, i):
    # z[i].max(): NaN propagates
    m = z[i, 0]
    for j in range(1, z.shape[1]):
        v = z[i, j]
        if v > m or v != v:
            m = v
    return m


@njit(cache=True)
def _row_argmax(z, i):
    # np.argmax: the first maximum; a NaN counts as the maximum (the first NaN wins)
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


# --- activations --------------------------------------------------------------------------------


@njit(cache=True)
def _sigmoid(v):
    # two branches so exp never overflows (numpy.py _sigmoid)
    t = type(v)
    e = np.exp(-abs(v))
    if v >= 0:
        return t(1) / (t(1) + e)
    return e / (t(1) + e)


@njit(cache=True)
def _gaussian_cdf(v):
    # computed in float64 with erf, cast to the dtype (numpy.py _gaussian_cdf)
    return type(v)(0.5 * (1.0 + math.erf(np.float64(v) / SQRT2)))


@njit(cache=True)
def activation_forward_kernel(code, z, a):
    """a = f(z) for C-contiguous (batch, n) z and a (a may be z itself except for softmax)."""
    t = z.dtype.type
    if code == SOFTMAX:
        for i in range(z.shape[0]):
            m = _row_max(z, i)
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
            af[i] = _sigmoid(zf[i])
    elif code == TANH:
        for i in range(zf.size):
            af[i] = np.tanh(zf[i])
    else:  # GELU
        for i in range(zf.size):
            v = zf[i]
            af[i] = v * _gaussian_cdf(v)


@njit(cache=True)
def activation_backward_kernel(code, z, a, grad_a, grad_z):
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


# --- dense layer --------------------------------------------------------------------------------


@njit(cache=True)
def dense_forward_kernel(x, w, b, code, z, a):
    """z = x @ w + b; a = f(z)."""
    gemm_c(x, False, w, False, z)
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            z[i, j] += b[j]
    activation_forward_kernel(code, z, a)


@njit(cache=True)
def dense_backward_kernel(x, w, z, a, grad_a, code, grad_z, grad_x, grad_w, grad_b, want_grad_x):
    """grad_z = f'(z) grad_a; grad_w = x.T @ grad_z; grad_b = sum of grad_z's rows; grad_x = grad_z @ w.T."""
    activation_backward_kernel(code, z, a, grad_a, grad_z)
    gemm_c(x, True, grad_z, False, grad_w)
    column_sums(grad_z, grad_b)
    if want_grad_x:
        gemm_c(grad_z, False, w, True, grad_x)


# --- losses -------------------------------------------------------------------------------------


@njit(cache=True)
def _sign(d):
    if d > 0:
        return type(d)(1)
    if d < 0:
        return type(d)(-1)
    return d  # 0 stays 0, NaN stays NaN (np.sign)


@njit(cache=True)
def loss_kernel(code, output, labels, targets, use_labels, sample_weight, class_weight, rows, grad,
                scratch):
    """Mean loss (in the dtype) of C-contiguous output (batch, n_out); grad receives dLoss/doutput.

    ``labels`` (int64, batch) are used when ``use_labels``, else ``targets`` (batch, n_out).
    ``sample_weight`` (batch,) and ``class_weight`` (n_out,) are empty when not given; with
    either, the weighted loss (numpy.py _weighted_loss) runs and ``rows[0]`` receives each
    row's weight. ``rows`` is a (2, batch) and ``scratch`` a (batch, n_out) work array.
    """
    if sample_weight.size or class_weight.size:
        return _weighted_loss_kernel(code, output, labels, targets, use_labels, sample_weight,
                                     class_weight, rows, grad, scratch)
    t = output.dtype.type
    batch, n_out = output.shape
    size = output.size
    of = output.reshape(size)
    gf = grad.reshape(size)
    sf = scratch.reshape(size)
    if code == CROSS_ENTROPY:
        for i in range(batch):
            m = _row_max(output, i)
            for j in range(n_out):
                grad[i, j] = np.exp(output[i, j] - m)  # exp(shifted), summed below
            lse = np.log(pairwise_sum(grad[i], 0, n_out))
            for j in range(n_out):
                scratch[i, j] = (output[i, j] - m) - lse  # log_prob
        tb = t(batch)
        for i in range(batch):
            for j in range(n_out):
                if use_labels:
                    target = t(1) if labels[i] == j else t(0)
                else:
                    target = targets[i, j]
                grad[i, j] = (np.exp(scratch[i, j]) - target) / tb
                scratch[i, j] = target * scratch[i, j]
        return -pairwise_sum(sf, 0, size) / tb
    tf = targets.reshape(size)
    tsize = t(size)
    if code == MSE:
        c = t(2 / size)
        for i in range(size):
            d = of[i] - tf[i]
            sf[i] = d * d
            gf[i] = c * d
    elif code == MAE:
        for i in range(size):
            d = of[i] - tf[i]
            sf[i] = abs(d)
            gf[i] = _sign(d) / tsize
    elif code == HUBER:
        delta = t(HUBER_DELTA)
        half = t(0.5)
        half_delta = t(0.5 * HUBER_DELTA)
        for i in range(size):
            d = of[i] - tf[i]
            ad = abs(d)
            if ad <= delta:
                sf[i] = half * d * d
                gf[i] = d / tsize
            else:
                sf[i] = delta * (ad - half_delta)
                gf[i] = (delta * _sign(d)) / tsize
    elif code == POISSON:  # exp(o) - t o, grad (exp(o) - t) / size
        for i in range(size):
            rate = np.exp(of[i])
            sf[i] = rate - tf[i] * of[i]
            gf[i] = (rate - tf[i]) / tsize
    else:  # BINARY_CROSS_ENTROPY: max(o, 0) - o*t + log1p(exp(-|o|)), sigmoid fused
        for i in range(size):
            o = of[i]
            mx = o if (o >= 0 or o != o) else t(0)
            sf[i] = mx - o * tf[i] + np.log1p(np.exp(-abs(o)))
            gf[i] = (_sigmoid(o) - tf[i]) / tsize
    return _mean(sf)


@njit(cache=True)
def _weighted_loss_kernel(code, output, labels, targets, use_labels, sample_weight, class_weight,
                          rows, grad, scratch):
    # numpy_unchecked.py loss_row_weights and _weighted_loss: scratch holds per-element losses (the row sums
    # are l_i), grad the per-row gradients d l_i / d output_i, then both are weighted
    t = output.dtype.type
    batch, n_out = output.shape
    s = rows[0]
    weighted_rows = rows[1]
    for i in range(batch):
        w = sample_weight[i] if sample_weight.size else t(1)
        if class_weight.size:
            w = w * class_weight[labels[i] if use_labels else _row_argmax(targets, i)]
        s[i] = w
    if code == CROSS_ENTROPY:
        for i in range(batch):
            m = _row_max(output, i)
            for j in range(n_out):
                grad[i, j] = np.exp(output[i, j] - m)
            lse = np.log(pairwise_sum(grad[i], 0, n_out))
            for j in range(n_out):
                log_prob = (output[i, j] - m) - lse
                target = (t(1) if labels[i] == j else t(0)) if use_labels else targets[i, j]
                grad[i, j] = np.exp(log_prob) - target
                scratch[i, j] = target * log_prob
            weighted_rows[i] = -pairwise_sum(scratch[i], 0, n_out)  # l_i for now
    else:
        inv_n = t(1) / t(n_out)
        half = t(0.5)
        delta = t(HUBER_DELTA)
        half_delta = t(0.5 * HUBER_DELTA)
        for i in range(batch):
            for j in range(n_out):
                o = output[i, j]
                d = o - targets[i, j]
                if code == MSE:
                    e, g = d * d, t(2) * d
                elif code == MAE:
                    e, g = abs(d), _sign(d)
                elif code == HUBER:
                    if abs(d) <= delta:
                        e, g = half * d * d, d
                    else:
                        e, g = delta * (abs(d) - half_delta), delta * _sign(d)
                elif code == POISSON:
                    rate = np.exp(o)
                    e, g = rate - targets[i, j] * o, rate - targets[i, j]
                else:  # BINARY_CROSS_ENTROPY
                    mx = o if (o >= 0 or o != o) else t(0)
                    e = mx - o * targets[i, j] + np.log1p(np.exp(-abs(o)))
                    g = _sigmoid(o) - targets[i, j]
                scratch[i, j] = e
                grad[i, j] = g * inv_n
            weighted_rows[i] = pairwise_sum(scratch[i], 0, n_out) / t(n_out)  # l_i for now
    total = pairwise_sum(s, 0, batch)
    if total == 0:  # 0/0 is NaN in numpy.py; Numba's Python semantics would raise instead
        for i in range(batch):
            for j in range(n_out):
                grad[i, j] = t(np.nan)
        return t(np.nan)
    for i in range(batch):
        weighted_rows[i] = s[i] * weighted_rows[i]
    loss = pairwise_sum(weighted_rows, 0, batch) / total
    for i in range(batch):
        share = s[i] / total
        for j in range(n_out):
            grad[i, j] = grad[i, j] * share
    return loss


@njit(cache=True)
def count_correct_kernel(code, output, labels, targets, use_labels):
    """numpy.py _count_correct: argmax hits for cross_entropy, all-sides-right rows for BCE."""
    n = 0
    if code == CROSS_ENTROPY:
        for i in range(output.shape[0]):
            label = labels[i] if use_labels else _row_argmax(targets, i)
            if _row_argmax(output, i) == label:
                n += 1
    elif code == BINARY_CROSS_ENTROPY:
        for i in range(output.shape[0]):
            ok = True
            for j in range(output.shape[1]):
                if (output[i, j] > 0) != (targets[i, j] > 0.5):
                    ok = False
                    break
            n += ok
    return n
