"""Optimizer options in PyTorch's definitions: SGD dampening (not on update 1), centered RMSprop
(a third slot) and global gradient-norm clipping usable with every optimizer. The oracle is held
against torch; every backend against the oracle (tests/test_train_agreement.py runs whole
steps and epochs with these options too)."""

from __future__ import annotations

import numpy as np
import pytest

import fastmlp as fm
from fastmlp.backends import OptimizerConfig
from test_train_agreement import assert_networks_agree, make_data, make_network
from tolerances import optimizer_rtol

DTYPES = [np.float32, np.float64]


def test_oracle_sgd_dampening_and_centered_rmsprop_match_torch(oracle, rng):
    torch = pytest.importorskip("torch")
    cases = [
        ("sgd", dict(lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.01), torch.optim.SGD),
        ("rmsprop", dict(lr=1e-2, momentum=0.5, weight_decay=0.01, centered=True), torch.optim.RMSprop),
        ("rmsprop", dict(lr=1e-2, centered=True, alpha=0.9), torch.optim.RMSprop),
    ]
    for name, hyper, torch_cls in cases:
        p0 = rng.standard_normal(9)
        tp = torch.tensor(p0.copy(), requires_grad=True)
        opt = torch_cls([tp], **hyper)
        p, s1, s2, s3 = p0.copy(), np.zeros(9), np.zeros(9), np.zeros(9)
        for step in range(1, 6):
            g = rng.standard_normal(9)
            tp.grad = torch.tensor(g.copy())
            opt.step()
            if name == "sgd":
                oracle.sgd_step(p, g, s1, step=step, **hyper)
            else:
                oracle.rmsprop_step(p, g, s2, s1, grad_avg=s3, **hyper)
            # float64, ~10 roundings per step in the same order as torch's: 1e-12 relative
            np.testing.assert_allclose(p, tp.detach().numpy(), rtol=1e-12, atol=1e-14,
                                       err_msg=f"{name} {hyper} step {step}")


def test_first_dampened_step_is_undamped(oracle):
    p, v = np.zeros(3), np.zeros(3)
    g = np.array([1.0, -2.0, 4.0])
    oracle.sgd_step(p, g, v, lr=1.0, momentum=0.9, dampening=0.5, step=1)
    np.testing.assert_array_equal(v, g)  # PyTorch: buf = clone(g)
    oracle.sgd_step(p, g, v, lr=1.0, momentum=0.9, dampening=0.5, step=2)
    np.testing.assert_allclose(v, 0.9 * g + 0.5 * g, rtol=1e-15)


def test_oracle_clip_matches_torch(oracle, rng):
    torch = pytest.importorskip("torch")
    for max_norm in (0.1, 1.0, 100.0):  # the last one does not clip
        grads = [rng.standard_normal((4, 3)), rng.standard_normal(3), rng.standard_normal((3, 2))]
        params = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
        for t, g in zip(params, grads):
            t.grad = torch.tensor(g.copy())
        ref_norm = torch.nn.utils.clip_grad_norm_(params, max_norm)
        ours = list(grads)
        norm = oracle.clip_grad_norm(ours, max_norm)
        np.testing.assert_allclose(norm, ref_norm.item(), rtol=1e-14)  # float64 norms
        for got, t in zip(ours, params):
            np.testing.assert_allclose(got, t.grad.numpy(), rtol=1e-14, atol=1e-17)
        if max_norm == 100.0:
            assert all(a is b for a, b in zip(ours, grads)), "an unclipped gradient is left alone"


@pytest.mark.parametrize("dtype", DTYPES)
def test_kernel_steps_vs_oracle(backend, oracle, rng, dtype):
    """sgd_step with dampening and centered rmsprop_step, 4 steps on one state; each step is
    compared after handing the oracle the backend's upcast state (a one-step bound: 32 u times
    the largest magnitude involved)."""
    p = rng.standard_normal((13, 17)).astype(dtype)
    v, sq, vel, ga = (np.zeros_like(p) for _ in range(4))
    q = p.copy()
    for step in range(1, 5):
        g = rng.standard_normal(p.shape).astype(dtype)
        before = [a.astype(np.float64) for a in (p, v)]
        backend.sgd_step(p, g, v, lr=0.1, momentum=0.9, dampening=0.25, weight_decay=0.01, step=step)
        oracle.sgd_step(*before[:1], g.astype(np.float64), before[1], lr=0.1, momentum=0.9,
                        dampening=0.25, weight_decay=0.01, step=step)
        bound = optimizer_rtol(dtype) * (1 + np.abs(before[0]).max() + 10 * np.abs(g).max())
        np.testing.assert_allclose(p, before[0], rtol=0, atol=bound)
        np.testing.assert_allclose(v, before[1], rtol=0, atol=bound)
        state = [a.astype(np.float64) for a in (q, sq, vel, ga)]
        backend.rmsprop_step(q, g, sq, vel, lr=1e-2, momentum=0.5, centered=True, grad_avg=ga)
        oracle.rmsprop_step(state[0], g.astype(np.float64), state[1], state[2], lr=1e-2, momentum=0.5,
                            centered=True, grad_avg=state[3])
        # the centered denominator sqrt(sq - ga^2) can lose digits to cancellation: bound its
        # relative error by u * sq / (sq - ga^2) through a larger constant on the update's scale
        denom = np.sqrt(np.maximum(state[1] - state[3] ** 2, 0)) + 1e-8
        scale = 1 + np.abs(state[2]).max() + (np.abs(g) / denom * state[1] / denom ** 2).max()
        for got, want in zip((q, sq, vel, ga), state):
            np.testing.assert_allclose(got, want, rtol=0, atol=optimizer_rtol(dtype) * scale)
        q, sq, vel, ga = (a.astype(dtype) for a in state)  # continue from the oracle's state


