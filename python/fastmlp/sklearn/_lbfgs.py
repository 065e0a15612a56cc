"""solver="lbfgs": scipy's L-BFGS-B over the full-batch loss and gradient.

By default the backend's ``loss_gradient`` computes them (the C++ engine: every layer, the loss
and backprop over blocks of rows in one call, GIL released), in fastmlp's loss units converted
to scikit-learn's as `_engine` converts the epochs' (the gradient times the scale ``s``, the
penalty trained with ``alpha / s``, the reported loss in scikit-learn's units).
``sklearn_compat=True`` evaluates scikit-learn's own definitions in NumPy around the backend's
layers (`_objective`), the reference the default is tested against.

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

from ..backends import Network
from ..errors import NonFiniteLossError
from . import _objective
from ._engine import (FM_LOSS, engine_activations, engine_target, grad_scale, poisson_offset,
                      sklearn_loss)


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
    if est.sklearn_compat:
        fun = _numpy_objective(est, backend, X, Y, sample_weight, hidden, out_activation, loss)
    else:
        fun = _engine_objective(est, backend, X, Y, sample_weight, hidden, loss)
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


def _numpy_objective(est, backend, X, Y, sample_weight, hidden, out_activation, loss):
    """scikit-learn's loss and gradient written out in NumPy (`_objective`) around the
    backend's layers."""
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

    return fun


def _engine_objective(est, backend, X, Y, sample_weight, hidden, loss):
    """The backend's ``loss_gradient`` on a Network over the estimator's own arrays, converted
    to scikit-learn's units (see the module doc)."""
    coefs, intercepts = est.coefs_, est.intercepts_
    n_outputs = coefs[-1].shape[1]
    scale = grad_scale(loss, n_outputs)
    net = Network(list(coefs), list(intercepts), engine_activations(hidden), FM_LOSS[loss],
                  l2=float(est.alpha) / scale, clip_probabilities=True)
    target = engine_target(loss, Y)
    offset = 0.0
    if loss == "poisson":  # the deviance's target-only terms, which fastmlp's loss leaves out
        offset = poisson_offset(Y, sample_weight, np.arange(len(Y)), len(Y))
    grads = [np.empty_like(p) for p in net.params]
    flat_grad = np.empty(sum(g.size for g in grads))
    # scikit-learn's order: every weight matrix, then every bias vector
    views, start = [], 0
    for g in grads[0::2] + grads[1::2]:
        views.append((g, flat_grad[start:start + g.size].reshape(g.shape)))
        start += g.size

    # checked once: each evaluation only writes new values into the same arrays
    loss_gradient = backend.bind_loss_gradient(net, X, target, sample_weight, out=grads)

    def fun(flat):
        unpack_into(flat, coefs, intercepts)
        try:
            value, penalty, _ = loss_gradient()
        except NonFiniteLossError as exc:  # what scikit-learn's NumPy would hand scipy
            flat_grad.fill(np.nan)
            return float(exc.loss), flat_grad.copy()
        for g, view in views:
            np.multiply(g, scale, out=view)
        return sklearn_loss(loss, n_outputs, value, penalty) + offset, flat_grad.copy()

    return fun
