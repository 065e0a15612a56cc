"""The micro-kernel reads a small row-major op(B) in place instead of a packed copy
(csrc/gemm/gemm.cpp use_direct_b), and cuts narrow or short edge tiles to size
(ukernel_simd.inl ukernel_entry). The contract (ukernel.hpp) is the same roundings either way,
so results must agree bit for bit with the packed path, under every ISA and thread split.
Random normal values, so any change of order or rounding would show."""
from __future__ import annotations

import numpy as np
import pytest

from test_isa import BLOCKING, cpp, isa, run  # noqa: F401  (isa: the per-ISA fixture)

DTYPES = [np.float32, np.float64]
IN_PLACE_MAX_BYTES = 32 << 10  # gemm.cpp kDirectBMaxBytes


def packed_copy(b):
    """The same values column-major: b_cs != 1, so gemm packs them."""
    return np.asfortranarray(b)


def shapes(isa, dtype):
    """(m, n, k) with n * k small enough to be read in place: edge rows (m < MR, m <= MR/2),
    edge columns (n < one vector, n = 1, n % NR != 0), k over one KC block where it fits."""
    bk = BLOCKING[isa][np.dtype(dtype).name]
    mr, nr, kc = bk["mr"], bk["nr"], bk["kc"]
    limit = IN_PLACE_MAX_BYTES // np.dtype(dtype).itemsize
    out = [(1, 1, 1), (mr // 2, 3, 5), (mr - 1, 1, 64), (2 * mr + 3, nr // 2 - 1, 13),
           (3 * mr, nr + 5, 33), (mr + 1, 2 * nr, 64), (5, 1, 2 * kc + 3)]
    k = kc + 7
    out.append((2 * mr + 1, max(1, min(nr + 3, limit // k)), k))
    assert all(n * k <= limit for _, n, k in out)
    return out


@pytest.mark.parametrize("dtype", DTYPES)
def test_in_place_and_packed_b_agree_bitwise(isa, dtype):
    rng = np.random.default_rng(21)
    cpp.set_num_threads(1)
    for m, n, k in shapes(isa, dtype):
        a = rng.standard_normal((m, k)).astype(dtype)
        b = rng.standard_normal((k, n)).astype(dtype)
        want = run(a, packed_copy(b), False, False)
        assert np.array_equal(run(a, b, False, False), want), (isa, m, n, k, "row-major B")
        # rows further apart than n (a slice of a wider array), and walked backwards
        wide = np.full((k, n + 9), np.nan, dtype)
        wide[:, 3:3 + n] = b
        assert np.array_equal(run(a, wide[:, 3:3 + n], False, False), want), (isa, m, n, k, "slice")
        backwards = np.ascontiguousarray(b[::-1])[::-1]
        assert k == 1 or backwards.strides[0] < 0
        assert np.array_equal(run(a, backwards, False, False), want), (isa, m, n, k, "negative")
        # op(B) = B^T with B column-major is row-major again: read in place
        assert np.array_equal(run(a, np.asfortranarray(b.T), False, True), want), (isa, m, n, k, "T")


@pytest.mark.parametrize("dtype", DTYPES)
def test_in_place_b_ends_at_the_last_column(isa, dtype):
    """B's last row ends exactly where its buffer does, followed by NaN: a read past column n
    would be masked in (the padding lanes are never stored, but NaN there must not leak into
    the stored columns either)."""
    rng = np.random.default_rng(22)
    for m, n, k in shapes(isa, dtype):
        buf = np.full(k * n + 64, np.nan, dtype)
        b = buf[: k * n].reshape(k, n)
        b[...] = rng.standard_normal((k, n))
        a = rng.standard_normal((m, k)).astype(dtype)
        got = run(a, b, False, False)
        assert np.isfinite(got).all(), (isa, m, n, k)
        assert np.array_equal(got, run(a, packed_copy(b), False, False)), (isa, m, n, k)


@pytest.mark.parametrize("dtype", DTYPES)
def test_in_place_b_thread_splits_bitwise(isa, dtype):
    """Split over M (tasks share B in place, no shared packing) and over N (each task reads its
    column slice in place): the same bits as one thread."""
    rng = np.random.default_rng(23)
    bk = BLOCKING[isa][np.dtype(dtype).name]
    threshold = cpp.parallel_min_macs()
    cpp.set_parallel_min_macs(0)  # split every shape, however small
    try:
        for m, n, k in [(9 * bk["mr"] + 3, 17, 40), (3, 4 * bk["nr"] + 1, 20)]:
            a = rng.standard_normal((m, k)).astype(dtype)
            b = rng.standard_normal((k, n)).astype(dtype)
            cpp.set_num_threads(1)
            one = run(a, b, False, False)
            cpp.set_num_threads(2)
            two = run(a, b, False, False)
            assert np.array_equal(one, two), (isa, m, n, k)
            assert np.array_equal(two, run(a, packed_copy(b), False, False)), (isa, m, n, k)
    finally:
        cpp.set_parallel_min_macs(threshold)
