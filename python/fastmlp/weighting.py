"""Sample and class weights for `MLP.fit`: checking them and turning scikit-learn's spellings
(a {label: weight} dict, "balanced") into the per-class array the kernels take.

The kernels weigh row i's loss by ``s_i = sample_weight[i] * class_weight[label_i]`` and
average with those weights (backends/numpy.py loss_forward_backward has the formula).
"""

from __future__ import annotations

import numbers

import numpy as np


def check_sample_weight(sample_weight, n_rows: int) -> np.ndarray | None:
    """None, or ``n_rows`` finite weights >= 0 as float64; ValueError naming sample_weight."""
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight)
    if w.dtype.kind not in "fiu" or w.dtype.kind == "b":
        raise TypeError(f"sample_weight must hold real numbers, got dtype {w.dtype}")
    if w.shape != (n_rows,):
        raise ValueError(f"sample_weight must have shape ({n_rows},), one weight per row of X, got {w.shape}")
    w = w.astype(np.float64)
    if not np.isfinite(w).all():
        raise ValueError("sample_weight contains NaN or infinity")
    if w.min() < 0:
        raise ValueError(f"sample_weight must be >= 0, got {w.min()}")
    return w


def labels_of(y) -> np.ndarray:
    """Integer labels from labels or one-hot rows."""
    return y if y.ndim == 1 else y.argmax(axis=1)


def resolve_class_weight(class_weight, y, n_classes: int, loss: str) -> np.ndarray | None:
    """One weight per class (float64) from None, "balanced", a {label: weight} dict (missing
    labels weigh 1, as in scikit-learn) or an array of n_classes weights.

    "balanced" is scikit-learn's ``n_samples / (n_classes * bincount(y))`` over the classes that
    occur in y (``n_classes`` counts those); a class absent from y gets weight 1, which no row
    uses.
    """
    if class_weight is None:
        return None
    if loss != "cross_entropy":
        raise ValueError(f"class_weight needs the cross_entropy loss, this model uses {loss!r}")
    labels = labels_of(y)
    if isinstance(class_weight, str):
        if class_weight != "balanced":
            raise ValueError(f"class_weight must be 'balanced', a dict or an array, got {class_weight!r}")
        counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
        present = counts > 0
        weights = np.ones(n_classes)
        weights[present] = len(labels) / (present.sum() * counts[present])
        return weights
    if isinstance(class_weight, dict):
        weights = np.ones(n_classes)
        for label, w in class_weight.items():
            if isinstance(label, bool) or not isinstance(label, numbers.Integral) or not 0 <= label < n_classes:
                raise ValueError(f"class_weight keys must be labels in [0, {n_classes}), got {label!r}")
            if isinstance(w, bool) or not isinstance(w, numbers.Real):
                raise TypeError(f"class_weight[{label}] must be a real number, got {type(w).__name__}")
            weights[int(label)] = float(w)
    else:
        weights = np.asarray(class_weight)
        if weights.dtype.kind not in "fiu" or weights.dtype.kind == "b":
            raise TypeError(f"class_weight must be 'balanced', a dict or an array of numbers, got {weights.dtype}")
        if weights.shape != (n_classes,):
            raise ValueError(f"class_weight must have shape ({n_classes},), one weight per class, got {weights.shape}")
        weights = weights.astype(np.float64)
    if not np.isfinite(weights).all():
        raise ValueError("class_weight contains NaN or infinity")
    if weights.min() < 0:
        raise ValueError(f"class_weight must be >= 0, got {weights.min()}")
    return weights


def fit_row_weights(sample_weight, class_weight, y) -> np.ndarray | None:
    """Each row's total weight for `fit`'s epoch losses (float64), or None without weights;
    ValueError when they are all 0 (the weighted mean would be 0/0). The loss kernels form the
    same product in the batch's dtype (backends.numpy.loss_row_weights)."""
    if sample_weight is None and class_weight is None:
        return None
    w = np.ones(len(y)) if sample_weight is None else sample_weight
    if class_weight is not None:
        w = w * class_weight[labels_of(y)]
    if not (w > 0).any():
        raise ValueError("sample_weight and class_weight give every row weight 0; nothing to train on")
    return w
