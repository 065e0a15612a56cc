"""Atheris harness: the C++ backend's matmul and dense_forward against the NumPy float64 oracle.

Each input picks a kernel, a dtype (mostly float32/float64, sometimes a wrong one), shapes (0 to
a few hundred, crossing the GEMM block sizes), a layout per operand (C, F, strided, reversed,
offset into a larger buffer, zero-stride broadcast), transposes, alpha/beta, an `out` buffer
(poisoned with NaN, sometimes a bad one), the ISA and the thread split. Outcomes:

- a wrong argument must raise TypeError/ValueError, the same type as the NumPy backend raises,
  and leave a given `out` untouched;
- otherwise the result must lie within the worst-case rounding bound of tests/tolerances.py
  (2·γ_{K+3}·G for GEMM, plus the activation's own bound for dense_forward): a wrong index,
  a dropped term or a read of a NaN-poisoned `out` with beta == 0 breaks it by orders of
  magnitude. With integer data and power-of-two alpha/beta every result is exact, so there the
  result must equal the oracle's bit for bit.

Run: tools/fuzz.sh SECONDS (or python fuzz/fuzz_kernels.py -max_total_time=SECONDS CORPUS); any AssertionError or other exception is a finding.
"""

from __future__ import annotations

import os
import sys

import atheris
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from findings import guard  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
import tolerances as tol  # noqa: E402  (the test suite's stated bounds, reused verbatim)

import fastmlp.backends.cpp as cpp  # noqa: E402
import fastmlp.backends.numpy as oracle  # noqa: E402

GOOD_DTYPES = [np.float32, np.float64]
BAD_DTYPES = [np.float16, np.int32, np.bool_, np.complex64, object, ">f8"]
LAYOUTS = ["C", "F", "strided", "reversed", "offset", "broadcast"]
ACTIVATIONS = ["identity", "relu", "leaky_relu", "sigmoid", "tanh", "gelu", "softmax"]
EXACT_SCALARS = [0.0, 1.0, -1.0, 2.0, 0.5, -0.25]
ISAS = cpp.available_isas()
MAX_MACS = 3_000_000  # keeps one execution under ~10 ms so the fuzzer explores many inputs


def dim(fdp) -> int:
    """Mostly small sizes (where edge tiles live), sometimes sizes that cross block sizes."""
    if fdp.ConsumeIntInRange(0, 7) == 0:
        return fdp.ConsumeIntInRange(0, 600)
    return fdp.ConsumeIntInRange(0, 40)


