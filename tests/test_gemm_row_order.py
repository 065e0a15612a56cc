"""gemm.cpp's tile order for a few k (an output layer's dX: k = its classes), under every ISA.

gemm_serial visits the tiles of a block a row of tiles at a time when its KC block holds at
most kRowOrderMaxK (32) k, and a column of tiles at a time otherwise, or when it packs a
column-major B one micro-panel at a time (m <= MC), or when C is a kept pack. Each tile's
arithmetic is the same in either order, so a product run in row order must be bitwise the
product run in column order: the same operands cut into pieces of at most MC rows with a
column-major B take the column order (pack_each). Both must also hold the float64 bound of
docs/tolerances.md, write every element of C and nothing past it, and give the same bits at
any thread count.
"""

from __future__ import annotations

import numpy as np
import pytest

from isa_cases import BLOCKING, DTYPES, assert_bound, cpp, isa, reference, run  # noqa: F401

ROW_ORDER_MAX_K = 32  # gemm.cpp kRowOrderMaxK
KS = (1, 10, ROW_ORDER_MAX_K - 1, ROW_ORDER_MAX_K, ROW_ORDER_MAX_K + 1)


def _shape(isa, dtype):
    """m over three MC blocks with a short last tile; n over two NR micro-panels plus an edge."""
    b = BLOCKING[isa][np.dtype(dtype).name]
    return 3 * b["mc"] + b["mr"] + 1, 2 * b["nr"] + 3, b["mc"]


def _in_column_order(g, w_f, mc):
    """g @ w_f.T in pieces of at most mc rows: w_f is F-ordered, so op(B) = w_f.T is
    column-major and each piece packs it a micro-panel at a time, tiles by columns."""
    m, n = g.shape[0], w_f.shape[0]
    out = np.empty((m, n), g.dtype)
    for lo in range(0, m, mc):
        out[lo:lo + mc] = run(g[lo:lo + mc], w_f, False, True)
    return out


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("k", KS)
def test_row_order_is_bitwise_the_column_order(isa, dtype, k):
    rng = np.random.default_rng(40 + k)
    m, n, mc = _shape(isa, dtype)
    g = rng.standard_normal((m, k)).astype(dtype)
    w = np.asfortranarray(rng.standard_normal((n, k)).astype(dtype))  # grad_x = g @ w.T
    got = run(g, w, False, True)  # m > MC: row order while k <= 32
    ref, gauge = reference(g, w, False, True)
    assert_bound(got, ref, gauge, k, dtype, 0, f"{isa} k={k}")
    assert np.array_equal(got, _in_column_order(g, w, mc)), f"{isa} {np.dtype(dtype).name} k={k}"
    # The same B row-major (packed whole, row order too): the same bits.
    assert np.array_equal(run(g, np.ascontiguousarray(w.T), False, False), got)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("k", (10, ROW_ORDER_MAX_K))
def test_row_order_with_the_fused_bias_and_relu(isa, dtype, k):
    """dense_forward's epilogue rides on the last KC block's tiles, in whichever order."""
    rng = np.random.default_rng(50 + k)
    m, n, mc = _shape(isa, dtype)
    x = rng.standard_normal((m, k)).astype(dtype)
    w = rng.standard_normal((k, n)).astype(dtype)
    bias = rng.standard_normal(n).astype(dtype)
    z, a = cpp.dense_forward(x, w, bias, "relu")
    z_f, a_f = cpp.dense_forward(x, np.asfortranarray(w), bias, "relu")
    pieces = [cpp.dense_forward(x[lo:lo + mc], np.asfortranarray(w), bias, "relu")
              for lo in range(0, m, mc)]
    assert np.array_equal(a, np.concatenate([p[1] for p in pieces]))
    assert np.array_equal(a_f, a) and np.array_equal(z_f, z)
    ref, gauge = reference(x, w, False, False)
    assert_bound(z, ref + bias, gauge + np.abs(bias), k, dtype, 1, f"{isa} z k={k}")
    assert np.array_equal(a, np.maximum(z, 0))


@pytest.mark.parametrize("dtype", DTYPES)
def test_row_order_thread_splits_bitwise(isa, dtype):
    rng = np.random.default_rng(60)
    m, n, _ = _shape(isa, dtype)
    n = 5 * n  # enough columns that a split over columns has work for three threads
    g = rng.standard_normal((m, 10)).astype(dtype)
    w = rng.standard_normal((n, 10)).astype(dtype)
    before, threshold = cpp.get_num_threads(), cpp.parallel_min_macs()
    try:
        cpp.set_parallel_min_macs(0)  # every product split over the threads
        results = []
        for threads in (1, 2, 3):
            cpp.set_num_threads(threads)
            results.append(run(g, w, False, True))
    finally:
        cpp.set_num_threads(before)
        cpp.set_parallel_min_macs(threshold)
    assert all(np.array_equal(r, results[0]) for r in results[1:]), isa
