"""Checks on a loss's inputs: targets that fit the output and the loss's domain, and sample
and class weights."""

from __future__ import annotations

import numpy as np

from ..names import loss_name
from .arrays import FLOAT_DTYPES, float_array, shape_is


def loss_target(loss: str, output: np.ndarray, target) -> np.ndarray:
    """Validate a loss target against the (batch, n_out) output.

    cross_entropy takes integer labels (batch,) in [0, n_out) or a float (batch, n_out)
    probability/one-hot array; every other loss takes a float array shaped like output.
    """
    if not isinstance(target, np.ndarray):
        raise TypeError(f"target must be a numpy.ndarray, got {type(target).__name__}")
    batch, n_out = output.shape
    if loss == "cross_entropy" and target.dtype.kind in "iu":
        shape_is(target, "target", (batch,))
        if target.size and (target.min() < 0 or target.max() >= n_out):
            raise ValueError(
                f"target labels must lie in [0, {n_out}), got range "
                f"[{target.min()}, {target.max()}]"
            )
        return target
    if target.dtype not in FLOAT_DTYPES:
        kinds = "integer labels or " if loss == "cross_entropy" else ""
        raise TypeError(f"target must be {kinds}float32/float64, got {target.dtype}")
    if target.dtype != output.dtype:
        raise TypeError(f"target dtype {target.dtype} must match output dtype {output.dtype}")
    shape_is(target, "target", output.shape)
    target_values(loss, target, "target")
    return target


# Rows of a 2-D cross-entropy target must sum to 1 within this: float32 probabilities from a
# softmax or label smoothing sum to 1 within ~1e-6 per 100 classes; 1e-3 also tolerates targets
# rounded to 3 decimals, and still refuses counts, scores and one-hot rows with two ones.
DISTRIBUTION_TOL = 1e-3


def target_values(loss: str, target: np.ndarray, name: str) -> None:
    """Float targets in the range the loss is defined on (a silent negative or meaningless loss
    otherwise): poisson >= 0; binary cross-entropy in [0, 1]; 2-D cross-entropy rows are
    distributions (>= 0, summing to 1)."""
    if not target.size or target.dtype.kind != "f":
        return
    if loss == "poisson" and target.min() < 0:
        raise ValueError(f"{name} must be >= 0 for the poisson loss (counts or rates), got {target.min()}")
    if loss == "binary_cross_entropy" and (target.min() < 0 or target.max() > 1):
        raise ValueError(f"{name} must lie in [0, 1] for binary_cross_entropy (0/1 labels or "
                         f"probabilities), got range [{target.min()}, {target.max()}]")
    if loss == "cross_entropy" and target.ndim == 2:
        if target.min() < 0:
            raise ValueError(f"{name} must be >= 0 for cross_entropy (one-hot rows or class "
                             f"probabilities), got {target.min()}")
        sums = target.sum(axis=1, dtype=np.float64)
        worst = int(np.argmax(np.abs(sums - 1)))
        if abs(sums[worst] - 1) > DISTRIBUTION_TOL:
            raise ValueError(f"{name} rows must sum to 1 for cross_entropy (one-hot rows or class "
                             f"probabilities); row {worst} sums to {sums[worst]:.6g}")


def loss_args(name, output, target, sample_weight=None, class_weight=None):
    """loss_forward_backward's arguments: a known loss, a non-empty 2-D float output, a target
    that fits it and optional weights. Returns (canonical name, target, sample_weight,
    class_weight), the weights as contiguous arrays of output's dtype or None."""
    name = loss_name(name)
    float_array(output, "output", 2)
    target = loss_target(name, output, target)
    if output.size == 0:
        raise ValueError("output must not be empty")
    sample_weight = weights(sample_weight, "sample_weight", output.shape[0], output.dtype)
    class_weight = class_weights(class_weight, name, target, output.shape[1], output.dtype)
    return name, target, sample_weight, class_weight


def weights(w, name: str, n: int, dtype) -> np.ndarray | None:
    """None, or a 1-D array of ``n`` finite real numbers >= 0, returned C-contiguous in ``dtype``.

    Weights are few (one per row or class), so checking them costs nothing next to the kernel;
    a negative or NaN weight would silently turn the loss into nonsense."""
    if w is None:
        return None
    if not isinstance(w, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray or None, got {type(w).__name__}")
    if w.dtype.kind not in "fiu":
        raise TypeError(f"{name} must hold real numbers, got dtype {w.dtype}")
    if w.ndim != 1 or w.shape[0] != n:
        raise ValueError(f"{name} must have shape ({n},), got {w.shape}")
    w = np.ascontiguousarray(w, dtype=dtype)
    if not np.isfinite(w).all():
        raise ValueError(f"{name} must be finite, got NaN or infinity")
    if w.size and w.min() < 0:
        raise ValueError(f"{name} must be >= 0, got {w.min()}")
    return w


def class_weights(cw, loss: str, target, n_out: int, dtype) -> np.ndarray | None:
    """None, or one weight per class for cross_entropy with integer labels or one-hot targets
    (a soft-probability row has no single class to weigh)."""
    if cw is None:
        return None
    if loss != "cross_entropy":
        raise ValueError(f"class_weight needs the cross_entropy loss, got {loss!r}")
    cw = weights(cw, "class_weight", n_out, dtype)
    if target is not None and target.ndim == 2:
        is_onehot = ((target == 0) | (target == 1)).all() and (target.sum(axis=1) == 1).all()
        if not is_onehot:
            raise ValueError("class_weight needs integer labels or one-hot targets, "
                             "got targets that are not one-hot")
    return cw