def test_clipping_bounds_the_update(backend):
    """With SGD lr 1 and no momentum the update is the clipped gradient: its norm is clip_norm."""
    net = make_network(loss="mse", optimizer=OptimizerConfig("sgd", lr=1.0, clip_norm=0.05), seed=1)
    free = net.copy()
    free.optimizer.clip_norm = None
    X, Y = make_data("mse", np.float64, seed=2)
    before = [p.copy() for p in net.params]
    backend.train_step(net, X, Y)
    backend.train_step(free, X, Y)
    step = np.sqrt(sum(((b - p) ** 2).sum() for b, p in zip(before, net.params)))
    free_step = np.sqrt(sum(((b - p) ** 2).sum() for b, p in zip(before, free.params)))
    assert free_step > 0.05
    np.testing.assert_allclose(step, 0.05 * free_step / (free_step + 1e-6), rtol=1e-12)


def test_clip_applies_before_weight_decay(oracle):
    """Clipping scales the loss gradient only; weight decay is added afterwards by the optimizer."""
    net = make_network(loss="mse", optimizer=OptimizerConfig("sgd", lr=1.0, weight_decay=0.5,
                                                             clip_norm=1e-3), seed=3)
    X, Y = make_data("mse", np.float64, seed=4)
    before = [p.copy() for p in net.params]
    oracle.train_step(net, X, Y)
    decay = np.sqrt(sum(((0.5 * b) ** 2).sum() for b in before))
    step = np.sqrt(sum(((b - p) ** 2).sum() for b, p in zip(before, net.params)))
    assert step > decay - 1e-3 and step < decay + 1e-3 + 1e-12


def test_bad_options(backend):
    x, y = make_data("mse", np.float64)
    for fields, match in [(dict(clip_norm=0.0), r"^clip_norm must be > 0"),
                          (dict(clip_norm=-1.0), r"^clip_norm must be > 0"),
                          (dict(dampening=1.5), r"^dampening must be <= 1"),
                          (dict(momentum=0.9, nesterov=True, dampening=0.1), r"requires dampening 0")]:
        net = make_network(loss="mse", optimizer=OptimizerConfig("sgd", **fields))
        with pytest.raises(ValueError, match=match):
            backend.train_step(net, x, y)
        assert net.step == 0
    p = np.zeros(3)
    with pytest.raises(ValueError, match=r"sgd_step with dampening needs step"):
        backend.sgd_step(p, p.copy(), p.copy(), lr=0.1, momentum=0.9, dampening=0.5)
    with pytest.raises(ValueError, match=r"^grad_avg is required for centered RMSprop"):
        backend.rmsprop_step(p, p.copy(), p.copy(), p.copy(), lr=0.1, centered=True)
    with pytest.raises(ValueError, match=r"^grad_avg must have shape \(3,\)"):
        backend.rmsprop_step(p, p.copy(), p.copy(), p.copy(), lr=0.1, centered=True, grad_avg=np.zeros(4))
    net = make_network(loss="mse", optimizer=OptimizerConfig("rmsprop", centered=True))
    net.slots_g = net.slots_g[:1]
    with pytest.raises(ValueError, match=r"^slots_g needs 6 arrays"):
        backend.train_step(net, x, y)


def test_centered_slots_are_created_when_missing(backend):
    """A Network switched to centered RMSprop after construction gets zero third slots."""
    net = make_network(loss="mse", optimizer=OptimizerConfig("rmsprop"))
    assert net.slots_g == []
    net.optimizer.centered = True
    x, y = make_data("mse", np.float64)
    backend.train_step(net, x, y)
    assert len(net.slots_g) == len(net.params) and any(np.abs(g).max() > 0 for g in net.slots_g)


def test_public_optimizers_and_files(tmp_path):
    rng = np.random.default_rng(5)
    X = rng.standard_normal((64, 3)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    for opt in (fm.optim.SGD(lr=0.05, momentum=0.9, dampening=0.2, clip_norm=1.0),
                fm.optim.RMSprop(lr=1e-2, centered=True, clip_norm=2.0),
                fm.optim.Adam(clip_norm=0.5), fm.optim.AdamW(clip_norm=0.5)):
        model = fm.MLP([3, 5, 2], backend="numpy", seed=1)
        model.fit(X, y, epochs=2, batch_size=16, optimizer=opt)
        model.save(tmp_path / "m.npz")
        twin = fm.MLP.load(tmp_path / "m.npz", backend="numpy")
        assert vars(twin.network.optimizer) == vars(model.network.optimizer)
        assert len(twin.network.slots_g) == (len(model.network.params) if opt.config.centered else 0)
        model.fit(X, y, epochs=1, batch_size=16, shuffle=False)
        twin.fit(X, y, epochs=1, batch_size=16, shuffle=False)
        assert_networks_agree(twin.network, model.network, 0.0, f"resumed {opt!r}")
    assert "dampening=0.2" in repr(fm.optim.SGD(dampening=0.2))
    with pytest.raises(ValueError, match=r"^clip_norm must be > 0"):
        fm.optim.Adam(clip_norm=0)