def values(rng, shape, integers: bool, dtype):
    if integers:
        return rng.integers(-3, 4, shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def lay_out(fdp, base: np.ndarray) -> np.ndarray:
    """A view holding base's values with a fuzzed memory layout (values unchanged)."""
    layout = fdp.PickValueInList(LAYOUTS)
    if layout == "F":
        return np.asfortranarray(base)
    if layout == "strided":
        step0, step1 = fdp.ConsumeIntInRange(1, 3), fdp.ConsumeIntInRange(1, 3)
        big = np.full((base.shape[0] * step0 + 1, base.shape[1] * step1 + 1), np.nan, base.dtype)
        view = big[1::step0, 1::step1][: base.shape[0], : base.shape[1]]
        view[...] = base
        return view
    if layout == "reversed":
        return np.ascontiguousarray(base[::-1, ::-1])[::-1, ::-1]
    if layout == "offset":
        flat = np.full(base.size + 3, np.nan, base.dtype)
        view = flat[3:].reshape(base.shape)
        view[...] = base
        return view
    if layout == "broadcast" and base.shape[0] > 0:
        row = base[:1]  # every row equal: a zero-stride view of one row
        base[...] = row
        return np.broadcast_to(row, base.shape)
    return np.ascontiguousarray(base)


def configure(fdp) -> None:
    cpp.set_isa(fdp.PickValueInList(ISAS))
    cpp.set_num_threads(fdp.ConsumeIntInRange(1, 3))
    cpp.set_parallel_min_macs(fdp.PickValueInList([0, 1 << 20]))


def same_contents(x, y) -> bool:
    """Bitwise equality (NaN-safe); object arrays hold Python numbers, compared as a list."""
    if x.dtype == object:
        return list(x.flat) == list(y.flat)
    return x.tobytes(order="A") == y.tobytes(order="A")


def expect_same_error(call_cpp, call_oracle, outs):
    """A rejected call: the C++ backend raises what the oracle raises and touches no `out`."""
    before = [o.copy(order="K") for o in outs]
    try:
        call_oracle()
    except (TypeError, ValueError) as exc:
        want = type(exc)
    else:
        want = None
    try:
        call_cpp()
    except (TypeError, ValueError) as exc:
        assert want is type(exc), f"cpp raised {type(exc).__name__}, oracle {want}: {exc}"
        for o, b in zip(outs, before):
            assert same_contents(o, b), "a rejected call wrote into out"
        return True
    assert want is None, f"oracle raised {want.__name__} but cpp accepted the input"
    return False


def fuzz_matmul(fdp, rng):
    bad = fdp.ConsumeIntInRange(0, 9) == 0
    dtype = fdp.PickValueInList(BAD_DTYPES if bad else GOOD_DTYPES)
    m, k, n = dim(fdp), dim(fdp), dim(fdp)
    if m * k * n > MAX_MACS:
        return
    trans_a, trans_b = fdp.ConsumeBool(), fdp.ConsumeBool()
    integers = fdp.ConsumeBool()
    alpha = fdp.PickValueInList(EXACT_SCALARS) if integers else fdp.ConsumeFloatInRange(-4.0, 4.0)
    give_out = fdp.ConsumeBool()
    beta = 0.0
    if give_out:
        beta = fdp.PickValueInList(EXACT_SCALARS) if integers else fdp.ConsumeFloatInRange(-4.0, 4.0)
    work = np.float64 if bad else dtype
    a0 = values(rng, (k, m) if trans_a else (m, k), integers, work)
    b0 = values(rng, (n, k) if trans_b else (k, n), integers, work)
    a, b = lay_out(fdp, a0.astype(dtype) if bad else a0), lay_out(fdp, b0.astype(dtype) if bad else b0)
    out = None
    if give_out:
        out_dtype = dtype if not fdp.ConsumeIntInRange(0, 15) == 0 else np.float16
        out = values(rng, (m, n), integers, work).astype(out_dtype)
        if beta == 0.0 and out.dtype.kind == "f":
            out[...] = np.nan  # beta == 0 must never read out
        if fdp.ConsumeIntInRange(0, 15) == 0:
            out = np.asfortranarray(out)  # not C-contiguous: must be refused (when not 1-D-like)
    if bad or (out is not None and (out.dtype != np.dtype(dtype) or not out.flags.c_contiguous)):
        oracle_out = None if out is None else out.copy(order="K")  # keeps the F order
        expect_same_error(
            lambda: cpp.matmul(a, b, trans_a=trans_a, trans_b=trans_b, out=out, alpha=alpha, beta=beta),
            lambda: oracle.matmul(a, b, trans_a=trans_a, trans_b=trans_b, out=oracle_out, alpha=alpha,
                                  beta=beta),
            [] if out is None else [out])
        return
    c0 = None if out is None else out.copy()
    got = cpp.matmul(a, b, trans_a=trans_a, trans_b=trans_b, out=out, alpha=alpha, beta=beta)
    assert out is None or got is out, "matmul must return the out it was given"
    ref_out = None if c0 is None else c0.astype(np.float64)
    ref = oracle.matmul(a.astype(np.float64), b.astype(np.float64), trans_a=trans_a, trans_b=trans_b,
                        out=ref_out, alpha=alpha, beta=beta)
    tag = f"matmul {np.dtype(dtype).name} m={m} k={k} n={n} ta={trans_a} tb={trans_b} " \
          f"alpha={alpha!r} beta={beta!r} isa={cpp.isa()} threads={cpp.get_num_threads()}"
    assert got.shape == (m, n) and got.dtype == np.dtype(dtype), tag
    if integers and k * 9 < 2**24:
        assert np.array_equal(got, ref), tag + " (exact integer case differs)"
    else:
        bound = tol.gemm_bound(a, b, trans_a, trans_b, alpha, beta, c0, dtype)
        tol.assert_within(got, ref, bound, tag)


def fuzz_dense_forward(fdp, rng):
    dtype = fdp.PickValueInList(GOOD_DTYPES)
    batch, n_in, n_out = dim(fdp), dim(fdp), dim(fdp)
    if batch * n_in * n_out > MAX_MACS:
        return
    activation = fdp.PickValueInList(ACTIVATIONS)
    if activation == "softmax" and n_out == 0:
        return
    x = lay_out(fdp, values(rng, (batch, n_in), False, dtype))
    w = lay_out(fdp, (values(rng, (n_in, n_out), False, dtype) / np.sqrt(max(n_in, 1))).astype(dtype))
    b = (0.5 * values(rng, (n_out,), False, dtype)).astype(dtype)
    outs = {}
    if fdp.ConsumeBool():
        outs["out_z"] = np.full((batch, n_out), np.nan, dtype)
    if fdp.ConsumeBool():
        outs["out_a"] = np.full((batch, n_out), np.nan, dtype)
    z, a = cpp.dense_forward(x, w, b, activation, **outs)
    for name, arr in (("out_z", z), ("out_a", a)):
        if name in outs:
            assert arr is outs[name], f"dense_forward must return the {name} it was given"
    z_ref, a_ref = oracle.dense_forward(x.astype(np.float64), w.astype(np.float64), b.astype(np.float64),
                                        activation)
    tag = f"dense_forward {np.dtype(dtype).name} {activation} batch={batch} n_in={n_in} n_out={n_out} " \
          f"isa={cpp.isa()} threads={cpp.get_num_threads()}"
    bz, ba = tol.dense_forward_bounds(activation, x, w, b, z_ref, a_ref, dtype)
    tol.assert_within(z, z_ref, bz, tag + " z")
    tol.assert_within(a, a_ref, ba, tag + " a")


def TestOneInput(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    configure(fdp)
    rng = np.random.default_rng(fdp.ConsumeIntInRange(0, 2**32 - 1))
    if fdp.ConsumeBool():
        fuzz_matmul(fdp, rng)
    else:
        fuzz_dense_forward(fdp, rng)


def main():
    np.seterr(all="ignore")  # overflow/NaN are judged by the comparison, not by warnings
    # instrument_imports misses modules loaded by the editable install's custom finder;
    # instrument_all covers every loaded Python function (fastmlp's checks and this file's branches)
    atheris.instrument_all()
    atheris.Setup(sys.argv, guard(TestOneInput))
    atheris.Fuzz()


if __name__ == "__main__":
    main()
