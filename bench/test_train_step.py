"""One training step and one epoch of each backend, on the standard configs of PEERS.md §5.

Group = one config; the numpy backend (a hand-written NumPy forward/backward/update calling
OpenBLAS) is the peer in every group.
"""

import os

import numpy as np
import pytest

from conftest import BACKENDS
from fastmlp.backends import Network, OptimizerConfig, get_backend
from fastmlp.init import initialize

CONFIGS = {
    # name: (layer sizes, hidden activation, loss, batch)
    "B4 2-16-1 tanh mse b4": ([2, 16, 1], "tanh", "mse", 4),
    "D32 13-64-64-1 relu mse b32": ([13, 64, 64, 1], "relu", "mse", 32),
    "A64 784-256-128-10 relu ce b64": ([784, 256, 128, 10], "relu", "cross_entropy", 64),
    "A256 784-256-128-10 relu ce b256": ([784, 256, 128, 10], "relu", "cross_entropy", 256),
    "C256 784-1024-1024-10 relu ce b256": ([784, 1024, 1024, 10], "relu", "cross_entropy", 256),
}
# Issue 5's targets are for one epoch of 60,000 rows (full MNIST's size); FASTMLP_BENCH_ROWS
# shortens it for a quick look. Each epoch is thousands of steps, so 3 timed rounds (after a
# warm-up) give a stable median.
EPOCH_ROWS = int(os.environ.get("FASTMLP_BENCH_ROWS", "60000"))
EPOCH_ROUNDS = int(os.environ.get("FASTMLP_BENCH_ROUNDS", "3"))


def make(config, n_rows, rng):
    sizes, act, loss, batch = CONFIGS[config]
    acts = [act] * (len(sizes) - 2) + ["identity"]
    w, b = initialize(sizes, acts, np.float32, seed=0)
    net = Network(w, b, acts, loss, OptimizerConfig("sgd", lr=0.01))
    X = rng.standard_normal((n_rows, sizes[0])).astype(np.float32)
    if loss == "cross_entropy":
        y = rng.integers(0, sizes[-1], n_rows)
    else:
        y = rng.standard_normal((n_rows, sizes[-1])).astype(np.float32)
    return net, X, y, batch


@pytest.mark.parametrize("config", list(CONFIGS))
@pytest.mark.parametrize("path", BACKENDS)
def test_train_step(benchmark, path, config, rng):
    net, X, y, batch = make(config, CONFIGS[config][3], rng)
    step = get_backend(path).train_step
    step(net, X, y)  # warm-up (JIT compile, thread pool start)
    benchmark.group = f"train_step {config}"
    loss, _ = benchmark(step, net, X, y)
    assert np.isfinite(loss)


@pytest.mark.parametrize("config", list(CONFIGS))
@pytest.mark.parametrize("path", BACKENDS)
def test_train_epoch(benchmark, path, config, rng):
    net, X, y, batch = make(config, EPOCH_ROWS, rng)
    epoch = get_backend(path).train_epoch
    order = rng.permutation(EPOCH_ROWS)
    epoch(net, X, y, order[: 4 * batch], batch)  # warm-up
    benchmark.group = f"train_epoch {EPOCH_ROWS} rows {config}"
    benchmark.extra_info["steps"] = -(-EPOCH_ROWS // batch)
    loss, _ = benchmark.pedantic(epoch, args=(net, X, y, order, batch), rounds=EPOCH_ROUNDS, iterations=1)
    assert np.isfinite(loss)
