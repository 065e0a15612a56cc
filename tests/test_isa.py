"""The C++ GEMM under every instruction set this CPU runs (csrc/isa/isa.hpp).

Each test switches with cpp.set_isa (the `isa` fixture restores the original afterwards) and
checks the micro-kernel of that ISA with its own Blocking row (kernel_info()), following
docs/tolerances.md:
1. exact integers in [-3, 3]: every partial sum is an integer below 2^24, so any summation
   order and FMA or not gives the same bits; the result must equal the float64 reference;
2. random normal inputs: |C - Cref| <= 2·γ·G with γ = K'u/(1 - K'u), G = |alpha||op(A)||op(B)|
   + |beta||C0| in float64; K' = K, plus 3 roundings when alpha/beta are not 1/0 (rounding
   alpha and beta to the dtype, the scaling and the final add);
3. beta = 0 never reads out (NaN-poisoned out), and nothing is written past out's last element.
Shapes: 0, 1, primes and each of the ISA's MR, NR, MC, KC, NC ± 1, one dimension at a time
with the others small. The ISAs are *not* compared with each other bitwise: AVX2/AVX-512 fuse
multiply-adds and the generic kernel does not (docs/isa.md); each is held to the bound.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys

import numpy as np
import pytest

from isa_cases import (BLOCKING, DTYPES, ISAS, TRANS, TRANS_IDS, assert_bound, cpp, edge_shapes,
                       isa, operands, poisoned_out, reference, run)  # noqa: F401 (isa: the fixture)


# --- dispatch -------------------------------------------------------------------------------


def _python(code, **env_changes):
    """Run `code` in a fresh interpreter; return its lines that start with "@" (an editable
    install may print its rebuild log on stdout too)."""
    env = {k: v for k, v in os.environ.items() if k != "FASTMLP_ISA"}
    env.update(env_changes)
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    return [line[1:] for line in proc.stdout.splitlines() if line.startswith("@")]


def test_default_isa_and_bad_override():
    """One subprocess each (the choice is made once per process): the default is the best ISA
    the CPU has, AVX-512 where available (measured fastest for GEMM, csrc/gemm/dispatch.cpp);
    FASTMLP_ISA=bogus raises a ValueError naming the variable
    and the choices, at isa() and at every kernel call, while `import` itself still works."""
    (default,) = _python("import fastmlp.backends.cpp as c; print('@', c.isa(), *c.available_isas())")
    chosen, *available = default.split()
    assert chosen == available[0]
    assert available[-1] == "generic"
    if "avx512" in available:
        assert chosen == "avx512"

    code = """
import numpy as np
import fastmlp.backends.cpp as c
for call in (c.isa, lambda: c.matmul(np.ones((2, 2)), np.ones((2, 2)))):
    try:
        call()
    except ValueError as exc:
        print("@ValueError:", exc)
    else:
        print("@no error")
