"""The C++ training loop's small-network path (csrc/nn/small_dense.cpp) against its gemm() path.

Layers with both widths <= 32 at batches <= 64 and at most 1024 multiply-adds (batch * n_in * n_out)
skip gemm() and run straight loops that must give the same bits: same k order, same FMA-or-not rounding as the active micro-kernel (probed), same
bias rounding, activations and sums. FASTMLP_SMALL_PATH=0 sends every layer through gemm(), so
each case trains twice from the same start and everything (losses, correct counts, weights,
biases, optimizer slots, the step count) must be equal bit for bit; that holds for every
instruction set (the generic kernel does not fuse multiply-adds, avx2 and avx512 do). The
agreement of either path with the NumPy oracle is test_train_agreement's and
test_features_combined's job; this file pins down that the shortcut changes nothing.
"""

from __future__ import annotations

import numpy as np
import pytest

from fastmlp import backends
from fastmlp.backends import Network, OptimizerConfig, ScheduleConfig

pytestmark = pytest.mark.skipif("cpp" not in backends.available_backends(),
                                reason="the C++ core is not built (test_api_mirror fails in CI then)")

CASES = {
    # name: (sizes, hidden activations, loss, optimizer, extras)
    "b4_tanh_mse_sgd": ((2, 16, 1), ("tanh",), "mse", OptimizerConfig("sgd", lr=0.01), {}),
    "relu_leaky_ce_momentum": ((5, 9, 7, 4), ("relu", "leaky_relu"), "cross_entropy",
                               OptimizerConfig("sgd", lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
                               {"class_weight": True}),
    "sigmoid_gelu_bce_adam": ((6, 8, 8, 3), ("sigmoid", "gelu"), "binary_cross_entropy",
                              OptimizerConfig("adam", lr=1e-2, clip_norm=0.3), {"dropout": [0.3, 0.2, 0.0]}),
    "softmax_identity_huber_rmsprop": ((4, 11, 5, 2), ("softmax", "identity"), "huber",
                                       OptimizerConfig("rmsprop", lr=1e-2, momentum=0.5, centered=True),
                                       {"l2": 0.05, "weights": True}),
    "tanh_poisson_adamw_schedule": ((3, 32, 32, 2), ("tanh", "relu"), "poisson",
                                    OptimizerConfig("adamw", lr=1e-3, weight_decay=0.1),
                                    {"schedule": ScheduleConfig("cosine", total_steps=20, warmup_steps=3)}),
    # a 33-wide layer takes gemm() while its 32-wide neighbours take the loops (at batch 1)
    "mixed_widths_mae_dampened": ((32, 33, 32, 1), ("relu", "tanh"), "mae",
                                  OptimizerConfig("sgd", lr=0.05, momentum=0.8, dampening=0.3, clip_norm=0.5), {}),
}


def make_case(name, dtype, seed=0):
    sizes, hidden, loss, opt, extras = CASES[name]
    rng = np.random.default_rng(seed)
    weights = [(rng.standard_normal((i, o)) / np.sqrt(i)).astype(dtype) for i, o in zip(sizes[:-1], sizes[1:])]
    biases = [(0.1 * rng.standard_normal(o)).astype(dtype) for o in sizes[1:]]
    net = Network(weights, biases, [*hidden, "identity"], loss, optimizer=OptimizerConfig(**vars(opt)))
    net.l2 = extras.get("l2", 0.0)
    net.dropout, net.seed = extras.get("dropout", []), 5
    if "schedule" in extras:
        net.schedule = extras["schedule"]
    n_rows, n_out = 150, sizes[-1]
    X = rng.standard_normal((n_rows, sizes[0])).astype(dtype)
    if loss == "cross_entropy":
        Y = rng.integers(0, n_out, n_rows)
        if extras.get("class_weight"):
            net.class_weight = rng.uniform(0.5, 2.0, n_out).astype(dtype)
    elif loss == "binary_cross_entropy":
        Y = rng.integers(0, 2, (n_rows, n_out)).astype(dtype)
    elif loss == "poisson":
        Y = rng.poisson(1.0, (n_rows, n_out)).astype(dtype)
    else:
        Y = rng.standard_normal((n_rows, n_out)).astype(dtype)
    sw = rng.uniform(0.2, 2.0, n_rows).astype(dtype) if extras.get("weights") else None
    return net, X, Y, sw


def state(net, results):
    return [*results, net.step, *net.weights, *net.biases, *net.slots_m, *net.slots_v, *net.slots_g]


def assert_bitwise_equal(a, b, tag):
    assert len(a) == len(b), tag
    for i, (x, y) in enumerate(zip(a, b)):
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and np.array_equal(x.view(np.uint8), y.view(np.uint8)), f"{tag}: array {i}"
        else:
            assert x == y, f"{tag}: {x!r} != {y!r} (item {i})"


def train_both_ways(monkeypatch, run):
    """run() once on the small path and once with every layer on gemm(); returns both results."""
    out = []
    for flag in ("1", "0"):
        monkeypatch.setenv("FASTMLP_SMALL_PATH", flag)
        out.append(run())
    return out


@pytest.fixture(params=backends.get_backend("cpp").available_isas() if "cpp" in backends.available_backends() else [])
def isa(request):
    cpp = backends.get_backend("cpp")
    before = cpp.isa()
    cpp.set_isa(request.param)
    yield request.param
    cpp.set_isa(before)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("batch", [1, 4, 7, 64])  # 1: every layer <= 32 wide takes the loops
def test_epochs_match_the_gemm_path_bitwise(monkeypatch, isa, dtype, case, batch):
    cpp = backends.get_backend("cpp")

    def run():
        net, X, Y, sw = make_case(case, dtype)
        results = []
        for epoch in range(2):  # 150 rows: the last batch is partial for 7 and 64
            order = np.random.default_rng(epoch).permutation(len(X))
            results += cpp.train_epoch(net, X, Y, order, batch, sample_weight=sw)
        return state(net, results)

    small, general = train_both_ways(monkeypatch, run)
    assert_bitwise_equal(small, general, f"{isa} {np.dtype(dtype).name} {case} batch {batch}")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", ["b4_tanh_mse_sgd", "softmax_identity_huber_rmsprop"])
def test_steps_on_strided_inputs_match_the_gemm_path_bitwise(monkeypatch, isa, dtype, case):
    """train_step hands x over with NumPy's strides (a transposed view, every other row)."""
    cpp = backends.get_backend("cpp")

    def run():
        net, X, Y, sw = make_case(case, dtype)
        Xf = np.asfortranarray(X)
        results = []
        for rows in (slice(0, 9), slice(9, 73, 2), slice(80, 81)):
            results += cpp.train_step(net, Xf[rows], Y[rows], sample_weight=None if sw is None else sw[rows])
        return state(net, results)

    small, general = train_both_ways(monkeypatch, run)
    assert_bitwise_equal(small, general, f"{isa} {np.dtype(dtype).name} {case} steps")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batch_65_leaves_the_small_path_with_the_same_bits(monkeypatch, dtype):
    """Batches of 64 then 65 rows (over the limit): both paths, one network, still equal.
    (At 64 rows the 16x1 output layer takes the loops, 1024 multiply-adds, the 2x16 one gemm().)"""
    cpp = backends.get_backend("cpp")

    def run():
        net, X, Y, _ = make_case("b4_tanh_mse_sgd", dtype)
        return state(net, [*cpp.train_step(net, X[:64], Y[:64]), *cpp.train_step(net, X[:65], Y[:65])])

    small, general = train_both_ways(monkeypatch, run)
    assert_bitwise_equal(small, general, f"{np.dtype(dtype).name} batch 64 then 65")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_one_step_equals_the_kernel_api_composition(dtype):
    """Independent of the switch: one SGD step of the small path equals dense_forward, the loss,
    dense_backward and sgd_step called one by one (those run through gemm())."""
    cpp = backends.get_backend("cpp")
    net, X, Y, _ = make_case("b4_tanh_mse_sgd", dtype)
    x, y = X[:4], Y[:4]
    w0, b0, w1, b1 = (p.copy() for p in (*net.weights[:1], *net.biases[:1], net.weights[1], net.biases[1]))
    loss, _ = cpp.train_step(net, x, y)

    z0, a0 = cpp.dense_forward(x, w0, b0, "tanh")
    z1, a1 = cpp.dense_forward(a0, w1, b1, "identity")
    want_loss, grad = cpp.loss_forward_backward("mse", a1, y)
    grad_a0, grad_w1, grad_b1 = cpp.dense_backward(a0, w1, z1, a1, grad, "identity")
    _, grad_w0, grad_b0 = cpp.dense_backward(x, w0, z0, a0, grad_a0, "tanh")
    for param, g in ((w0, grad_w0), (b0, grad_b0), (w1, grad_w1), (b1, grad_b1)):
        cpp.sgd_step(param, g, np.zeros_like(param), lr=0.01)
    assert loss == want_loss
    assert_bitwise_equal([*net.weights, *net.biases], [w0, w1, b0, b1], f"{np.dtype(dtype).name} one step")


def test_threads_do_not_change_the_small_path():
    cpp = backends.get_backend("cpp")
    before = cpp.get_num_threads()
    runs = []
    try:
        for threads in (1, 2):
            cpp.set_num_threads(threads)
            net, X, Y, _ = make_case("sigmoid_gelu_bce_adam", np.float32)
            runs.append(state(net, list(cpp.train_epoch(net, X, Y, np.arange(len(X)), 5))))
    finally:
        cpp.set_num_threads(before)
    assert_bitwise_equal(runs[0], runs[1], "1 vs 2 threads")
