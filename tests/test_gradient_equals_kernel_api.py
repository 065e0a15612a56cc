"""A training step's gradient (loss_gradient's one block: train_step's forward and backward,
csrc/nn/step_parts.hpp) equals, bit for bit, the kernel API called one layer at a time
(dense_forward, loss_forward_backward, dense_backward), under every ISA, for relu and leaky_relu
hidden layers (whose derivative a faster backward might fuse into the dX product: it must keep
these bits), at sizes that straddle the register tiles, with units whose z is exactly 0
(relu'(0) = 0). A NaN z cannot be seen this way: it makes the loss NaN, which loss_gradient
refuses.
"""

from __future__ import annotations

import numpy as np
import pytest

from isa_cases import cpp, isa  # noqa: F401 (isa: the fixture)

from fastmlp.backends import Network

HIDDEN = ["relu", "leaky_relu"]


def _case(rng, dtype, sizes, acts):
    weights = [(rng.standard_normal((a, b)) / np.sqrt(a)).astype(dtype)
               for a, b in zip(sizes[:-1], sizes[1:])]
    biases = [(0.1 * rng.standard_normal(b)).astype(dtype) for b in sizes[1:]]
    # unit 0 of every hidden layer: z exactly 0 on every row (relu'(0) = 0, leaky's slope)
    for w, b in zip(weights[:-1], biases[:-1]):
        w[:, 0] = 0
        b[0] = 0
    return Network(weights, biases, acts + ["identity"], "cross_entropy")


def _composed_gradient(net, X, y):
    """Layer by layer through the kernel API: the unfused reference."""
    zs, inputs = [], [X]
    for w, b, act in zip(net.weights, net.biases, net.activations):
        z, a = cpp.dense_forward(inputs[-1], w, b, act)
        zs.append(z)
        inputs.append(a)
    loss, grad = cpp.loss_forward_backward("cross_entropy", inputs[-1], y)
    grads_w, grads_b = [], []
    for l in reversed(range(len(net.weights))):
        grad, gw, gb = cpp.dense_backward(inputs[l], net.weights[l], zs[l], inputs[l + 1], grad,
                                          net.activations[l])
        grads_w.insert(0, gw)
        grads_b.insert(0, gb)
    return loss, grads_w, grads_b


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("acts", [["relu", "relu"], ["leaky_relu", "leaky_relu"],
                                  ["relu", "leaky_relu"], ["leaky_relu", "tanh"]])
@pytest.mark.parametrize("shape", [(70, [37, 45, 29, 10]), (1, [40, 41, 43, 3]),
                                   (131, [64, 100, 50, 10])])
def test_step_gradient_equals_the_layer_by_layer_kernels(isa, dtype, acts, shape):
    rows, sizes = shape
    rng = np.random.default_rng(rows + sizes[1])
    net = _case(rng, dtype, sizes, acts)
    X = rng.standard_normal((rows, sizes[0])).astype(dtype)
    y = rng.integers(0, sizes[-1], rows)
    loss, grads_w, grads_b = _composed_gradient(net, X, y)
    got = cpp.loss_gradient(net, X, y)
    assert got.loss == loss, isa
    for l, (gw, gb) in enumerate(zip(grads_w, grads_b)):
        assert np.array_equal(got.grads[2 * l], gw), f"{isa} grad_w[{l}] {acts} {shape}"
        assert np.array_equal(got.grads[2 * l + 1], gb), f"{isa} grad_b[{l}] {acts} {shape}"
    # the zero unit: no gradient through relu, the slope's share through leaky_relu
    if acts[0] == "relu":
        assert not np.any(got.grads[0][:, 0]) and got.grads[1][0] == 0
