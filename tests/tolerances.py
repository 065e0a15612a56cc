"""Every tolerance of the kernel tests, each with the reason for its size (docs/tolerances.md).

The rule: a kernel result is compared with the NumPy oracle run in float64 on the *same* inputs
upcast, and the allowed error is c·u·G, where u is the working dtype's unit roundoff, G a
*gauge* (the sum of the absolute values of the terms the result is built from, so cancellation
is accounted for) and c the number of roundings on the way, stated per kernel. These bounds are
worst-case (Higham, "Accuracy and Stability of Numerical Algorithms", ch. 3), so they never
flake; a wrong index, a dropped term or a wrong formula gives an error of order G and fails.
Never `tol + |ref|` (llm.c dev/cpu style): that passes almost anything.
"""

from __future__ import annotations

import numpy as np

F32 = np.dtype(np.float32)
F64 = np.dtype(np.float64)


def unit_roundoff(dtype) -> float:
    """u = 2^-24 (float32) or 2^-53 (float64): the largest relative error of one rounding."""
    return {F32: 2.0**-24, F64: 2.0**-53}[np.dtype(dtype)]


def tiny(dtype) -> float:
    """Absolute slack for underflow: a few smallest *normal* numbers of the dtype (results that
    land in the subnormal range lose relative accuracy, which no gauge can express)."""
    return 4 * float(np.finfo(dtype).tiny)


def gamma(k: int, dtype) -> float:
    """Higham's γ_k = k·u/(1 − k·u): the bound on k accumulated relative roundings."""
    ku = k * unit_roundoff(dtype)
    assert ku < 0.5, f"gamma_{k} is meaningless in {np.dtype(dtype)}"
    return ku / (1 - ku)


# Transcendental functions (exp, tanh, erf, log1p): glibc's are within 1-2 ulp and SIMD
# polynomial versions typically within 4 ulp; a kernel composes a few of them with a few
# arithmetic ops. float32: 1e-6 ≈ 8.4 ulp. float64: 1e-13 ≈ 450 ulp, generous for vectorized
# float64 exp/erf approximations, yet 10 orders of magnitude below any formula error.
TRANSCENDENTAL_RTOL = {F32: 1e-6, F64: 1e-13}

# Arithmetic-only elementwise ops (+, -, *, /, max, select): at most ~4 roundings per result.
FEW_ULPS = 4

ACTIVATIONS = ("identity", "relu", "leaky_relu", "sigmoid", "tanh", "gelu", "softmax")
_ARITHMETIC = {"identity", "relu", "leaky_relu"}

# Largest |f'(z)| of each activation (a Lipschitz constant), to carry an error in z into a:
# sigmoid 1/4, tanh 1, gelu 1.129 at z≈2.4 (rounded up), softmax handled per row below.
LIPSCHITZ = {"identity": 1.0, "relu": 1.0, "leaky_relu": 1.0, "sigmoid": 0.25, "tanh": 1.0,
             "gelu": 1.13}


def elementwise_rtol(dtype, transcendental: bool) -> float:
    return TRANSCENDENTAL_RTOL[np.dtype(dtype)] if transcendental else FEW_ULPS * unit_roundoff(dtype)


def _abs64(x) -> np.ndarray:
    return np.abs(np.asarray(x, dtype=np.float64))


def _op(x, trans):
    return x.T if trans else x


# --- GEMM -------------------------------------------------------------------------------------


def gemm_gauge(a, b, trans_a, trans_b, alpha, beta, c0) -> np.ndarray:
    """G = |alpha|·|op(a)|@|op(b)| + |beta|·|c0|, in float64 (BLAS dblat3's gauge)."""
    g = abs(float(alpha)) * (_op(_abs64(a), trans_a) @ _op(_abs64(b), trans_b))
    if beta != 0.0 and c0 is not None:
        g = g + abs(float(beta)) * _abs64(c0)
    return g


