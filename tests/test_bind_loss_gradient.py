"""bind_loss_gradient: loss_gradient checked once, then called again and again while only the
values in the network's arrays change (the lbfgs solver's evaluations). Each call must give
exactly what loss_gradient gives for the values the arrays hold at that moment, in every backend;
bad arguments must fail when binding, a non-finite loss at the call.
"""

from __future__ import annotations

import numpy as np
import pytest

from fastmlp.errors import NonFiniteLossError
from test_loss_gradient import make_data, make_network


@pytest.mark.parametrize("loss_case", ["cross_entropy-labels", "mse"])
def test_each_call_follows_the_arrays_values(backend, loss_case):
    loss = loss_case.split("-")[0]
    net = make_network(loss, l2=1e-3)
    X, Y = make_data(loss_case, 300)
    sw = np.random.default_rng(2).random(300)
    out = [np.full_like(p, np.nan) for p in net.params]
    bound = backend.bind_loss_gradient(net, X, Y, sw, out=out)
    rng = np.random.default_rng(3)
    for _ in range(3):
        for p in net.params:  # a new point, written in place as scipy's L-BFGS-B does via lbfgs
            p += 0.05 * rng.standard_normal(p.shape)
        got = bound()
        want = backend.loss_gradient(net, X, Y, sw)
        assert got.loss == want.loss and got.penalty == want.penalty
        assert all(g is o for g, o in zip(got.grads, out))  # into out, every call
        for g, w in zip(got.grads, want.grads):
            assert np.array_equal(g, w)


def test_without_out_it_reuses_its_own_arrays(backend):
    net = make_network("mse")
    X, Y = make_data("mse", 40)
    bound = backend.bind_loss_gradient(net, X, Y)
    first = bound().grads
    net.weights[0] *= 1.5
    second = bound().grads
    assert all(a is b for a, b in zip(first, second))
    want = backend.loss_gradient(net, X, Y).grads
    assert all(np.array_equal(a, w) for a, w in zip(second, want))


def test_bad_arguments_fail_when_binding(backend):
    net = make_network("mse")
    X, Y = make_data("mse", 10)
    with pytest.raises(ValueError, match="Y"):
        backend.bind_loss_gradient(net, X, Y[:5])
    with pytest.raises(ValueError, match="sample_weight"):
        backend.bind_loss_gradient(net, X, Y, np.ones(3))
    with pytest.raises((TypeError, ValueError), match="out"):
        backend.bind_loss_gradient(net, X, Y, out=[np.empty(1)])


def test_a_non_finite_loss_raises_at_the_call(backend):
    net = make_network("mse")
    X, Y = make_data("mse", 10)
    bound = backend.bind_loss_gradient(net, X, Y)
    bound()
    net.weights[-1][0, 0] = np.nan  # lbfgs may step there
    with pytest.raises(NonFiniteLossError):
        bound()
