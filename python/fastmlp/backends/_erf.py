"""Elementwise erf for NumPy arrays without SciPy: `math.erf` (correctly rounded to within an ulp
in glibc) applied per element. Slow, but the oracle only needs to be right."""

import math

import numpy as np

_erf_object = np.frompyfunc(math.erf, 1, 1)


def erf(x: np.ndarray) -> np.ndarray:
    return _erf_object(x.astype(np.float64)).astype(np.float64)
