"""Every training feature at once (sample and class weights, l2, dropout, clipping,
centered RMSprop / dampened SGD, a schedule): each backend's epochs and steps against the
oracle, so the features' interactions (penalty over the weighted batch, clipping after the
penalty, masks with weights) agree too. Tolerance: tolerances.train_rtol, as the other
agreement tests."""

from __future__ import annotations

import numpy as np
import pytest

from fastmlp.backends import OptimizerConfig, ScheduleConfig
from test_train_agreement import assert_networks_agree, make_data, make_network, up_y, upcast
from tolerances import train_rtol

OPTIMIZERS = {
    "rmsprop_centered": OptimizerConfig("rmsprop", lr=1e-2, momentum=0.5, centered=True, clip_norm=0.5),
    "sgd_dampened": OptimizerConfig("sgd", lr=0.05, momentum=0.9, dampening=0.2, weight_decay=1e-3,
                                    clip_norm=1.0),
    "adam": OptimizerConfig("adam", lr=1e-2, clip_norm=0.3),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("opt", list(OPTIMIZERS))
@pytest.mark.parametrize("loss_case", ["cross_entropy-labels", "cross_entropy-onehot", "poisson", "huber"])
def test_all_features_agree_with_oracle(backend, oracle, dtype, opt, loss_case):
    loss = loss_case.split("-")[0]
    net = make_network(loss=loss, optimizer=OPTIMIZERS[opt], dtype=dtype, seed=21)
    net.l2 = 0.02
    net.dropout, net.seed = [0.25, 0.4, 0.0], 77
    net.schedule = ScheduleConfig("cosine", total_steps=10, warmup_steps=2, min_lr=1e-4)
    if loss == "cross_entropy":
        net.class_weight = np.array([1.5, 0.5, 1.0])
    ref = upcast(net)
    if loss == "poisson":
        rng = np.random.default_rng(22)
        X = rng.standard_normal((23, 5)).astype(dtype)
        Y = rng.poisson(1.0, (23, 3)).astype(dtype)
    else:
        X, Y = make_data(loss_case, dtype, seed=22)
    sw = np.random.default_rng(23).uniform(0.2, 2.0, len(X))
    rng = np.random.default_rng(24)
    rtol = train_rtol(dtype, work=12 * (5 + 21))
    for epoch in range(2):
        order = rng.permutation(len(X))
        got = backend.train_epoch(net, X, Y, order, 5, sample_weight=sw)
        want = oracle.train_epoch(ref, X.astype(np.float64), up_y(Y), order, 5, sample_weight=sw)
        np.testing.assert_allclose(got[0], want[0], rtol=rtol)
        assert got[1] == want[1]
        assert_networks_agree(net, ref, rtol, f"{backend.__name__} {opt} {loss_case} epoch {epoch}")
    got = backend.train_step(net, X[:4], Y[:4], sample_weight=sw[:4])
    want = oracle.train_step(ref, X[:4].astype(np.float64), up_y(Y[:4]), sample_weight=sw[:4])
    np.testing.assert_allclose(got[0], want[0], rtol=rtol)
    assert_networks_agree(net, ref, rtol, f"{backend.__name__} {opt} {loss_case} step")
