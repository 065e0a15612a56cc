"""Row-by-row and unit-by-unit facts the explanation states, computed from the numbers it shows.

A batch step lowers the *mean* loss; single rows may still move away from their targets, and a
ReLU unit that is off for every row passes no gradient back. These helpers find such cases in
an explained step (``Explanation.as_dict()["backends"][name]``) so the prose can say what
happened instead of what usually happens.
"""

from __future__ import annotations

import numpy as np


def distances(p, t) -> np.ndarray:
    """Each row's distance from its target: the sum over its outputs of |p - t| (|p - t| for one
    output; for one-hot targets, 2 (1 - p of the true class))."""
    return np.abs(np.asarray(p, dtype=np.float64) - np.asarray(t, dtype=np.float64)).sum(axis=1)


def moves(v) -> dict:
    """Rows (counted from 1) that moved toward, away from, or stayed at their targets in the step."""
    before, after = distances(v["p"], v["t"]), distances(v["p_after"], v["t"])
    rows = {"toward": [], "away": [], "same": []}
    for i, (b, a) in enumerate(zip(before, after), start=1):
        rows["toward" if a < b else "away" if a > b else "same"].append(i)
    return {"before": before, "after": after, **rows}


def dead_units(v, k: int, activation: str) -> list:
    """Units (counted from 1) of hidden layer ``k`` that are 0 for every row: a ReLU whose z is
    never positive on this batch, so f'(z) = 0 and no gradient flows through it."""
    if activation != "relu":
        return []
    a = np.asarray(v[f"a{k}"], dtype=np.float64)
    return [j + 1 for j in range(a.shape[1]) if np.all(a[:, j] == 0)]


def silent_rows(v, k: int, activation: str) -> list:
    """Rows (counted from 1) for which every ReLU unit of hidden layer ``k`` is 0: that example
    sends no gradient to the layers below ``k``."""
    if activation != "relu":
        return []
    a = np.asarray(v[f"a{k}"], dtype=np.float64)
    return [i + 1 for i in range(a.shape[0]) if np.all(a[i] == 0)]


def listing(numbers) -> str:
    """'2', '2 and 3', '1, 2 and 4'."""
    words = [str(n) for n in numbers]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
