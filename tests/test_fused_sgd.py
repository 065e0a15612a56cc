"""Plain SGD fused into the backward pass (csrc/nn/train.cpp plain_sgd, dense_backward's sgd_w):
each weight matrix takes w := w - lr * grad_w in its dW product's store instead of a pass of
sgd_step after backward. It must give sgd_step's bits: the same epochs run unfused, with a
clip_norm too large to clip (clipping needs the whole gradient first, so it turns the fusion off
and leaves the gradient untouched), must leave bitwise the same weights, biases and losses, under
every ISA, for batches within and beyond one k block of the GEMM (KC rows: beyond it the fusion
is off), with a learning-rate schedule (the rate of each update), small layers (their loops,
unfused) beside GEMM layers, with dropout, and at 1 and 2 threads.
"""

from __future__ import annotations

import numpy as np
import pytest

from isa_cases import BLOCKING, cpp, isa  # noqa: F401 (isa: the fixture)

from fastmlp.backends import Network, OptimizerConfig, ScheduleConfig


def _network(dtype, sizes, clip_norm, schedule, dropout=()):
    rng = np.random.default_rng(len(sizes) + sizes[1])
    weights = [(rng.standard_normal((a, b)) / np.sqrt(a)).astype(dtype)
               for a, b in zip(sizes[:-1], sizes[1:])]
    biases = [(0.1 * rng.standard_normal(b)).astype(dtype) for b in sizes[1:]]
    acts = ["relu"] * (len(sizes) - 2) + ["identity"]
    opt = OptimizerConfig("sgd", lr=0.05, clip_norm=clip_norm)
    return Network(weights, biases, acts, "cross_entropy", opt, schedule=schedule,
                   dropout=list(dropout), seed=11)


def _train(dtype, sizes, batch, rows, clip_norm, schedule, dropout=()):
    net = _network(dtype, sizes, clip_norm, schedule, dropout)
    rng = np.random.default_rng(7)
    X = rng.standard_normal((rows, sizes[0])).astype(dtype)
    y = rng.integers(0, sizes[-1], rows)
    stats = [cpp.train_epoch(net, X, y, rng.permutation(rows), batch) for _ in range(2)]
    return net, stats


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("sizes", [[40, 48, 36, 10], [70, 20, 9, 3]])
@pytest.mark.parametrize("schedule", [ScheduleConfig(), ScheduleConfig("step", step_size=3, gamma=0.5)])
def test_fused_sgd_gives_sgd_steps_bits(isa, dtype, sizes, schedule):
    kc = BLOCKING[isa][np.dtype(dtype).name]["kc"]
    for batch, rows in [(1, 5), (64, 200), (kc, kc + 50), (kc + 1, 2 * kc + 3)]:
        fused, fused_stats = _train(dtype, sizes, batch, rows, None, schedule)
        plain, plain_stats = _train(dtype, sizes, batch, rows, 1e30, schedule)
        where = f"{isa} {np.dtype(dtype).name} {sizes} batch {batch} {schedule.name}"
        for a, b in zip(fused.params, plain.params):
            assert np.array_equal(a, b), where
        assert [s.mean_loss for s in fused_stats] == [s.mean_loss for s in plain_stats], where
        assert fused.step == plain.step


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_sgd_with_dropout_gives_sgd_steps_bits(dtype):
    """Dropout's masks reach grad_z before the fused dW product, as before sgd_step's pass."""
    sizes, drop = [40, 48, 36, 10], (0.3, 0.1, 0.0)
    fused, fused_stats = _train(dtype, sizes, 64, 200, None, ScheduleConfig(), drop)
    plain, plain_stats = _train(dtype, sizes, 64, 200, 1e30, ScheduleConfig(), drop)
    for a, b in zip(fused.params, plain.params):
        assert np.array_equal(a, b)
    assert [s.mean_loss for s in fused_stats] == [s.mean_loss for s in plain_stats]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_sgd_same_bits_at_1_and_2_threads(dtype):
    before, threshold = cpp.get_num_threads(), cpp.parallel_min_macs()
    runs = []
    try:
        cpp.set_parallel_min_macs(0)  # every product split over the threads
        for threads in (1, 2):
            cpp.set_num_threads(threads)
            runs.append(_train(dtype, [50, 64, 33, 10], 96, 300, None, ScheduleConfig())[0].params)
    finally:
        cpp.set_num_threads(before)
        cpp.set_parallel_min_macs(threshold)
    for a, b in zip(*runs):
        assert np.array_equal(a, b)
