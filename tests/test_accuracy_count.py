"""The training step's count of rows classified right (cross_entropy: the first maximum of the
output equals the label, numpy's argmax) in every backend, on outputs full of ties, where a
"last maximum" or an off-by-one in the C++ select-based argmax would count differently."""

from __future__ import annotations

import numpy as np
import pytest

from fastmlp.backends import Network, OptimizerConfig, available_backends, get_backend


@pytest.mark.parametrize("backend_name", available_backends())
def test_correct_count_takes_the_first_maximum(backend_name):
    rng = np.random.default_rng(0)
    backend = get_backend(backend_name)
    for _ in range(60):
        n = int(rng.integers(1, 12))  # 1 output, a few, and more than one vector of 8 doubles
        x = rng.integers(-2, 3, (16, n)).astype(np.float64)  # five values: ties in most rows
        y = rng.integers(0, n, 16)
        # an identity layer, so the output is x; a tiny rate, so nothing here depends on it
        net = Network([np.eye(n)], [np.zeros(n)], ["identity"], "cross_entropy",
                      OptimizerConfig("sgd", lr=1e-9))
        _, n_correct = backend.train_step(net, x, y)
        assert n_correct == int((np.argmax(x, axis=1) == y).sum()), (n, x, y)
