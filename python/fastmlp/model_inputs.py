"""The model's checks of what a user passes to fit, predict and evaluate: X, y (labels or targets),
fit's keywords; each error names the argument and says the likely fix."""

from __future__ import annotations

import warnings

import numpy as np

from . import checks as check

# float32 keeps ~7 digits: inputs or targets beyond this make activations and gradients of
# very different sizes, which rounds away small updates and invites overflow.
BADLY_SCALED = 1e4

def warn_if_badly_scaled(model, X, y):
    if model.dtype != np.float32:
        return
    big = max(abs(float(X.max())), abs(float(X.min())))  # no |X| temporary
    if y.dtype.kind == "f":
        big = max(big, abs(float(y.max())), abs(float(y.min())))
    if big > BADLY_SCALED:
        warnings.warn(
            f"X or y holds values up to {big:.3g}: float32 training on badly scaled data loses "
            "precision and can diverge; standardize features and targets (e.g. "
            "fm.datasets.standardize or sklearn.preprocessing.StandardScaler) or use "
            "dtype='float64'", RuntimeWarning, stacklevel=4)

def check_x(model, X, name):
    """X as a C-contiguous array of the model's dtype, or an error naming ``name``."""
    if not isinstance(X, np.ndarray):
        X = np.asarray(X)
    if X.dtype.kind not in "fiub" or X.dtype.kind == "b":
        raise TypeError(f"{name} must hold real numbers, got dtype {X.dtype}")
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_samples, n_features), got shape {X.shape}")
    if X.shape[0] == 0:
        raise ValueError(f"{name} is empty: it has 0 rows")
    if X.shape[1] != model.layer_sizes[0]:
        raise ValueError(f"{name} has {X.shape[1]} features, the model takes {model.layer_sizes[0]}")
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is reported just below
        original, X = X, np.ascontiguousarray(X, dtype=model.dtype)
    if not check.all_finite(X):
        if original.dtype.kind == "f" and check.all_finite(original):  # the cast overflowed
            raise ValueError(f"{name} holds values beyond {model.dtype.name}'s range (up to "
                             f"{float(np.abs(original).max()):.3g}; the largest {model.dtype.name} "
                             f"is {float(np.finfo(model.dtype).max):.3g}); scale it or use dtype='float64'")
        raise ValueError(f"{name} contains NaN or infinity")
    return X

def _check_labels(y, y_name, n_out):
    """Integer class labels for cross_entropy, or an error that says what is wrong with them."""
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)):
            raise ValueError(f"{y_name} contains NaN or infinity; cross_entropy needs a class label "
                             "(an integer) for every row")
        if not np.all(y == np.round(y)):
            odd = y[y != np.round(y)][0]
            raise TypeError(f"{y_name} must hold integer class labels for cross_entropy, got "
                            f"{float(odd)!r} (dtype {y.dtype}): labels are 0 .. n_classes-1 (or pass "
                            "one-hot rows); for real-valued targets use loss='mse'")
        y = y.astype(np.int64)
    if y.dtype.kind not in "iu":
        raise TypeError(f"{y_name} must hold integer class labels for cross_entropy, got dtype {y.dtype}"
                        + (" (map the names to 0 .. n_classes-1, e.g. with np.unique(y, "
                           "return_inverse=True))" if y.dtype.kind in "OUS" else ""))
    if y.min() < 0 or y.max() >= n_out:
        raise ValueError(_label_advice(y_name, y.min(), y.max(), n_out))
    return np.ascontiguousarray(y, dtype=np.int64)

def _shape_advice(model, y, y_name, n, n_out) -> str:
    """The shape error for y, with the fix a newcomer most likely needs."""
    text = f"{y_name} must have shape ({n}, {n_out}) for this model, got {y.shape}"
    if model.loss == "cross_entropy" and y.ndim == 2 and y.shape[1] == 1:
        return (text + f": a column of class labels? pass {y_name}.ravel() (labels, shape ({n},)), "
                f"or one-hot targets of shape ({n}, {n_out})")
    if model.loss == "cross_entropy":
        return text + f": pass integer labels of shape ({n},) or one-hot targets of shape ({n}, {n_out})"
    if y.ndim == 2 and n_out == 1:
        return text + f": this model has 1 output; give it {y.shape[1]} (the last of layer_sizes) " \
                      "to predict that many targets"
    return text

def check_xy(model, X, y, x_name, y_name):
    """X and y checked against the model (features, outputs, labels or targets), cast to its dtype."""
    X = check_x(model, X, x_name)
    y = np.asarray(y)
    if y.shape[:1] != (len(X),):
        raise ValueError(f"{y_name} has {y.shape[0] if y.ndim else 0} rows, {x_name} has {len(X)}")
    n_out = model.layer_sizes[-1]
    if model.loss == "cross_entropy" and y.ndim == 1:
        return X, _check_labels(y, y_name, n_out)
    if y.dtype.kind not in "fiu":
        raise TypeError(f"{y_name} must hold numbers, got dtype {y.dtype}")
    if y.ndim == 1:
        y = y.reshape(-1, 1)
    if y.ndim != 2 or y.shape[1] != n_out:
        raise ValueError(_shape_advice(model, y, y_name, len(X), n_out))
    y = np.ascontiguousarray(y, dtype=model.dtype)
    if not check.all_finite(y):
        raise ValueError(f"{y_name} contains NaN or infinity")
    check.target_values(model.loss, y, y_name)
    return X, y


OPTIMIZER_ARGS = ("lr", "learning_rate", "momentum", "weight_decay", "beta1", "beta2", "eps", "nesterov")


def unknown_fit_args(unknown: dict) -> str:
    """fit's error for keywords it does not take; optimizer settings point to the optimizer."""
    names = ", ".join(sorted(unknown))
    optimizer = [k for k in unknown if k in OPTIMIZER_ARGS]
    if optimizer:
        settings = ", ".join(f"{'lr' if k == 'learning_rate' else k}={unknown[k]!r}" for k in optimizer)
        return (f"fit() got an unexpected keyword argument {names}: {', '.join(optimizer)} belongs to the "
                f"optimizer, as in fit(X, y, optimizer=fm.optim.Adam({settings})) (or fm.optim.SGD, AdamW, "
                "RMSprop)")
    return f"fit() got an unexpected keyword argument {names}"


def _label_advice(y_name: str, low, high, n_out: int) -> str:
    """Why labels outside [0, n_out) do not fit, and the two ways out for a binary problem."""
    text = (f"{y_name} labels must lie in [0, {n_out}), got [{low}, {high}]: a cross_entropy model has one "
            f"output per class, so labels 0 .. {high} need {high + 1} outputs (the last of layer_sizes)")
    if n_out == 1:
        text += ("; for two classes use 2 outputs, or loss='binary_cross_entropy' with 1 output and "
                 "0/1 targets")
    return text
