"""The decision picture of 2-D classification: a grid over the data's range (padded by a tenth),
the predicted class at each grid point and the probability of that class."""

from __future__ import annotations

import math
import warnings

import numpy as np


def grid_points(X_all: np.ndarray, resolution: int) -> tuple:
    """(points, x_range, y_range): ``resolution`` x ``resolution`` points, row 0 the lowest y."""
    lo, hi = X_all.min(axis=0), X_all.max(axis=0)
    pad = 0.1 * (hi - lo)
    lo, hi = lo - pad, hi + pad
    gx, gy = np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution)
    points = np.stack(np.meshgrid(gx, gy), axis=-1).reshape(-1, 2)
    return points, [float(lo[0]), float(hi[0])], [float(lo[1]), float(hi[1])]


def predicted_classes(model, points: np.ndarray, decimals: int = 4) -> dict:
    """{"label", "confidence"} of ``model`` at ``points``; an overflowed network shows confidence 0."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "never trained" is what a fresh page shows on purpose
        proba = model.predict_proba(points)
        finite = np.isfinite(proba).any()  # a row of NaN warns in nanmax: it is shown as no confidence
        confidence = np.round(np.nanmax(proba, axis=1), decimals) if finite else np.zeros(len(points))
    return {"label": np.argmax(np.nan_to_num(proba), axis=1).tolist(),
            "confidence": [c if math.isfinite(c) else None for c in confidence.tolist()]}
