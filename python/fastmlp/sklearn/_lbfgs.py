"""solver="lbfgs": scipy's L-BFGS-B over the full-batch loss and gradient of `_objective`.

The parameters are packed as scikit-learn packs them (every weight matrix row-major, then every
bias vector), the options are its (maxiter=max_iter, maxfun=max_fun, gtol=tol), so with the
same start the iterates are scikit-learn's. L-BFGS-B works in float64; float32 fits evaluate
the loss and gradient in float32.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.optimize

from sklearn.exceptions import ConvergenceWarning

from . import _objective


_BLOCK_BYTES = 2 << 20


def pack(coefs, intercepts):
    return np.hstack([p.ravel() for p in coefs + intercepts]).astype(np.float64)


def unpack_into(flat, coefs, intercepts):
    """Write the packed vector ``flat`` into the arrays of ``coefs`` and ``intercepts``."""
    start = 0
    for p in coefs + intercepts:
        p[...] = flat[start:start + p.size].reshape(p.shape)
        start += p.size


def fit_lbfgs(est, backend, X, Y, sample_weight, *, hidden, out_activation, loss):
    """Minimise in place of ``est.coefs_`` / ``est.intercepts_``; sets loss_, n_iter_, loss_curve_."""
    coefs, intercepts = est.coefs_, est.intercepts_
    # Blocks of rows whose z and a of every layer take about _BLOCK_BYTES: in cache between the
    # layers, where the whole batch's went through memory (20,000 rows x 100: 16 MB an array).
    rows = max(256, _BLOCK_BYTES // (X.dtype.itemsize * 2 * sum(c.shape[1] for c in coefs)))

    def fun(flat):
        unpack_into(flat, coefs, intercepts)
        value, coef_grads, intercept_grads = _objective.loss_and_grads(
            backend, X, Y, sample_weight, coefs, intercepts, hidden=hidden,
            out_activation=out_activation, loss=loss, alpha=est.alpha, rows=rows)
        return value, pack(coef_grads, intercept_grads)

    curve = []
    result = scipy.optimize.minimize(
        fun, pack(coefs, intercepts), method="L-BFGS-B", jac=True,
        callback=lambda intermediate_result: curve.append(float(intermediate_result.fun)),
        options={"maxfun": est.max_fun, "maxiter": est.max_iter, "gtol": est.tol})
    unpack_into(result.x, coefs, intercepts)
    est.n_iter_ = int(min(result.nit, est.max_iter))
    est.loss_ = float(result.fun)
    est.loss_curve_ = curve
    if result.status != 0:
        warnings.warn(
            f"lbfgs stopped before converging ({result.message!s}) after {result.nit} iterations "
            f"and {result.nfev} loss evaluations. Raise max_iter (now {est.max_iter}) or max_fun "
            f"(now {est.max_fun}), raise tol (now {est.tol}), or scale the inputs "
            "(sklearn.preprocessing.StandardScaler).", ConvergenceWarning)
