"""Learning curves from a `fastmlp.History`: loss and metric per epoch, train beside validation."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import _mpl

METRIC_LABELS = {"accuracy": "accuracy", "r2": "R$^2$"}


def _check_history(history):
    for key in ("loss", "val_loss", "metric", "val_metric"):
        if not hasattr(history, key):
            raise TypeError(f"history must be a fastmlp.History (the value fit returns), "
                            f"got {type(history).__name__}")
    if len(history.loss) == 0:
        raise ValueError("history is empty: it holds no epoch (fit with epochs >= 1)")
    return history


def _epochs(values):
    return np.arange(1, len(values) + 1)


# The training value is the mean over an epoch's steps while the weights were still changing; the
# validation value is measured once after the epoch. Epoch 1's training loss thus includes the
# untrained first steps and sits far above the validation loss: the plot says so under its axis.
WHEN_MEASURED = "train: mean over the epoch's steps; validation: after the epoch"


def _integer_epochs(ax, both: bool = False):
    from matplotlib.ticker import MaxNLocator

    ax.set_xlabel("epoch\n" + WHEN_MEASURED if both else "epoch", fontsize="small" if both else None)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def has_metric(history) -> bool:
    """True when the history holds a metric (train accuracy, or validation accuracy / R^2)."""
    return bool(len(history.metric) or len(history.val_metric))


def loss_curve(history, ax=None, *, show=False):
    """Training loss per epoch, and validation loss when the fit had validation data.

    Lines are labelled "train" and "validation"; x is the epoch, counted from 1. With both, the
    x-axis label says when each is measured (`WHEN_MEASURED`). Returns the Axes.
    """
    history = _check_history(history)
    ax = _mpl.axes(ax)
    ax.plot(_epochs(history.loss), history.loss, marker=".", color="C0", label="train")
    if len(history.val_loss):
        ax.plot(_epochs(history.val_loss), history.val_loss, marker=".", color="C1", label="validation")
    _integer_epochs(ax, both=bool(len(history.val_loss)))
    ax.set_ylabel("loss")
    ax.set_title("loss")
    ax.grid(True, alpha=0.3)
    ax.legend()
    _mpl.finish(ax.figure, show)
    return ax


def metric_curve(history, ax=None, *, show=False):
    """The metric per epoch (accuracy, or R^2 on validation data for regression). Returns the Axes."""
    history = _check_history(history)
    if not has_metric(history):
        raise ValueError("history holds no metric: a regression fit records R^2 only with validation_data")
    ax = _mpl.axes(ax)
    if len(history.metric):
        ax.plot(_epochs(history.metric), history.metric, marker=".", color="C0", label="train")
    if len(history.val_metric):
        ax.plot(_epochs(history.val_metric), history.val_metric, marker=".", color="C1", label="validation")
    label = METRIC_LABELS.get(history.metric_name, history.metric_name)
    _integer_epochs(ax, both=bool(len(history.metric) and len(history.val_metric)))
    ax.set_ylabel(label)
    ax.set_title(label)
    ax.grid(True, alpha=0.3)
    ax.legend()
    _mpl.finish(ax.figure, show)
    return ax


def history(history, ax=None, *, show=False):
    """Loss and (when recorded) metric side by side; ``ax`` is None or a sequence of one or two
    Axes (loss first). Returns the Figure."""
    history = _check_history(history)
    n = 2 if has_metric(history) else 1
    fig, panels = _mpl.axes_grid(ax, n, cols=n, panel_size=(5.0, 4.0))
    loss_curve(history, ax=panels[0])
    if n == 2:
        metric_curve(history, ax=panels[1])
    return _mpl.finish(fig, show)


def save_history(history, path, *, dpi=100):
    """Write `history`'s curves to an image file (format from the suffix: .png, .pdf, .svg, ...)
    without pyplot, so it works with no display; returns the Figure."""
    history = _check_history(history)
    path = Path(path)
    n = 2 if has_metric(history) else 1
    fig = _mpl.detached_figure(figsize=(5.0 * n, 4.0))
    panels = fig.subplots(1, n, squeeze=False).ravel()
    loss_curve(history, ax=panels[0])
    if n == 2:
        metric_curve(history, ax=panels[1])
    fig.savefig(path, dpi=dpi)
    return fig
