"""clip_probabilities: the log losses as scikit-learn defines them, p clipped to [eps, 1 - eps].

Checked against scikit-learn's own functions (sklearn.neural_network._base log_loss and
binary_log_loss, what its MLP estimators call) on outputs that saturate, where the clipped and
the true loss differ by whole nats. Tolerances: float64 1e-12 relative (a mean of a few hundred
terms, each a few ulps from scikit-learn's; binary: the same formula, 1 - p's cancellation
included, on the same libm exp), float32 1e-5 (its terms are float32: ~1e-7 each, and the
backends sum in double or pairwise where scikit-learn sums pairwise in float32).
"""

from __future__ import annotations

import numpy as np
import pytest

sk_base = pytest.importorskip("sklearn.neural_network._base",
                              reason="scikit-learn not installed (pip install fastmlp[sklearn])")

RTOL = {np.float64: 1e-12, np.float32: 1e-5}


def _saturating(rng, dtype, shape):
    # logits up to |60|: many rows past -log(eps) = 36 nats (float64) or 16 (float32)
    return (rng.standard_normal(shape) * 25).astype(dtype)


def _softmax(o):
    e = np.exp(o - o.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("labels", [True, False], ids=["labels", "one-hot"])
def test_cross_entropy_is_sklearns_log_loss(backend, rng, dtype, labels):
    o = _saturating(rng, dtype, (300, 5))
    y = rng.integers(0, 5, 300)
    onehot = np.eye(5, dtype=dtype)[y]
    sw = rng.uniform(0.1, 2.0, 300).astype(dtype)
    for weights in (None, sw):
        loss, grad = backend.loss_forward_backward("cross_entropy", o, y if labels else onehot,
                                                   weights, clip_probabilities=True)
        want = sk_base.log_loss(onehot, _softmax(o), weights)
        assert loss == pytest.approx(want, rel=RTOL[dtype])
        unclipped, plain_grad = backend.loss_forward_backward("cross_entropy", o, y, weights)
        assert unclipped > want + 1.0, "the data must saturate for this test to mean anything"
        np.testing.assert_array_equal(grad, plain_grad)  # the gradient is not clipped


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_binary_cross_entropy_is_sklearns_binary_log_loss(backend, rng, dtype):
    from scipy.special import expit

    o = _saturating(rng, dtype, (300, 3))
    t = rng.integers(0, 2, (300, 3)).astype(dtype)
    t[:5] = dtype(0.3)  # soft targets take both terms
    sw = rng.uniform(0.1, 2.0, 300).astype(dtype)
    for weights in (None, sw):
        loss, grad = backend.loss_forward_backward("binary_cross_entropy", o, t, weights,
                                                   clip_probabilities=True)
        # scikit-learn sums the outputs' means; fastmlp's loss is the mean over all elements
        want = sk_base.binary_log_loss(t, expit(o), weights) / o.shape[1]
        assert loss == pytest.approx(want, rel=RTOL[dtype])
        unclipped, plain_grad = backend.loss_forward_backward("binary_cross_entropy", o, t, weights)
        assert unclipped > want + 0.1, "the data must saturate for this test to mean anything"
        np.testing.assert_array_equal(grad, plain_grad)


@pytest.mark.parametrize("name", ["mse", "mae", "huber", "poisson"])
def test_other_losses_ignore_it(backend, rng, name):
    o = rng.standard_normal((20, 3))
    t = np.abs(rng.standard_normal((20, 3)))
    a = backend.loss_forward_backward(name, o, t, clip_probabilities=True)
    b = backend.loss_forward_backward(name, o, t)
    assert a[0] == b[0]
    np.testing.assert_array_equal(a[1], b[1])


def test_flag_must_be_a_bool(backend):
    o = np.zeros((2, 3))
    with pytest.raises(TypeError, match="clip_probabilities"):
        backend.loss_forward_backward("cross_entropy", o, np.array([0, 1]), clip_probabilities="yes")


def test_training_reads_it_from_the_network(backend, rng):
    """train_step's reported loss is the clipped one when net.clip_probabilities is set; the
    update (from the unclipped gradient) is the same either way."""
    from fastmlp.backends import Network, OptimizerConfig

    w = [rng.standard_normal((4, 3)) * 20]
    b = [np.zeros(3)]
    x = rng.standard_normal((30, 4))
    y = rng.integers(0, 3, 30)
    nets = [Network([a.copy() for a in w], [a.copy() for a in b], ["identity"], "cross_entropy",
                    optimizer=OptimizerConfig("sgd", lr=0.1), clip_probabilities=clip)
            for clip in (False, True)]
    (plain, _), (clipped, _) = (backend.train_step(n, x, y) for n in nets)
    want = sk_base.log_loss(np.eye(3)[y], _softmax(x @ w[0]))
    assert clipped == pytest.approx(want, rel=1e-12) and plain > clipped + 1.0
    np.testing.assert_array_equal(nets[0].weights[0], nets[1].weights[0])
