"""Helpers: a seeded train/test split and standardisation by training statistics."""

from __future__ import annotations

import numpy as np

# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------


def train_test_split(X, y, test_size=0.2, seed: int = 0):
    """Shuffle the rows with a seeded generator and split them into train and test parts.

    Parameters
    ----------
    X : array-like (n, ...)
    y : array-like (n, ...)
    test_size : float or int
        Fraction of rows in (0, 1) or an absolute number of test rows; at least one row
        ends up in each part.
    seed : int
        Seed of the NumPy random generator.

    Returns
    -------
    (X_train, X_test, y_train, y_test)
        The order of scikit-learn's ``train_test_split``.
    """
    X = np.asarray(X)
    y = np.asarray(y)
    n = X.shape[0] if X.ndim else 0
    if y.shape[:1] != (n,):
        raise ValueError(f"X and y must have the same number of rows, got {X.shape} and {y.shape}")
    if n < 2:
        raise ValueError(f"need at least 2 rows to split, got {n}")
    if isinstance(test_size, (float, np.floating)):
        if not 0.0 < test_size < 1.0:
            raise ValueError(f"test_size as a fraction must be in (0, 1), got {test_size}")
        n_test = int(np.ceil(test_size * n))
    elif isinstance(test_size, (int, np.integer)) and not isinstance(test_size, bool):
        n_test = int(test_size)
    else:
        raise TypeError(f"test_size must be a float fraction or an int count, got {test_size!r}")
    if not 1 <= n_test <= n - 1:
        raise ValueError(f"test_size gives {n_test} test rows out of {n}; need 1 .. {n - 1}")
    order = np.random.default_rng(seed).permutation(n)
    test, train = order[:n_test], order[n_test:]
    return X[train], X[test], y[train], y[test]


def standardize(X_train, X_test=None, *, return_stats: bool = False):
    """Scale columns to zero mean and unit variance using the training set's statistics.

    Constant columns (standard deviation 0) are centred but not scaled.

    Parameters
    ----------
    X_train : array-like (n, d) or (n,)
    X_test : array-like, optional
        Scaled with the same mean and standard deviation.
    return_stats : bool
        Also return ``mean`` and ``std`` (to map predictions back: ``y * std + mean``).

    Returns
    -------
    X_train_s, X_test_s[, mean, std]
        ``X_test_s`` is None when ``X_test`` is None. Float arrays (float64 unless the input
        was already floating).
    """
    X_train = np.asarray(X_train)
    if X_train.dtype.kind != "f":
        X_train = X_train.astype(np.float64)
    mean = X_train.mean(axis=0)
    std = X_train.std(axis=0)
    std = np.where(std > 0, std, 1.0).astype(X_train.dtype)
    Xtr = (X_train - mean) / std
    Xte = None
    if X_test is not None:
        X_test = np.asarray(X_test)
        Xte = ((X_test - mean) / std).astype(Xtr.dtype, copy=False)
    if return_stats:
        return Xtr, Xte, mean, std
    return Xtr, Xte
