"""Checks on scalar arguments: finite real numbers and integers within bounds, each named in
its message (a huge int gets its name, not nanobind's "incompatible function arguments")."""

from __future__ import annotations

import math
import numbers

import numpy as np


def number(value, name: str, *, low=None, high=None, low_open=False, high_open=False) -> float:
    """A finite real number within [low, high] (open ends when asked)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if low is not None and (value < low or (low_open and value == low)):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low}, got {value}")
    if high is not None and (value > high or (high_open and value == high)):
        raise ValueError(f"{name} must be {'<' if high_open else '<='} {high}, got {value}")
    return value


def flag(value, name: str) -> bool:
    """A bool (Python's or NumPy's): a switch given 0, 1 or "no" is more likely a mistake."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__}")
    return bool(value)


# Every integer a kernel takes fits a C++ int64_t unless a check says otherwise (seeds: uint64),
# so a huge Python int gets a message naming it, not nanobind's "incompatible function arguments".
INT64_MAX = 2**63 - 1


SEED_MAX = 2**64 - 1


def integer(value, name: str, *, low=None, high=INT64_MAX) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    value = int(value)
    if low is not None and value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be <= {high}, got {value}")
    return value


# The largest update count a kernel takes: the C++ core counts steps in int64, and beta**step
# needs no more (2^53 is where float64 stops counting exactly).
MAX_STEP = 2**53