def gemm_bound(a, b, trans_a, trans_b, alpha, beta, c0, dtype) -> np.ndarray:
    """Per-element bound on |C − C_ref| for C = alpha·op(a)@op(b) + beta·c0 computed in `dtype`.

    2·γ_{K+3}·G + tiny. γ_K covers the K-term inner product in any summation order (blocked,
    FMA or not); +3 covers rounding alpha/beta to `dtype`, the scaling by alpha (or beta) and
    the final add of the two terms; the factor 2 is docs/tolerances.md's slack (and covers the
    float64 reference's own error). `tiny`·(K+3) covers products that underflow.
    """
    k = _op(a, trans_a).shape[1]
    g = gemm_gauge(a, b, trans_a, trans_b, alpha, beta, c0)
    return 2 * gamma(k + 3, dtype) * g + (k + 3) * tiny(dtype)


# --- comparison -----------------------------------------------------------------------------


def assert_within(actual, expected, bound, what: str) -> float:
    """Assert |actual − expected| <= bound elementwise; returns the largest error/bound ratio.

    NaN in `actual` fails unless `expected` has NaN in the same place; infinities must match
    exactly. The message names `what`, the worst element, its error and its bound.
    """
    actual = np.atleast_1d(np.asarray(actual))
    expected = np.atleast_1d(np.asarray(expected, dtype=np.float64))
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != expected {expected.shape}"
    act = actual.astype(np.float64)
    bound = np.broadcast_to(np.asarray(bound, dtype=np.float64), expected.shape)
    nan_a, nan_e = np.isnan(act), np.isnan(expected)
    assert np.array_equal(nan_a, nan_e), (
        f"{what}: NaN mismatch at {np.argwhere(nan_a != nan_e)[:5].tolist()} "
        f"(actual NaN count {nan_a.sum()}, expected {nan_e.sum()})")
    inf_e = np.isinf(expected)
    assert np.array_equal(act[inf_e], expected[inf_e]), f"{what}: infinities differ"
    finite = ~(nan_e | inf_e)
    if not finite.any():
        return 0.0
    err = np.abs(act - expected)
    err[~finite] = 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(err == 0, 0.0, err / bound)
    worst = np.unravel_index(int(np.argmax(ratio)), ratio.shape) if ratio.size else ()
    max_ratio = float(ratio[worst]) if ratio.size else 0.0
    assert max_ratio <= 1.0, (
        f"{what}: error exceeds bound at {tuple(int(i) for i in worst)}: actual {act[worst]!r}, "
        f"expected {expected[worst]!r}, |err| {err[worst]:.3e} > bound {bound[worst]:.3e} "
        f"(ratio {max_ratio:.3g}; {int((ratio > 1).sum())} of {ratio.size} elements out)")
    return max_ratio


# --- activations ------------------------------------------------------------------------------


def _gaussian(z):
    from math import erf, sqrt, pi
    z = np.asarray(z, dtype=np.float64)
    cdf = 0.5 * (1 + np.vectorize(erf, otypes=[np.float64])(z / sqrt(2))) if z.size else z.copy()
    pdf = np.exp(-0.5 * z * z) / sqrt(2 * pi)
    return cdf, pdf


def activation_forward_bound(name, z, a_ref, dtype) -> np.ndarray:
    """Bound on |f(z) − f_ref(z)| for z given exactly in `dtype`.

    identity/relu exact (bound 0 + tiny); leaky_relu one product (few ulps, and 0.01 itself is
    rounded to `dtype`). sigmoid/tanh: transcendental rtol on |a|. gelu = z·Φ(z): Φ computed as
    0.5(1+erf) has an *absolute* error of about u (cancellation for z << 0, in the oracle too),
    so the gauge is |a| + |z|·u-scale. softmax: exp, a row sum of n terms and a division:
    (transcendental + n·u)·|a|.
    """
    dtype = np.dtype(dtype)
    a_ref = _abs64(a_ref)
    u, rt = unit_roundoff(dtype), TRANSCENDENTAL_RTOL[dtype]
    if name in _ARITHMETIC:
        return FEW_ULPS * u * a_ref + tiny(dtype)
    if name in ("sigmoid", "tanh"):
        return rt * a_ref + tiny(dtype)
    if name == "gelu":
        return rt * (a_ref + _abs64(z)) + tiny(dtype)
    n = a_ref.shape[1]
    return (rt + (n + 4) * u) * a_ref + tiny(dtype)


