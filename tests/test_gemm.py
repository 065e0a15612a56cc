"""matmul of every backend against the float64 oracle (docs/tolerances.md's recipe).

1. Exact tests: integers in [-3, 3], so every partial sum (|.| <= 9·K <= 4617 for K <= 513) is
   an integer below 2^24 and exact in float32; any summation order gives the same bits, so the
   result must *equal* the float64 reference. Catches packing, indexing, edge-tile and
   dropped-term bugs at any size.
2. Random normal inputs: |C − C_ref| <= 2·γ_{K+3}·G (tolerances.gemm_bound), rigorous, never flaky.
3. beta = 0 never reads out (NaN-poisoned out gives a finite result); poisoned margins around out
   stay untouched; sizes 0, 1, primes, block sizes ± 1; all transposes; C/F order and negative,
   strided views.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import example, given, strategies as st

from conftest import AVAILABLE
from fastmlp.backends import get_backend
from tolerances import assert_within, gemm_bound

DTYPES = [np.float32, np.float64]
TRANS = list(itertools.product([False, True], repeat=2))
TRANS_IDS = [f"{'T' if ta else 'N'}{'T' if tb else 'N'}" for ta, tb in TRANS]

# Sizes that straddle the block sizes of common GEMM designs and of csrc/gemm/blocking.hpp
# (MR 6, NR 4/8, MC 72/144, KC 256; 16/32/64/96/128/512 for AVX2/AVX-512 kernels to come), one
# dimension at a time with the others small so the sweep stays fast. The C++ blocking is not
# exposed to Python yet, so these are listed rather than derived from it.
EDGE_SIZES = sorted({1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 15, 16, 17, 23, 24, 25, 31, 32, 33,
                     47, 48, 49, 61, 63, 64, 65, 71, 72, 73, 95, 96, 97, 127, 128, 129, 143, 144,
                     145, 255, 256, 257, 287, 288, 289, 511, 512, 513})
PRIMES = [7, 13, 31, 61, 127, 257]

THREADED = [n for n in AVAILABLE if hasattr(get_backend(n), "set_num_threads")]

LAYOUTS = ["C", "F", "neg_rows", "neg_cols", "step2_rows", "step2_cols", "neg_step2"]


def _gen(rng, shape, dtype, ints):
    if ints:
        return rng.integers(-3, 4, size=shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def make(rng, shape, dtype, layout="C", ints=False):
    """An array of `shape` whose memory layout is `layout` (views into a larger buffer)."""
    r, c = shape
    if layout == "C":
        return np.ascontiguousarray(_gen(rng, shape, dtype, ints))
    if layout == "F":
        return np.asfortranarray(_gen(rng, shape, dtype, ints))
    if layout == "neg_rows":
        return _gen(rng, shape, dtype, ints)[::-1]
    if layout == "neg_cols":
        return _gen(rng, shape, dtype, ints)[:, ::-1]
    if layout == "step2_rows":
        return _gen(rng, (2 * r, c), dtype, ints)[::2]
    if layout == "step2_cols":
        return _gen(rng, (r, 2 * c), dtype, ints)[:, ::2]
    if layout == "neg_step2":  # F-ordered base, every other column, reversed rows
        return np.asfortranarray(_gen(rng, (r, 2 * c), dtype, ints))[::-1, ::2]
    raise AssertionError(layout)


def operands(rng, m, n, k, ta, tb, dtype, layout_a="C", layout_b="C", ints=False):
    a = make(rng, (k, m) if ta else (m, k), dtype, layout_a, ints)
    b = make(rng, (n, k) if tb else (k, n), dtype, layout_b, ints)
    return a, b


def reference(oracle, a, b, ta, tb, alpha=1.0, beta=0.0, c0=None):
    """The oracle in float64 on the same values upcast."""
    out = None if c0 is None else np.array(c0, dtype=np.float64, order="C")
    return oracle.matmul(a.astype(np.float64), b.astype(np.float64), trans_a=ta, trans_b=tb,
                         out=out, alpha=alpha, beta=beta)


def run_and_check(backend, oracle, a, b, ta, tb, *, alpha=1.0, beta=0.0, c0=None, exact=False,
                  what="C"):
    """Call backend.matmul (NaN-poisoned out when beta == 0) and check it against the oracle."""
    dtype = a.dtype
    m = a.shape[1] if ta else a.shape[0]
    n = b.shape[0] if tb else b.shape[1]
    a_before, b_before = a.copy(), b.copy()
    if c0 is None and beta == 0.0:
        out = np.full((m, n), np.nan, dtype)  # beta = 0 must not read it
        ref = reference(oracle, a, b, ta, tb, alpha)
    else:
        c0 = np.zeros((m, n), dtype) if c0 is None else c0
        out = c0.copy()
        ref = reference(oracle, a, b, ta, tb, alpha, beta, c0)
    got = backend.matmul(a, b, trans_a=ta, trans_b=tb, out=out, alpha=alpha, beta=beta)
    assert got is out, "matmul must return the out it was given"
    assert got.shape == (m, n) and got.dtype == dtype
    assert np.array_equal(a, a_before) and np.array_equal(b, b_before), "matmul modified its inputs"
    tag = f"{backend.__name__} {what} {np.dtype(dtype).name} m={m} n={n} trans={ta, tb}"
    assert np.isfinite(got).all(), f"{tag}: non-finite output (unwritten tile or NaN read from out)"
    if exact:
        mismatch = np.argwhere(got != ref.astype(dtype))
        assert mismatch.size == 0, (
            f"{tag}: integer GEMM not exact at {mismatch[:5].tolist()}: got "
            f"{[got[tuple(i)] for i in mismatch[:5]]}, expected {[ref[tuple(i)] for i in mismatch[:5]]}")
        return 0.0
    bound = gemm_bound(a, b, ta, tb, alpha, beta, c0, dtype)
    return assert_within(got, ref, bound, tag)


# --- exact integer tests ----------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ta,tb", TRANS, ids=TRANS_IDS)
@pytest.mark.parametrize("m,n,k", [(1, 1, 1), (2, 3, 4), (7, 13, 31), (61, 31, 127),
                                   (13, 7, 257), (37, 29, 513), (127, 61, 255), (300, 9, 11),
                                   (9, 300, 17), (73, 145, 260), (289, 257, 300)])
def test_exact_integers(backend, oracle, rng, dtype, ta, tb, m, n, k):
    a, b = operands(rng, m, n, k, ta, tb, dtype, ints=True)
    run_and_check(backend, oracle, a, b, ta, tb, exact=True, what="exact")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("alpha,beta", [(2.0, 0.0), (-1.0, 1.0), (3.0, -2.0), (0.0, 1.0), (1.0, 0.5)])
def test_exact_integers_alpha_beta(backend, oracle, rng, dtype, alpha, beta):
    """Small integer alpha/beta (and beta 0.5 on even C0) keep everything exact."""
    m, n, k = 67, 45, 300
    a, b = operands(rng, m, n, k, True, False, dtype, "F", "neg_rows", ints=True)
    c0 = (2 * rng.integers(-3, 4, size=(m, n))).astype(dtype)
    run_and_check(backend, oracle, a, b, True, False, alpha=alpha, beta=beta, c0=c0, exact=True,
                  what="exact alpha/beta")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dim", ["m", "n", "k"])
def test_block_edges(backend, oracle, rng, dtype, dim):
    """Each size of EDGE_SIZES in one dimension, the others 3 and 5, exact integer data."""
    for size in EDGE_SIZES:
        sizes = {"m": 3, "n": 5, "k": 4, dim: size}
        for ta, tb in TRANS:
            a, b = operands(rng, sizes["m"], sizes["n"], sizes["k"], ta, tb, dtype, ints=True)
            run_and_check(backend, oracle, a, b, ta, tb, exact=True, what=f"edge {dim}={size}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_large_panels(backend, oracle, rng, dtype):
    """N around the NC panel widths (2048, 4096) with M and K tiny, and M around 2·MC."""
    for m, n, k in [(2, 2047, 3), (2, 2049, 3), (1, 4095, 2), (1, 4097, 2), (289, 7, 5)]:
        a, b = operands(rng, m, n, k, False, False, dtype, ints=True)
        run_and_check(backend, oracle, a, b, False, False, exact=True, what="panel")


# --- random normal inputs against the gauge bound ------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ta,tb", TRANS, ids=TRANS_IDS)
@pytest.mark.parametrize("m,n,k", [(1, 1, 1), (7, 13, 31), (31, 61, 257), (127, 7, 513),
                                   (65, 97, 129), (257, 33, 63)])
def test_random_normal_bound(backend, oracle, rng, dtype, ta, tb, m, n, k):
    a, b = operands(rng, m, n, k, ta, tb, dtype)
    run_and_check(backend, oracle, a, b, ta, tb, what="normal")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("alpha,beta", [(1.0, 0.0), (-0.7, 0.0), (1.0, 1.0), (0.3, -1.7),
                                        (2.5, 0.1), (0.0, 0.5)])
def test_alpha_beta(backend, oracle, rng, dtype, alpha, beta):
    m, n, k = 37, 23, 71
    a, b = operands(rng, m, n, k, False, True, dtype)
    c0 = rng.standard_normal((m, n)).astype(dtype) if beta else None
    run_and_check(backend, oracle, a, b, False, True, alpha=alpha, beta=beta, c0=c0, what="alpha/beta")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout_a", LAYOUTS)
@pytest.mark.parametrize("layout_b", ["C", "F", "neg_step2"])
def test_layouts(backend, oracle, rng, dtype, layout_a, layout_b):
    """C/F order, reversed and every-other-row/column views, for both operands and transposes."""
    for ta, tb in TRANS:
        a, b = operands(rng, 19, 11, 37, ta, tb, dtype, layout_a, layout_b, ints=True)
        run_and_check(backend, oracle, a, b, ta, tb, exact=True, what=f"layout {layout_a}/{layout_b}")
        a, b = operands(rng, 19, 11, 37, ta, tb, dtype, layout_a, layout_b)
        run_and_check(backend, oracle, a, b, ta, tb, what=f"layout {layout_a}/{layout_b}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_length_one_dims_odd_strides(backend, oracle, rng, dtype):
    """Length-1 dimensions carry arbitrary strides in NumPy (docs/tolerances.md)."""
    cases = [np.ones((1, 5), dtype, order="F"), np.ones((5, 1), dtype, order="F"),
             rng.standard_normal((5, 3)).astype(dtype)[:, 1:2], rng.standard_normal((3, 5)).astype(dtype)[1:2]]
    for a in cases:
        for b in (np.asfortranarray(rng.standard_normal((a.shape[1], 4)).astype(dtype)),
                  rng.standard_normal((4, a.shape[1])).astype(dtype).T):
            run_and_check(backend, oracle, a, b, False, False, what="len-1 dims")


@pytest.mark.parametrize("dtype", DTYPES)
def test_unusual_memory(backend, oracle, rng, dtype):
    """Arrays NumPy can give that are neither aligned nor strided in whole items: a field of a
    structured array (byte strides not a multiple of the itemsize) and a view at an odd byte
    offset (misaligned). DESIGN: "any strides NumPy can give (copy or pack as needed)"."""
    rec = np.zeros((37, 19), dtype=[("v", dtype), ("pad", "i1")])
    rec["v"] = rng.integers(-3, 4, (37, 19))
    odd_strides = rec["v"]
    raw = np.zeros(np.dtype(dtype).itemsize * 19 * 23 + 1, np.uint8)[1:]
    misaligned = raw.view(dtype).reshape(19, 23)
    misaligned[...] = rng.integers(-3, 4, (19, 23))
    assert not odd_strides.flags.aligned and not misaligned.flags.aligned
    run_and_check(backend, oracle, odd_strides, misaligned, False, False, exact=True, what="odd strides @ misaligned")
    run_and_check(backend, oracle, misaligned, odd_strides, True, True, exact=True, what="misaligned.T @ odd strides.T")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("threaded", THREADED)
def test_thread_counts_agree(threaded, oracle, rng, dtype):
    """With 1, 2 and 3 threads a GEMM big enough to be split gives the exact result
    (backends with thread control only)."""
    backend = get_backend(threaded)
    before, threshold = backend.get_num_threads(), backend.parallel_min_macs()
    backend.set_parallel_min_macs(0)  # split even this modest shape across the threads
    try:
        for n_threads in (1, 2, 3):
            backend.set_num_threads(n_threads)
            for ta, tb in TRANS:
                a, b = operands(rng, 150, 97, 263, ta, tb, dtype, ints=True)
                run_and_check(backend, oracle, a, b, ta, tb, exact=True, what=f"{n_threads} threads")
    finally:
        backend.set_num_threads(before)
        backend.set_parallel_min_macs(threshold)


# --- out handling ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
def test_out_given_vs_not(backend, rng, dtype):
    a, b = operands(rng, 33, 17, 65, False, False, dtype, ints=True)
    fresh = backend.matmul(a, b)
    assert fresh.shape == (33, 17) and fresh.dtype == dtype and fresh.flags.c_contiguous
    out = np.full((33, 17), np.nan, dtype)
    got = backend.matmul(a, b, out=out)
    assert got is out
    assert np.array_equal(fresh, out)


@pytest.mark.parametrize("dtype", DTYPES)
def test_beta_zero_ignores_nan_and_inf_out(backend, oracle, rng, dtype):
    for fill in (np.nan, np.inf, -np.inf):
        a, b = operands(rng, 29, 41, 19, False, False, dtype)
        out = np.full((29, 41), fill, dtype)
        backend.matmul(a, b, out=out, beta=0.0)
        assert np.isfinite(out).all(), f"beta=0 read out filled with {fill}"
        assert_within(out, reference(oracle, a, b, False, False),
                      gemm_bound(a, b, False, False, 1.0, 0.0, None, dtype), f"beta=0 fill={fill}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("beta", [0.0, 1.0, -0.5])
def test_poisoned_margins(backend, oracle, rng, dtype, beta):
    """out = buf[1:-1] of a NaN buffer: the rows around it must stay NaN, every row inside must
    be written (and, for beta=0, finite)."""
    for m, n, k in [(1, 1, 1), (7, 13, 5), (37, 9, 300), (145, 17, 3)]:
        a, b = operands(rng, m, n, k, False, True, dtype, "F", "C")
        buf = np.full((m + 2, n), np.nan, dtype)
        out = buf[1:-1]
        assert out.flags.c_contiguous
        c0 = None
        if beta:
            c0 = rng.standard_normal((m, n)).astype(dtype)
            out[...] = c0
        got = backend.matmul(a, b, trans_b=True, out=out, beta=beta)
        assert got is out
        assert np.isnan(buf[0]).all() and np.isnan(buf[-1]).all(), (
            f"{backend.__name__}: matmul wrote outside out (m={m}, n={n}, k={k})")
        ref = reference(oracle, a, b, False, True, 1.0, beta, c0)
        assert_within(out, ref, gemm_bound(a, b, False, True, 1.0, beta, c0, dtype), "margins inside")


# --- empty sizes ----------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m,n,k", [(0, 5, 3), (5, 0, 3), (0, 0, 3), (0, 0, 0), (4, 5, 0), (1, 1, 0)])
def test_zero_sizes(backend, rng, dtype, m, n, k):
    for ta, tb in TRANS:
        a, b = operands(rng, m, n, k, ta, tb, dtype)
        fresh = backend.matmul(a, b, trans_a=ta, trans_b=tb)
        assert fresh.shape == (m, n) and fresh.dtype == dtype
        assert (fresh == 0).all(), "an empty K gives a zero product"
        out = np.full((m, n), np.nan, dtype)
        backend.matmul(a, b, trans_a=ta, trans_b=tb, out=out, alpha=2.0)
        assert (out == 0).all(), "K=0, beta=0: out must be set to 0 without reading it"
        c0 = rng.standard_normal((m, n)).astype(dtype)
        out = c0.copy()
        backend.matmul(a, b, trans_a=ta, trans_b=tb, out=out, beta=-0.5)
        assert np.array_equal(out, (dtype(-0.5) * c0).astype(dtype)), "K=0: out must become beta*out"


# --- NaN propagation (kernels never scan, IEEE decides) -------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
def test_nan_and_inf_in_inputs_propagate(backend, rng, dtype):
    a, b = operands(rng, 9, 7, 300, False, False, dtype)
    a[3, 150] = np.nan
    a[5, 7] = np.inf
    b[:, 2] = np.abs(b[:, 2]) + 1  # column 2: inf * positive stays inf
    out = backend.matmul(a, b)
    assert np.isnan(out[3]).all(), "a NaN in row 3 of a must reach every column of row 3"
    assert np.isinf(out[5, 2]) and out[5, 2] > 0
    finite_rows = [i for i in range(9) if i not in (3, 5)]
    assert np.isfinite(out[finite_rows]).all()


# --- hypothesis: shapes x strides x transposes ----------------------------------------------


@given(m=st.integers(0, 40), n=st.integers(0, 40), k=st.integers(0, 80), ta=st.booleans(),
       tb=st.booleans(), layout_a=st.sampled_from(LAYOUTS), layout_b=st.sampled_from(LAYOUTS),
       dtype=st.sampled_from(DTYPES), alpha=st.sampled_from([1.0, -1.0, 0.5, 3.0]),
       beta=st.sampled_from([0.0, 1.0, -0.25]), ints=st.booleans(), seed=st.integers(0, 2**32 - 1))
@example(m=0, n=1, k=1, ta=False, tb=False, layout_a="C", layout_b="C", dtype=np.float32,
         alpha=1.0, beta=0.0, ints=False, seed=0)
@example(m=1, n=1, k=0, ta=True, tb=True, layout_a="F", layout_b="neg_rows", dtype=np.float64,
         alpha=1.0, beta=1.0, ints=False, seed=0)
def test_hypothesis_gemm(backend, oracle, m, n, k, ta, tb, layout_a, layout_b, dtype, alpha, beta,
                         ints, seed):
    rng = np.random.default_rng(seed)
    a, b = operands(rng, m, n, k, ta, tb, dtype, layout_a, layout_b, ints=ints)
    c0 = rng.integers(-3, 4, size=(m, n)).astype(dtype) if beta else None
    # integer data with alpha/beta in {±1, 0.5, 3, -0.25} on small ints stays exact
    run_and_check(backend, oracle, a, b, ta, tb, alpha=alpha, beta=beta, c0=c0, exact=ints,
                  what="hypothesis")
