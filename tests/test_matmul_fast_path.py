"""backends.cpp.matmul's fast path (plain arrays, alpha 1, beta 0) against its checked path.

The fast path hands the arrays to _core without the Python checks; these tests pin down that it
computes exactly what the checked path computes, and that every bad argument still ends in the
checked path's error naming that argument (never a crash or a silently wrong result)."""

import numpy as np
import pytest

from fastmlp.backends import cpp

DTYPES = [np.float32, np.float64]


def checked(a, b, **kw):
    """The same product through the checked path: a NumPy scalar alpha is not a plain number."""
    return cpp.matmul(a, b, alpha=np.float64(1.0), **kw)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
@pytest.mark.parametrize("with_out", [False, True])
def test_fast_path_equals_checked_path(dtype, trans_a, trans_b, with_out, rng):
    m, k, n = 7, 13, 5
    a = rng.standard_normal((k, m) if trans_a else (m, k)).astype(dtype)
    b = rng.standard_normal((n, k) if trans_b else (k, n)).astype(dtype)
    out = np.full((m, n), np.nan, dtype) if with_out else None
    got = cpp.matmul(a, b, trans_a=trans_a, trans_b=trans_b, out=out)
    want = checked(a, b, trans_a=trans_a, trans_b=trans_b)
    if with_out:
        assert got is out
    assert got.dtype == dtype and got.shape == (m, n)
    # Same kernel on the same operands: bitwise equal, no tolerance.
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", DTYPES)
def test_fast_path_strided_and_reversed_operands(dtype, rng):
    base = rng.standard_normal((20, 30)).astype(dtype)
    a, b = base[::-2, 1:12:2], base[3:9, ::-5]  # negative and non-unit strides, (10, 6) @ (6, 6)
    np.testing.assert_array_equal(cpp.matmul(a, b), checked(a, b))
    # float32 products of 6 terms against NumPy's own: 6 roundings each, so 1e-5 (float32) and
    # 1e-12 (float64) relative are generous bounds.
    np.testing.assert_allclose(cpp.matmul(a, b), a @ b, rtol=1e-5 if dtype == np.float32 else 1e-12,
                               atol=1e-5 if dtype == np.float32 else 1e-12)


def test_fields_of_packed_records_go_through_the_copy(rng):
    # byte strides of 12 are not whole float64s: the fast path must not hand them to _core
    rec = np.zeros((4, 3), dtype=[("x", "<f8"), ("pad", "<i4")])
    rec["x"] = rng.standard_normal((4, 3))
    a = rec["x"]
    assert a.strides[1] % a.itemsize
    b = rng.standard_normal((3, 2))
    np.testing.assert_array_equal(cpp.matmul(a, b), checked(np.ascontiguousarray(a), b))


def make(dtype=np.float32):
    return np.ones((3, 4), dtype), np.ones((4, 5), dtype)


@pytest.mark.parametrize("case, exc, words", [
    ("out overlaps a", ValueError, "must not overlap input a"),
    ("out overlaps b", ValueError, "must not overlap input b"),
    ("out read-only", ValueError, "out must be writable"),
    ("out F-ordered", ValueError, "out must be C-contiguous"),
    ("out wrong shape", ValueError, "out must have shape (3, 5)"),
    ("out wrong dtype", TypeError, "out must have dtype float32"),
    ("out a list", TypeError, "out must be a numpy.ndarray"),
    ("dtypes differ", TypeError, "arrays must share one dtype"),
    ("int operands", TypeError, "a must have dtype float32 or float64"),
    ("k differs", ValueError, "inner dimensions differ"),
    ("a is 1-D", ValueError, "a must be 2-D"),
    ("alpha a bool", TypeError, "alpha must be a real number"),
    ("beta without out", ValueError, "beta must be 0 when out is not given"),
])
def test_bad_arguments_still_named(case, exc, words):
    a, b = make()
    kw = {}
    if case == "out overlaps a":
        big = np.ones((3, 5), np.float32)
        a, kw["out"] = big[:, :4], big
    elif case == "out overlaps b":
        big = np.ones((4, 5), np.float32)
        b, kw["out"] = big, big[:3]
    elif case == "out read-only":
        kw["out"] = np.zeros((3, 5), np.float32)
        kw["out"].flags.writeable = False
    elif case == "out F-ordered":
        kw["out"] = np.zeros((5, 3), np.float32).T
    elif case == "out wrong shape":
        kw["out"] = np.zeros((3, 6), np.float32)
    elif case == "out wrong dtype":
        kw["out"] = np.zeros((3, 5), np.float64)
    elif case == "out a list":
        kw["out"] = [[0.0] * 5] * 3
    elif case == "dtypes differ":
        b = b.astype(np.float64)
    elif case == "int operands":
        a, b = a.astype(np.int32), b.astype(np.int32)
    elif case == "k differs":
        b = np.ones((3, 5), np.float32)
    elif case == "a is 1-D":
        a = np.ones(4, np.float32)
    elif case == "alpha a bool":
        kw["alpha"] = True
    elif case == "beta without out":
        kw["beta"] = 1
    before = kw["out"].copy() if isinstance(kw.get("out"), np.ndarray) else None
    with pytest.raises(exc) as info:
        cpp.matmul(a, b, **kw)
    assert words in str(info.value)
    if before is not None and case not in ("out overlaps a", "out overlaps b"):
        np.testing.assert_array_equal(kw["out"], before)  # nothing written before the error


def test_core_refuses_out_overlapping_an_input_before_writing():
    """_core's own guard (check.hpp no_overlap): a direct call never computes into its input."""
    from fastmlp import _core

    big = np.arange(15, dtype=np.float32).reshape(3, 5)
    before = big.copy()
    with pytest.raises(ValueError, match="must not overlap input a"):
        _core.matmul(big[:, :4], np.ones((4, 5), np.float32), False, False, big, 1.0, 0.0)
    with pytest.raises(ValueError, match="must not overlap input b"):
        _core.matmul(np.ones((3, 2), np.float32), big[1:], False, False, big, 1.0, 0.0)
    np.testing.assert_array_equal(big, before)


@pytest.mark.parametrize("dtype", DTYPES)
def test_bounds_overlapping_but_disjoint_out_takes_the_checked_path(dtype, rng):
    """a's rows lie before and after out inside one buffer, sharing no element: the bounds
    overlap, so _core refuses; the checked path (np.shares_memory, exact) accepts it."""
    buf = np.full(40, np.nan, dtype)
    a, out = buf.reshape(2, 20)[:, :4], buf[8:16].reshape(2, 4)  # a: [0:4] and [20:24]
    a[...] = rng.standard_normal(a.shape)
    b = rng.standard_normal((4, 4)).astype(dtype)
    want = checked(a.copy(), b)
    assert cpp.matmul(a, b, out=out) is out
    np.testing.assert_array_equal(out, want)
