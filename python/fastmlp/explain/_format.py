"""Numbers as text: scalars with significant digits, matrices as aligned columns.

Every renderer (text, markdown, html) formats numbers here, so one matrix reads the same in
each. A matrix shares one number format across its entries: the same count of decimals (or
scientific notation when its entries are very large or very small), so the decimal points line
up in a column and entries can be compared at a glance, as NumPy prints arrays.
"""

from __future__ import annotations

import math

import numpy as np

MATRIX_DIGITS = 4  # significant digits of a matrix's largest entry: enough to follow the arithmetic
SCALAR_DIGITS = 6  # losses and learning rates in prose: enough to see a small change
EXACT_DIGITS = 17  # float64 needs 17 significant digits to round-trip: "digit by digit"
MAX_ROWS = 12  # larger matrices are shown with their first and last rows and "..." between
MAX_COLS = 10
ELLIPSIS = "..."


def scalar(value, digits: int = SCALAR_DIGITS) -> str:
    """``value`` with ``digits`` significant digits; non-finite values as inf / -inf / nan."""
    if value is None:
        return "n/a"
    value = float(value)
    if not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    text = f"{value:.{digits}g}"
    return "0" if text in ("-0", "0") else text


def exact(value) -> str:
    """``value`` with every digit float64 has (17 significant), for side-by-side comparison."""
    if value is None:
        return "n/a"
    return scalar(value, EXACT_DIGITS)


def rate(value) -> str:
    """A learning rate: the shortest text that reads back as the same float (2, 0.002, 1e-05)."""
    return repr(float(value)) if not float(value).is_integer() else f"{float(value):g}"


def as_matrix(value) -> np.ndarray:
    """A 2-D float64 view of a scalar, vector (one row) or matrix, for display."""
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        return arr.reshape(1, 1)
    if arr.ndim == 1:
        return arr.reshape(1, -1)
    return arr


def _shown(n: int, limit: int) -> list:
    """Indices to show out of ``n``: all, or the first and last ones with None for the gap."""
    if n <= limit:
        return list(range(n))
    head = (limit - 1) // 2 + (limit - 1) % 2
    tail = limit - 1 - head
    return list(range(head)) + [None] + list(range(n - tail, n))


def _number_style(values: np.ndarray, digits: int):
    """A formatter shared by a matrix's entries: fixed decimals, or scientific for extremes."""
    finite = np.abs(values[np.isfinite(values)])
    largest = float(finite.max()) if finite.size else 0.0
    if largest < 1e15 and np.all(finite == np.round(finite)):
        return lambda v: f"{v:.0f}"  # inputs such as XOR's 0 and 1 read best as integers
    if largest == 0.0 or 1e-4 <= largest < 1e5:
        decimals = 0 if largest == 0.0 else max(0, digits - 1 - math.floor(math.log10(largest)))
        return lambda v: f"{v:.{decimals}f}"
    return lambda v: f"{v:.{digits - 1}e}"


def matrix_cells(value, digits: int = MATRIX_DIGITS, max_rows: int = MAX_ROWS) -> list:
    """The entries of ``value`` (scalar, vector or matrix) as rows of strings, every column
    right-aligned to its widest entry, large matrices elided with "..." rows and columns."""
    arr = as_matrix(value)
    rows, cols = _shown(arr.shape[0], max_rows), _shown(arr.shape[1], MAX_COLS)
    shown = arr[np.ix_([r for r in rows if r is not None], [c for c in cols if c is not None])]
    fmt = _number_style(shown, digits)

    def cell(v):
        if not math.isfinite(v):
            return scalar(v)
        text = fmt(v)
        # "-0.000" is a tiny negative number rounded away; a learner reads it as a sign error
        return text[1:] if text.startswith("-") and float(text) == 0.0 else text

    table = []
    for r in rows:
        table.append([ELLIPSIS if (r is None or c is None) else cell(float(arr[r, c])) for c in cols])
    widths = [max(len(row[j]) for row in table) for j in range(len(cols))]
    return [[row[j].rjust(widths[j]) for j in range(len(cols))] for row in table]


def shape_text(value) -> str:
    """'4x2' for a matrix, '2' for a vector, '' for a scalar."""
    arr = np.asarray(value)
    return "x".join(str(n) for n in arr.shape)
