"""Small seeded problems for learners: xor, moons, circles, spirals (classification) and
house_prices (regression). The same seed always gives the same arrays."""

from __future__ import annotations

import numpy as np

# --------------------------------------------------------------------------------------
# Seeded generators for learners
# --------------------------------------------------------------------------------------


def _check_n(n_samples, minimum=1) -> int:
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)):
        raise TypeError(f"n_samples must be an int, got {type(n_samples).__name__}")
    if n_samples < minimum:
        raise ValueError(f"n_samples must be >= {minimum}, got {n_samples}")
    return int(n_samples)


def _check_noise(noise) -> float:
    noise = float(noise)
    if not np.isfinite(noise) or noise < 0:
        raise ValueError(f"noise must be a finite number >= 0, got {noise}")
    return noise


def _split_counts(n: int, k: int) -> list:
    """n split into k nearly equal parts (the first n % k parts get one more)."""
    return [n // k + (1 if i < n % k else 0) for i in range(k)]


def _shuffled(rng, X, y):
    order = rng.permutation(len(X))
    return np.ascontiguousarray(X[order]), np.ascontiguousarray(y[order])


def xor(n_samples: int = 200, noise: float = 0.1, seed: int = 0):
    """The XOR problem: four Gaussian clusters at the corners of the unit square.

    Points around (0, 0) and (1, 1) have label 0, points around (0, 1) and (1, 0) label 1
    (label = x0 XOR x1 of the cluster's corner), so no straight line separates the classes.
    The clusters get equal counts (up to one), and the rows are shuffled.

    ``n_samples=4`` returns the exact truth table, without noise and in order:
    ``X = [[0, 0], [0, 1], [1, 0], [1, 1]]``, ``y = [0, 1, 1, 0]``.

    Parameters
    ----------
    n_samples : int
        Number of points (>= 4).
    noise : float
        Standard deviation of the Gaussian noise added to each coordinate.
    seed : int
        Seed of the NumPy random generator.

    Returns
    -------
    X : float64 (n_samples, 2)
    y : int64 (n_samples,) in {0, 1}
    """
    n = _check_n(n_samples, 4)
    noise = _check_noise(noise)
    corners = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    labels = np.array([0, 1, 1, 0], dtype=np.int64)
    if n == 4:
        return corners.copy(), labels.copy()
    rng = np.random.default_rng(seed)
    counts = _split_counts(n, 4)
    X = np.repeat(corners, counts, axis=0) + noise * rng.standard_normal((n, 2))
    y = np.repeat(labels, counts)
    return _shuffled(rng, X, y)


def moons(n_samples: int = 500, noise: float = 0.1, seed: int = 0):
    """Two interleaving half circles (the "two moons"), as scikit-learn's ``make_moons``.

    Class 0 is the upper half circle of radius 1 centred at (0, 0); class 1 the lower half
    circle centred at (1, 0.5). Rows are shuffled.

    Parameters
    ----------
    n_samples : int
        Number of points (>= 2); the classes differ in size by at most one.
    noise : float
        Standard deviation of the Gaussian noise added to each coordinate.
    seed : int
        Seed of the NumPy random generator.

    Returns
    -------
    X : float64 (n_samples, 2)
    y : int64 (n_samples,) in {0, 1}
    """
    n = _check_n(n_samples, 2)
    noise = _check_noise(noise)
    rng = np.random.default_rng(seed)
    n0, n1 = _split_counts(n, 2)
    t0 = np.linspace(0.0, np.pi, n0)
    t1 = np.linspace(0.0, np.pi, n1)
    X = np.concatenate([
        np.stack([np.cos(t0), np.sin(t0)], axis=1),
        np.stack([1.0 - np.cos(t1), 0.5 - np.sin(t1)], axis=1),
    ])
    X += noise * rng.standard_normal(X.shape)
    y = np.concatenate([np.zeros(n0, np.int64), np.ones(n1, np.int64)])
    return _shuffled(rng, X, y)


def circles(n_samples: int = 500, noise: float = 0.05, factor: float = 0.5, seed: int = 0):
    """A small circle inside a large one, as scikit-learn's ``make_circles``.

    Class 0 lies on the circle of radius 1, class 1 on the circle of radius ``factor``, both
    centred at the origin. Rows are shuffled.

    Parameters
    ----------
    n_samples : int
        Number of points (>= 2); the classes differ in size by at most one.
    noise : float
        Standard deviation of the Gaussian noise added to each coordinate.
    factor : float
        Radius of the inner circle relative to the outer one, in (0, 1).
    seed : int
        Seed of the NumPy random generator.

    Returns
    -------
    X : float64 (n_samples, 2)
    y : int64 (n_samples,) in {0, 1}
    """
    n = _check_n(n_samples, 2)
    noise = _check_noise(noise)
    factor = float(factor)
    if not 0.0 < factor < 1.0:
        raise ValueError(f"factor must be in (0, 1), got {factor}")
    rng = np.random.default_rng(seed)
    n_out, n_in = _split_counts(n, 2)
    t_out = np.linspace(0.0, 2 * np.pi, n_out, endpoint=False)
    t_in = np.linspace(0.0, 2 * np.pi, n_in, endpoint=False)
    X = np.concatenate([
        np.stack([np.cos(t_out), np.sin(t_out)], axis=1),
        factor * np.stack([np.cos(t_in), np.sin(t_in)], axis=1),
    ])
    X += noise * rng.standard_normal(X.shape)
    y = np.concatenate([np.zeros(n_out, np.int64), np.ones(n_in, np.int64)])
    return _shuffled(rng, X, y)


def spirals(n_samples: int = 600, n_classes: int = 3, noise: float = 0.2, seed: int = 0):
    """Interleaved spiral arms, one per class (the CS231n spiral data set).

    Arm k has points at radius r in [0, 1] and angle ``4 k + 4 r`` radians plus Gaussian
    noise of standard deviation ``noise`` on the angle: ``x = r (sin t, cos t)``. Rows are
    shuffled.

    Parameters
    ----------
    n_samples : int
        Number of points in total (>= n_classes); classes differ in size by at most one.
    n_classes : int
        Number of arms / classes (>= 2).
    noise : float
        Standard deviation of the angular noise (radians).
    seed : int
        Seed of the NumPy random generator.

    Returns
    -------
    X : float64 (n_samples, 2)
    y : int64 (n_samples,) in 0 .. n_classes - 1
    """
    if isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)) or n_classes < 2:
        raise ValueError(f"n_classes must be an int >= 2, got {n_classes!r}")
    n = _check_n(n_samples, int(n_classes))
    noise = _check_noise(noise)
    rng = np.random.default_rng(seed)
    Xs, ys = [], []
    for k, m in enumerate(_split_counts(n, int(n_classes))):
        r = np.linspace(0.0, 1.0, m)
        t = np.linspace(4.0 * k, 4.0 * (k + 1), m) + noise * rng.standard_normal(m)
        Xs.append(np.stack([r * np.sin(t), r * np.cos(t)], axis=1))
        ys.append(np.full(m, k, dtype=np.int64))
    return _shuffled(rng, np.concatenate(Xs), np.concatenate(ys))


