"""pack.hpp's pack_rows (a row-major op(B), a column-major op(A)) under every ISA.

It copies each row's pieces in row order, or kGroup rows at a time when the micro-panels lie
so many multiples of 512 bytes apart that a row's pieces crowd a few L1 sets (pack_rows_in_groups:
kc a multiple of 64 for 64-byte pieces; for dW's x.T with 24-byte avx2 float32 pieces, kc 64 or
256 and more than 32 or 8 micro-panels, as below). Both orders are plain copies,
so a product whose B goes through either must be exact on small integers (every partial sum an
integer below 2^24: any order of summation gives the same bits) and bitwise equal to the same
product with B packed by the other packer (column-major B: register transposes).
"""

from __future__ import annotations

import numpy as np
import pytest

from isa_cases import BLOCKING, DTYPES, cpp, isa, run  # noqa: F401 (isa: the fixture)


def _ints(rng, shape, dtype):
    return rng.integers(-3, 4, size=shape).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_row_major_b_packed_in_row_groups_is_exact(isa, dtype):
    rng = np.random.default_rng(21)
    b = BLOCKING[isa][np.dtype(dtype).name]
    # m > 8 MR and n * k over 32 KiB: gemm.cpp packs this row-major B (use_direct_b).
    m, n = 9 * b["mr"] + 1, 3 * b["nr"] + 5  # the last micro-panel is zero-padded
    ks = [64, 128, 130, b["kc"], 2 * b["kc"], 2 * b["kc"] + 5]  # grouped and row order
    for k in ks:
        a_ = _ints(rng, (m, k), dtype)
        b_ = _ints(rng, (k, n), dtype)
        want = a_.astype(np.float64) @ b_.astype(np.float64)
        got = run(a_, b_, False, False)
        assert np.array_equal(got, want), f"{isa} {np.dtype(dtype).name} k={k}"
        # The same B column-major goes through the transposing packer: the same bits.
        assert np.array_equal(run(a_, np.asfortranarray(b_), False, False), got), f"k={k}"


@pytest.mark.parametrize("dtype", DTYPES)
def test_column_major_a_packed_in_row_groups_agrees_bitwise(isa, dtype):
    """dW's op(A) = x.T: column-major, packed by pack_rows with MR-wide pieces. Random normal
    values; the in-place read of its row-major copy (gemm.cpp use_direct_a) must agree."""
    rng = np.random.default_rng(22)
    b = BLOCKING[isa][np.dtype(dtype).name]
    m, n = 40 * b["mr"] + 3, 3 * b["nr"] + 1
    for k in (64, 256, 4 * b["kc"]):
        x = rng.standard_normal((k, m)).astype(dtype)  # op(A) = x.T, m x k, column-major
        b_ = rng.standard_normal((k, n)).astype(dtype)
        packed = run(x, b_, True, False)
        in_place = run(np.ascontiguousarray(x.T)[: 8 * b["mr"]], b_, False, False)
        assert np.array_equal(packed[: 8 * b["mr"]], in_place), f"{isa} k={k}"
