"""What an MLP answers once built: the forward pass in bounded chunks, every layer's z and a,
predictions and probabilities from the raw output, evaluate's loss and metric, and the warning
for a model that was never trained. `MLP` calls these; they read the model and change nothing
but the warning's once-only flag."""

from __future__ import annotations

import warnings
import zlib

import numpy as np

from . import losses as _losses
from .backends import backprop

PREDICT_CHUNK = 4096  # rows per forward call, so predicting on a large X needs bounded memory


def output(model, X):
    """The last layer's raw output on a checked X, computed PREDICT_CHUNK rows at a time."""
    out = np.empty((len(X), model.layer_sizes[-1]), model.dtype)
    for start in range(0, len(X), PREDICT_CHUNK):
        a = X[start:start + PREDICT_CHUNK]
        for w, b, act in zip(model.weights, model.biases, model.network.activations):
            _, a = model.backend.dense_forward(a, w, b, act)
        out[start:start + PREDICT_CHUNK] = a
    return out


def every_layer(model, X) -> list:
    """One ``{"z": z, "a": a}`` per layer on a checked X; the last ``a`` is the link applied."""
    # poisson's link "exp" is no kernel activation: run the identity, then apply exp to z
    kernel_acts = ["identity" if act == "exp" else act for act in model.activations]
    cache = backprop.forward(model.backend, backprop.Layers(model.weights, model.biases, kernel_acts), X)
    return [{"z": z, "a": np.exp(z) if act == "exp" else a}
            for z, a, act in zip(cache.z, cache.a, model.activations)]


def probabilities(model, logits):
    """The output link (softmax or sigmoid) of a classifier's raw output."""
    return model.backend.activation_forward(_losses.output_link(model.loss), logits)


def answers(loss, out):
    """predict's answer from the raw output: labels, 0/1 indicators, rates or values (1-D for
    one output)."""
    if loss == "poisson":
        out = np.exp(out)
    if loss == "cross_entropy":
        return out.argmax(axis=1)
    if loss == "binary_cross_entropy":
        labels = (out > 0).astype(np.int64)
        return labels[:, 0] if labels.shape[1] == 1 else labels
    return out[:, 0] if out.shape[1] == 1 else out


def scores(model, X, y) -> dict:
    """evaluate's ``{"loss", "accuracy"}`` or ``{"loss", "r2"}`` on a checked (X, y)."""
    out = output(model, X)
    loss, _ = model.backend.loss_forward_backward(model.loss, out, y)
    if model.loss == "cross_entropy":
        labels = y if y.ndim == 1 else y.argmax(axis=1)
        return {"loss": loss, "accuracy": float(np.mean(out.argmax(axis=1) == labels))}
    if model.loss == "binary_cross_entropy":
        return {"loss": loss, "accuracy": float(np.mean(((out > 0) == (y > 0.5)).all(axis=1)))}
    if model.loss == "poisson":  # R^2 of the predicted rate, not of its log
        out = np.exp(out.astype(np.float64))
    residual = ((y - out) ** 2).sum(dtype=np.float64)
    total = ((y - y.mean(axis=0)) ** 2).sum(dtype=np.float64)
    r2 = 1.0 - residual / total if total > 0 else float("nan")
    return {"loss": loss, "r2": float(r2)}


def params_crc(arrays) -> int:
    """A checksum of the parameters' bytes (fast: about a GB/s), to notice that they changed."""
    crc = 0
    for a in arrays:
        crc = zlib.crc32(np.ascontiguousarray(a).view(np.uint8).ravel(), crc)
    return crc


def warn_if_untrained(model, what: str):
    """Warn once when predicting with the random initial weights: the answers look confident
    (a class for every row) but mean nothing yet. Called by MLP.predict / predict_proba."""
    if model._warned_untrained or model._fit_count or model.optimizer is not None:
        return
    if params_crc(model.network.params) != model._initial_crc:  # weights loaded, converted or set by hand
        return
    model._warned_untrained = True
    warnings.warn(f"{what} on a model that was never trained: its weights are the random initial "
                  "ones, so the predictions are arbitrary; call fit(X, y) first (or MLP.load a "
                  "trained model)", UserWarning, stacklevel=3)
