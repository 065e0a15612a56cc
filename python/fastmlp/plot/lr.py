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


def lr_sweep(explanation, ax=None, *, show=False):
    """The loss curves of `fastmlp.explain`'s learning-rate sweep: the loss after each step of the
    run at every rate its table names (too small, good, best single step, too large), log y-axis.
    A run that diverged ends where it was stopped. Returns the Axes (one line per column, labelled
    like the table's column and its rate)."""
    data = explanation.as_dict() if hasattr(explanation, "as_dict") else explanation
    if not isinstance(data, dict) or "lr_sweep" not in data:
        raise TypeError(f"explanation must be what fastmlp.explain returns, got {type(explanation).__name__}")
    ax = _mpl.axes(ax)
    for entry in data["lr_sweep"]["rates"]:
        curve = [float("nan") if x is None else x for x in entry["run_curve"]]
        ax.plot(range(len(curve)), curve, label=f"{entry['label']}: lr {entry['lr']:g} ({entry['run_verdict']})")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss on the batch")
    ax.set_title("gradient descent at each rate")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    _mpl.finish(ax.figure, show)
    return ax