"""
    lines = _python(code, FASTMLP_ISA="bogus")
    assert len(lines) == 2
    for line in lines:
        assert line.startswith("ValueError:") and "FASTMLP_ISA='bogus'" in line, line
        assert "choose one of" in line and all(name in line for name in ISAS), line

    forced = _python("import fastmlp.backends.cpp as c; print('@' + c.isa())", FASTMLP_ISA="generic")
    assert forced == ["generic"]


def test_set_isa_rejects_unknown():
    before = cpp.isa()
    with pytest.raises(ValueError, match="bogus.*choose one of"):
        cpp.set_isa("bogus")
    with pytest.raises(TypeError):
        cpp.set_isa(None)
    assert cpp.isa() == before
    info = cpp.core_info()
    assert info["isa"] == before and info["available_isas"] == ISAS
    assert info["kernels"]["float32"]["mr"] > 0 and "compiler" in info["build_info"]


# --- matmul per ISA -------------------------------------------------------------------------


@pytest.mark.parametrize("ta,tb", TRANS, ids=TRANS_IDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_exact_integers(isa, dtype, ta, tb):
    rng = np.random.default_rng(1)
    for m, n, k in edge_shapes(isa, dtype):
        a, b = operands(rng, m, n, k, ta, tb, dtype, ints=True)
        got = run(a, b, ta, tb)
        ref, _ = reference(a, b, ta, tb)
        assert np.array_equal(got, ref), f"{isa} {np.dtype(dtype)} m={m} n={n} k={k}"


@pytest.mark.parametrize("ta,tb", TRANS, ids=TRANS_IDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_random_normal_bound(isa, dtype, ta, tb):
    rng = np.random.default_rng(2)
    for m, n, k in edge_shapes(isa, dtype):
        a, b = operands(rng, m, n, k, ta, tb, dtype)
        got = run(a, b, ta, tb)
        ref, gauge = reference(a, b, ta, tb)
        assert_bound(got, ref, gauge, k, dtype, 0, f"{isa} {np.dtype(dtype)} m={m} n={n} k={k}")


@pytest.mark.parametrize("layouts", [("F", "F"), ("neg", "C"), ("C", "neg"), ("neg", "F")],
                         ids=lambda l: "-".join(l))
@pytest.mark.parametrize("dtype", DTYPES)
def test_layouts(isa, dtype, layouts):
    rng = np.random.default_rng(3)
    b = BLOCKING[isa][np.dtype(dtype).name]
    m, n, k = b["mr"] * 3 + 1, b["nr"] * 2 + 3, b["kc"] + 5
    for ta, tb in TRANS:
        a_, b_ = operands(rng, m, n, k, ta, tb, dtype, layouts, ints=True)
        assert np.array_equal(run(a_, b_, ta, tb), reference(a_, b_, ta, tb)[0]), (ta, tb)
        a_, b_ = operands(rng, m, n, k, ta, tb, dtype, layouts)
        ref, gauge = reference(a_, b_, ta, tb)
        assert_bound(run(a_, b_, ta, tb), ref, gauge, k, dtype, 0, f"{isa} {layouts} {ta} {tb}")


@pytest.mark.parametrize("alpha,beta", [(1.0, 1.0), (-1.5, 0.0), (0.5, 2.0), (2.0, -0.7),
                                        (0.0, 1.0), (0.0, 0.0)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_alpha_beta(isa, dtype, alpha, beta):
    rng = np.random.default_rng(4)
    b = BLOCKING[isa][np.dtype(dtype).name]
    # k > KC: the second k block accumulates onto C with beta 1, after the first used beta
    for m, n, k in [(b["mr"] + 1, b["nr"] + 1, b["kc"] + 3), (7, 13, 5), (1, 1, 1)]:
        for ta, tb in TRANS:
            a_, b_ = operands(rng, m, n, k, ta, tb, dtype)
            c0 = rng.standard_normal((m, n)).astype(dtype)
            got = run(a_, b_, ta, tb, alpha, beta, c0)
            ref, gauge = reference(a_, b_, ta, tb, alpha, beta, c0)
            assert_bound(got, ref, gauge, k, dtype, 3, f"{isa} alpha={alpha} beta={beta} {m}x{n}x{k}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_beta_zero_never_reads_out(isa, dtype):
    """out starts as NaN; beta = 0 must overwrite it, never compute 0·NaN, for full and edge
    tiles, more than one k block, and k = 0 (BLAS quick return)."""
    rng = np.random.default_rng(5)
    b = BLOCKING[isa][np.dtype(dtype).name]
    for m, n, k in [(b["mr"] * 2 + 1, b["nr"] * 2 + 1, b["kc"] + 1), (3, 5, 0), (1, 1, 1)]:
        a_, b_ = operands(rng, m, n, k, False, False, dtype, ints=True)
        out, tail = poisoned_out(m, n, dtype)
        cpp.matmul(a_, b_, out=out, alpha=1.0, beta=0.0)
        assert np.isnan(tail).all()
        assert np.array_equal(out, reference(a_, b_, False, False)[0]), (m, n, k)


@pytest.mark.parametrize("dtype", DTYPES)
def test_threads_bitwise_identical(isa, dtype):
    """Work is split over M or N, never K: 1 and 2 threads give the same bits. The parallel
    threshold is set to 0 so every shape is split: M (tall) and N (wide), k > KC, edges."""
    rng = np.random.default_rng(6)
    b = BLOCKING[isa][np.dtype(dtype).name]
    shapes = [(197, 61, b["kc"] + 29), (9, 1031, 67), (b["mc"] + 7, b["nr"] * 3 + 5, 131)]
    threshold = cpp.parallel_min_macs()
    cpp.set_parallel_min_macs(0)  # split every shape, however small, across the threads
    try:
        for (m, n, k), (ta, tb) in itertools.product(shapes, TRANS):
            a_, b_ = operands(rng, m, n, k, ta, tb, dtype)
            cpp.set_num_threads(1)
            one = run(a_, b_, ta, tb)
            cpp.set_num_threads(2)
            two = run(a_, b_, ta, tb)
            assert np.array_equal(one, two), f"{isa} {m}x{n}x{k} {ta} {tb}"
    finally:
        cpp.set_parallel_min_macs(threshold)


@pytest.mark.parametrize("dtype", DTYPES)
def test_packed_and_in_place_a_agree_bitwise(isa, dtype):
    """The micro-kernel reads op(A) either from a packed copy or in place through its strides
    (small or row-major A, csrc/gemm/gemm.cpp use_direct_a); the contract (ukernel.hpp) is the
    same roundings either way. A column-major A over 1 MiB is packed, the same values
    row-major are read in place, and a small column-major slice too: all must agree bit for
    bit (random normal values, so any difference in order or rounding would show), with edge
    rows (m % MR != 0), edge columns and more than one KC block."""
    rng = np.random.default_rng(11)
    b = BLOCKING[isa][np.dtype(dtype).name]
    itemsize = np.dtype(dtype).itemsize
    k = 2 * b["kc"] + 5
    m = (2**20 // itemsize) // k + b["mr"] + 3  # m * k * itemsize just over 1 MiB
    n = b["nr"] + 5
    a_c = rng.standard_normal((m, k)).astype(dtype)
    b_ = rng.standard_normal((k, n)).astype(dtype)
    in_place = run(a_c, b_, False, False)                    # row-major: read in place
    packed = run(np.asfortranarray(a_c), b_, False, False)   # column-major, > 1 MiB: packed
    assert np.array_equal(in_place, packed), f"{isa} {m}x{n}x{k}"
    small = np.asfortranarray(a_c[: b["mr"] * 3 + 1])       # column-major, small: in place
    assert np.array_equal(run(small, b_, False, False), packed[: small.shape[0]])
    # the transposed view of the same column-major data is row-major again: in place
    assert np.array_equal(run(np.ascontiguousarray(a_c.T), b_, True, False), packed)


@pytest.mark.parametrize("dtype", DTYPES)
def test_row_major_a_packed_by_transposes_or_in_place_agrees_bitwise(isa, dtype):
    """pack.hpp packs a row-major op(A) by G x G register transposes, with the plain loop for
    the last rows of a micro-panel and the last columns of a KC block; a column-major A over
    1 MiB is packed by the plain loop alone; a row-major A is read in place (gemm.cpp
    use_direct_a). All must agree bit for bit (random normal values). The transposes run when
    2 threads split a wide product over N (op(A) then packed once, shared by the tasks).
    Edges: m % MR == 3 (fewer rows than G for float32), k = 2 KC + 5 cut into three equal
    blocks (gemm.cpp balanced_kc) of an odd number of columns (not a multiple of G), several
    MC blocks."""
    rng = np.random.default_rng(13)
    b = BLOCKING[isa][np.dtype(dtype).name]
    itemsize = np.dtype(dtype).itemsize
    k = 2 * b["kc"] + 5
    m = ((2**21 // itemsize) // k + b["mr"]) // b["mr"] * b["mr"] + 3  # about 2 MiB
    assert m * k * itemsize > 2**20 and m % b["mr"] == 3 and m > 2 * b["mc"]
    n = b["nr"] + 5
    a_c = rng.standard_normal((m, k)).astype(dtype)
    b_ = rng.standard_normal((k, n)).astype(dtype)
    from_rows = run(a_c, b_, False, False)                     # row-major: in place
    from_cols = run(np.asfortranarray(a_c), b_, False, False)  # column-major, > 1 MiB: packed
    assert np.array_equal(from_rows, from_cols), f"{isa} {m}x{n}x{k}"
    rows = (2**20 // itemsize) // k  # slices of it: other tile and block boundaries
    for lo in range(0, m, rows):
        in_place = run(a_c[lo:lo + rows], b_, False, False)
        assert np.array_equal(in_place, from_rows[lo:lo + rows]), f"{isa} rows {lo}.."
    # wide: 2 threads split N and share one packed copy of this row-major A
    m_wide = 5 * b["mr"] + 3
    n_wide = m_wide + 4 * b["nr"] + 5  # n > m: gemm.cpp splits N
    a_wide, b_wide = a_c[:m_wide], rng.standard_normal((k, n_wide)).astype(dtype)
    threshold = cpp.parallel_min_macs()
    cpp.set_parallel_min_macs(0)  # split however small
    try:
        cpp.set_num_threads(2)
        shared = run(a_wide, b_wide, False, False)
    finally:
        cpp.set_parallel_min_macs(threshold)
    cpp.set_num_threads(1)
    assert np.array_equal(shared, run(np.asfortranarray(a_wide), b_wide, False, False))


def _dense_shapes(b):
    """(batch, n_in, n_out): whole and edge tiles, one and several KC blocks, a 1-wide layer."""
    return [(b["mr"] * 2 + 1, 7, b["nr"] + 3), (b["mr"], b["kc"] * 2 + 3, b["nr"] * 2),
            (3 * b["mr"] - 1, 33, 1), (5, 0, b["nr"] - 1)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", ["identity", "relu", "leaky_relu", "sigmoid", "tanh",
                                        "gelu", "softmax"])
def test_dense_forward_fused_equals_unfused(isa, dtype, activation):
    """dense_forward adds the bias and applies the activation in the GEMM's epilogue (in
    registers for identity/relu/leaky_relu, per tile for the rest). It must give exactly the
    bits of the unfused sequence: matmul, then + b as NumPy rounds it, then
    activation_forward, under 1, 2 and 3 threads with every shape split across them."""
    rng = np.random.default_rng(12)
    b = BLOCKING[isa][np.dtype(dtype).name]
    threshold = cpp.parallel_min_macs()
    cpp.set_parallel_min_macs(0)  # split every shape across the threads
    try:
        for batch, n_in, n_out in _dense_shapes(b):
            x = rng.standard_normal((batch, n_in)).astype(dtype)
            w = rng.standard_normal((n_in, n_out)).astype(dtype)
            bias = rng.standard_normal(n_out).astype(dtype)
            z_ref = cpp.matmul(x, w) + bias
            a_ref = cpp.activation_forward(activation, z_ref)
            for threads in (1, 2, 3):
                cpp.set_num_threads(threads)
                z, a = cpp.dense_forward(x, w, bias, activation)
                what = f"{isa} {activation} {batch}x{n_in}x{n_out} threads={threads}"
                assert np.array_equal(z, z_ref), what + " z"
                assert np.array_equal(a, a_ref, equal_nan=True), what + " a"
    finally:
        cpp.set_parallel_min_macs(threshold)


@pytest.mark.parametrize("dtype", DTYPES)
def test_dense_forward_epilogue_keeps_nan_and_signed_zero(isa, dtype):
    """The in-register relu and leaky_relu are z < 0 ? 0 : z and z > 0 ? z : slope * z, like
    the scalar kernels: a NaN pre-activation stays NaN, and a -0.0 keeps its sign (a max()
    instruction would change one of them). Column 2's product underflows to -0.0 (as an FMA
    rounds it; the generic kernel's separate add gives +0.0) and its bias is -0.0."""
    b = BLOCKING[isa][np.dtype(dtype).name]
    n_out = b["nr"] + 1  # full vector and a masked edge
    tiny = np.finfo(dtype).tiny
    x = np.full((3, 1), tiny, dtype)
    w = np.zeros((1, n_out), dtype)
    bias = np.zeros(n_out, dtype)
    bias[0], bias[2], bias[-1], w[0, 2] = np.nan, -0.0, np.nan, -tiny
    for activation in ("relu", "leaky_relu"):
        z, a = cpp.dense_forward(x, w, bias, activation)
        a_ref = cpp.activation_forward(activation, cpp.matmul(x, w) + bias)
        assert np.array_equal(a, a_ref, equal_nan=True), activation
        assert np.isnan(a[:, 0]).all() and np.isnan(a[:, -1]).all(), activation
        assert np.array_equal(np.signbit(a), np.signbit(a_ref)), activation
        assert np.array_equal(np.signbit(a[:, 2]), np.signbit(z[:, 2])), activation
