"""The same step by every backend, quantity by quantity, against the NumPy oracle.

For each named quantity the comparison keeps the largest absolute difference from the oracle
over all its entries, and the one entry where the backends disagree most (or, when they agree
exactly, its largest entry), so a reader can see that entry's 17 digits side by side.
"""

from __future__ import annotations

import re

import numpy as np

REFERENCE = "numpy"
INPUTS = re.compile(r"^(x|t|[Wb]\d+)$")  # given to every backend, not computed: nothing to compare


def _is_input(key: str) -> bool:
    return INPUTS.match(key) is not None


def _difference(a: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """|a - ref| elementwise; equal infinities and NaN against NaN count as agreement."""
    with np.errstate(invalid="ignore"):
        diff = np.atleast_1d(np.abs(a - ref))
    same = np.atleast_1d((a == ref) | (np.isnan(a) & np.isnan(ref)))
    diff[same] = 0.0
    diff[np.isnan(diff)] = np.inf  # NaN on one side only: as far apart as can be
    return diff.reshape(ref.shape)


def compare(traces: dict) -> list:
    """Rows ``{"quantity", "index", "values", "max_abs_diff", "max_abs_diff_by_backend"}``, one per
    computed quantity (the inputs x, t, W, b are the same arrays for every backend).

    ``traces`` maps a backend name to its `one_step` values; the "numpy" trace is the reference.
    ``index`` is the entry shown (``[]`` for a scalar), ``values`` that entry per backend.
    """
    reference = traces[REFERENCE]
    others = [name for name in traces if name != REFERENCE]
    rows = []
    for key, ref_value in reference.items():
        if _is_input(key):
            continue
        ref = np.asarray(ref_value, dtype=np.float64)
        arrays = {name: np.asarray(traces[name][key], dtype=np.float64) for name in others}
        diffs = {name: _difference(arr, ref) for name, arr in arrays.items()}
        worst = np.zeros(ref.shape)
        for diff in diffs.values():
            worst = np.maximum(worst, diff)
        if worst.size and worst.max() > 0:
            flat = int(np.argmax(worst))
        else:
            magnitude = np.where(np.isfinite(ref), np.abs(ref), 0.0)
            flat = int(np.argmax(magnitude)) if ref.size else 0
        index = [int(i) for i in np.unravel_index(flat, ref.shape)] if ref.ndim else []
        pick = tuple(index)
        rows.append({
            "quantity": key,
            "index": index,
            "values": {name: float(arr[pick]) for name, arr in {REFERENCE: ref, **arrays}.items()},
            "max_abs_diff": float(worst.max()) if worst.size else 0.0,
            "max_abs_diff_by_backend": {name: float(d.max()) if d.size else 0.0 for name, d in diffs.items()},
        })
    return rows
