"""dense_forward / dense_backward of every backend against the float64 oracle.

Bounds (tolerances.dense_forward_bounds / dense_backward_bounds): z = x@w + b is a GEMM with
the bias as its beta term (2·γ_{n_in+3}·(|x|@|w| + |b|)); a = f(z) adds f's own rounding plus
f's Lipschitz constant times z's error. Backward: grad_z's elementwise error (its activation
gauge times its rtol) carried through x.T@grad_z, grad_z@w.T and the batch sum, each adding
2·γ_{K+3} on the matching gauge.
"""

from __future__ import annotations

import numpy as np
import pytest

from tolerances import ACTIVATIONS, assert_within, dense_backward_bounds, dense_forward_bounds

DTYPES = [np.float32, np.float64]
# (batch, n_in, n_out); 600x50 outputs exceed the C++ 2^14-element chunk, so threads split rows
SHAPES = [(1, 1, 1), (5, 3, 4), (16, 31, 10), (33, 64, 17), (7, 257, 3), (600, 40, 50)]


def layer(rng, batch, n_in, n_out, dtype, x_layout="C", w_layout="C"):
    x = rng.standard_normal((batch, n_in))
    w = rng.standard_normal((n_in, n_out)) / np.sqrt(n_in)
    b = 0.5 * rng.standard_normal(n_out)
    x, w, b = x.astype(dtype), w.astype(dtype), b.astype(dtype)
    if x_layout == "F":
        x = np.asfortranarray(x)
    elif x_layout == "strided":  # every other row, in reverse, of a buffer: negative stride
        buf = np.empty((2 * batch, n_in), dtype)
        buf[::2] = x[::-1]
        x = buf[::2][::-1]
    if w_layout == "F":
        w = np.asfortranarray(w)
    elif w_layout == "strided":
        buf = np.zeros((n_in, 2 * n_out), dtype)
        buf[:, ::2] = w
        w = buf[:, ::2]
    return x, w, b


def up(*arrays):
    return [a.astype(np.float64) for a in arrays]