def activation_backward_gauge(name, z, a, grad_a) -> np.ndarray:
    """A gauge for grad_z = grad_a·f'(z): an upper bound on |grad_z| that also bounds the size of
    the terms that can cancel, so that the error is below c·u·gauge.

    tanh: 1 − a² cancels when |a|→1 (the rounding of a² is ~u absolute), gauge |grad_a|·1.
    gelu: Φ(z) has an absolute error ~u (see forward), gauge |grad_a|·(1 + |z|·φ(z)).
    softmax: a·(grad_a − Σ grad_a·a) cancels, gauge |a|·(|grad_a| + Σ|grad_a·a|).
    """
    z, a, g = _abs64(z), np.asarray(a, dtype=np.float64), _abs64(grad_a)
    if name in ("identity", "relu", "leaky_relu"):
        return g
    if name == "sigmoid":
        return g * np.abs(a * (1 - a))
    if name == "tanh":
        return g
    if name == "gelu":
        _, pdf = _gaussian(z)
        return g * (1 + z * pdf)
    aa = np.abs(a)
    return aa * (g + (g * aa).sum(axis=1, keepdims=True))


def activation_backward_rtol(name, n, dtype) -> float:
    """c·u for activation_backward relative to its gauge: few ulps of arithmetic, the
    transcendental rtol where exp/erf are evaluated (gelu; sigmoid/tanh if recomputed from z is
    *not* allowed for: the oracle takes their derivative from a), plus n·u for softmax's row
    sum."""
    dtype = np.dtype(dtype)
    u = unit_roundoff(dtype)
    if name == "gelu":
        return TRANSCENDENTAL_RTOL[dtype] + FEW_ULPS * u
    if name == "softmax":
        return (n + 2 * FEW_ULPS) * u
    return FEW_ULPS * u


# --- dense layer ------------------------------------------------------------------------------


def dense_forward_bounds(name, x, w, b, z_ref, a_ref, dtype):
    """(bound_z, bound_a) for dense_forward. z = x@w + b is a GEMM with beta·c0 = b (gauge
    |x|@|w| + |b|, K = n_in); its error then passes through f with Lipschitz constant L
    (softmax: |da_j| <= a_j·(|dz_j| + max_k |dz_k|) <= 2·a_j·max_k |dz_k| per row)."""
    bz = gemm_bound(x, w, False, False, 1.0, 1.0, np.broadcast_to(b, z_ref.shape), dtype)
    ba = activation_forward_bound(name, z_ref, a_ref, dtype)
    if name == "softmax":
        ba = ba + 2 * _abs64(a_ref) * bz.max(axis=1, keepdims=True)
    else:
        ba = ba + LIPSCHITZ[name] * bz
    return bz, ba


def dense_backward_bounds(name, x, w, z, a, grad_a, dtype):
    """(bound_grad_x, bound_grad_w, bound_grad_b). grad_z has error <= r·Gz (Gz its gauge, r its
    rtol); each product then adds the GEMM's 2·γ_{K+3} on the gauge built from Gz:
    grad_w = x.T@grad_z (K = batch), grad_x = grad_z@w.T (K = n_out), grad_b = Σ_batch grad_z
    (a reduction: γ_{batch+3})."""
    dtype = np.dtype(dtype)
    gz = activation_backward_gauge(name, z, a, grad_a)
    r = activation_backward_rtol(name, gz.shape[1], dtype)
    xa, wa = _abs64(x), _abs64(w)
    batch, n_out = gz.shape
    t = tiny(dtype)
    bw = (2 * gamma(batch + 3, dtype) + r) * (xa.T @ gz) + (batch + 3) * t
    bx = (2 * gamma(n_out + 3, dtype) + r) * (gz @ wa.T) + (n_out + 3) * t
    bb = (2 * gamma(batch + 3, dtype) + r) * gz.sum(axis=0) + (batch + 3) * t
    return bx, bw, bb


# --- losses -----------------------------------------------------------------------------------


