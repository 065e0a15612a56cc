"""Optimizer steps: every backend against the float64 oracle, and the oracle itself against
hand-written formulas (and torch.optim when PyTorch is installed), so the oracle is checked
independently of the code it judges.

Backend vs oracle: several steps; before each step the backend's current state (param, slots)
is upcast and handed to the oracle, so each comparison is of *one* step and the bound is the
one-step bound: OPTIMIZER_ROUNDINGS·u times a gauge that sums the absolute values of every term
(weight decay, momentum and the param update can cancel).
"""

from __future__ import annotations

import numpy as np
import pytest

from tolerances import assert_within, optimizer_rtol, tiny

DTYPES = [np.float32, np.float64]
SHAPES = [(1,), (7,), (5, 3), (13, 17), (150, 130)]  # 19500 > the C++ 2^14-element chunk

SGD = [dict(lr=0.1), dict(lr=0.05, momentum=0.9), dict(lr=0.05, momentum=0.9, nesterov=True),
       dict(lr=0.1, momentum=0.5, weight_decay=0.01),
       dict(lr=0.1, momentum=0.5, nesterov=True, weight_decay=0.01)]
ADAM = [dict(lr=1e-3), dict(lr=1e-2, weight_decay=0.01), dict(lr=1e-2, weight_decay=0.1, decoupled=True),
        dict(lr=3e-3, beta1=0.8, beta2=0.99, eps=1e-6)]
RMSPROP = [dict(lr=1e-2), dict(lr=1e-2, momentum=0.9), dict(lr=1e-2, alpha=0.9, momentum=0.5, weight_decay=0.01),
           dict(lr=1e-3, eps=1e-6)]


def _ids(configs):
    return ["-".join(f"{k}={v}" for k, v in c.items()) for c in configs]


# --- gauges (float64, from the pre-step state) -------------------------------------------------


