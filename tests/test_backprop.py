"""backends/backprop.py: forward and backward written once, over any backend's kernels."""

from __future__ import annotations

import numpy as np
import pytest

from fastmlp.backends import Network, backprop
from fastmlp.backends import numpy_unchecked as unchecked

ACTS = ["tanh", "gelu", "sigmoid", "identity"]


def _net(rng, sizes=(5, 7, 6, 4, 3), dtype=np.float64, acts=ACTS):
    weights = [(rng.standard_normal((m, n)) / np.sqrt(m)).astype(dtype) for m, n in zip(sizes, sizes[1:])]
    biases = [(0.1 * rng.standard_normal(n)).astype(dtype) for n in sizes[1:]]
    return Network(weights, biases, list(acts), "cross_entropy")


def _by_hand(kernels, net, x, grad_out, masks):
    """The chain spelled out layer by layer: what backprop.forward/backward must equal bitwise."""
    masks = (masks or []) + [None] * len(net.weights)  # the list given may stop early
    inputs, zs, acts, h = [], [], [], x
    for i, (w, b, act) in enumerate(zip(net.weights, net.biases, net.activations)):
        inputs.append(h)
        z, a = kernels.dense_forward(h, w, b, act)
        zs.append(z)
        acts.append(a)
        h = a if masks[i] is None else a * masks[i]
    grads, grad_a = [None] * (2 * len(net.weights)), grad_out
    for i in reversed(range(len(net.weights))):
        if masks[i] is not None:
            grad_a = grad_a * masks[i]
        grad_a, grads[2 * i], grads[2 * i + 1] = kernels.dense_backward(
            inputs[i], net.weights[i], zs[i], acts[i], grad_a, net.activations[i])
    return inputs, zs, acts, grads


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("dropout", [False, True])
def test_forward_backward_equal_the_chain_by_hand_bitwise(backend, rng, dtype, dropout):
    net = _net(rng, dtype=dtype)
    x = rng.standard_normal((9, 5)).astype(dtype)
    grad_out = rng.standard_normal((9, 3)).astype(dtype)
    masks = None
    if dropout:  # the output layer has none; the list may stop before it
        masks = [backend.dropout_mask(3, 1, i, 0.3, (9, w.shape[1]), dtype) if i != 1 else None
                 for i, w in enumerate(net.weights[:-1])]
    cache = backprop.forward(backend, net, x, masks)
    grads = backprop.backward(backend, net, cache, grad_out)
    inputs, zs, acts, ref = _by_hand(backend, net, x, grad_out, masks)
    assert cache.inputs[0] is x and cache.output is cache.a[-1]
    for got, want in [(cache.inputs, inputs), (cache.z, zs), (cache.a, acts), (grads, ref)]:
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert g.dtype == dtype and np.array_equal(g, w)


def test_backward_reports_each_layers_incoming_gradient(oracle, rng):
    net = _net(rng)
    x, grad_out = rng.standard_normal((4, 5)), rng.standard_normal((4, 3))
    cache = backprop.forward(oracle, net, x)
    upstream = ["stale"]
    backprop.backward(oracle, net, cache, grad_out, upstream=upstream)
    assert len(upstream) == 4 and upstream[-1] is grad_out
    for i in range(3):  # dL/da of layer i is what layer i + 1 sent down: grad_z @ W^T
        grad_x, _, _ = oracle.dense_backward(cache.inputs[i + 1], net.weights[i + 1], cache.z[i + 1],
                                             cache.a[i + 1], upstream[i + 1], net.activations[i + 1])
        assert np.array_equal(upstream[i], grad_x)


def test_gradients_of_every_backend_match_the_oracle(backend, oracle, rng):
    """forward/backward run on the numba and cpp kernel modules give the oracle's gradients."""
    net = _net(rng)
    x, y = rng.standard_normal((16, 5)), rng.integers(0, 3, 16)
    ref = backprop.gradients(oracle, net, x, y)
    got = backprop.gradients(backend, net, x, y)
    scale = max(np.abs(g).max() for g in ref)
    for j, (g, r) in enumerate(zip(got, ref)):
        np.testing.assert_allclose(g, r, rtol=0, atol=1e-11 * scale, err_msg=f"{backend.__name__} param {j}")


def test_layers_stand_in_for_a_network(oracle, rng):
    net = _net(rng)
    x, y = rng.standard_normal((6, 5)), rng.integers(0, 3, 6)
    layers = backprop.Layers(net.weights, net.biases, net.activations)
    cache = backprop.forward(oracle, layers, x)
    _, grad_out = oracle.loss_forward_backward("cross_entropy", cache.output, y)
    got = backprop.backward(oracle, layers, cache, grad_out)
    for g, r in zip(got, backprop.gradients(oracle, net, x, y)):
        assert np.array_equal(g, r)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("act", ["identity", "relu", "leaky_relu", "sigmoid", "tanh", "gelu", "softmax"])
def test_unchecked_kernels_compute_what_the_checked_ones_do(oracle, rng, dtype, act):
    """The oracle trains on numpy_unchecked after one check: the numbers must be the kernels'."""
    x = rng.standard_normal((6, 4)).astype(dtype)
    w = rng.standard_normal((4, 3)).astype(dtype)
    b = rng.standard_normal(3).astype(dtype)
    grad_a = rng.standard_normal((6, 3)).astype(dtype)
    z, a = oracle.dense_forward(x, w, b, act)
    z_u, a_u = unchecked.dense_forward(x, w, b, act)
    assert z_u.dtype == a_u.dtype == dtype
    assert np.array_equal(z, z_u) and np.array_equal(a, a_u)
    for g, g_u in zip(oracle.dense_backward(x, w, z, a, grad_a, act),
                      unchecked.dense_backward(x, w, z, a, grad_a, act)):
        assert g.dtype == g_u.dtype and np.array_equal(g, g_u)


def test_checked_kernels_still_refuse_bad_arguments(oracle):
    """The public kernels keep their checks; only the training loop skips them after its own."""
    with pytest.raises(ValueError, match="x has 3 features but w has 4 rows"):
        oracle.dense_forward(np.ones((2, 3)), np.ones((4, 2)), np.ones(2), "relu")
    with pytest.raises(ValueError, match="activation 'swish' is unknown"):
        oracle.dense_backward(np.ones((2, 4)), np.ones((4, 2)), np.ones((2, 2)), np.ones((2, 2)),
                              np.ones((2, 2)), "swish")
