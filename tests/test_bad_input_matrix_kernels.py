"""The bad-input matrix, kernel API rows: matmul, the dense layer, activations, losses, optimizer
steps and training, each run on every backend's kernel of that name (bad_input_cases.py: how a
row runs; test_bad_input_matrix.py: the whole table, as docs/bad_inputs.md carries it)."""

from __future__ import annotations

import numpy as np
import pytest

import fastmlp as fm
from fastmlp.backends import Network, OptimizerConfig

from bad_input_cases import Case, check, params


def K(name):
    return fm.get_backend(name)


def f64(shape, fill=0.5, dtype=np.float64):
    return np.full(shape, fill, dtype)


def readonly(a):
    a = a.copy()
    a.flags.writeable = False
    return a


def huge(shape, dtype=np.float32):
    """A legal zero-stride view of an absurd size: a few bytes of memory, exabytes nominally."""
    return np.broadcast_to(np.asarray(1, dtype), shape)


def tiny_net(**opt):
    rng = np.random.default_rng(0)
    w = [rng.standard_normal((4, 5)), rng.standard_normal((5, 3))]
    b = [np.zeros(5), np.zeros(3)]
    return Network(w, b, ["relu", "identity"], "cross_entropy", optimizer=OptimizerConfig(**opt))


def batch(n=6):
    rng = np.random.default_rng(1)
    return rng.standard_normal((n, 4)), rng.integers(0, 3, n)


A, B = f64((3, 4)), f64((4, 2))
SQ = f64((4, 4))

