"""Per-layer gradient norms over training, from a `fastmlp.plot.GradientNorms` recorder."""

from __future__ import annotations

from . import _mpl


def gradient_norms(recorder, ax=None, *, biases=False, log=True, show=False):
    """One line per layer: ||dLoss/dW|| (or ||dLoss/db|| with ``biases``) against epochs trained.

    ``recorder``: a `GradientNorms` filled during fit (or `record_gradient_norms`'s first result).
    A log y-axis (default) shows vanishing or exploding gradients as lines that part by orders of
    magnitude. Returns the Axes; line i is layer i + 1.
    """
    for key in ("epochs", "weight_norms", "bias_norms"):
        if not hasattr(recorder, key):
            raise TypeError(f"recorder must be a fastmlp.plot.GradientNorms, got {type(recorder).__name__}")
    epochs = recorder.epochs
    norms = recorder.bias_norms if biases else recorder.weight_norms
    if len(epochs) == 0:
        raise ValueError("recorder is empty: pass it to fit(callbacks=[recorder]) first")
    ax = _mpl.axes(ax)
    symbol = "b" if biases else "W"
    for layer in range(norms.shape[1]):
        ax.plot(epochs, norms[:, layer], marker=".", label=f"layer {layer + 1}: ||dL/d{symbol}{layer + 1}||")
    if log and (norms > 0).all():
        ax.set_yscale("log")
    ax.set_xlabel("epochs trained")
    ax.set_ylabel("gradient norm (fixed batch)")
    ax.set_title("gradient norm per layer")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    _mpl.finish(ax.figure, show)
    return ax
