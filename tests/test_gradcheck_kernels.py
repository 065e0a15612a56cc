"""Backpropagation checked by central finite differences, in float64.

1. The oracle: on a tiny 3-4-2 network, for every hidden activation x loss pair, the gradient of
   the mean batch loss w.r.t. every weight and bias from the dense_backward chain equals the
   central difference (L(p + h) − L(p − h)) / 2h with h = 1e-6·max(1, |p|), within atol 1e-5,
   rtol 1e-3 (torch.autograd.gradcheck's float64 defaults: truncation error O(h²·L''') ≈ 1e-12
   and cancellation error O(u·L/h) ≈ 1e-10 are both far below them, while a wrong derivative is
   off by O(1)). Also a directional derivative along a random vector (gradcheck's fast mode).
   relu/leaky_relu pre-activations, mae differences and huber's |d| = 1 are kept > 1e-3 from their
   kinks (1000·h), so the function is smooth over [p − h, p + h].
2. Every backend: the same chain built from *its* dense_forward / loss_forward_backward /
   dense_backward equals the oracle's chain to 1e-11 of the largest gradient (float64; each of
   the ~10 ops is backward stable with K <= 5, so ~10·u ≈ 1e-15 is expected; 1e-11 absorbs
   float64 exp/erf approximations). With 1., every backend's gradients are thereby gradchecked.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest

HIDDEN = ["identity", "relu", "leaky_relu", "sigmoid", "tanh", "gelu", "softmax"]
LOSSES = [("mse", None), ("mae", None), ("huber", None), ("cross_entropy", "labels"),
          ("cross_entropy", "onehot"), ("binary_cross_entropy", None), ("poisson", None)]
LOSS_IDS = [n if k is None else f"{n}-{k}" for n, k in LOSSES]
SIZES = (3, 4, 2)
BATCH = 5
KINK_MARGIN = 1e-3


def _seed(*parts) -> int:
    """A seed stable across processes (str hash() is randomized per process)."""
    return zlib.crc32(repr(parts).encode())


def forward(mod, params, acts, x):
    """Every layer's (input, z, a); params = [w0, b0, w1, b1]."""
    cache, a = [], x
    for i, act in enumerate(acts):
        z, a_next = mod.dense_forward(a, params[2 * i], params[2 * i + 1], act)
        cache.append((a, z, a_next))
        a = a_next
    return cache


def loss_and_grads(mod, params, acts, loss, x, y):
    cache = forward(mod, params, acts, x)
    value, grad_a = mod.loss_forward_backward(loss, cache[-1][2], y)
    grads = [None] * len(params)
    for i in reversed(range(len(acts))):
        inp, z, a = cache[i]
        grad_a, grads[2 * i], grads[2 * i + 1] = mod.dense_backward(inp, params[2 * i], z, a, grad_a, acts[i])
    return value, grads


def make_problem(oracle, hidden, loss, kind, seed):
    """A 3-4-2 network and a batch whose kinks (relu z, mae/huber |d|) are > KINK_MARGIN away."""
    rng = np.random.default_rng(seed)
    acts = [hidden, "identity"]
    for _ in range(100):
        params = []
        for n_in, n_out in zip(SIZES[:-1], SIZES[1:]):
            params += [rng.standard_normal((n_in, n_out)) / np.sqrt(n_in), 0.3 * rng.standard_normal(n_out)]
        x = rng.standard_normal((BATCH, SIZES[0]))
        cache = forward(oracle, params, acts, x)
        if hidden in ("relu", "leaky_relu") and np.abs(cache[0][1]).min() < KINK_MARGIN:
            continue
        out = cache[-1][2]
        if loss == "cross_entropy":
            labels = rng.integers(0, SIZES[-1], BATCH)
            y = labels if kind == "labels" else np.eye(SIZES[-1])[labels]
        elif loss == "binary_cross_entropy":
            y = rng.random(out.shape)
        elif loss == "poisson":
            y = rng.uniform(0.0, 3.0, out.shape)  # rates >= 0
        else:
            # |d| in [0.1, 0.9] or [1.1, 2.0]: away from mae's kink at 0 and huber's at 1
            mag = np.where(rng.random(out.shape) < 0.5, rng.uniform(0.1, 0.9, out.shape),
                           rng.uniform(1.1, 2.0, out.shape))
            y = out + np.where(rng.random(out.shape) < 0.5, -mag, mag)
        return params, acts, x, y
    raise AssertionError("could not draw a problem away from the kinks")


@pytest.mark.parametrize("loss,kind", LOSSES, ids=LOSS_IDS)
@pytest.mark.parametrize("hidden", HIDDEN)
def test_oracle_backprop_vs_finite_differences(oracle, hidden, loss, kind):
    params, acts, x, y = make_problem(oracle, hidden, loss, kind, seed=_seed(hidden, loss, kind))
    _, grads = loss_and_grads(oracle, params, acts, loss, x, y)

    def f(ps):
        return oracle.loss_forward_backward(loss, forward(oracle, ps, acts, x)[-1][2], y)[0]

    names = ["w0", "b0", "w1", "b1"]
    for j, p in enumerate(params):
        fd = np.empty_like(p)
        for idx in np.ndindex(p.shape):
            h = 1e-6 * max(1.0, abs(p[idx]))
            plus = [q.copy() for q in params]
            minus = [q.copy() for q in params]
            plus[j][idx] += h
            minus[j][idx] -= h
            fd[idx] = (f(plus) - f(minus)) / (plus[j][idx] - minus[j][idx])
        np.testing.assert_allclose(grads[j], fd, atol=1e-5, rtol=1e-3,
                                   err_msg=f"d loss / d {names[j]} ({hidden} hidden, {loss} {kind or ''})")
    # directional derivative along a random direction, all parameters at once
    rng = np.random.default_rng(1)
    v = [rng.standard_normal(p.shape) for p in params]
    h = 1e-6
    fd = (f([p + h * d for p, d in zip(params, v)]) - f([p - h * d for p, d in zip(params, v)])) / (2 * h)
    analytic = sum(float((g * d).sum()) for g, d in zip(grads, v))
    np.testing.assert_allclose(analytic, fd, atol=1e-5, rtol=1e-3, err_msg="directional derivative")


@pytest.mark.parametrize("loss,kind", LOSSES, ids=LOSS_IDS)
@pytest.mark.parametrize("hidden", HIDDEN)
def test_backend_backprop_chain_vs_oracle(backend, oracle, hidden, loss, kind):
    params, acts, x, y = make_problem(oracle, hidden, loss, kind, seed=_seed(hidden, loss, kind, 2))
    ref_loss, ref = loss_and_grads(oracle, params, acts, loss, x, y)
    got_loss, got = loss_and_grads(backend, params, acts, loss, x, y)
    scale = max(np.abs(g).max() for g in ref)
    np.testing.assert_allclose(got_loss, ref_loss, rtol=1e-11, atol=1e-11)
    for name, g, r in zip(["w0", "b0", "w1", "b1"], got, ref):
        np.testing.assert_allclose(g, r, rtol=0, atol=1e-11 * scale,
                                   err_msg=f"{backend.__name__}: d loss / d {name} ({hidden}, {loss} {kind or ''})")
