"""A CSV file the user opens on the page: parsed with the stdlib csv module and checked cell by cell.

The target is one column (the last unless the user picks another); every other column is a
feature. A target of few distinct whole numbers makes a classification task (its values become
the classes 0, 1, ...), anything else a regression task.
"""

from __future__ import annotations

import csv
import io
import math

import numpy as np

MAX_CSV_BYTES = 262_144
MAX_CSV_ROWS = 2000
MAX_CSV_COLUMNS = 33  # 32 features and the target
MAX_CLASSES = 10  # a whole-number target with more distinct values is treated as a quantity


class CsvError(ValueError):
    """A CSV the playground refuses; the message says where and why."""


class CsvTable:
    """The checked numbers of a CSV: features ``X``, target ``y`` (class indices or values)."""

    def __init__(self, X, y, columns, target, task, classes):
        self.X, self.y, self.columns, self.target, self.task, self.classes = X, y, columns, target, task, classes

    def summary(self) -> dict:
        """What the page shows about the file (no numbers of it)."""
        return {"columns": self.columns, "target": self.target, "task": self.task, "n_rows": len(self.X),
                "n_features": int(self.X.shape[1]), "classes": self.classes}


def _number(cell: str, row: int, column: str) -> float:
    try:
        value = float(cell)
    except ValueError:
        raise CsvError(f"csv row {row} column {column!r}: {cell.strip()!r} is not a number; every column "
                       "must be numeric") from None
    if not math.isfinite(value):
        raise CsvError(f"csv row {row} column {column!r}: {cell.strip()!r} is not a finite number "
                       "(NaN and infinities are refused)")
    return value


def _is_number(cell: str) -> bool:
    try:
        float(cell)
        return True
    except ValueError:
        return False


def _rows(text) -> list:
    if not isinstance(text, str) or not text.strip():
        raise CsvError("csv must be the text of a CSV file with a header line or numbers only; got "
                       f"{'an empty text' if isinstance(text, str) else type(text).__name__}")
    size = len(text.encode("utf-8"))
    if size > MAX_CSV_BYTES:
        raise CsvError(f"csv is {size} bytes; the playground opens files of at most {MAX_CSV_BYTES} bytes")
    try:
        rows = [r for r in csv.reader(io.StringIO(text)) if any(c.strip() for c in r)]
    except csv.Error as exc:
        raise CsvError(f"csv could not be read: {exc}") from None
    return rows


def _target_index(target, columns: list) -> int:
    if target is None or target == "":
        return len(columns) - 1
    if target in columns:
        return columns.index(target)
    if isinstance(target, int) and not isinstance(target, bool) and 0 <= target < len(columns):
        return target
    raise CsvError(f"target must be one of the csv's columns ({', '.join(columns)}), got {target!r}")


def parse_csv(text, target=None) -> CsvTable:
    """The checked table of a CSV's text; raises CsvError naming the row and column at fault."""
    rows = _rows(text)
    header = rows[0] if not all(_is_number(c) for c in rows[0]) else None
    columns = [c.strip() or f"column {i + 1}" for i, c in enumerate(header)] if header else \
        [f"column {i + 1}" for i in range(len(rows[0]))]
    body = rows[1:] if header else rows
    first_row = 2 if header else 1
    if not 2 <= len(columns) <= MAX_CSV_COLUMNS:
        raise CsvError(f"csv has {len(columns)} columns; it needs at least 2 (features and a target) and "
                       f"at most {MAX_CSV_COLUMNS}")
    if len(set(columns)) != len(columns):
        raise CsvError("csv has two columns of the same name in its header line")
    if not 2 <= len(body) <= MAX_CSV_ROWS:
        raise CsvError(f"csv has {len(body)} data rows; it needs from 2 to {MAX_CSV_ROWS}")
    values = np.empty((len(body), len(columns)))
    for r, row in enumerate(body):
        if len(row) != len(columns):
            raise CsvError(f"csv row {r + first_row} has {len(row)} cells; the first line has {len(columns)}")
        values[r] = [_number(cell, r + first_row, columns[c]) for c, cell in enumerate(row)]
    t = _target_index(target, columns)
    y = values[:, t]
    X = np.delete(values, t, axis=1)
    distinct = np.unique(y)
    if len(distinct) < 2:
        raise CsvError(f"the target column {columns[t]!r} has a single value ({distinct[0]:g}): nothing to learn")
    if len(distinct) <= MAX_CLASSES and np.all(distinct == np.round(distinct)):
        return CsvTable(X, np.searchsorted(distinct, y).astype(np.int64), columns, columns[t], "classification",
                        [float(v) for v in distinct])
    return CsvTable(X, y, columns, columns[t], "regression", None)
