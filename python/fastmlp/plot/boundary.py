"""Decision boundaries of a network on 2-D data: one picture, small multiples over training,
and an animation (GIF) of the boundary taking shape.

The plane around the data is sampled on a resolution x resolution grid; every grid point is
coloured by the class the model predicts there (or the value, for a regression model), and
the training points are drawn on top in their true class's colour.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np

from .. import checks as check
from .. import model_inputs
from . import _mpl


def _check_2d(model, X, y):
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"X must have shape (n_samples, 2) to draw a decision boundary, got {X.shape}")
    if model.layer_sizes[0] != 2:
        raise ValueError(f"model must take 2 inputs to draw a decision boundary, it takes {model.layer_sizes[0]}")
    if model.loss == "binary_cross_entropy" and model.layer_sizes[-1] != 1:
        raise ValueError("model: a multi-label binary_cross_entropy model has no single decision boundary")
    if not model.is_classifier and model.layer_sizes[-1] != 1:
        raise ValueError("model: a regression model needs 1 output to be drawn over the plane")
    X, y = model_inputs.check_xy(model, X, y, "X", "y") if y is not None else (model_inputs.check_x(model, X, "X"), None)
    if y is not None and y.ndim == 2:  # one-hot or (n, 1) targets: one value per point to colour by
        y = y.argmax(axis=1) if y.shape[1] > 1 else y[:, 0]
    return X, y


def plane_grid(X, resolution, padding):
    """Grid points (resolution**2, 2), row-major with y slowest, and the imshow extent whose
    pixel centres are exactly those points."""
    resolution = check.integer(resolution, "resolution", low=2)
    padding = check.number(padding, "padding", low=0.0)
    lo = X.min(axis=0).astype(np.float64) - padding
    hi = X.max(axis=0).astype(np.float64) + padding
    xs, ys = np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution)
    gx, gy = np.meshgrid(xs, ys)
    dx, dy = (xs[1] - xs[0]) / 2, (ys[1] - ys[0]) / 2
    extent = (xs[0] - dx, xs[-1] + dx, ys[0] - dy, ys[-1] + dy)
    return np.column_stack([gx.ravel(), gy.ravel()]), extent


@contextmanager
def _parameters(model, weights, biases):
    """Let ``model`` predict with other weights (a snapshot) for a moment; its own come back after."""
    if weights is None and biases is None:
        yield
        return
    if weights is None or biases is None:
        raise ValueError("weights and biases must be given together")
    for name, given, own in (("weights", weights, model.weights), ("biases", biases, model.biases)):
        if len(given) != len(own) or any(np.shape(g) != o.shape for g, o in zip(given, own)):
            raise ValueError(f"{name} do not fit the model: shapes {[np.shape(g) for g in given]}, "
                             f"the model's are {[o.shape for o in own]}")
    net = model.network
    saved = net.weights, net.biases
    net.weights = [np.ascontiguousarray(w, dtype=model.dtype) for w in weights]
    net.biases = [np.ascontiguousarray(b, dtype=model.dtype) for b in biases]
    try:
        yield
    finally:
        net.weights, net.biases = saved


def surface(model, grid, resolution, weights=None, biases=None):
    """What ``model`` predicts at each grid point, as a (resolution, resolution) image:
    class labels for a classifier, values for a regression model."""
    with _parameters(model, weights, biases):
        values = model.predict(grid.astype(model.dtype))
    return np.asarray(values).reshape(resolution, resolution)


def _n_classes(model):
    if model.loss == "cross_entropy":
        return model.layer_sizes[-1]
    if model.loss == "binary_cross_entropy":
        return 2
    return None


def _class_colours(n):
    from matplotlib.colors import ListedColormap

    base = _mpl.matplotlib().colormaps["tab10" if n <= 10 else "tab20"]
    return ListedColormap([base(i % base.N) for i in range(n)])


def decision_boundary(model, X, y=None, *, ax=None, resolution=200, padding=0.5, weights=None,
                      biases=None, title=None, show=False):
    """The model's predicted class over the plane around X (2 features), with the points of X
    coloured by their label y on top.

    ``weights`` / ``biases``: draw with these (e.g. a `WeightSnapshots` entry) instead of the
    model's own. A regression model (1 output) is drawn as its predicted value. Returns the Axes;
    ``ax.images[-1]`` holds the predictions, ``ax.collections[-1]`` the points.
    """
    _mpl.matplotlib()
    X, y = _check_2d(model, X, y)
    grid, extent = plane_grid(X, resolution, padding)
    values = surface(model, grid, resolution, weights, biases)
    ax = _mpl.axes(ax, figsize=(5.0, 5.0))
    n = _n_classes(model)
    if n is not None:
        cmap = _class_colours(n)
        colour_range = {"cmap": cmap, "vmin": -0.5, "vmax": n - 0.5}
        ax.imshow(values, origin="lower", extent=extent, aspect="auto", interpolation="nearest",
                  alpha=0.35, **colour_range)
    else:
        colour_range = {"cmap": "viridis", "vmin": float(values.min()), "vmax": float(values.max())}
        ax.imshow(values, origin="lower", extent=extent, aspect="auto", alpha=0.6, **colour_range)
    if y is None:
        ax.scatter(X[:, 0], X[:, 1], s=14, c="k")
    else:
        ax.scatter(X[:, 0], X[:, 1], c=y, s=14, edgecolors="k", linewidths=0.4, **colour_range)
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    if title is not None:
        ax.set_title(title)
    _mpl.finish(ax.figure, show)
    return ax


def _check_snapshots(snapshots):
    for key in ("epochs", "weights", "biases"):
        if not hasattr(snapshots, key):
            raise TypeError("snapshots must be a fastmlp.plot.WeightSnapshots (or have epochs, weights "
                            f"and biases), got {type(snapshots).__name__}")
    if not len(snapshots.epochs) or not (len(snapshots.epochs) == len(snapshots.weights) == len(snapshots.biases)):
        raise ValueError("snapshots is empty or inconsistent: record some with WeightSnapshots during fit")
    return snapshots


def chosen_snapshots(n_snapshots, max_panels):
    """Indices of at most ``max_panels`` snapshots, evenly spread, always the first and last."""
    max_panels = check.integer(max_panels, "max_panels", low=1)
    if n_snapshots <= max_panels:
        return list(range(n_snapshots))
    return sorted(set(np.round(np.linspace(0, n_snapshots - 1, max_panels)).astype(int).tolist()))


def boundary_snapshots(model, snapshots, X, y=None, *, ax=None, max_panels=8, cols=4, resolution=100,
                       padding=0.5, show=False):
    """Small multiples: the decision boundary at up to ``max_panels`` recorded epochs.

    ``snapshots``: a `WeightSnapshots` recorded during `fit`. ``ax``: None or a sequence of Axes.
    Returns the Figure; panel i is titled "epoch <n>".
    """
    snapshots = _check_snapshots(snapshots)
    chosen = chosen_snapshots(len(snapshots.epochs), max_panels)
    cols = min(check.integer(cols, "cols", low=1), len(chosen))
    fig, panels = _mpl.axes_grid(ax, len(chosen), cols=cols)
    for panel, i in zip(panels, chosen):
        decision_boundary(model, X, y, ax=panel, resolution=resolution, padding=padding,
                          weights=snapshots.weights[i], biases=snapshots.biases[i],
                          title=f"epoch {snapshots.epochs[i]}")
        panel.set_xticks([])
        panel.set_yticks([])
        panel.set_xlabel("")
        panel.set_ylabel("")
    return _mpl.finish(fig, show)


def animate_boundary(model, snapshots, X, y=None, *, path=None, fps=4, ax=None, resolution=100,
                     padding=0.5, dpi=100):
    """An animation of the decision boundary, one frame per snapshot; saved as a GIF (Pillow)
    when ``path`` is given. Returns the matplotlib FuncAnimation (keep a reference to it while
    it plays in a notebook)."""
    snapshots = _check_snapshots(snapshots)
    fps = check.number(fps, "fps", low=0.0, low_open=True)
    _mpl.matplotlib()
    from matplotlib.animation import FuncAnimation

    ax = decision_boundary(model, X, y, ax=ax, resolution=resolution, padding=padding,
                           weights=snapshots.weights[0], biases=snapshots.biases[0],
                           title=f"epoch {snapshots.epochs[0]}")
    image = ax.images[-1]
    grid, _ = plane_grid(_check_2d(model, X, y)[0], resolution, padding)

    def draw(i):
        image.set_data(surface(model, grid, resolution, snapshots.weights[i], snapshots.biases[i]))
        ax.set_title(f"epoch {snapshots.epochs[i]}")
        return (image,)

    animation = FuncAnimation(ax.figure, draw, frames=len(snapshots.epochs), interval=1000.0 / fps,
                              blit=False, repeat=True)
    if path is not None:
        try:
            from matplotlib.animation import PillowWriter

            import PIL  # noqa: F401  (PillowWriter needs it; matplotlib >= 3.3 depends on it)
        except ImportError as exc:
            raise ImportError("saving an animation needs Pillow: pip install pillow") from exc
        animation.save(str(path), writer=PillowWriter(fps=fps), dpi=dpi)
    return animation
