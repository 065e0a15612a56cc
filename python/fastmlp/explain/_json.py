"""The explanation's data as plain JSON: nested lists of floats, strict (no NaN or Infinity).

Python writes a float with the shortest digits that read back as the same float64, so a number
parsed from this JSON equals the computed one exactly. Non-finite numbers (a divergent learning
rate can overflow) become null, which every JSON parser accepts; `to_array` maps null back to NaN.
"""

from __future__ import annotations

import json
import math

import numpy as np


def plain(value):
    """``value`` with NumPy arrays and scalars turned into lists, floats, ints; inf/nan -> None."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    return value


def to_array(value) -> np.ndarray:
    """A stored number or nested list back as a float64 array (null -> NaN)."""
    if value is None:
        return np.array(np.nan)
    if isinstance(value, list):
        return np.array(_nulls_to_nan(value), dtype=np.float64)
    return np.array(float(value))


def _nulls_to_nan(value):
    if isinstance(value, list):
        return [_nulls_to_nan(v) for v in value]
    return math.nan if value is None else value


def dumps(data: dict, indent=2) -> str:
    """Strict JSON text of the (already plain) data."""
    return json.dumps(data, indent=indent, allow_nan=False)
