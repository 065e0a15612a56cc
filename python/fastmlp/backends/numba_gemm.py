"""The Numba backend's matrix multiply: a BLIS-style loop nest over packed panels.

Operands arrive as 1-D views over their memory plus element strides (see numba.py `_operand`),
so one compiled GEMM serves every layout, transposition and stride sign. ``beta == 0`` never
reads ``out``. Only the micro-kernel allows FMA contraction (``fastmath={"contract"}``): one
rounding per multiply-add as in BLAS, with NaN/Inf semantics and the summation order unchanged.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# --- GEMM blocking ----------------------------------------------------------------------------
# BLIS's loops around a micro-kernel: jc (NC columns of C) -> pc (KC of the inner dimension;
# op(b)'s KC x NC panel is packed into contiguous rows) -> ir (MR rows; op(a)'s MR x KC
# micro-panel is packed) -> micro-kernel: MR rows of C times the whole packed panel. BLIS's ic
# loop is not needed (each A micro-panel is packed right before use and stays in L1), and its
# jr loop is the micro-kernel's innermost j loop, which LLVM vectorises (zmm registers with
# AVX-512). Numba cannot hold an MR x NR tile of C in registers, so C is accumulated in memory
# (L1); speed comes from doing KU multiply-adds per load and store of an element of C and
# using each loaded element of B for MR rows. The B panel, KC*NC*8 = 512 KiB in float64,
# sits in L2. Measured on AVX-512: ~100 GFLOP/s float32, ~55 float64 on one core.
MR, KU = 2, 4  # the micro-kernel is written out for 2 rows of C and 4 steps of p per pass
KC, NC = 256, 256
PACK_NR = 16  # strip width of _pack_b


@njit(cache=True)
def _pack_a(a, a_off, rsa, csa, i0, mr, pc, kc, ap):
    # ap[i, p] = op(a)[i0 + i, pc + p] for i < mr; missing edge rows are zero
    for i in range(MR):
        if i < mr:
            row = a_off + (i0 + i) * rsa + pc * csa
            for p in range(kc):
                ap[i, p] = a[row + p * csa]
        else:
            for p in range(kc):
                ap[i, p] = 0


@njit(cache=True)
def _pack_b(b, b_off, rsb, csb, pc, kc, jc, nc, bp):
    # bp[p, j] = op(b)[pc + p, jc + j]: each row of the panel becomes contiguous. Copied in
    # strips of PACK_NR columns so that a transposed b (reads strided in j) touches only
    # PACK_NR cache lines per strip instead of one line per column of the panel.
    for j0 in range(0, nc, PACK_NR):
        j1 = min(j0 + PACK_NR, nc)
        for p in range(kc):
            row = b_off + (pc + p) * rsb + jc * csb
            for j in range(j0, j1):
                bp[p, j] = b[row + j * csb]


# fastmath={'contract'} only lets LLVM fuse each ``x + y * z`` into one FMA (a single rounding
# instead of two, as BLAS does); with no other fast-math flag the sum over p keeps its order
# and NaN/Inf/signed-zero semantics hold. Vectorising across the independent j is exact anyway.
@njit(cache=True, fastmath={"contract"})
def _micro_kernel(kc, nc, ap, bp, c0, c1):
    # c0[:nc] += ap[0, :kc] @ bp[:kc, :nc] and c1[:nc] += ap[1, :kc] @ bp[:kc, :nc], adding the
    # terms in p order. c0, c1 and the rows of bp are contiguous 1-D views indexed by j from
    # range(): LLVM sees unit-stride, non-negative indices and vectorises the j loops. (Numba
    # wraps negative indices, so an index such as ``off + j`` of unknown sign adds a compare
    # and select to every access, and that alone kept the old kernel scalar.)
    p_end = kc - kc % KU
    for p in range(0, p_end, KU):
        a00, a01, a02, a03 = ap[0, p], ap[0, p + 1], ap[0, p + 2], ap[0, p + 3]
        a10, a11, a12, a13 = ap[1, p], ap[1, p + 1], ap[1, p + 2], ap[1, p + 3]
        b0, b1, b2, b3 = bp[p], bp[p + 1], bp[p + 2], bp[p + 3]
        for j in range(nc):
            c0[j] = (((c0[j] + a00 * b0[j]) + a01 * b1[j]) + a02 * b2[j]) + a03 * b3[j]
            c1[j] = (((c1[j] + a10 * b0[j]) + a11 * b1[j]) + a12 * b2[j]) + a13 * b3[j]
    for p in range(p_end, kc):  # the last kc % KU steps one at a time
        a0, a1 = ap[0, p], ap[1, p]
        b0 = bp[p]
        for j in range(nc):
            c0[j] += a0 * b0[j]
            c1[j] += a1 * b0[j]


@njit(cache=True)
def gemm(k, a, a_off, rsa, csa, b, b_off, rsb, csb, c):
    """c = op(a) @ op(b) for C-contiguous c (m, n); c's old contents are never read.

    op(a)[i, p] is ``a[a_off + i*rsa + p*csa]`` of the 1-D array ``a`` (strides in elements, any
    sign): a transposed operand is the same memory with its two strides swapped. Likewise
    op(b)[p, j] is ``b[b_off + p*rsb + j*csb]``. One compiled variant serves every layout.
    """
    m, n = c.shape
    if m == 0 or n == 0:
        return
    if k == 0:
        c[:, :] = 0
        return
    ap = np.empty((MR, min(KC, k)), c.dtype)
    bp = np.empty((min(KC, k), min(NC, n)), c.dtype)
    spare = np.empty(min(NC, n), c.dtype)  # stands in for C's missing rows in an edge micro-panel
    for jc in range(0, n, NC):
        nc = min(NC, n - jc)
        for pc in range(0, k, KC):
            kc = min(KC, k - pc)
            _pack_b(b, b_off, rsb, csb, pc, kc, jc, nc, bp)
            for ir in range(0, m, MR):
                mr = min(MR, m - ir)
                _pack_a(a, a_off, rsa, csa, ir, mr, pc, kc, ap)
                c0 = c[ir, jc:jc + nc]
                c1 = c[ir + 1, jc:jc + nc] if mr == MR else spare[:nc]
                if pc == 0:  # the first pc block starts the sums: C is written, never read
                    c0[:] = 0
                    c1[:] = 0
                _micro_kernel(kc, nc, ap, bp, c0, c1)


@njit(cache=True)
def matmul(k, a, a_off, rsa, csa, b, b_off, rsb, csb, alpha, beta, out):
    """out = alpha * (op(a) @ op(b)) + beta * out (operands as in `gemm`); beta == 0 never reads out."""
    m, n = out.shape
    if beta == 0:
        gemm(k, a, a_off, rsa, csa, b, b_off, rsb, csb, out)
        if k:
            for i in range(m):
                for j in range(n):
                    out[i, j] = alpha * out[i, j]
        return
    product = np.empty_like(out)
    gemm(k, a, a_off, rsa, csa, b, b_off, rsb, csb, product)
    for i in range(m):
        for j in range(n):
            p = alpha * product[i, j] if k else product[i, j]
            out[i, j] = p + beta * out[i, j]


@njit(cache=True)
def gemm_c(a, trans_a, b, trans_b, c):
    """c = op(a) @ op(b) for C-contiguous 2-D a, b and c (the training path's operands)."""
    if trans_a:
        k, rsa, csa = a.shape[0], 1, a.shape[1]
    else:
        k, rsa, csa = a.shape[1], a.shape[1], 1
    if trans_b:
        rsb, csb = 1, b.shape[1]
    else:
        rsb, csb = b.shape[1], 1
    gemm(k, a.reshape(a.size), 0, rsa, csa, b.reshape(b.size), 0, rsb, csb, c)
