"""First-layer weights as images: what each hidden unit of an MNIST network looks for.

Column j of W1 (n_in, n_out) holds the weights from every pixel into hidden unit j; reshaped
to 28 x 28 it is a picture of the stroke pattern that excites the unit (red) or inhibits it
(blue). Each image has its own symmetric colour scale, so faint units stay visible.
"""

from __future__ import annotations

import math

import numpy as np

from .. import checks as check
from . import _mpl


def _first_layer(model_or_weights):
    if hasattr(model_or_weights, "weights") and hasattr(model_or_weights, "layer_sizes"):
        return np.asarray(model_or_weights.weights[0])
    w = np.asarray(model_or_weights)
    if w.ndim != 2 or w.dtype.kind != "f":
        raise TypeError("model must be a fastmlp.MLP or a 2-D float weight matrix (n_in, n_out), "
                        f"got {type(model_or_weights).__name__} {getattr(w, 'shape', '')}")
    return w


def first_layer_weights(model, *, n_units=None, image_shape=(28, 28), cols=None, ax=None, cmap="RdBu_r",
                        show=False):
    """The incoming weights of the first ``n_units`` hidden units (default: up to 64) as images.

    ``model``: a fastmlp.MLP or its first weight matrix (n_in, n_out); n_in must equal the
    product of ``image_shape``. ``ax``: None or a sequence of at least ``n_units`` Axes.
    Returns the Figure; panel j shows ``W1[:, j].reshape(image_shape)``.
    """
    w = _first_layer(model)
    if (not isinstance(image_shape, (tuple, list)) or len(image_shape) != 2
            or not all(isinstance(s, (int, np.integer)) and s >= 1 for s in image_shape)):
        raise ValueError(f"image_shape must be a pair of positive ints such as (28, 28), got {image_shape!r}")
    if math.prod(image_shape) != w.shape[0]:
        raise ValueError(f"image_shape {tuple(image_shape)} has {math.prod(image_shape)} pixels, "
                         f"the first layer has {w.shape[0]} inputs")
    n = min(w.shape[1], 64) if n_units is None else check.integer(n_units, "n_units", low=1)
    if n > w.shape[1]:
        raise ValueError(f"n_units is {n}, the first layer has only {w.shape[1]} units")
    cols = math.ceil(math.sqrt(n)) if cols is None else check.integer(cols, "cols", low=1)
    cols = min(cols, n)
    fig, panels = _mpl.axes_grid(ax, n, cols=cols, panel_size=(1.2, 1.2))
    for j, panel in enumerate(panels):
        image = w[:, j].reshape(image_shape)
        scale = float(np.abs(image).max()) or 1.0  # an all-zero unit still gets a valid range
        panel.imshow(image, cmap=cmap, vmin=-scale, vmax=scale, interpolation="nearest")
        panel.set_axis_off()
        panel.set_title(f"unit {j}", fontsize=7)
    if ax is None:
        fig.suptitle("first-layer weights (red excites, blue inhibits)", fontsize=9)
    return _mpl.finish(fig, show)
