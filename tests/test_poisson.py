"""The poisson loss: log link fused, PyTorch's PoissonNLLLoss(log_input=True, full=False)."""

from __future__ import annotations

import numpy as np
import pytest

import fastmlp as fm
from fastmlp.backends import OptimizerConfig
from test_train_agreement import assert_networks_agree, make_network, upcast
from tolerances import train_rtol

DTYPES = [np.float32, np.float64]
# vs the float64 oracle on the same inputs: exp plus 2 roundings per element and a mean over
# <= 150 terms; float64 1e-12 (~4500 u), float32 2e-5 (~340 u32: 150-term sums, exp's 1-4 ulp)
RTOL = {np.float32: 2e-5, np.float64: 1e-12}


def case(rng, dtype, shape=(37, 4)):
    output = rng.uniform(-2, 2, shape).astype(dtype)
    target = rng.poisson(2.0, shape).astype(dtype)
    return output, target


def test_oracle_matches_torch(oracle, rng):
    torch = pytest.importorskip("torch")
    output, target = case(rng, np.float64)
    sw = rng.uniform(0.5, 2.0, 37)
    out_t = torch.tensor(output, requires_grad=True)
    ref = torch.nn.PoissonNLLLoss(log_input=True, full=False)(out_t, torch.tensor(target))
    ref.backward()
    loss, grad = oracle.loss_forward_backward("poisson", output, target)
    np.testing.assert_allclose(loss, ref.item(), rtol=1e-13)  # float64, two summation orders
    np.testing.assert_allclose(grad, out_t.grad.numpy(), rtol=1e-13, atol=1e-17)
    # weighted: the weighted mean of the rows' mean losses, written out with torch
    per_row = torch.nn.PoissonNLLLoss(log_input=True, full=False, reduction="none")(
        torch.tensor(output), torch.tensor(target)).numpy().mean(axis=1)
    w_loss, _ = oracle.loss_forward_backward("poisson", output, target, sample_weight=sw)
    np.testing.assert_allclose(w_loss, (sw * per_row).sum() / sw.sum(), rtol=1e-13)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("weighted", [False, True])
def test_poisson_vs_oracle(backend, oracle, rng, dtype, weighted):
    output, target = case(rng, dtype)
    sw = rng.uniform(0.5, 2.0, len(output)) if weighted else None
    loss, grad = backend.loss_forward_backward("poisson", output, target, sample_weight=sw)
    ref_loss, ref_grad = oracle.loss_forward_backward("poisson", output.astype(np.float64),
                                                      target.astype(np.float64), sample_weight=sw)
    assert type(loss) is float and grad.dtype == dtype
    np.testing.assert_allclose(loss, ref_loss, rtol=RTOL[dtype])
    np.testing.assert_allclose(grad, ref_grad, rtol=RTOL[dtype], atol=RTOL[dtype] * np.abs(ref_grad).max())


def test_poisson_gradient_vs_finite_differences(oracle, rng):
    """float64 central differences, h = 1e-6: truncation ~1e-12, cancellation ~1e-10."""
    output, target = case(rng, np.float64, (5, 3))
    _, grad = oracle.loss_forward_backward("poisson", output, target)
    fd = np.empty_like(output)
    for idx in np.ndindex(output.shape):
        plus, minus = output.copy(), output.copy()
        plus[idx] += 1e-6
        minus[idx] -= 1e-6
        fd[idx] = (oracle.loss_forward_backward("poisson", plus, target)[0]
                   - oracle.loss_forward_backward("poisson", minus, target)[0]) / 2e-6
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-9)


def test_known_value(backend):
    # o = 0: exp(0) - t*0 = 1 whatever t; o = log 2, t = 2: 2 - 2 log 2; grads (1 - t)/2, 0
    out = np.array([[0.0, np.log(2.0)]])
    loss, grad = backend.loss_forward_backward("poisson", out, np.array([[3.0, 2.0]]))
    np.testing.assert_allclose(loss, (1 + 2 - 2 * np.log(2.0)) / 2, rtol=1e-15)
    np.testing.assert_allclose(grad, [[-1.0, 0.0]], atol=1e-15)


def test_negative_targets_are_rejected(backend):
    out = np.zeros((2, 2))
    with pytest.raises(ValueError, match=r"^target must be >= 0 for the poisson loss"):
        backend.loss_forward_backward("poisson", out, np.array([[1.0, -1.0], [0.0, 2.0]]))
    net = make_network(loss="poisson")
    with pytest.raises(ValueError, match=r"^y must be >= 0 for the poisson loss"):
        backend.train_step(net, np.zeros((2, 5)), -np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"^Y must be >= 0 for the poisson loss"):
        backend.train_epoch(net, np.zeros((2, 5)), -np.ones((2, 3)), np.arange(2), 1)
    assert net.step == 0


@pytest.mark.parametrize("dtype", DTYPES)
def test_poisson_training_agrees(backend, oracle, dtype):
    net = make_network(loss="poisson", optimizer=OptimizerConfig("adam", lr=1e-2), dtype=dtype, seed=2)
    ref = upcast(net)
    rng = np.random.default_rng(3)
    X = rng.standard_normal((23, 5)).astype(dtype)
    Y = rng.poisson(1.5, (23, 3)).astype(dtype)
    order = rng.permutation(23)
    rtol = train_rtol(dtype, work=5 * (5 + 21))
    got = backend.train_epoch(net, X, Y, order, 5)
    want = oracle.train_epoch(ref, X.astype(np.float64), Y.astype(np.float64), order, 5)
    np.testing.assert_allclose(got[0], want[0], rtol=rtol)
    assert got[1] == want[1] == 0
    assert_networks_agree(net, ref, rtol, f"{backend.__name__} poisson epoch")


def test_mlp_poisson_predicts_rates():
    rng = np.random.default_rng(4)
    X = rng.uniform(-1, 1, (600, 2)).astype(np.float32)
    rate = np.exp(0.8 * X[:, 0] - 0.5 * X[:, 1] + 0.5)
    y = rng.poisson(rate).astype(np.float32)
    model = fm.MLP([2, 16, 1], loss="poisson", activation="tanh", backend="numpy", seed=0)
    model.fit(X, y, epochs=30, batch_size=32, optimizer=fm.optim.Adam(lr=1e-2))
    pred = model.predict(X)
    assert pred.shape == (600,) and (pred > 0).all()
    np.testing.assert_allclose(pred, np.exp(model.forward(X)[:, 0]), rtol=1e-6)  # float32 exp
    # the fitted rate tracks the true one (R^2 of rate vs the noiseless rate)
    assert 1 - ((pred - rate) ** 2).sum() / ((rate - rate.mean()) ** 2).sum() > 0.8
    layers = model.forward(X[:3], return_all=True)
    np.testing.assert_allclose(layers[-1]["a"], np.exp(layers[-1]["z"]), rtol=1e-6)
    assert set(model.evaluate(X, y)) == {"loss", "r2"}
    with pytest.raises(ValueError, match=r"^y must be >= 0 for the poisson loss"):
        model.fit(X, -y, epochs=1)
