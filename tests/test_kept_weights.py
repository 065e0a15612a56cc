"""The first layer's w kept packed through a plain SGD epoch (gemm::KeptPack, csrc/gemm/gemm.hpp):
the first step's forward packs w, the fused dW products then update it in that packed layout,
later forwards read it there, and the array is written back when the epoch ends, however it ends.
The same epochs run without it (a clip_norm too large to clip turns the fusion, and with it the
kept w, off) must give bitwise the same weights, biases and losses: under every ISA, with w
straddling several KC blocks that do not split into whole MR-row tiles (the dW tiles then go in
pieces), n_out not a multiple of NR (the layout's zero padding), a last batch small enough that
the forward reads w in place (the kept copy is then written back mid-epoch and packed afresh),
batches of every size (the forward reads a kept w packed even for a few rows), every thread
split of both products, steps whose update is not fused (a rate of 0: the kept w is written back
before the optimizer's pass, and packed again), an epoch stopped by a non-finite loss, and, in a
subprocess, caches so small that KC is a few rows.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from isa_cases import BLOCKING, cpp, isa  # noqa: F401 (isa: the fixture)

from fastmlp.backends import Network, OptimizerConfig, ScheduleConfig
from fastmlp.errors import NonFiniteLossError


def _network(dtype, sizes, clip_norm, lr=0.05, schedule=None):
    rng = np.random.default_rng(sizes[0] + sizes[1])
    weights = [(rng.standard_normal((a, b)) / np.sqrt(a)).astype(dtype)
               for a, b in zip(sizes[:-1], sizes[1:])]
    biases = [(0.1 * rng.standard_normal(b)).astype(dtype) for b in sizes[1:]]
    acts = ["relu"] * (len(sizes) - 2) + ["identity"]
    return Network(weights, biases, acts, "cross_entropy",
                   OptimizerConfig("sgd", lr=lr, clip_norm=clip_norm),
                   schedule=schedule or ScheduleConfig())


def _train(dtype, sizes, batch, rows, clip_norm, epochs=2, lr=0.05, scale=1.0, schedule=None):
    net = _network(dtype, sizes, clip_norm, lr, schedule)
    rng = np.random.default_rng(3)
    X = (scale * rng.standard_normal((rows, sizes[0]))).astype(dtype)
    y = rng.integers(0, sizes[-1], rows)
    stats = []  # each epoch's mean loss, or the batch whose loss was not finite
    for _ in range(epochs):
        try:
            stats.append(cpp.train_epoch(net, X, y, rng.permutation(rows), batch).mean_loss)
        except NonFiniteLossError as stop:
            stats.append(("stopped at batch", stop.batch))
            break
    return net, stats


def _same_bits(a, b):
    return a.shape == b.shape and a.tobytes() == b.tobytes()


def _assert_same(dtype, sizes, batch, rows, where, **kw):
    kept, kept_stats = _train(dtype, sizes, batch, rows, None, **kw)
    plain, plain_stats = _train(dtype, sizes, batch, rows, 1e30, **kw)
    for a, b in zip(kept.params, plain.params):
        assert _same_bits(a, b), where
    assert kept_stats == plain_stats, where
    return kept_stats


# n_in 600: 3 KC blocks of 200 under KC 256, 2 of 300 under KC 512; neither a multiple of
# the 6- or 8-row tile. n_out 70: no tile width divides it.
SIZES = [600, 70, 10]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kept_first_layer_gives_the_plain_epochs_bits(isa, dtype):
    b = BLOCKING[isa][np.dtype(dtype).name]
    blocks = -(-SIZES[0] // b["kc"])
    kc = -(-SIZES[0] // blocks)  # balanced KC blocks (gemm.cpp balanced_kc)
    batch = 100
    # The forward packs w (the path under test): more rows than 8 tiles, w beyond 32 KiB.
    assert batch > 8 * b["mr"] and SIZES[0] * SIZES[1] * np.dtype(dtype).itemsize > 32 << 10
    assert blocks == 1 or kc % b["mr"] != 0 or isa == "generic"
    # 530 rows: a last batch of 30 (few enough rows that w is read in place when not kept).
    _assert_same(dtype, SIZES, batch, 530, f"{isa} {np.dtype(dtype).name}")
    for small in (1, 7, 3 * b["mr"]):
        _assert_same(dtype, SIZES, small, 60, f"{isa} {np.dtype(dtype).name} batch {small}")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_steps_without_a_fused_update_write_the_kept_w_back_first(isa, dtype):
    """A cosine schedule down to 0 from the 3rd update on: updates 1 and 2 are fused into the
    kept w, the later ones (rate 0) are not, so before each the kept w goes back to the array
    for the optimizer's pass, and the next forward packs it again."""
    cosine = ScheduleConfig("cosine", total_steps=3, min_lr=0.0)
    _assert_same(dtype, SIZES, 100, 530, f"{isa} {np.dtype(dtype).name}", schedule=cosine)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("sizes, batch", [(SIZES, 100), ([600, 200, 10], 64), ([30, 400, 10], 96)],
                         ids=["split-m", "forward-split-n", "dw-split-n"])
