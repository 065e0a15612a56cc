"""The standard benchmark configurations (BENCHMARKS.md names each) and
seeded data for them. One epoch is float32, SGD lr 0.01, momentum 0."""

from __future__ import annotations

import numpy as np

# name: (M, K, N) of out(M, N) = a(M, K) @ b(K, N), float32: square sizes and an MLP's forward
GEMM_SHAPES = {
    "64x64x64": (64, 64, 64),
    "256x256x256": (256, 256, 256),
    "fwd 64x784x256": (64, 784, 256),
    "fwd 256x784x512": (256, 784, 512),
}

# name: (layer sizes, hidden activation, loss, batch)
EPOCH_CONFIGS = {
    "B4 2-16-1 tanh mse b4": ([2, 16, 1], "tanh", "mse", 4),
    "D32 13-64-64-1 relu mse b32": ([13, 64, 64, 1], "relu", "mse", 32),
    "A64 784-256-128-10 relu ce b64": ([784, 256, 128, 10], "relu", "cross_entropy", 64),
    "A256 784-256-128-10 relu ce b256": ([784, 256, 128, 10], "relu", "cross_entropy", 256),
    "C256 784-1024-1024-10 relu ce b256": ([784, 1024, 1024, 10], "relu", "cross_entropy", 256),
}

LEARNING_RATE = 0.01


def short_name(config: str) -> str:
    """'B4 2-16-1 tanh mse b4' -> 'B4'."""
    return config.split()[0]


def make_epoch_problem(config, n_rows, rng):
    """(network, X, y, batch) for ``config``: fastmlp's seeded initial weights, standard normal
    float32 inputs, integer labels (cross-entropy) or standard normal targets (mse)."""
    from ..backends import Network, OptimizerConfig
    from ..init import initialize

    sizes, act, loss, batch = EPOCH_CONFIGS[config]
    acts = [act] * (len(sizes) - 2) + ["identity"]
    w, b = initialize(sizes, acts, np.float32, seed=0)
    net = Network(w, b, acts, loss, OptimizerConfig("sgd", lr=LEARNING_RATE))
    X = rng.standard_normal((n_rows, sizes[0])).astype(np.float32)
    if loss == "cross_entropy":
        y = rng.integers(0, sizes[-1], n_rows)
    else:
        y = rng.standard_normal((n_rows, sizes[-1])).astype(np.float32)
    return net, X, y, batch


def aligned(shape, dtype, rng):
    """A C-contiguous random array on a 64-byte boundary (NumPy only promises 16; unaligned
    operands make GEMM timings bimodal)."""
    n = int(np.prod(shape))
    itemsize = np.dtype(dtype).itemsize
    raw = np.empty(n * itemsize + 64, np.uint8)
    offset = (-raw.ctypes.data) % 64
    arr = raw[offset:offset + n * itemsize].view(dtype).reshape(shape)
    arr[...] = rng.standard_normal(shape)
    return arr