def sgd_gauges(p, g, v, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
    p, g, v = (np.abs(x.astype(np.float64)) for x in (p, g, v))
    gg = g + weight_decay * p
    if momentum:
        gv = momentum * v + gg
        direction = gg + momentum * gv if nesterov else gv
    else:
        gv, direction = v, gg
    return {"param": p + lr * direction, "velocity": gv}


def adam_gauges(p, g, m, v, v_new_ref, step, lr, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0,
                decoupled=False):
    p, g, m, v = (np.abs(x.astype(np.float64)) for x in (p, g, m, v))
    gg = g if decoupled else g + weight_decay * p
    gm = beta1 * m + (1 - beta1) * gg
    gv = beta2 * v + (1 - beta2) * gg * gg
    denom = np.sqrt(v_new_ref) / np.sqrt(1 - beta2**step) + eps
    gp = p * (1 + lr * weight_decay) + lr / (1 - beta1**step) * gm / denom
    return {"param": gp, "m": gm, "v": gv}


def rmsprop_gauges(p, g, sq, vel, sq_new_ref, lr, alpha=0.99, eps=1e-8, momentum=0.0, weight_decay=0.0):
    p, g, sq, vel = (np.abs(x.astype(np.float64)) for x in (p, g, sq, vel))
    gg = g + weight_decay * p
    gsq = alpha * sq + (1 - alpha) * gg * gg
    upd = gg / (np.sqrt(sq_new_ref) + eps)
    gvel = momentum * vel + upd if momentum else vel
    return {"param": p + lr * (gvel if momentum else upd), "square_avg": gsq, "velocity": gvel}


# --- backend vs oracle ------------------------------------------------------------------------


def state(rng, shape, dtype, names):
    p = rng.standard_normal(shape).astype(dtype)
    return p, {n: np.zeros(shape, dtype) for n in names}


def compare(got: dict, ref: dict, gauges: dict, dtype, tag):
    for name, arr in got.items():
        bound = optimizer_rtol(dtype) * gauges[name] + tiny(dtype)
        assert_within(arr, ref[name], bound, f"{tag} {name}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("cfg", SGD, ids=_ids(SGD))
def test_sgd_vs_oracle(backend, oracle, rng, dtype, shape, cfg):
    p, slots = state(rng, shape, dtype, ["velocity"])
    v = slots["velocity"]
    for step in range(4):
        g = rng.standard_normal(shape).astype(dtype)
        p64, v64 = p.astype(np.float64), v.astype(np.float64)
        gauges = sgd_gauges(p, g, v, **cfg)
        oracle.sgd_step(p64, g.astype(np.float64), v64, **cfg)
        backend.sgd_step(p, g, v, **cfg)
        compare({"param": p, "velocity": v}, {"param": p64, "velocity": v64}, gauges, dtype,
                f"{backend.__name__} sgd {cfg} step {step + 1}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("cfg", ADAM, ids=_ids(ADAM))
def test_adam_vs_oracle(backend, oracle, rng, dtype, shape, cfg):
    p, slots = state(rng, shape, dtype, ["m", "v"])
    m, v = slots["m"], slots["v"]
    for step in [1, 2, 3, 4, 1000]:
        g = rng.standard_normal(shape).astype(dtype)
        p64, m64, v64 = (x.astype(np.float64) for x in (p, m, v))
        pre = (p.copy(), g, m.copy(), v.copy())
        oracle.adam_step(p64, g.astype(np.float64), m64, v64, step=step, **cfg)
        backend.adam_step(p, g, m, v, step=step, **cfg)
        gauges = adam_gauges(*pre, v64, step, **cfg)
        compare({"param": p, "m": m, "v": v}, {"param": p64, "m": m64, "v": v64}, gauges, dtype,
                f"{backend.__name__} adam {cfg} step {step}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("cfg", RMSPROP, ids=_ids(RMSPROP))
def test_rmsprop_vs_oracle(backend, oracle, rng, dtype, shape, cfg):
    p, slots = state(rng, shape, dtype, ["square_avg", "velocity"])
    sq, vel = slots["square_avg"], slots["velocity"]
    for step in range(4):
        g = rng.standard_normal(shape).astype(dtype)
        p64, sq64, vel64 = (x.astype(np.float64) for x in (p, sq, vel))
        pre = (p.copy(), g, sq.copy(), vel.copy())
        oracle.rmsprop_step(p64, g.astype(np.float64), sq64, vel64, **cfg)
        backend.rmsprop_step(p, g, sq, vel, **cfg)
        gauges = rmsprop_gauges(*pre, sq64, **cfg)
        compare({"param": p, "square_avg": sq, "velocity": vel},
                {"param": p64, "square_avg": sq64, "velocity": vel64}, gauges, dtype,
                f"{backend.__name__} rmsprop {cfg} step {step + 1}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_steps_update_in_place_and_touch_nothing_else(backend, rng, dtype):
    """Params and slots change in place (same objects); grad is left alone; an empty param is fine."""
    p = rng.standard_normal((4, 3)).astype(dtype)
    g = rng.standard_normal((4, 3)).astype(dtype)
    g0, p0 = g.copy(), p.copy()
    m, v = np.zeros_like(p), np.zeros_like(p)
    backend.adam_step(p, g, m, v, step=1, lr=0.1)
    assert np.array_equal(g, g0) and not np.array_equal(p, p0) and (m != 0).all() and (v > 0).all()
    vel = np.zeros_like(p)
    backend.sgd_step(p, g, vel, lr=0.1, momentum=0.9)
    assert np.array_equal(vel, g0), "first momentum step: velocity = grad"
    empty = np.zeros((0,), dtype)
    backend.sgd_step(empty, empty.copy(), empty.copy(), lr=0.1)
    backend.adam_step(empty, empty.copy(), empty.copy(), empty.copy(), step=1, lr=0.1)
    backend.rmsprop_step(empty, empty.copy(), empty.copy(), empty.copy(), lr=0.1)


@pytest.mark.parametrize("dtype", DTYPES)
def test_strided_grad(backend, oracle, rng, dtype):
    """grad may have any strides (only param and slots are written); F-ordered and step-2."""
    for grad in (np.asfortranarray(rng.standard_normal((6, 5))).astype(dtype, order="F"),
                 rng.standard_normal((6, 10)).astype(dtype)[:, ::2], rng.standard_normal(30).astype(dtype)[::-1]):
        shape = grad.shape
        for step_fn, slots, kw in [("sgd_step", 1, dict(lr=0.1, momentum=0.9)),
                                   ("adam_step", 2, dict(step=1, lr=0.1)),
                                   ("rmsprop_step", 2, dict(lr=0.1, momentum=0.5))]:
            p = rng.standard_normal(shape).astype(dtype)
            state = [np.full(shape, 0.25, dtype) for _ in range(slots)]
            p64, state64 = p.astype(np.float64), [s.astype(np.float64) for s in state]
            getattr(backend, step_fn)(p, grad, *state, **kw)
            getattr(oracle, step_fn)(p64, grad.astype(np.float64), *state64, **kw)
            # loose: one step of moderate state, 32·u relative to max(|param|, lr)
            np.testing.assert_allclose(p, p64, rtol=0, atol=32 * np.finfo(dtype).eps * (np.abs(p64).max() + 1),
                                       err_msg=f"{step_fn} with grad strides {grad.strides}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_zero_grad_moves_nothing(backend, dtype):
    """Zero gradients (dead ReLU units) leave params exactly unchanged: adam's 0/(0+eps) = 0."""
    p = np.linspace(-1, 1, 6, dtype=dtype)
    z = np.zeros_like(p)
    for fn, args, kw in [(backend.sgd_step, (z.copy(),), dict(lr=0.1, momentum=0.9)),
                         (backend.adam_step, (z.copy(), z.copy()), dict(step=1, lr=0.1)),
                         (backend.rmsprop_step, (z.copy(), z.copy()), dict(lr=0.1, momentum=0.5))]:
        q = p.copy()
        fn(q, z, *args, **kw)
        assert np.array_equal(q, p), fn.__name__


# --- the oracle against hand-written formulas (float64) ----------------------------------------

EPS64 = np.finfo(np.float64).eps


def vec(rng, n=9):
    return rng.standard_normal(n)


def test_oracle_sgd_formulas(oracle, rng):
    p0, g1, g2 = vec(rng), vec(rng), vec(rng)
    lr, mu, wd = 0.1, 0.9, 0.01
    p, v = p0.copy(), np.zeros(9)
    oracle.sgd_step(p, g1, v, lr=lr)
    np.testing.assert_allclose(p, p0 - lr * g1, rtol=4 * EPS64, atol=4 * EPS64)
    # momentum, two steps: v1 = g1, v2 = mu g1 + g2
    p, v = p0.copy(), np.zeros(9)
    oracle.sgd_step(p, g1, v, lr=lr, momentum=mu)
    oracle.sgd_step(p, g2, v, lr=lr, momentum=mu)
    np.testing.assert_allclose(v, mu * g1 + g2, rtol=8 * EPS64, atol=8 * EPS64)
    np.testing.assert_allclose(p, p0 - lr * g1 - lr * (mu * g1 + g2), rtol=16 * EPS64, atol=16 * EPS64)
    # nesterov: the step is g + mu v (with v already updated)
    p, v = p0.copy(), np.zeros(9)
    oracle.sgd_step(p, g1, v, lr=lr, momentum=mu, nesterov=True)
    p1 = p0 - lr * (g1 + mu * g1)
    np.testing.assert_allclose(p, p1, rtol=8 * EPS64, atol=8 * EPS64)
    oracle.sgd_step(p, g2, v, lr=lr, momentum=mu, nesterov=True)
    np.testing.assert_allclose(p, p1 - lr * (g2 + mu * (mu * g1 + g2)), rtol=16 * EPS64, atol=16 * EPS64)
    # weight decay: L2 added to the gradient
    p = p0.copy()
    oracle.sgd_step(p, g1, np.zeros(9), lr=lr, weight_decay=wd)
    np.testing.assert_allclose(p, p0 - lr * (g1 + wd * p0), rtol=8 * EPS64, atol=8 * EPS64)


def test_oracle_adam_formulas(oracle, rng):
    p0, g1, g2 = vec(rng), vec(rng), vec(rng)
    lr, b1, b2, eps = 1e-2, 0.9, 0.999, 1e-8
    p, m, v = p0.copy(), np.zeros(9), np.zeros(9)
    oracle.adam_step(p, g1, m, v, step=1, lr=lr)
    # step 1: bias correction makes m_hat = g, v_hat = g^2: each param moves by ~lr against sign(g)
    np.testing.assert_allclose(p, p0 - lr * g1 / (np.abs(g1) + eps), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(p0 - p, lr * np.sign(g1), rtol=2 * eps / np.abs(g1).min())  # eps/|g| off
    np.testing.assert_allclose(m, (1 - b1) * g1, rtol=1e-14)
    np.testing.assert_allclose(v, (1 - b2) * g1 * g1, rtol=1e-14)
    oracle.adam_step(p, g2, m, v, step=2, lr=lr)
    m2 = b1 * (1 - b1) * g1 + (1 - b1) * g2
    v2 = b2 * (1 - b2) * g1**2 + (1 - b2) * g2**2
    p2 = p0 - lr * g1 / (np.abs(g1) + eps) - lr * (m2 / (1 - b1**2)) / (np.sqrt(v2 / (1 - b2**2)) + eps)
    np.testing.assert_allclose(p, p2, rtol=1e-12, atol=1e-15)
    # Adam with L2: the decay joins the gradient
    wd = 0.1
    p = p0.copy()
    oracle.adam_step(p, g1, np.zeros(9), np.zeros(9), step=1, lr=lr, weight_decay=wd)
    gd = g1 + wd * p0
    np.testing.assert_allclose(p, p0 - lr * gd / (np.abs(gd) + eps), rtol=1e-12, atol=1e-15)
    # AdamW: decoupled decay scales the param, the gradient step is unchanged
    p = p0.copy()
    oracle.adam_step(p, g1, np.zeros(9), np.zeros(9), step=1, lr=lr, weight_decay=wd, decoupled=True)
    np.testing.assert_allclose(p, p0 * (1 - lr * wd) - lr * g1 / (np.abs(g1) + eps), rtol=1e-12, atol=1e-15)


def test_oracle_rmsprop_formulas(oracle, rng):
    p0, g1, g2 = vec(rng), vec(rng), vec(rng)
    lr, a, eps, mu = 1e-2, 0.99, 1e-8, 0.9
    p, sq, vel = p0.copy(), np.zeros(9), np.zeros(9)
    oracle.rmsprop_step(p, g1, sq, vel, lr=lr)
    np.testing.assert_allclose(sq, (1 - a) * g1**2, rtol=1e-14)
    np.testing.assert_allclose(p, p0 - lr * g1 / (np.sqrt(1 - a) * np.abs(g1) + eps), rtol=1e-12, atol=1e-15)
    p, sq, vel = p0.copy(), np.zeros(9), np.zeros(9)
    oracle.rmsprop_step(p, g1, sq, vel, lr=lr, momentum=mu)
    oracle.rmsprop_step(p, g2, sq, vel, lr=lr, momentum=mu)
    u1 = g1 / (np.sqrt((1 - a) * g1**2) + eps)
    sq2 = a * (1 - a) * g1**2 + (1 - a) * g2**2
    u2 = g2 / (np.sqrt(sq2) + eps)
    np.testing.assert_allclose(vel, mu * u1 + u2, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(p, p0 - lr * u1 - lr * (mu * u1 + u2), rtol=1e-12, atol=1e-15)


def test_oracle_vs_torch(oracle, rng):
    torch = pytest.importorskip("torch", reason="PyTorch not installed: oracle optimizers checked "
                                "against hand formulas only (test_oracle_*_formulas)")
    cases = [("sgd", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01), torch.optim.SGD,
              dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
             ("adam", dict(lr=1e-2, weight_decay=0.1), torch.optim.Adam, dict(lr=1e-2, weight_decay=0.1)),
             ("adamw", dict(lr=1e-2, weight_decay=0.1, decoupled=True), torch.optim.AdamW,
              dict(lr=1e-2, weight_decay=0.1)),
             ("rmsprop", dict(lr=1e-2, momentum=0.5, weight_decay=0.01), torch.optim.RMSprop,
              dict(lr=1e-2, momentum=0.5, weight_decay=0.01))]
    for name, ours, torch_cls, theirs in cases:
        p0 = vec(rng)
        tp = torch.tensor(p0.copy(), dtype=torch.float64, requires_grad=True)
        opt = torch_cls([tp], **theirs)
        p, s1, s2 = p0.copy(), np.zeros(9), np.zeros(9)
        for step in range(1, 5):
            g = vec(rng)
            tp.grad = torch.tensor(g.copy(), dtype=torch.float64)
            opt.step()
            if name == "sgd":
                oracle.sgd_step(p, g, s1, **ours)
            elif name == "rmsprop":
                oracle.rmsprop_step(p, g, s2, s1, **ours)
            else:
                oracle.adam_step(p, g, s1, s2, step=step, **ours)
            np.testing.assert_allclose(p, tp.detach().numpy(), rtol=1e-12, atol=1e-14, err_msg=f"{name} step {step}")
