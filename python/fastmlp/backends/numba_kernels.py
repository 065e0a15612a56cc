"""The Numba backend's compiled kernels; `backends/numba.py` checks arguments and calls these.

Every kernel mirrors a function of `backends/numpy.py` operation by operation, so that float64
results agree to a few ulps (float32 closely too): constants are cast to the array's dtype
where NumPy would cast them (``t(0.5) * z``), sums use NumPy's pairwise order where NumPy uses
it (`pairwise_sum`), and nothing calls NumPy's BLAS. All kernels are ``@njit(cache=True)``
with ``fastmath=False`` (the GEMM micro-kernel allows FMA contraction only) and no
``parallel=True``: results are deterministic and a fresh process loads them from the on-disk
cache instead of compiling.

Arrays reaching these kernels are C-contiguous (the wrappers copy strided inputs) except
the GEMM's operands, which arrive as 1-D views over their memory plus element strides, so one
compiled GEMM serves every layout, transposition and stride sign.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# codes the wrappers translate names into (the order of _checks.ACTIVATIONS / LOSSES)
IDENTITY, RELU, LEAKY_RELU, SIGMOID, TANH, GELU, SOFTMAX = range(7)
MSE, CROSS_ENTROPY, BINARY_CROSS_ENTROPY, MAE, HUBER = range(5)
SGD, ADAM, ADAMW, RMSPROP = range(4)

LEAKY_RELU_SLOPE = 0.01  # as backends/numpy.py
HUBER_DELTA = 1.0
SQRT2 = math.sqrt(2.0)  # numpy.py divides by np.sqrt(2) in float64
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)  # numpy.py: 1 / np.sqrt(2 * np.pi)

# --- GEMM blocking ----------------------------------------------------------------------------
# BLIS's loops around a micro-kernel: jc (NC columns of C) -> pc (KC of the inner dimension;
# op(b)'s KC x NC panel is packed into contiguous rows) -> ir (MR rows; op(a)'s MR x KC
# micro-panel is packed) -> micro-kernel: MR rows of C times the whole packed panel. BLIS's ic
# loop is not needed (each A micro-panel is packed right before use and stays in L1), and its
# jr loop is the micro-kernel's innermost j loop, which LLVM vectorises (zmm registers with
# AVX-512). Numba cannot hold an MR x NR tile of C in registers, so C is accumulated in memory
# (L1); speed comes from doing KU multiply-adds per load and store of an element of C and
# using each loaded element of B for MR rows. The B panel, KC*NC*8 = 512 KiB in float64,
# sits in L2. Measured on AVX-512: ~100 GFLOP/s float32, ~55 float64 on one core.
MR, KU = 2, 4  # the micro-kernel is written out for 2 rows of C and 4 steps of p per pass
KC, NC = 256, 256
PACK_NR = 16  # strip width of _pack_b


@njit(cache=True)
def _pack_a(a, a_off, rsa, csa, i0, mr, pc, kc, ap):
    # ap[i, p] = op(a)[i0 + i, pc + p] for i < mr; missing edge rows are zero
    for i in range(MR):
        if i < mr:
            row = a_off + (i0 + i) * rsa + pc * csa
            for p in range(kc):
                ap[i, p] = a[row + p * csa]
        else:
            for p in range(kc):
                ap[i, p] = 0


@njit(cache=True)
def _pack_b(b, b_off, rsb, csb, pc, kc, jc, nc, bp):
    # bp[p, j] = op(b)[pc + p, jc + j]: each row of the panel becomes contiguous. Copied in
    # strips of PACK_NR columns so that a transposed b (reads strided in j) touches only
    # PACK_NR cache lines per strip instead of one line per column of the panel.
    for j0 in range(0, nc, PACK_NR):
        j1 = min(j0 + PACK_NR, nc)
        for p in range(kc):
            row = b_off + (pc + p) * rsb + jc * csb
            for j in range(j0, j1):
                bp[p, j] = b[row + j * csb]


# fastmath={'contract'} only lets LLVM fuse each ``x + y * z`` into one FMA (a single rounding
# instead of two, as BLAS does); with no other fast-math flag the sum over p keeps its order
# and NaN/Inf/signed-zero semantics hold. Vectorising across the independent j is exact anyway.
@njit(cache=True, fastmath={"contract"})
def _micro_kernel(kc, nc, ap, bp, c0, c1):
    # c0[:nc] += ap[0, :kc] @ bp[:kc, :nc] and c1[:nc] += ap[1, :kc] @ bp[:kc, :nc], adding the
    # terms in p order. c0, c1 and the rows of bp are contiguous 1-D views indexed by j from
    # range(): LLVM sees unit-stride, non-negative indices and vectorises the j loops. (Numba
    # wraps negative indices, so an index such as ``off + j`` of unknown sign adds a compare
    # and select to every access, and that alone kept the old kernel scalar.)
    p_end = kc - kc % KU
    for p in range(0, p_end, KU):
        a00, a01, a02, a03 = ap[0, p], ap[0, p + 1], ap[0, p + 2], ap[0, p + 3]
        a10, a11, a12, a13 = ap[1, p], ap[1, p + 1], ap[1, p + 2], ap[1, p + 3]
        b0, b1, b2, b3 = bp[p], bp[p + 1], bp[p + 2], bp[p + 3]
        for j in range(nc):
            c0[j] = (((c0[j] + a00 * b0[j]) + a01 * b1[j]) + a02 * b2[j]) + a03 * b3[j]
            c1[j] = (((c1[j] + a10 * b0[j]) + a11 * b1[j]) + a12 * b2[j]) + a13 * b3[j]
    for p in range(p_end, kc):  # the last kc % KU steps one at a time
        a0, a1 = ap[0, p], ap[1, p]
        b0 = bp[p]
        for j in range(nc):
            c0[j] += a0 * b0[j]
            c1[j] += a1 * b0[j]


@njit(cache=True)
def gemm(k, a, a_off, rsa, csa, b, b_off, rsb, csb, c):
    """c = op(a) @ op(b) for C-contiguous c (m, n); c's old contents are never read.

    op(a)[i, p] is ``a[a_off + i*rsa + p*csa]`` of the 1-D array ``a`` (strides in elements, any
    sign): a transposed operand is the same memory with its two strides swapped. Likewise
    op(b)[p, j] is ``b[b_off + p*rsb + j*csb]``. One compiled variant serves every layout.
    """
    m, n = c.shape
    if m == 0 or n == 0:
        return
    if k == 0:
        c[:, :] = 0
        return
    ap = np.empty((MR, min(KC, k)), c.dtype)
    bp = np.empty((min(KC, k), min(NC, n)), c.dtype)
    spare = np.empty(min(NC, n), c.dtype)  # stands in for C's missing rows in an edge micro-panel
    for jc in range(0, n, NC):
        nc = min(NC, n - jc)
        for pc in range(0, k, KC):
            kc = min(KC, k - pc)
            _pack_b(b, b_off, rsb, csb, pc, kc, jc, nc, bp)
            for ir in range(0, m, MR):
                mr = min(MR, m - ir)
                _pack_a(a, a_off, rsa, csa, ir, mr, pc, kc, ap)
                c0 = c[ir, jc:jc + nc]
                c1 = c[ir + 1, jc:jc + nc] if mr == MR else spare[:nc]
                if pc == 0:  # the first pc block starts the sums: C is written, never read
                    c0[:] = 0
                    c1[:] = 0
                _micro_kernel(kc, nc, ap, bp, c0, c1)


@njit(cache=True)
def matmul_kernel(k, a, a_off, rsa, csa, b, b_off, rsb, csb, alpha, beta, out):
    """out = alpha * (op(a) @ op(b)) + beta * out (operands as in `gemm`); beta == 0 never reads out."""
    m, n = out.shape
    if beta == 0:
        gemm(k, a, a_off, rsa, csa, b, b_off, rsb, csb, out)
        if k:
            for i in range(m):
                for j in range(n):
                    out[i, j] = alpha * out[i, j]
        return
    product = np.empty_like(out)
    gemm(k, a, a_off, rsa, csa, b, b_off, rsb, csb, product)
    for i in range(m):
        for j in range(n):
            p = alpha * product[i, j] if k else product[i, j]
            out[i, j] = p + beta * out[i, j]


@njit(cache=True)
def gemm_c(a, trans_a, b, trans_b, c):
    """c = op(a) @ op(b) for C-contiguous 2-D a, b and c (the training path's operands)."""
    if trans_a:
        k, rsa, csa = a.shape[0], 1, a.shape[1]
    else:
        k, rsa, csa = a.shape[1], a.shape[1], 1
    if trans_b:
        rsb, csb = 1, b.shape[1]
    else:
        rsb, csb = b.shape[1], 1
    gemm(k, a.reshape(a.size), 0, rsa, csa, b.reshape(b.size), 0, rsb, csb, c)


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
def loss_kernel(code, output, labels, targets, use_labels, grad, scratch):
    """Mean loss (in the dtype) of C-contiguous output (batch, n_out); grad receives dLoss/doutput.

    ``labels`` (int64, batch) are used when ``use_labels``, else ``targets`` (batch, n_out).
    ``scratch`` is a (batch, n_out) work array.
    """
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
    else:  # BINARY_CROSS_ENTROPY: max(o, 0) - o*t + log1p(exp(-|o|)), sigmoid fused
        for i in range(size):
            o = of[i]
            mx = o if (o >= 0 or o != o) else t(0)
            sf[i] = mx - o * tf[i] + np.log1p(np.exp(-abs(o)))
            gf[i] = (_sigmoid(o) - tf[i]) / tsize
    return _mean(sf)


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


# --- optimizers (1-D C-contiguous views of param, grad and slots; constants in the dtype) --------


@njit(cache=True)
def sgd_kernel(param, grad, velocity, lr, momentum, nesterov, weight_decay):
    # g = grad + wd*param; v = mom*v + g; direction g + mom*v (nesterov) or v; param -= lr*dir
    for i in range(param.size):
        g = grad[i] + weight_decay * param[i] if weight_decay else grad[i]
        if momentum:
            v = velocity[i] * momentum + g
            velocity[i] = v
            g = g + momentum * v if nesterov else v
        param[i] -= lr * g


@njit(cache=True)
def adam_kernel(param, grad, m, v, lr_corrected, beta1, one_minus_beta1, beta2, one_minus_beta2,
                bias_correction2_sqrt, eps, weight_decay, decay_factor, decoupled):
    # constants are numpy.py's: t(lr / bias_correction1), t(1 - beta1), t(1 - lr * weight_decay), ...
    for i in range(param.size):
        p = param[i]
        if weight_decay and decoupled:
            p = p * decay_factor
        g = grad[i] + weight_decay * p if weight_decay and not decoupled else grad[i]
        mi = m[i] * beta1 + one_minus_beta1 * g
        vi = v[i] * beta2 + one_minus_beta2 * g * g
        m[i] = mi
        v[i] = vi
        denom = np.sqrt(vi) / bias_correction2_sqrt + eps
        param[i] = p - lr_corrected * (mi / denom)


@njit(cache=True)
def rmsprop_kernel(param, grad, square_avg, velocity, lr, alpha, one_minus_alpha, eps, momentum,
                   weight_decay):
    for i in range(param.size):
        g = grad[i] + weight_decay * param[i] if weight_decay else grad[i]
        s = square_avg[i] * alpha + one_minus_alpha * g * g
        square_avg[i] = s
        update = g / (np.sqrt(s) + eps)
        if momentum:
            update = velocity[i] * momentum + update
            velocity[i] = update
        param[i] -= lr * update


@njit(cache=True)
def _optimizer_update(param, grad, sm, sv, opt_code, step, lr, momentum, nesterov, weight_decay,
                      beta1, beta2, eps, alpha):
    # numpy.py _apply_optimizer for one parameter; hyperparameters arrive as float64 and are
    # combined in float64 before the cast, exactly as numpy.py's t(...) expressions do
    t = param.dtype.type
    if opt_code == SGD:
        sgd_kernel(param, grad, sm, t(lr), t(momentum), nesterov, t(weight_decay))
    elif opt_code == RMSPROP:  # square_avg = slot_v, velocity = slot_m
        rmsprop_kernel(param, grad, sv, sm, t(lr), t(alpha), t(1 - alpha), t(eps), t(momentum),
                       t(weight_decay))
    else:
        bias_correction1 = 1 - beta1 ** np.float64(step)
        bias_correction2_sqrt = np.sqrt(1 - beta2 ** np.float64(step))
        adam_kernel(param, grad, sm, sv, t(lr / bias_correction1), t(beta1), t(1 - beta1), t(beta2),
                    t(1 - beta2), t(bias_correction2_sqrt), t(eps), t(weight_decay),
                    t(1 - lr * weight_decay), opt_code == ADAMW)


# --- training -----------------------------------------------------------------------------------


@njit(cache=True)
def train_batches(weights, biases, slots_m, slots_v, act_codes, loss_code, opt_code, lr, momentum,
                  nesterov, weight_decay, beta1, beta2, eps, alpha, X, labels, targets, use_labels,
                  order, batch_size, first_batch, n_batches, state, loss_sum):
    """Train on batches first_batch .. first_batch+n_batches-1 of ``order`` (numpy.py train_step on
    each ``X[order[i:i + batch_size]]``). Workspaces are allocated once per call.

    slots_m / slots_v are tuples of 1-D views (w0, b0, w1, b1, ...); act_codes a tuple of ints.
    state (int64): [step, n_correct, bad_batch], updated after every batch; a non-finite
    loss stores its batch index in bad_batch and returns before that batch's update; returns (loss_sum, last_loss)
    where loss_sum accumulates each batch's mean loss times its size, as numpy.py train_epoch.
    """
    n_layers = len(weights)
    bs = min(batch_size, order.size)
    n_out = weights[n_layers - 1].shape[1]
    # workspaces: a batch of x, z and a per layer, grad_a/grad_z per layer, grads of parameters
    xb = np.empty((bs, X.shape[1]), X.dtype)
    zs = [np.empty((bs, w.shape[1]), X.dtype) for w in weights]
    acts = [np.empty((bs, w.shape[1]), X.dtype) for w in weights]
    grad_as = [np.empty((bs, w.shape[1]), X.dtype) for w in weights]
    grad_zs = [np.empty((bs, w.shape[1]), X.dtype) for w in weights]
    grad_ws = [np.empty_like(w) for w in weights]
    grad_bs = [np.empty_like(b) for b in biases]
    scratch = np.empty((bs, n_out), X.dtype)
    lb = np.empty(bs if use_labels else 0, np.int64)
    tb = np.empty((0 if use_labels else bs, n_out), X.dtype)
    last_loss = 0.0
    for batch in range(first_batch, first_batch + n_batches):
        start = batch * batch_size
        rows = min(batch_size, order.size - start)
        x = xb[:rows]
        for r in range(rows):
            src = order[start + r]
            for j in range(X.shape[1]):
                x[r, j] = X[src, j]
            if use_labels:
                lb[r] = labels[src]
            else:
                for j in range(n_out):
                    tb[r, j] = targets[src, j]
        y_labels = lb[:rows]
        y_targets = tb[:rows]
        # forward
        inp = x
        for i in range(n_layers):
            dense_forward_kernel(inp, weights[i], biases[i], act_codes[i], zs[i][:rows], acts[i][:rows])
            inp = acts[i][:rows]
        out = acts[n_layers - 1][:rows]
        grad_out = grad_as[n_layers - 1][:rows]
        loss = loss_kernel(loss_code, out, y_labels, y_targets, use_labels, grad_out, scratch[:rows])
        if not np.isfinite(loss):  # stop before the NaN/Inf gradient reaches the weights
            state[2] = batch
            return loss_sum, loss
        state[1] += count_correct_kernel(loss_code, out, y_labels, y_targets, use_labels)
        # backward, last layer first
        for i in range(n_layers - 1, -1, -1):
            layer_in = acts[i - 1][:rows] if i else x
            grad_x = grad_as[i - 1][:rows] if i else grad_as[0][:0]
            dense_backward_kernel(layer_in, weights[i], zs[i][:rows], acts[i][:rows], grad_as[i][:rows],
                                  act_codes[i], grad_zs[i][:rows], grad_x, grad_ws[i], grad_bs[i], i > 0)
        # optimizer, step counts from 1
        state[0] += 1
        for i in range(n_layers):
            w = weights[i]
            _optimizer_update(w.reshape(w.size), grad_ws[i].reshape(w.size), slots_m[2 * i], slots_v[2 * i],
                              opt_code, state[0], lr, momentum, nesterov, weight_decay, beta1, beta2,
                              eps, alpha)
            _optimizer_update(biases[i], grad_bs[i], slots_m[2 * i + 1], slots_v[2 * i + 1], opt_code,
                              state[0], lr, momentum, nesterov, weight_decay, beta1, beta2, eps, alpha)
        last_loss = np.float64(loss)
        loss_sum += last_loss * rows
    return loss_sum, last_loss
