"""Numba's dense layer: numpy_unchecked.py dense_forward / dense_backward, compiled.

The products go through numba_gemm.py (never NumPy's BLAS); the bias gradient sums rows in
NumPy's order (`numba_sums.column_sums`).
"""

from __future__ import annotations

from numba import njit

from .numba_activations import activation_backward, activation_forward
from .numba_gemm import gemm_c
from .numba_sums import column_sums


@njit(cache=True)
def dense_forward(x, w, b, code, z, a):
    """z = x @ w + b; a = f(z)."""
    gemm_c(x, False, w, False, z)
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            z[i, j] += b[j]
    activation_forward(code, z, a)


@njit(cache=True)
def dense_backward(x, w, z, a, grad_a, code, grad_z, grad_x, grad_w, grad_b, want_grad_x):
    """grad_z = f'(z) grad_a; grad_w = x.T @ grad_z; grad_b = sum of grad_z's rows; grad_x = grad_z @ w.T."""
    activation_backward(code, z, a, grad_a, grad_z)
    gemm_c(x, True, grad_z, False, grad_w)
    column_sums(grad_z, grad_b)
    if want_grad_x:
        gemm_c(grad_z, False, w, True, grad_x)