def loss_bounds(name, output, target, dtype):
    """(bound_loss, bound_grad) for loss_forward_backward, from per-element gauges.

    The loss is a mean of n = output.size (batch for cross_entropy) terms: γ_{n+c} on the mean
    of the per-element gauges plus the per-element rtol. Gauges:
      mse/mae/huber: the terms are >= 0 and diff = o − t is one rounding, so the gauge is the
        term itself (huber: +0.5 for |d| − 0.5);
      binary_cross_entropy: max(o,0) − o·t + log1p(e^−|o|) cancels: sum of the |parts|;
      cross_entropy: log Σ e^(o−max) − (o_y − max): |o_y − max| + log Σ, plus n_out·u for the sum.
    Gradients: (sigmoid/softmax − t)/n cancel: gauge (|p| + |t|)/n; mse 2|d|/n; mae, huber's
    linear part: exact ±1/n (one rounding); huber's quadratic part |d|/n.
    """
    dtype = np.dtype(dtype)
    u, rt = unit_roundoff(dtype), TRANSCENDENTAL_RTOL[dtype]
    o = np.asarray(output, dtype=np.float64)
    batch, n_out = o.shape
    t_ = tiny(dtype)
    if name == "cross_entropy":
        t = np.asarray(target)
        t = np.eye(n_out)[t] if t.ndim == 1 else t.astype(np.float64)
        m = o.max(axis=1, keepdims=True)
        lse = np.log(np.exp(o - m).sum(axis=1, keepdims=True))
        p = np.exp(o - m - lse)
        row_gauge = (np.abs(t) * (np.abs(o - m) + lse)).sum(axis=1) + np.abs(t).sum(axis=1) * (np.abs(m[:, 0]))
        # relative error per row: transcendental rtol + n_out roundings in the row sum
        bl = (2 * gamma(batch + 3, dtype) + rt + (n_out + 4) * u) * row_gauge.mean() + t_
        bg = (rt + (n_out + 2 * FEW_ULPS) * u) * (p + np.abs(t)) / batch + t_
        return bl, bg
    t = np.asarray(target, dtype=np.float64)
    n = o.size
    d = o - t
    if name == "mse":
        return (2 * gamma(n + 4, dtype)) * np.mean(d * d) + t_, FEW_ULPS * u * 2 * np.abs(d) / n + t_
    if name == "mae":
        return (2 * gamma(n + 4, dtype)) * np.mean(np.abs(d)) + t_, FEW_ULPS * u / n + t_ + 0 * d
    if name == "huber":
        ad = np.abs(d)
        per = np.where(ad <= 1.0, 0.5 * d * d, ad + 0.5)
        grad_g = np.where(ad <= 1.0, ad, 1.0) / n
        return (2 * gamma(n + 4, dtype)) * np.mean(per) + t_, FEW_ULPS * u * grad_g + t_
    # binary_cross_entropy
    per = np.maximum(o, 0) + np.abs(o * t) + np.log1p(np.exp(-np.abs(o)))
    sig = 1 / (1 + np.exp(-o))
    bl = (2 * gamma(n + 4, dtype) + rt) * np.mean(per) + t_
    bg = (rt + FEW_ULPS * u) * (sig + np.abs(t)) / n + t_
    return bl, bg


# --- optimizers -------------------------------------------------------------------------------

# One optimizer step is ~10 roundings per element (plus lr/beta constants rounded to dtype and a
# sqrt/divide); 32·u on the gauges below leaves 3× margin.
OPTIMIZER_ROUNDINGS = 32


def optimizer_rtol(dtype) -> float:
    return OPTIMIZER_ROUNDINGS * unit_roundoff(dtype)


# --- whole training steps ---------------------------------------------------------------------


def train_rtol(dtype, work: int) -> float:
    """Relative (to each array's max |value|) tolerance for weights after training.

    float64: 1e3·u·work, work = steps × (batch + Σ layer widths): each step's gradients carry
    γ_K errors with K <= batch or a width, compounded over the steps; 1e3 absorbs the optimizer's
    amplification (Adam divides by sqrt(v)) and the activations' transcendental rtol.
    float32: 1e-4. Each step's gradient is good to (K+few)·u32 ≈ 30·6e-8 ≈ 2e-6 of its gauge;
    a few steps and Adam/RMSprop normalisation amplify that by at most ~10×, which still leaves
    5× margin under 1e-4, while a wrong formula (missing bias correction, a sign, a skipped
    batch) moves weights by >= lr·1e-1 ≈ 1e-3 of their size.
    """
    if np.dtype(dtype) == F64:
        return 1e3 * unit_roundoff(F64) * work
    return 1e-4
