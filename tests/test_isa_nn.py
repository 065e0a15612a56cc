"""The nn kernels (dense forward/backward, the fused epilogue) and the training epoch under every
instruction set this CPU runs; float64 agrees with the NumPy backend to ~1e-12
(docs/tolerances.md), and thread counts agree bitwise."""

from __future__ import annotations

import numpy as np
import pytest

from fastmlp.backends import numpy as oracle
from fastmlp.backends.network import Network, OptimizerConfig
from isa_cases import BLOCKING, DTYPES, cpp, isa  # noqa: F401 (isa: the fixture)


# --- nn kernels and training per ISA (float64: agree with the NumPy backend to ~1e-12) -------


def _close(got, want, what):
    want = np.asarray(want)
    scale = max(float(np.max(np.abs(want))), 1.0) if want.size else 1.0
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * scale, err_msg=what)


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_dense_forward_backward(isa, activation):
    rng = np.random.default_rng(7)
    b = BLOCKING[isa]["float64"]
    batch, n_in, n_out = b["mr"] * 4 + 3, b["kc"] + 17, b["nr"] * 3 + 1
    x = rng.standard_normal((batch, n_in))
    w = rng.standard_normal((n_in, n_out)) / np.sqrt(n_in)
    bias = rng.standard_normal(n_out)
    z, a = cpp.dense_forward(x, w, bias, activation)
    z_ref, a_ref = oracle.dense_forward(x, w, bias, activation)
    _close(z, z_ref, f"{isa} z")
    _close(a, a_ref, f"{isa} a")
    grad_a = rng.standard_normal(a.shape)
    for got, want, name in zip(cpp.dense_backward(x, w, z, a, grad_a, activation),
                               oracle.dense_backward(x, w, z_ref, a_ref, grad_a, activation),
                               ("grad_x", "grad_w", "grad_b")):
        _close(got, want, f"{isa} {name}")


def _network(seed=0):
    rng = np.random.default_rng(seed)
    sizes = (20, 33, 17, 4)
    weights = [rng.standard_normal((i, o)) * np.sqrt(2.0 / i) for i, o in zip(sizes[:-1], sizes[1:])]
    biases = [0.1 * rng.standard_normal(o) for o in sizes[1:]]
    return Network(weights, biases, ["tanh", "relu", "identity"], "mse",
                   optimizer=OptimizerConfig("adam", lr=1e-2))


def test_train_epoch(isa):
    rng = np.random.default_rng(8)
    X, Y = rng.standard_normal((70, 20)), rng.standard_normal((70, 4))
    order = rng.permutation(70)
    net, ref = _network(), _network()
    loss, _ = cpp.train_epoch(net, X, Y, order, 16)
    ref_loss, _ = oracle.train_epoch(ref, X, Y, order, 16)
    assert abs(loss - ref_loss) <= 1e-12 * max(abs(ref_loss), 1.0)
    assert net.step == ref.step
    for i, (got, want) in enumerate(zip(net.params, ref.params)):
        _close(got, want, f"{isa} param {i}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_train_epoch_threads_bitwise_identical(isa, dtype):
    """A whole C++ epoch (forward, backward, updates) gives the same bits on 1 and 2 threads,
    with every GEMM inside it split (threshold 0)."""
    rng = np.random.default_rng(9)
    X = rng.standard_normal((70, 20)).astype(dtype)
    Y = rng.standard_normal((70, 4)).astype(dtype)
    order = rng.permutation(70)
    threshold = cpp.parallel_min_macs()
    cpp.set_parallel_min_macs(0)
    try:
        results = []
        for n_threads in (1, 2):
            cpp.set_num_threads(n_threads)
            net = _network()  # the same network, cast to this dtype
            net = Network([w.astype(dtype) for w in net.weights], [b.astype(dtype) for b in net.biases],
                          net.activations, net.loss, optimizer=net.optimizer)
            loss, _ = cpp.train_epoch(net, X, Y, order, 16)
            results.append((loss, [p.copy() for p in net.params + net.slots_m + net.slots_v]))
    finally:
        cpp.set_parallel_min_macs(threshold)
    (loss1, arrays1), (loss2, arrays2) = results
    assert loss1 == loss2
    for a1, a2 in zip(arrays1, arrays2):
        assert np.array_equal(a1, a2)
