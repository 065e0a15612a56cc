"""Checks on array arguments: float dtype, dimensions, shape, shared dtype, output buffers
(exact, contiguous, writable, apart from the inputs) and the all-finite scan."""

from __future__ import annotations

import math

import numpy as np


FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def float_array(arr, name: str, ndim: int | None = None) -> np.ndarray:
    """`arr` must be a float32/float64 ndarray (of `ndim` dimensions when given)."""
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(arr).__name__}")
    if arr.dtype not in FLOAT_DTYPES:
        if arr.dtype.kind == "f" and arr.dtype.newbyteorder("=") in FLOAT_DTYPES:  # '>f4'
            native = arr.dtype.newbyteorder("=").name
            raise TypeError(f"{name} must have dtype float32 or float64 in native byte order, got "
                            f"{native} in big-endian order; convert it with {name}.astype(np.{native})")
        raise TypeError(f"{name} must have dtype float32 or float64, got {arr.dtype}")
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got {arr.ndim}-D with shape {arr.shape}")
    return arr


def new_output(shape, dtype, name: str) -> np.ndarray:
    """``np.empty(shape, dtype)`` for a kernel's result; a request too large to allocate (inputs
    can be zero-stride views of huge shapes) raises MemoryError naming the output and its bytes."""
    try:
        return np.empty(shape, dtype)
    except (MemoryError, ValueError) as exc:  # ValueError: "array is too big" (byte count overflows)
        nbytes = math.prod(shape) * np.dtype(dtype).itemsize
        raise MemoryError(f"{name} would need {nbytes} bytes ({' x '.join(map(str, shape))} "
                          f"{np.dtype(dtype).name}): {exc}") from None


def same_dtype(**arrays) -> np.dtype:
    """All named arrays share one dtype; the message lists each name with its dtype."""
    dtypes = {name: a.dtype for name, a in arrays.items()}
    if len(set(dtypes.values())) > 1:
        listed = ", ".join(f"{n}={d}" for n, d in dtypes.items())
        raise TypeError(f"arrays must share one dtype, got {listed}")
    return next(iter(dtypes.values()))


def shape_is(arr: np.ndarray, name: str, shape: tuple) -> None:
    if arr.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {arr.shape}")


def out_array(out, name: str, shape: tuple, dtype: np.dtype, inputs: dict) -> np.ndarray:
    """An output buffer: exact dtype and shape, C-contiguous, writable, overlapping no input.

    A wrong `out` is an error, never a silent copy: a kernel that wrote into a temporary
    would leave the caller's array unchanged.
    """
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(out).__name__}")
    if out.dtype != dtype:
        raise TypeError(f"{name} must have dtype {dtype}, got {out.dtype}")
    shape_is(out, name, shape)
    if not out.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous")
    if not out.flags.writeable:
        raise ValueError(f"{name} must be writable")
    for in_name, arr in inputs.items():
        if arr is not None and out.size and np.shares_memory(out, arr):
            raise ValueError(f"{name} must not overlap input {in_name}")
    return out


def needed(arr, name: str, what: str):
    if arr is None:
        raise ValueError(f"{name} is required for {what}")
    return arr


def all_finite(arr: np.ndarray) -> bool:
    """True when no element of the float array is NaN or infinite, without a full-size temporary.

    ``np.isfinite(arr).all()`` allocates a bool array as large as ``arr`` (45 MiB for MNIST). A
    float64-accumulated sum is one buffered pass: NaN or infinity anywhere makes it non-finite,
    and finite float32 values cannot overflow it. Only when the sum is not finite (or float64
    values overflowed it) are the rows checked exactly, a slice of about 1 MiB at a time.
    """
    with np.errstate(over="ignore", invalid="ignore"):  # an overflowing sum only means: look closer
        total = np.sum(arr, dtype=np.float64) if arr.size else 0.0
    if np.isfinite(total):
        return True
    flat = arr.reshape(len(arr), -1) if arr.ndim > 1 else arr.reshape(-1, 1)
    rows = max(1, (1 << 20) // max(1, flat.shape[1] * arr.itemsize))
    return all(np.isfinite(flat[i:i + rows]).all() for i in range(0, len(flat), rows))