HOUSE_FEATURES = (
    "area_m2",            # living area, square metres
    "bedrooms",           # count
    "bathrooms",          # count
    "age_years",          # years since built
    "distance_km",        # distance to the city centre
    "lot_m2",             # land area, square metres
    "garage",             # 0 or 1
    "school_rating",      # 1 .. 10
)
"""Column names of :func:`house_prices`'s X, in order."""


def house_prices(n_samples: int = 1000, noise: float = 0.1, seed: int = 0, return_names: bool = False):
    """A synthetic house-price regression with eight named, correlated features.

    Columns (see :data:`HOUSE_FEATURES`): living area (m²), bedrooms, bathrooms, age (years),
    distance to the city centre (km), lot size (m²), garage (0/1), school rating (1-10).
    The price, in thousands, is a nonlinear function of them: the price per m² falls with
    distance from the centre, lots are worth more near it, age lowers the price until
    historic houses regain value (a U shape), good schools matter more to bigger houses, and
    bedrooms beyond what the area suits lower the price. It is then multiplied by
    ``exp(noise * N(0, 1))`` (log-normal noise, so ``noise=0.1`` is about 10%).

    Parameters
    ----------
    n_samples : int
        Number of houses (>= 1).
    noise : float
        Standard deviation of the log-price noise (0 gives the exact formula).
    seed : int
        Seed of the NumPy random generator.
    return_names : bool
        Also return the feature names.

    Returns
    -------
    X : float64 (n_samples, 8)
    y : float64 (n_samples,) price in thousands
    names : tuple of str, only with ``return_names=True``
    """
    n = _check_n(n_samples, 1)
    noise = _check_noise(noise)
    rng = np.random.default_rng(seed)
    area = np.clip(rng.lognormal(np.log(110.0), 0.35, n), 30.0, 400.0)
    bedrooms = np.clip(np.round(area / 35.0 + rng.normal(0.0, 0.7, n)), 1, 7)
    bathrooms = np.clip(np.round(1.0 + area / 120.0 + rng.normal(0.0, 0.4, n)), 1, 4)
    age = np.clip(rng.gamma(2.0, 15.0, n), 0.0, 120.0)
    distance = np.clip(rng.gamma(2.0, 4.0, n), 0.3, 50.0)
    lot = np.clip(area * rng.lognormal(np.log(2.0), 0.4, n) * (1.0 + distance / 10.0), 40.0, 5000.0)
    garage = (rng.random(n) < 1.0 / (1.0 + np.exp(-(distance - 3.0) / 2.0))).astype(np.float64)
    school = np.clip(np.round(rng.normal(6.0, 2.0, n)), 1, 10)

    price_per_m2 = 1.2 + 3.3 * np.exp(-distance / 7.0)                 # thousands per m²
    price = area * price_per_m2
    price *= 1.0 + 0.05 * (school - 5.0) * np.sqrt(area / 100.0) / 2.0
    price += 0.08 * lot * np.exp(-distance / 5.0)
    price += 12.0 * bathrooms + 18.0 * garage
    price -= 8.0 * np.maximum(bedrooms - area / 30.0, 0.0) ** 2          # cramped layouts
    price *= 1.0 - 0.006 * age + 0.00004 * age ** 2                       # U shape, min at 75
    price = np.maximum(price, 20.0)
    if noise > 0:
        price = price * np.exp(noise * rng.standard_normal(n))

    X = np.stack([area, bedrooms, bathrooms, age, distance, lot, garage, school], axis=1)
    y = price.astype(np.float64)
    if return_names:
        return X, y, HOUSE_FEATURES
    return X, y


