"""External peers: PyTorch eager and scikit-learn on the training epoch (BENCHMARKS.md), and
torch.matmul beside test_gemm.py's matmul groups.

Same data (`make`), rows (EPOCH_ROWS) and group names as test_train_epoch in
test_train_step.py, so bench/report.py puts "torch" and "sklearn" beside cpp/numba/numpy.
Float32, SGD lr 0.01, momentum 0; threads from FASTMLP_NUM_THREADS (default 1).
"""

import os

import numpy as np
import pytest

from fastmlp.benchmarks.peers import torch_epoch
from test_gemm import CASES as GEMM_CASES
from test_gemm import SHAPES as GEMM_SHAPES
from test_gemm import operands as gemm_operands
from test_train_step import CONFIGS, EPOCH_ROUNDS, EPOCH_ROWS, make

THREADS = int(os.environ.get("FASTMLP_NUM_THREADS", "1"))
ROUNDS = EPOCH_ROUNDS


def group(config):
    return f"train_epoch {EPOCH_ROWS} rows {config}"


@pytest.mark.parametrize("config", list(CONFIGS))
@pytest.mark.parametrize("path", ["torch"])
def test_torch_epoch(benchmark, path, config, rng):
    torch = pytest.importorskip("torch", reason="torch not installed (pip install fastmlp[torch])")
    net, X, y, batch = make(config, EPOCH_ROWS, rng)
    # fastmlp's initial weights, nn.Sequential + torch.optim.SGD, batches by index_select;
    # the same code `fastmlp bench` runs (it warms up on 4 batches before returning)
    epoch = torch_epoch(net, X, y, rng.permutation(EPOCH_ROWS), batch, THREADS)
    benchmark.group = group(config)
    benchmark.extra_info["steps"] = -(-EPOCH_ROWS // batch)
    benchmark.extra_info["threads"] = torch.get_num_threads()
    loss = benchmark.pedantic(epoch, rounds=ROUNDS, iterations=1)
    assert np.isfinite(loss)


@pytest.mark.parametrize("config", list(CONFIGS))
@pytest.mark.parametrize("path", ["sklearn"])
def test_sklearn_epoch(benchmark, path, config, rng):
    nn = pytest.importorskip("sklearn.neural_network",
                             reason="scikit-learn not installed (pip install fastmlp[sklearn])")
    threadpoolctl = pytest.importorskip("threadpoolctl", reason="threadpoolctl not installed")
    sizes, act, loss_name, batch = CONFIGS[config]
    _, X, y, batch = make(config, EPOCH_ROWS, rng)
    kw = dict(hidden_layer_sizes=tuple(sizes[1:-1]), activation=act, solver="sgd", momentum=0.0,
              alpha=0.0, learning_rate="constant", learning_rate_init=0.01, batch_size=batch,
              shuffle=True, random_state=0)
    if loss_name == "cross_entropy":
        model = nn.MLPClassifier(**kw)
        fit = lambda: model.partial_fit(X, y, classes=np.arange(sizes[-1]))  # noqa: E731
    else:
        model = nn.MLPRegressor(**kw)
        y = y.ravel() if y.shape[1] == 1 else y
        fit = lambda: model.partial_fit(X, y)  # noqa: E731

    def epoch():
        fit()
        return model.loss_

    with threadpoolctl.threadpool_limits(limits=THREADS):
        epoch()  # warm-up: initialises the weights, one full epoch
        benchmark.group = group(config)
        benchmark.extra_info["steps"] = -(-EPOCH_ROWS // batch)
        loss = benchmark.pedantic(epoch, rounds=ROUNDS, iterations=1)
    assert np.isfinite(loss)
    assert model.coefs_[0].dtype == np.float32


@pytest.mark.parametrize("shape, dtype", GEMM_CASES)
@pytest.mark.parametrize("path", ["torch"])
def test_torch_matmul(benchmark, path, shape, dtype, rng):
    """torch.matmul (MKL/oneDNN in the CPU wheel) on zero-copy views of the same operands,
    into a preallocated out, at the same thread count: the group of test_gemm.py's matmul."""
    torch = pytest.importorskip("torch", reason="torch not installed (pip install fastmlp[torch])")
    torch.set_num_threads(THREADS)
    m, k, n, trans_a, trans_b = GEMM_SHAPES[shape]
    a, b, out = gemm_operands(m, k, n, trans_a, trans_b, dtype, rng)
    ta, tb, tout = (torch.from_numpy(x) for x in (a, b, out))
    op_a, op_b = (ta.T if trans_a else ta), (tb.T if trans_b else tb)
    benchmark.group = f"matmul {shape} {dtype}"
    benchmark.extra_info["flops"] = 2 * m * n * k
    benchmark.extra_info["threads"] = torch.get_num_threads()
    torch.matmul(op_a, op_b, out=tout)  # warm-up
    benchmark(torch.matmul, op_a, op_b, out=tout)
    expected = (a.T if trans_a else a).astype(np.float64) @ (b.T if trans_b else b).astype(np.float64)
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-3 * np.abs(expected).max())
