"""Each kernel's argument bundle, checked (and its outputs allocated) alike in every backend."""

from __future__ import annotations

import numpy as np

from ..names import activation_name
from .arrays import FLOAT_DTYPES, float_array, new_output, out_array, same_dtype, shape_is
from .scalars import MAX_STEP, SEED_MAX, integer, number


def matmul_args(a, b, trans_a, trans_b, out, alpha, beta):
    """Check matmul's arguments; allocate ``out`` when None. Returns (a, b, out, alpha, beta)."""
    float_array(a, "a", 2)
    float_array(b, "b", 2)
    dtype = same_dtype(a=a, b=b)
    m, k = (a.shape[1], a.shape[0]) if trans_a else a.shape
    k_b, n = (b.shape[1], b.shape[0]) if trans_b else b.shape
    if k != k_b:
        raise ValueError(
            f"inner dimensions differ: op(a) is {(m, k)}, op(b) is {(k_b, n)} "
            f"(trans_a={bool(trans_a)}, trans_b={bool(trans_b)})"
        )
    alpha = number(alpha, "alpha")
    beta = number(beta, "beta")
    if out is None:
        if beta != 0.0:
            raise ValueError("beta must be 0 when out is not given (there is no C to scale)")
        out = new_output((m, n), dtype, "out")
    else:
        out_array(out, "out", (m, n), dtype, {"a": a, "b": b})
    return a, b, out, alpha, beta


def activation_backward_args(name, z, a, grad_a) -> str:
    """z, a and grad_a: 2-D float arrays of one shape and dtype. Returns the canonical name."""
    name = activation_name(name)
    for arr, label in ((z, "z"), (a, "a"), (grad_a, "grad_a")):
        float_array(arr, label, 2)
        shape_is(arr, label, z.shape)
    same_dtype(z=z, a=a, grad_a=grad_a)
    return name


def dense_forward_args(x, w, b, activation, out_z, out_a):
    """Check dense_forward's arguments; allocate missing outputs. Returns (x, w, b, out_z, out_a)."""
    float_array(x, "x", 2)
    float_array(w, "w", 2)
    float_array(b, "b", 1)
    dtype = same_dtype(x=x, w=w, b=b)
    activation_name(activation)
    batch, n_in = x.shape
    if w.shape[0] != n_in:
        raise ValueError(f"x has {n_in} features but w has {w.shape[0]} rows (w is (n_in, n_out))")
    shape_is(b, "b", (w.shape[1],))
    shape = (batch, w.shape[1])
    inputs = {"x": x, "w": w, "b": b}
    out_z = new_output(shape, dtype, "out_z") if out_z is None else out_array(out_z, "out_z", shape, dtype, inputs)
    inputs["out_z"] = out_z
    out_a = new_output(shape, dtype, "out_a") if out_a is None else out_array(out_a, "out_a", shape, dtype, inputs)
    return x, w, b, out_z, out_a


def dense_backward_args(x, w, z, a, grad_a, activation):
    """Check dense_backward's arguments (shapes chain as in dense_forward)."""
    float_array(x, "x", 2)
    float_array(w, "w", 2)
    for arr, label in ((z, "z"), (a, "a"), (grad_a, "grad_a")):
        float_array(arr, label, 2)
    same_dtype(x=x, w=w, z=z, a=a, grad_a=grad_a)
    activation_name(activation)
    if w.shape[0] != x.shape[1]:
        raise ValueError(f"x has {x.shape[1]} features but w has {w.shape[0]} rows (w is (n_in, n_out))")
    shape = (x.shape[0], w.shape[1])
    for arr, label in ((z, "z"), (a, "a"), (grad_a, "grad_a")):
        shape_is(arr, label, shape)


def optimizer_args(param, grad, slots: dict, **hyper) -> None:
    """param, grad and each slot: same shape and dtype; param and slots writable, contiguous, no
    two sharing memory. ``hyper``: the kernel's scalars, each a finite real (``step``: an int in
    [1, MAX_STEP]; None where the kernel does not need it), so every backend refuses a NaN rate
    or step 0 alike instead of returning NaN (C++) or raising ZeroDivisionError (NumPy, Numba)."""
    float_array(param, "param")
    float_array(grad, "grad")
    same_dtype(param=param, grad=grad, **slots)
    for name, arr in [("param", param), *slots.items()]:
        if not isinstance(arr, np.ndarray):
            raise TypeError(f"{name} must be a numpy.ndarray, got {type(arr).__name__}")
        shape_is(arr, name, grad.shape)
        if not (arr.flags.writeable and arr.flags.c_contiguous):
            raise ValueError(f"{name} must be C-contiguous and writable (it is updated in place)")
    named = [("param", param), ("grad", grad), *slots.items()]
    for i, (name_a, a) in enumerate(named):
        for name_b, b in named[i + 1:]:
            if a.size and np.may_share_memory(a, b):  # contiguous: bounds overlap is exact
                raise ValueError(f"{name_a} and {name_b} share memory; each optimizer slot needs "
                                 f"its own array")
    for name, value in hyper.items():
        if name == "step":
            if value is not None and integer(value, "step", low=1) > MAX_STEP:
                raise ValueError(f"step must be <= {MAX_STEP}, got {value}")
        else:
            number(value, name)


def dropout_mask_args(seed, step, layer, p, shape, dtype):
    """dropout_mask's arguments, canonical: (seed, step, layer, p, (rows, cols), dtype)."""
    seed = integer(seed, "seed", low=0, high=SEED_MAX)
    step = integer(step, "step", low=1)
    layer = integer(layer, "layer", low=0)
    p = number(p, "p", low=0.0, high=1.0, high_open=True)
    if not isinstance(shape, tuple) or len(shape) != 2:
        raise ValueError(f"shape must be a (rows, cols) tuple, got {shape!r}")
    shape = (integer(shape[0], "shape[0]", low=0), integer(shape[1], "shape[1]", low=0))
    dtype = np.dtype(dtype)
    if dtype not in FLOAT_DTYPES:
        raise TypeError(f"dtype must be float32 or float64, got {dtype}")
    return seed, step, layer, p, shape, dtype


def sgd_first_step(dampening, step) -> bool:
    """Whether an SGD update with ``dampening`` is the first (step == 1); step may be None
    only without dampening."""
    dampening = number(dampening, "dampening", low=0.0, high=1.0)
    if step is None:
        if dampening:
            raise ValueError("sgd_step with dampening needs step (the 1-based update count): "
                             "update 1 is not dampened")
        return False
    return integer(step, "step", low=1) == 1
