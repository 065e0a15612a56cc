"""Narrow tiles (n_cur up to 12 columns: the output layer, the last columns of any product) under
every ISA. avx512's float64 kernel computes them transposed (one FMA per column and k step,
ukernel_avx512.cpp dgemm_narrow), or, for 9 to 12 columns of a row-major A, by a zmm and a ymm
per row (dgemm_8x12_rows); every element must still be the same chain of roundings as in a
full tile. So the first n columns of a product must be bitwise the same whether B has n
columns (a narrow tile) or is padded with more columns (full tiles), for each layout of A that
takes a different path: row-major (read in place), column-major (dW's x.T, read in place), and
packed (a long column-major A beside a wide B). alpha and beta, and dense_forward's fused bias
and activation, are applied alike.
"""

from __future__ import annotations

import numpy as np
import pytest

from isa_cases import BLOCKING, DTYPES, cpp, isa, run  # noqa: F401 (isa: the fixture)

WIDTHS = [1, 2, 3, 4, 5, 7, 8, 9, 10, 12]


def _a(rng, m, k, dtype, layout):
    a = rng.standard_normal((m, k)).astype(dtype)
    return np.asfortranarray(a) if layout == "F" else a


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", ["C", "F"])
def test_narrow_columns_equal_padded_bitwise(isa, dtype, layout):
    rng = np.random.default_rng(31)
    b = BLOCKING[isa][np.dtype(dtype).name]
    nr = b["nr"]
    for m, k in [(3, 5), (b["mr"] + 3, 13), (53, 100), (41, 2 * b["kc"] + 7)]:
        a_ = _a(rng, m, k, dtype, layout)
        wide = rng.standard_normal((k, 2 * nr)).astype(dtype)
        full = run(a_, wide, False, False)  # full tiles for the first NR columns
        for n in WIDTHS:
            got = run(a_, np.ascontiguousarray(wide[:, :n]), False, False)
            assert np.array_equal(got, full[:, :n]), f"{isa} {layout} {m}x{n}x{k}"


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", ["C", "F"])
def test_narrow_edge_beside_packed_operands_equals_padded_bitwise(isa, dtype, layout):
    """n = 3 NR + w: the last micro-panel is w wide. m > 8 MR and n * k over 32 KiB: B is
    packed (gemm.cpp use_direct_b); a column-major A over 16 KiB beside a B this wide is packed
    too (use_direct_a), so the narrow tile reads the packed layouts; a row-major A is read in
    place beside the packed B."""
    rng = np.random.default_rng(32)
    b = BLOCKING[isa][np.dtype(dtype).name]
    nr, m, k = b["nr"], 9 * b["mr"] + 5, 300
    a_ = _a(rng, m, k, dtype, layout)
    wide = rng.standard_normal((k, 4 * nr)).astype(dtype)
    full = run(a_, wide, False, False)
    for w in (1, 4, 9, 10, 12):
        n = 3 * nr + w
        got = run(a_, np.ascontiguousarray(wide[:, :n]), False, False)
        assert np.array_equal(got, full[:, :n]), f"{isa} n={n}"


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", ["C", "F"])
def test_narrow_alpha_beta_equal_padded_bitwise(isa, dtype, layout):
    rng = np.random.default_rng(33)
    m, k, n, pad = 37, 45, 10, 40
    a_ = _a(rng, m, k, dtype, layout)
    wide = rng.standard_normal((k, pad)).astype(dtype)
    c0 = rng.standard_normal((m, pad)).astype(dtype)
    full = run(a_, wide, False, False, alpha=-0.7, beta=1.3, c0=c0)
    got = run(a_, np.ascontiguousarray(wide[:, :n]), False, False, alpha=-0.7, beta=1.3,
              c0=np.ascontiguousarray(c0[:, :n]))
    assert np.array_equal(got, full[:, :n]), isa


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", ["identity", "relu", "leaky_relu", "tanh"])
def test_narrow_dense_forward_equals_padded_bitwise(isa, dtype, activation):
    """The output layer: dense_forward's bias and activation on a 10-column tile."""
    rng = np.random.default_rng(34)
    x = rng.standard_normal((53, 100)).astype(dtype)
    w = rng.standard_normal((100, 40)).astype(dtype)
    bias = rng.standard_normal(40).astype(dtype)
    z_full, a_full = cpp.dense_forward(x, w, bias, activation)
    for n in (1, 3, 10):
        z, a = cpp.dense_forward(x, np.ascontiguousarray(w[:, :n]), bias[:n].copy(), activation)
        assert np.array_equal(z, z_full[:, :n]), f"{isa} {activation} n={n}"
        assert np.array_equal(a, a_full[:, :n]), f"{isa} {activation} n={n}"


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", ["C", "F"])
def test_narrow_same_bits_at_1_and_2_threads(isa, dtype, layout):
    """The output layer split over 2 threads (rows cut at other tile boundaries) gives the
    1-thread bits, for every narrow width."""
    rng = np.random.default_rng(35)
    a_ = _a(rng, 203, 100, dtype, layout)
    threshold = cpp.parallel_min_macs()
    try:
        cpp.set_parallel_min_macs(0)  # split however small
        for n in WIDTHS:
            b_ = rng.standard_normal((100, n)).astype(dtype)
            cpp.set_num_threads(1)
            one = run(a_, b_, False, False)
            cpp.set_num_threads(2)
            assert np.array_equal(run(a_, b_, False, False), one), f"{isa} {layout} n={n}"
    finally:
        cpp.set_parallel_min_macs(threshold)
