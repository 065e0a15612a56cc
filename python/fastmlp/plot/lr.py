"""The learning-rate range test (`fastmlp.lr_find`) as a picture: loss against learning rate."""

from __future__ import annotations

from . import _mpl


def lr_find(result, ax=None, *, show=False):
    """The raw and smoothed loss of each step against its learning rate (log x-axis), and a
    dashed vertical line at the suggested rate; the title and the suggestion's label name the
    optimizer the test ran. Returns the Axes (lines: "loss", "smoothed", then the suggestion)."""
    for key in ("lrs", "losses", "smoothed", "suggested_lr"):
        if not hasattr(result, key):
            raise TypeError(f"result must be the LRFindResult fastmlp.lr_find returns, got {type(result).__name__}")
    if len(result.lrs) == 0:
        raise ValueError("result holds no step: lr_find stopped before its first step")
    ax = _mpl.axes(ax)
    ax.plot(result.lrs, result.losses, alpha=0.35, label="loss")
    ax.plot(result.lrs, result.smoothed, label="smoothed")
    optimizer = getattr(result, "optimizer", "sgd")
    ax.axvline(result.suggested_lr, color="k", linestyle="--",
               label=f"suggested lr {result.suggested_lr:.1e} for {optimizer}")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("loss")
    ax.set_title(f"learning-rate range test, {optimizer}")
    ax.grid(True, alpha=0.3)
    ax.legend()
    _mpl.finish(ax.figure, show)
    return ax
