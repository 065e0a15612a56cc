"""The transposing pack of a column-major op(B) (dX's w.T: csrc/gemm/pack_isa.hpp, the avx2
register transposes; pack.hpp elsewhere), packed one micro-panel at a time when one A block
uses it (gemm.cpp pack_each) or as a whole panel, and avx2's 4-row edge tile of its 6-row
tiles (ukernel_simd.inl ukernel_entry's kCutRows). Each is a copy or a cut of the same sums, so the results
must agree bit for bit with the row-major B and the full-height tile, under every ISA.
Random normal values, so any change of order or rounding would show."""
from __future__ import annotations

import numpy as np
import pytest

from test_isa import BLOCKING, cpp, isa, run  # noqa: F401  (isa: the per-ISA fixture)

DTYPES = [np.float32, np.float64]


def shapes(isa, dtype):
    """(m, n, k): one A block (m <= MC) and several (m > MC); m % MR == MR - 2 (the cut
    tile) and other edge rows; n past whole micro-panels and under one; k with a tail under
    one vector (7), over one KC block (balanced into blocks of an odd length), and 1."""
    bk = BLOCKING[isa][np.dtype(dtype).name]
    mr, nr, kc, mc = bk["mr"], bk["nr"], bk["kc"], bk["mc"]
    return [(4 * mr + mr - 2, 3 * nr + 5, 2 * kc + 5), (mc + mr + 1, 2 * nr + 3, 37),
            (mr - 2, nr - 1, 7), (2 * mr + 1, 1, 1), (3, nr + 1, kc + 9)]


@pytest.mark.parametrize("dtype", DTYPES)
def test_column_major_b_agrees_with_row_major_bitwise(isa, dtype):
    rng = np.random.default_rng(31)
    cpp.set_num_threads(1)
    for m, n, k in shapes(isa, dtype):
        a = rng.standard_normal((m, k)).astype(dtype)
        w = rng.standard_normal((n, k)).astype(dtype)  # B = w.T, column-major
        want = run(a, np.ascontiguousarray(w.T), False, False)  # row-major B
        assert np.array_equal(run(a, w, False, True), want), (isa, m, n, k, "w, trans_b")
        assert np.array_equal(run(a, w.T, False, False), want), (isa, m, n, k, "w.T view")
        # rows of w further apart than k (a slice of a wider array)
        wide = np.full((n, k + 5), np.nan, dtype)
        wide[:, 2:2 + k] = w
        assert np.array_equal(run(a, wide[:, 2:2 + k], False, True), want), (isa, m, n, k)


@pytest.mark.parametrize("dtype", DTYPES)
def test_column_major_b_thread_splits_bitwise(isa, dtype):
    """Split over M (the tasks share one packed B) and over N (each packs its own columns,
    one micro-panel at a time): the same bits as one thread."""
    rng = np.random.default_rng(32)
    bk = BLOCKING[isa][np.dtype(dtype).name]
    threshold = cpp.parallel_min_macs()
    cpp.set_parallel_min_macs(0)  # split every shape, however small
    try:
        for m, n, k in [(9 * bk["mr"] + 4, 2 * bk["nr"] + 3, bk["kc"] + 9),
                        (bk["mr"] - 2, 5 * bk["nr"] + 1, 29)]:
            a = rng.standard_normal((m, k)).astype(dtype)
            w = rng.standard_normal((n, k)).astype(dtype)
            cpp.set_num_threads(1)
            one = run(a, w, False, True)
            cpp.set_num_threads(2)
            two = run(a, w, False, True)
            assert np.array_equal(one, two), (isa, m, n, k)
    finally:
        cpp.set_parallel_min_macs(threshold)
        cpp.set_num_threads(1)


@pytest.mark.parametrize("dtype", DTYPES)
def test_cut_edge_tiles_agree_with_full_tiles_bitwise(isa, dtype):
    """The last MR - 2 rows of C come from a tile cut to them (avx2; a full tile elsewhere),
    the same rows inside a taller product from full tiles: equal bits, with a row-major A read in place and a
    column-major one packed, k over several KC blocks."""
    rng = np.random.default_rng(33)
    bk = BLOCKING[isa][np.dtype(dtype).name]
    mr, nr = bk["mr"], bk["nr"]
    k = (2**20 // np.dtype(dtype).itemsize) // (3 * mr) + 1
    a = rng.standard_normal((3 * mr, k)).astype(dtype)
    b = rng.standard_normal((k, 2 * nr + 3)).astype(dtype)
    full = run(a, b, False, False)
    rows = 2 * mr + mr - 2  # the third tile of rows has MR - 2 of them
    assert np.array_equal(run(a[:rows], b, False, False), full[:rows])
    assert np.array_equal(run(np.asfortranarray(a[:rows]), b, False, False), full[:rows])
    assert np.array_equal(run(np.asfortranarray(a), b, False, False), full)
