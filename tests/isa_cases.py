"""What the per-ISA tests share (test_isa.py: dispatch and GEMM; test_isa_nn.py: the nn
kernels and training): the ISAs this CPU runs, each one's blocking, the `isa` fixture, edge
shapes, NaN-poisoned outputs and the float64 reference with its error gauge (docs/tolerances.md).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

cpp = pytest.importorskip("fastmlp.backends.cpp", reason="the C++ core is not built")

ISAS = cpp.available_isas()
DTYPES = [np.float32, np.float64]
TRANS = list(itertools.product([False, True], repeat=2))
TRANS_IDS = [f"{'T' if ta else 'N'}{'T' if tb else 'N'}" for ta, tb in TRANS]
U = {np.dtype(np.float32): 2.0**-24, np.dtype(np.float64): 2.0**-53}


def _blockings():
    """{isa: {"float32": {mr, nr, mc, kc, nc}, "float64": {...}}}, read from the C++ table."""
    before, out = cpp.isa(), {}
    try:
        for name in ISAS:
            cpp.set_isa(name)
            out[name] = cpp.core_info()["kernels"]
    finally:
        cpp.set_isa(before)
    return out


BLOCKING = _blockings()


@pytest.fixture(params=ISAS)
def isa(request):
    """Run the test under each available ISA; restore the ISA and thread count afterwards."""
    before, threads = cpp.isa(), cpp.get_num_threads()
    cpp.set_isa(request.param)
    try:
        yield request.param
    finally:
        cpp.set_isa(before)
        cpp.set_num_threads(threads)


def edge_shapes(isa, dtype):
    """(m, n, k): 0, 1, primes, then MR/NR/MC/KC/NC ± 1 one dimension at a time."""
    b = BLOCKING[isa][np.dtype(dtype).name]
    mr, nr, mc, kc, nc = b["mr"], b["nr"], b["mc"], b["kc"], b["nc"]
    shapes = [(0, 5, 3), (4, 0, 3), (4, 5, 0), (1, 1, 1), (1, 7, 13), (13, 1, 7), (7, 13, 1),
              (31, 61, 13), (61, 31, 127)]
    shapes += [(m, nr + 3, 7) for m in (mr - 1, mr, mr + 1, mc - 1, mc, mc + 1)]
    shapes += [(5, n, 7) for n in (nr - 1, nr, nr + 1, nc - 1, nc, nc + 1)]
    shapes += [(mr + 1, nr + 1, k) for k in (kc - 1, kc, kc + 1, 2 * kc + 1)]
    return shapes


def make(rng, shape, dtype, layout, ints):
    """An array of `shape`: C-ordered, F-ordered or with negative strides on both axes."""
    x = rng.integers(-3, 4, size=shape) if ints else rng.standard_normal(shape)
    x = x.astype(dtype)
    if layout == "C":
        return x
    if layout == "F":
        return np.asfortranarray(x)
    if layout == "neg":  # same values, read backwards through negative strides
        return np.ascontiguousarray(x[::-1, ::-1])[::-1, ::-1]
    raise AssertionError(layout)


def operands(rng, m, n, k, ta, tb, dtype, layouts=("C", "C"), ints=False):
    a = make(rng, (k, m) if ta else (m, k), dtype, layouts[0], ints)
    b = make(rng, (n, k) if tb else (k, n), dtype, layouts[1], ints)
    return a, b


def poisoned_out(m, n, dtype, fill=np.nan, c0=None):
    """out (m, n), C-contiguous, followed in memory by a NaN tail that must stay untouched."""
    buf = np.full(m * n + 67, np.nan, dtype)
    out = buf[: m * n].reshape(m, n)
    out[...] = fill if c0 is None else c0
    return out, buf[m * n:]


def run(a, b, ta, tb, alpha=1.0, beta=0.0, c0=None):
    m = (a.shape[1] if ta else a.shape[0])
    n = (b.shape[0] if tb else b.shape[1])
    out, tail = poisoned_out(m, n, a.dtype, c0=c0)
    got = cpp.matmul(a, b, trans_a=ta, trans_b=tb, out=out, alpha=alpha, beta=beta)
    assert got is out
    assert np.isnan(tail).all(), "matmul wrote past the end of out"
    return got


def reference(a, b, ta, tb, alpha=1.0, beta=0.0, c0=None):
    """float64 alpha·op(a)@op(b) + beta·c0 and the gauge G of docs/tolerances.md."""
    opa = (a.T if ta else a).astype(np.float64)
    opb = (b.T if tb else b).astype(np.float64)
    ref = alpha * (opa @ opb)
    gauge = abs(alpha) * (np.abs(opa) @ np.abs(opb))
    if beta != 0.0:
        ref = ref + beta * c0.astype(np.float64)
        gauge = gauge + abs(beta) * np.abs(c0.astype(np.float64))
    return ref, gauge


def assert_bound(got, ref, gauge, k, dtype, extra_roundings, what):
    kk = k + extra_roundings
    ku = kk * U[np.dtype(dtype)]
    bound = 2 * ku / (1 - ku) * gauge
    err = np.abs(got.astype(np.float64) - ref)
    assert np.isfinite(got).all(), f"{what}: non-finite result"
    bad = err > bound
    if bad.any():
        i = np.unravel_index(np.argmax(err - bound), err.shape)
        pytest.fail(f"{what}: |C-Cref| = {err[i]:.3g} > bound {bound[i]:.3g} at {i}")
