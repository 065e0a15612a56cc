"""One training step and one epoch of each backend, on the standard configs (BENCHMARKS.md).

Group = one config; the numpy backend (a hand-written NumPy forward/backward/update calling
OpenBLAS) is the peer in every group.
"""

import os

import numpy as np
import pytest

from conftest import BACKENDS
from fastmlp.backends import get_backend
from fastmlp.benchmarks.configs import EPOCH_CONFIGS, make_epoch_problem

# The configurations and their seeded data are shared with `fastmlp bench` (fastmlp.benchmarks).
CONFIGS = EPOCH_CONFIGS
# The targets are for one epoch of 60,000 rows (full MNIST's size); FASTMLP_BENCH_ROWS
# shortens it for a quick look. Each epoch is thousands of steps, so 3 timed rounds (after a
# warm-up) give a stable median.
EPOCH_ROWS = int(os.environ.get("FASTMLP_BENCH_ROWS", "60000"))
EPOCH_ROUNDS = int(os.environ.get("FASTMLP_BENCH_ROUNDS", "3"))


def make(config, n_rows, rng):
    return make_epoch_problem(config, n_rows, rng)


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
