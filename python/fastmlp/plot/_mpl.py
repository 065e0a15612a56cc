"""matplotlib, imported only when a plot is drawn, so `import fastmlp` never needs it.

New figures come from pyplot (they show in notebooks and under ``plt.show()`` like any other),
except `detached_figure`, which builds a bare `matplotlib.figure.Figure` with no GUI backend:
the command line uses it to write a PNG on a machine without a display.
"""

from __future__ import annotations

from .._optional import require


def matplotlib():
    """The matplotlib package, or ImportError naming the `plot` extra."""
    return require("matplotlib", "fastmlp.plot", "'fastmlp[plot]' (or pip install matplotlib)")


def pyplot():
    matplotlib()
    import matplotlib.pyplot as plt

    return plt


def detached_figure(figsize):
    """A Figure that belongs to no pyplot window (renders with Agg when saved)."""
    matplotlib()
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, layout="constrained")


def axes(ax, figsize=(6.0, 4.0)):
    """``ax`` itself, or one Axes on a new pyplot figure when ``ax`` is None; checks the type."""
    matplotlib()
    if ax is None:
        _, ax = pyplot().subplots(figsize=figsize, layout="constrained")
        return ax
    from matplotlib.axes import Axes

    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
    return ax


def axes_grid(ax, n, cols, panel_size=(3.0, 3.0)):
    """``n`` Axes: the first ``n`` of the sequence ``ax``, or a new pyplot figure of
    ceil(n / cols) rows x cols panels (the spare panels hidden)."""
    matplotlib()
    from matplotlib.axes import Axes

    if ax is None:
        rows = -(-n // cols)
        fig, grid = pyplot().subplots(rows, cols, figsize=(panel_size[0] * cols, panel_size[1] * rows),
                                      squeeze=False, layout="constrained")
        flat = list(grid.ravel())
        for spare in flat[n:]:
            spare.set_axis_off()
        return fig, flat[:n]
    if isinstance(ax, Axes):
        ax = [ax]
    try:
        flat = list(getattr(ax, "ravel", lambda: ax)())
    except TypeError:
        raise TypeError(f"ax must be a sequence of matplotlib Axes or None, got {type(ax).__name__}") from None
    if len(flat) < n or not all(isinstance(a, Axes) for a in flat):
        raise ValueError(f"ax must hold at least {n} matplotlib Axes, got {len(flat)} item(s)")
    return flat[0].figure, flat[:n]


def finish(fig, show):
    """Show the figure only when asked (never by default: scripts and tests stay headless)."""
    if show:
        pyplot().show()
    return fig