def test_kept_first_layer_same_bits_at_every_thread_count(dtype, sizes, batch):
    """Every product split over the threads: the forward's tasks read the kept w by rows (M
    split) or by columns (N split), the dW product's tasks write their rows or columns of it."""
    before, threshold = cpp.get_num_threads(), cpp.parallel_min_macs()
    runs = []
    try:
        cpp.set_parallel_min_macs(0)
        for threads in (1, 2, 3):
            cpp.set_num_threads(threads)
            runs.append(_train(dtype, sizes, batch, 400, None)[0].params)
    finally:
        cpp.set_num_threads(before)
        cpp.set_parallel_min_macs(threshold)
    plain = _train(dtype, sizes, batch, 400, 1e30)[0].params
    for run in runs:
        for a, b in zip(run, plain):
            assert _same_bits(a, b)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_an_epoch_stopped_by_a_non_finite_loss_writes_the_kept_w_back(dtype):
    """A rate that diverges within the first epoch: the epoch stops at the batch whose loss is not
    finite, and the updates before it must reach the weight array. Held against the same batches
    as single steps (train_step: a workspace of its own each, nothing kept)."""
    scale = 30.0 if dtype == np.float32 else 1e100  # float64 needs far larger logits to overflow
    epoch, stats = _train(dtype, SIZES, 100, 1000, None, epochs=1, lr=50.0, scale=scale)
    net = _network(dtype, SIZES, None, 50.0)
    rng = np.random.default_rng(3)
    X = (scale * rng.standard_normal((1000, SIZES[0]))).astype(dtype)
    y = rng.integers(0, SIZES[-1], 1000)
    order = rng.permutation(1000)
    for batch in range(10):
        rows = order[batch * 100:(batch + 1) * 100]
        try:
            cpp.train_step(net, X[rows], y[rows])
        except NonFiniteLossError:
            break
    assert stats == [("stopped at batch", batch)] and batch > 0  # after some updates
    for a, b in zip(epoch.params, net.params):
        assert _same_bits(a, b)


_SUBPROCESS = """
import numpy as np, sys
sys.path.insert(0, {tests!r})
import test_kept_weights as t
from fastmlp.backends import cpp
info = cpp.core_info()["kernels"]
assert info["caches"]["source"] == "FASTMLP_CACHES", info["caches"]
for dtype in (np.float32, np.float64):
    kc = info[np.dtype(dtype).name]["kc"]
    assert kc < 100, kc  # w in many KC blocks
    t._assert_same(dtype, t.SIZES, 100, 530, cpp.isa())
print("ok")
"""


@pytest.mark.parametrize("isa_name", sorted(BLOCKING))
def test_kept_first_layer_with_tiny_caches(isa_name):
    env = dict(os.environ, FASTMLP_CACHES="4K,16K,1M", FASTMLP_ISA=isa_name)
    code = _SUBPROCESS.format(tests=os.path.dirname(__file__))
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-3000:]