# --- forward --------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("activation", list(ACTIVATIONS) + ["logistic"])
def test_forward_vs_oracle(backend, oracle, rng, dtype, shape, activation):
    canon = "sigmoid" if activation == "logistic" else activation
    x, w, b = layer(rng, *shape, dtype)
    z, a = backend.dense_forward(x, w, b, activation)
    assert z.dtype == a.dtype == dtype and z.shape == a.shape == (shape[0], shape[2])
    assert z.flags.c_contiguous and a.flags.c_contiguous
    z_ref, a_ref = oracle.dense_forward(*up(x, w, b), activation)
    bz, ba = dense_forward_bounds(canon, x, w, b, z_ref, a_ref, dtype)
    tag = f"{backend.__name__} dense_forward({activation}) {np.dtype(dtype).name} {shape}"
    assert_within(z, z_ref, bz, tag + " z")
    assert_within(a, a_ref, ba, tag + " a")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_forward_exact_integers(backend, oracle, rng, dtype, activation):
    """Integer x, w, b in [-3, 3]: z is exact in any summation order, so it must equal the
    oracle's bitwise; relu/identity then make a exact too. Sizes cross the GEMM blocks."""
    for batch, n_in, n_out in [(13, 300, 7), (145, 17, 9), (5, 6, 257)]:
        x = rng.integers(-3, 4, (batch, n_in)).astype(dtype)
        w = rng.integers(-3, 4, (n_in, n_out)).astype(dtype)
        b = rng.integers(-3, 4, n_out).astype(dtype)
        z, a = backend.dense_forward(x, w, b, activation)
        z_ref, a_ref = oracle.dense_forward(*up(x, w, b), activation)
        assert np.array_equal(z, z_ref.astype(dtype)), f"integer z not exact ({batch},{n_in},{n_out})"
        if activation in ("identity", "relu"):
            assert np.array_equal(a, a_ref.astype(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_forward_out_given_and_poisoned(backend, oracle, rng, dtype, activation):
    x, w, b = layer(rng, 9, 20, 6, dtype)
    fresh_z, fresh_a = backend.dense_forward(x, w, b, activation)
    buf_z = np.full((11, 6), np.nan, dtype)
    buf_a = np.full((11, 6), np.nan, dtype)
    out_z, out_a = buf_z[1:-1], buf_a[1:-1]
    z, a = backend.dense_forward(x, w, b, activation, out_z=out_z, out_a=out_a)
    assert z is out_z and a is out_a, "dense_forward must return the outs it was given"
    assert np.isfinite(out_z).all() and np.isfinite(out_a).all(), "NaN-poisoned out not fully overwritten"
    assert np.isnan(buf_z[[0, -1]]).all() and np.isnan(buf_a[[0, -1]]).all(), "wrote outside out_z/out_a"
    assert np.array_equal(out_z, fresh_z) and np.array_equal(out_a, fresh_a), "out given vs not differ"
    # only one of the two given
    z1, a1 = backend.dense_forward(x, w, b, activation, out_a=np.full((9, 6), np.nan, dtype))
    z2, a2 = backend.dense_forward(x, w, b, activation, out_z=np.full((9, 6), np.nan, dtype))
    for arr in (z1, a1, z2, a2):
        assert np.isfinite(arr).all()
    assert np.array_equal(a1, fresh_a) and np.array_equal(z2, fresh_z)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("x_layout,w_layout", [("F", "C"), ("C", "F"), ("strided", "strided"), ("F", "strided")])
def test_forward_strided_inputs(backend, oracle, rng, dtype, x_layout, w_layout):
    for activation in ("relu", "tanh", "softmax"):
        x, w, b = layer(rng, 11, 19, 7, dtype, x_layout, w_layout)
        z, a = backend.dense_forward(x, w, b, activation)
        z_ref, a_ref = oracle.dense_forward(*up(x, w, b), activation)
        bz, ba = dense_forward_bounds(activation, x, w, b, z_ref, a_ref, dtype)
        assert_within(z, z_ref, bz, f"z with x {x_layout}, w {w_layout}")
        assert_within(a, a_ref, ba, f"a with x {x_layout}, w {w_layout}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_unusual_memory(backend, oracle, rng, dtype):
    """x a structured-array field (byte strides not a multiple of the itemsize), w misaligned:
    legal NumPy arrays that DESIGN's "any strides" covers."""
    rec = np.zeros((9, 6), dtype=[("v", dtype), ("pad", "i1")])
    rec["v"] = rng.standard_normal((9, 6))
    x = rec["v"]
    w = np.zeros(np.dtype(dtype).itemsize * 24 + 1, np.uint8)[1:].view(dtype).reshape(6, 4)
    w[...] = rng.standard_normal((6, 4))
    b = rng.standard_normal(4).astype(dtype)
    z, a = backend.dense_forward(x, w, b, "tanh")
    z_ref, a_ref = oracle.dense_forward(*up(x, w, b), "tanh")
    bz, ba = dense_forward_bounds("tanh", x, w, b, z_ref, a_ref, dtype)
    assert_within(z, z_ref, bz, "z from odd-strided x, misaligned w")
    assert_within(a, a_ref, ba, "a from odd-strided x, misaligned w")
    grad_a = rng.standard_normal(z.shape).astype(dtype)
    check_backward(backend, oracle, x, w, z_ref.astype(dtype), a_ref.astype(dtype), grad_a, "tanh",
                   "odd-strided x, misaligned w")


@pytest.mark.parametrize("dtype", DTYPES)
def test_forward_empty_batch(backend, dtype):
    x = np.empty((0, 4), dtype)
    w = np.ones((4, 3), dtype)
    z, a = backend.dense_forward(x, w, np.zeros(3, dtype), "relu")
    assert z.shape == a.shape == (0, 3)
    gx, gw, gb = backend.dense_backward(x, w, z, a, np.empty((0, 3), dtype), "relu")
    assert gx.shape == (0, 4)
    assert np.array_equal(gw, np.zeros((4, 3))) and np.array_equal(gb, np.zeros(3)), "empty batch: zero grads"


# --- backward -------------------------------------------------------------------------------


def backward_case(oracle, rng, shape, dtype, activation, x_layout="C", w_layout="C"):
    x, w, b = layer(rng, *shape, dtype, x_layout, w_layout)
    z, a = oracle.dense_forward(np.ascontiguousarray(x), np.ascontiguousarray(w), b, activation)
    grad_a = rng.standard_normal(z.shape).astype(dtype)
    return x, w, z, a, grad_a


def check_backward(backend, oracle, x, w, z, a, grad_a, activation, tag):
    dtype = x.dtype
    before = [arr.copy() for arr in (x, w, z, a, grad_a)]
    gx, gw, gb = backend.dense_backward(x, w, z, a, grad_a, activation)
    for arr, old, label in zip((x, w, z, a, grad_a), before, "x w z a grad_a".split()):
        assert np.array_equal(arr, old), f"dense_backward modified {label}"
    assert gx.shape == x.shape and gw.shape == w.shape and gb.shape == (w.shape[1],)
    assert gx.dtype == gw.dtype == gb.dtype == dtype
    rx, rw, rb = oracle.dense_backward(*up(x, w, z, a, grad_a), activation)
    canon = "sigmoid" if activation == "logistic" else activation
    bx, bw, bb = dense_backward_bounds(canon, x, w, z, a, grad_a, dtype)
    tag = f"{backend.__name__} dense_backward({activation}) {np.dtype(dtype).name} {tag}"
    assert_within(gx, rx, bx, tag + " grad_x")
    assert_within(gw, rw, bw, tag + " grad_w")
    assert_within(gb, rb, bb, tag + " grad_b")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("activation", list(ACTIVATIONS) + ["logistic"])
def test_backward_vs_oracle(backend, oracle, rng, dtype, shape, activation):
    canon = "sigmoid" if activation == "logistic" else activation
    case = backward_case(oracle, rng, shape, dtype, canon)
    check_backward(backend, oracle, *case, activation, str(shape))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("x_layout,w_layout", [("F", "C"), ("C", "F"), ("strided", "strided"), ("F", "F")])
@pytest.mark.parametrize("activation", ["identity", "relu", "gelu", "softmax"])
def test_backward_strided_inputs(backend, oracle, rng, dtype, x_layout, w_layout, activation):
    """x and w F-ordered or every-other-row/column views (the training loop passes X[rows] and
    weights as they are; the model may pass transposed views)."""
    for shape in [(13, 29, 6), (70, 9, 145)]:
        case = backward_case(oracle, rng, shape, dtype, activation, x_layout, w_layout)
        check_backward(backend, oracle, *case, activation, f"x {x_layout}, w {w_layout}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_backward_exact_integers(backend, oracle, rng, dtype):
    """Identity activation with integer x, w, grad_a: every gradient is an exact integer sum."""
    for batch, n_in, n_out in [(300, 7, 5), (9, 257, 13), (4, 5, 300)]:
        x = rng.integers(-3, 4, (batch, n_in)).astype(dtype)
        w = rng.integers(-3, 4, (n_in, n_out)).astype(dtype)
        z = rng.integers(-3, 4, (batch, n_out)).astype(dtype)
        g = rng.integers(-3, 4, (batch, n_out)).astype(dtype)
        got = backend.dense_backward(x, w, z, z, g, "identity")
        ref = oracle.dense_backward(*up(x, w, z, z, g), "identity")
        for gg, rr, label in zip(got, ref, ("grad_x", "grad_w", "grad_b")):
            assert np.array_equal(gg, rr.astype(dtype)), f"integer {label} not exact ({batch},{n_in},{n_out})"


# --- hypothesis: shapes x layouts x activations ---------------------------------------------

from hypothesis import given, strategies as st  # noqa: E402


@given(batch=st.integers(0, 40), n_in=st.integers(1, 40), n_out=st.integers(1, 40),
       activation=st.sampled_from(ACTIVATIONS), dtype=st.sampled_from(DTYPES),
       x_layout=st.sampled_from(["C", "F", "strided"]), w_layout=st.sampled_from(["C", "F", "strided"]),
       seed=st.integers(0, 2**32 - 1))
def test_hypothesis_dense(backend, oracle, batch, n_in, n_out, activation, dtype, x_layout, w_layout, seed):
    rng = np.random.default_rng(seed)
    x, w, b = layer(rng, batch, n_in, n_out, dtype, x_layout, w_layout)
    z, a = backend.dense_forward(x, w, b, activation)
    z_ref, a_ref = oracle.dense_forward(*up(x, w, b), activation)
    bz, ba = dense_forward_bounds(activation, x, w, b, z_ref, a_ref, dtype)
    assert_within(z, z_ref, bz, "hypothesis z")
    assert_within(a, a_ref, ba, "hypothesis a")
    grad_a = rng.standard_normal(z.shape).astype(dtype)
    check_backward(backend, oracle, x, w, z_ref.astype(dtype), oracle.activation_forward(activation, z_ref.astype(dtype)),
                   grad_a, activation, "hypothesis")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch", [1, 7, 64])
def test_backward_without_grad_x(backend, dtype, batch):
    """want_grad_x=False (the first layer's backward: nothing reads grad x) returns None for it
    and the very bits of grad_w and grad_b that want_grad_x=True gives."""
    rng = np.random.default_rng(batch)
    x, w, b = layer(rng, batch, 13, 9, dtype)
    z, a = backend.dense_forward(x, w, b, "tanh")
    grad_a = rng.standard_normal(z.shape).astype(dtype)
    gx, gw, gb = backend.dense_backward(x, w, z, a, grad_a, "tanh")
    none, gw_only, gb_only = backend.dense_backward(x, w, z, a, grad_a, "tanh", want_grad_x=False)
    assert gx.shape == x.shape and none is None
    assert np.array_equal(gw.view(np.uint8), gw_only.view(np.uint8))
    assert np.array_equal(gb.view(np.uint8), gb_only.view(np.uint8))
    with pytest.raises(TypeError, match="want_grad_x"):
        backend.dense_backward(x, w, z, a, grad_a, "tanh", want_grad_x=0)
