"""Backpropagation, written once: the forward pass that keeps what backward needs, and backward.

Both take a kernel module (``fastmlp.backends.get_backend(name)``, or the oracle's unchecked
kernels while it trains) and call only its ``dense_forward`` / ``dense_backward``, so the same
chain runs on NumPy, Numba or the C++ core. ``net`` is anything with ``weights`` (n_in, n_out)
per layer, ``biases`` (n_out,) and ``activations`` (a `Network`, or `Layers`).

Names per layer l (counted from 0): ``inputs[l]`` what the layer read (x for layer 0, else the
previous a after dropout), ``z[l] = inputs[l] @ W[l] + b[l]``, ``a[l] = f(z[l])`` (before dropout).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple


class Layers(NamedTuple):
    """The parts of a network that forward and backward read (when there is no `Network`)."""

    weights: list
    biases: list
    activations: list


@dataclass
class Cache:
    """What the forward pass keeps for backward, one entry per layer (see the module's names)."""

    inputs: list
    z: list
    a: list
    masks: list | None = None  # inverted-dropout masks multiplying a[l]; None (or None entries): none

    @property
    def output(self):
        """The last layer's activation: the raw output the loss takes."""
        return self.a[-1]

    def mask(self, layer):
        """Layer ``layer``'s dropout mask, or None."""
        masks = self.masks
        return masks[layer] if masks is not None and layer < len(masks) else None


def forward(kernels, net, x, masks=None) -> Cache:
    """Run ``x`` (batch, n_in) through every layer with ``kernels.dense_forward``; keep each
    layer's input, z and a. ``masks[l]`` (when given and not None) multiplies a[l] before the next
    layer reads it (dropout; the list may stop before the last layer)."""
    cache = Cache([], [], [], masks)
    h = x
    for layer, (w, b, act) in enumerate(zip(net.weights, net.biases, net.activations)):
        cache.inputs.append(h)
        z, a = kernels.dense_forward(h, w, b, act)
        cache.z.append(z)
        cache.a.append(a)
        mask = cache.mask(layer)
        h = a if mask is None else a * mask
    return cache


def backward(kernels, net, cache: Cache, grad_out, upstream=None) -> list:
    """The gradients ``[dL/dW0, dL/db0, dL/dW1, dL/db1, ...]`` (the optimizers' order) from
    ``grad_out = dL/d(output)``, last layer first, with ``kernels.dense_backward``. Through a
    dropout layer the incoming gradient is multiplied by the same mask. ``upstream``, a list when
    given, receives each layer's incoming dL/da (after the mask), indexed by layer."""
    n_layers = len(net.weights)
    grads = [None] * (2 * n_layers)
    if upstream is not None:
        upstream[:] = [None] * n_layers
    grad_a = grad_out
    for layer in reversed(range(n_layers)):
        mask = cache.mask(layer)
        if mask is not None:
            grad_a = grad_a * mask
        if upstream is not None:
            upstream[layer] = grad_a
        grad_a, grads[2 * layer], grads[2 * layer + 1] = kernels.dense_backward(
            cache.inputs[layer], net.weights[layer], cache.z[layer], cache.a[layer], grad_a,
            net.activations[layer], layer > 0)  # the first layer's grad_x: nothing reads it
    return grads


def gradients(kernels, net, x, y) -> list:
    """dLoss/dparam of ``net.loss`` (unweighted, no penalty) on the batch (x, y):
    `forward`, the kernels' ``loss_forward_backward``, then `backward`."""
    cache = forward(kernels, net, x)
    _, grad_out = kernels.loss_forward_backward(net.loss, cache.output, y)
    return backward(kernels, net, cache, grad_out)