CASES = [
    # kernel API: matmul
    Case("matmul-int", "kernel matmul", "a of dtype int64", TypeError, r"^a must have dtype float32 or float64",
         lambda k, t: K(k).matmul(A.astype(np.int64), B)),
    Case("matmul-float16", "kernel matmul", "a of dtype float16", TypeError, r"^a must have dtype",
         lambda k, t: K(k).matmul(A.astype(np.float16), B)),
    Case("matmul-object", "kernel matmul", "b of dtype object", TypeError, r"^b must have dtype",
         lambda k, t: K(k).matmul(A, B.astype(object))),
    Case("matmul-bool", "kernel matmul", "a of dtype bool", TypeError, r"^a must have dtype",
         lambda k, t: K(k).matmul(A > 0, B)),
    Case("matmul-complex", "kernel matmul", "b of dtype complex128", TypeError, r"^b must have dtype",
         lambda k, t: K(k).matmul(A, B.astype(np.complex128))),
    Case("matmul-string", "kernel matmul", "a is an array of strings", TypeError, r"^a must have dtype",
         lambda k, t: K(k).matmul(np.array([["1", "2"]]), B[:2])),
    Case("matmul-list", "kernel matmul", "a is a list, not an ndarray", TypeError, r"^a must be a numpy.ndarray",
         lambda k, t: K(k).matmul([[1.0] * 4] * 3, B)),
    Case("matmul-mixed-dtypes", "kernel matmul", "a float32, b float64", TypeError, r"a=float32, b=float64",
         lambda k, t: K(k).matmul(A.astype(np.float32), B)),
    Case("matmul-ndim", "kernel matmul", "a is 1-D", ValueError, r"^a must be 2-D",
         lambda k, t: K(k).matmul(f64(4), B)),
    Case("matmul-shapes", "kernel matmul", "inner dimensions 4 and 3", ValueError, r"inner dimensions differ",
         lambda k, t: K(k).matmul(A, f64((3, 2)))),
    Case("matmul-out-readonly", "kernel matmul", "out is read-only", ValueError, r"^out must be writable",
         lambda k, t: K(k).matmul(A, B, out=readonly(f64((3, 2))))),
    Case("matmul-out-strided", "kernel matmul", "out is a non-contiguous view", ValueError,
         r"^out must be C-contiguous", lambda k, t: K(k).matmul(A, B, out=f64((3, 4))[:, ::2])),
    Case("matmul-out-aliased", "kernel matmul", "out is the same array as a", ValueError,
         r"^out must not overlap input a", lambda k, t: (lambda s: K(k).matmul(s, SQ, out=s))(SQ.copy())),
    Case("matmul-out-dtype", "kernel matmul", "out float32 for float64 inputs", TypeError,
         r"^out must have dtype float64", lambda k, t: K(k).matmul(A, B, out=f64((3, 2), dtype=np.float32))),
    Case("matmul-alpha-nan", "kernel matmul", "alpha = NaN", ValueError, r"^alpha must be finite",
         lambda k, t: K(k).matmul(A, B, alpha=float("nan"))),
    Case("matmul-byte-overflow", "kernel matmul", "2^40 x 2^20 zero-stride operands: the output's byte "
         "count is 4 EiB", (MemoryError, ValueError), r"out",
         lambda k, t: K(k).matmul(huge((2**40, 2**20)), huge((2**20, 2**20)))),
    Case("matmul-size-overflow", "kernel matmul", "2^40 x 2^40 output: the element count overflows int64 "
         "bytes", (MemoryError, ValueError), r"out",
         lambda k, t: K(k).matmul(huge((2**40, 1)), huge((1, 2**40)))),
    # kernel API: dense layer, activations, losses, optimizers, training
    Case("dense-int", "kernel dense_forward", "x of dtype int32", TypeError, r"^x must have dtype",
         lambda k, t: K(k).dense_forward(f64((5, 4), dtype=np.int32), f64((4, 3)), f64(3), "relu")),
    Case("dense-shapes", "kernel dense_forward", "x has 4 features, w has 5 rows", ValueError,
         r"x has 4 features but w has 5 rows", lambda k, t: K(k).dense_forward(f64((5, 4)), f64((5, 3)), f64(3), "relu")),
    Case("dense-bias-ndim", "kernel dense_forward", "b is 2-D", ValueError, r"^b must be 1-D",
         lambda k, t: K(k).dense_forward(f64((5, 4)), f64((4, 3)), f64((1, 3)), "relu")),
    Case("dense-unknown-activation", "kernel dense_forward", "activation 'swish'", ValueError,
         r"activation 'swish' is unknown; choose one of",
         lambda k, t: K(k).dense_forward(f64((5, 4)), f64((4, 3)), f64(3), "swish")),
    Case("dense-out-aliased", "kernel dense_forward", "out_a is out_z", ValueError,
         r"^out_a must not overlap input out_z",
         lambda k, t: (lambda o: K(k).dense_forward(f64((5, 4)), f64((4, 3)), f64(3), "relu", out_z=o, out_a=o))(f64((5, 3)))),
    Case("dense-byte-overflow", "kernel dense_forward", "x is a 2^40 x 2^20 zero-stride view, w 2^20 x 2^20",
         (MemoryError, ValueError), r"out_z",
         lambda k, t: K(k).dense_forward(huge((2**40, 2**20)), huge((2**20, 2**20)), np.zeros(2**20, np.float32), "relu")),
    Case("dense-backward-shape", "kernel dense_backward", "grad_a has 2 columns, z has 3", ValueError,
         r"^grad_a must have shape \(5, 3\)",
         lambda k, t: K(k).dense_backward(f64((5, 4)), f64((4, 3)), f64((5, 3)), f64((5, 3)), f64((5, 2)), "tanh")),
    Case("activation-complex", "kernel activation_forward", "z of dtype complex64", TypeError, r"^z must have dtype",
         lambda k, t: K(k).activation_forward("tanh", f64((2, 3), dtype=np.complex64))),
    Case("loss-labels-range", "kernel loss_forward_backward", "label 3 with 3 outputs", ValueError,
         r"^target labels must lie in \[0, 3\)",
         lambda k, t: K(k).loss_forward_backward("cross_entropy", f64((4, 3)), np.array([0, 1, 3, 2]))),
    Case("loss-empty", "kernel loss_forward_backward", "0-row output", ValueError, r"^output must not be empty",
         lambda k, t: K(k).loss_forward_backward("mse", f64((0, 3)), f64((0, 3)))),
    Case("loss-unknown", "kernel loss_forward_backward", "loss 'hinge'", ValueError,
         r"loss 'hinge' is unknown; choose one of",
         lambda k, t: K(k).loss_forward_backward("hinge", f64((4, 3)), f64((4, 3)))),
    Case("loss-string-target", "kernel loss_forward_backward", "target of strings", TypeError, r"^target must be",
         lambda k, t: K(k).loss_forward_backward("mse", f64((2, 1)), np.array([["a"], ["b"]]))),
    Case("sgd-readonly-param", "kernel sgd_step", "param read-only", ValueError,
         r"^param must be C-contiguous and writable",
         lambda k, t: K(k).sgd_step(readonly(f64(5)), f64(5), f64(5), lr=0.1)),
    Case("adam-strided-slot", "kernel adam_step", "m is a strided view", ValueError,
         r"^m must be C-contiguous and writable",
         lambda k, t: K(k).adam_step(f64(5), f64(5), f64(10)[::2], f64(5), step=1, lr=0.1)),
    Case("train-batch-size-0", "kernel train_epoch", "batch_size 0", ValueError, r"^batch_size must be >= 1",
         lambda k, t: K(k).train_epoch(tiny_net(), *batch(), np.arange(6), 0)),
    Case("train-lr-nan", "kernel train_step", "optimizer lr NaN", ValueError, r"^lr must be finite",
         lambda k, t: K(k).train_step(tiny_net(lr=float("nan")), *batch())),
    Case("train-order-range", "kernel train_epoch", "order holds row 6 of 6", ValueError,
         r"^order indices must lie in \[0, 6\)", lambda k, t: K(k).train_epoch(tiny_net(), *batch(), np.array([0, 6]), 2)),
    Case("gradient-out-short", "kernel loss_gradient", "out has 3 arrays for 4 parameters", ValueError,
         r"^out needs one array per parameter \(4\), got 3",
         lambda k, t: K(k).loss_gradient(tiny_net(), *batch(), out=[np.empty_like(p) for p in tiny_net().params[:3]])),
    Case("gradient-out-float32", "kernel loss_gradient", "out[1] float32 for a float64 network", TypeError,
         r"^out\[1\] must have dtype float64",
         lambda k, t: K(k).loss_gradient(tiny_net(), *batch(), out=[np.empty_like(p, dtype=np.float32 if i == 1 else None)
                                                                  for i, p in enumerate(tiny_net().params)])),
    Case("gradient-out-is-x", "kernel loss_gradient", "out[0] is a view of X", ValueError,
         r"^out\[0\] must not overlap input X",
         lambda k, t: (lambda X, y, net: K(k).loss_gradient(net, X, y, out=[X.reshape(-1)[:20].reshape(5, 4)] + [np.empty_like(p) for p in net.params[1:]]))(
             np.zeros((6, 5)), batch()[1], Network([np.ones((5, 4)) * 0.1, np.ones((4, 3))], [np.zeros(4), np.zeros(3)],
                                                   ["relu", "identity"], "cross_entropy"))),
]


@pytest.mark.timeout(180)
@pytest.mark.parametrize("case,backend", params(CASES))
def test_bad_input(case, backend, tmp_path):
    check(case, backend, tmp_path)
