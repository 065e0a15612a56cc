"""matmul of each backend beside NumPy's own `@` (OpenBLAS), on the shapes an MLP uses.

Group = one shape and dtype; the peer "numpy@" runs in the same group, so BENCHMARKS.md can
quote ratios from one run. Shapes (M x K x N): forward x @ w, dW = x.T @ grad_z (trans_a on
the F-ordered view) and dX = grad_z @ w.T (trans_b).
"""

import numpy as np
import pytest

from conftest import BACKENDS, aligned

SHAPES = {
    "sq32": (32, 32, 32, False, False),
    "sq64": (64, 64, 64, False, False),
    "sq128": (128, 128, 128, False, False),
    "sq256": (256, 256, 256, False, False),
    "sq512": (512, 512, 512, False, False),
    "fwd 64x784x256": (64, 784, 256, False, False),
    "fwd 256x784x512": (256, 784, 512, False, False),
    "fwd 32x128x128": (32, 128, 128, False, False),
    "fwd 128x256x256": (128, 256, 256, False, False),
    "dW (784,64)@(64,256)": (784, 64, 256, True, False),
    "dX (64,256)@(256,784)": (64, 256, 784, False, True),
}
# float32 on every shape, float64 on the small ones (the <= 128 target) and two larger ones;
# bench/gemm_ratios.py runs the whole list in both dtypes.
CASES = [(shape, "float32") for shape in SHAPES] + [
    (shape, "float64") for shape in ("sq32", "sq64", "sq128", "fwd 32x128x128", "sq256", "fwd 64x784x256")]
PATHS = ["numpy@"] + [b for b in BACKENDS if b != "numpy"]  # the numpy backend's matmul *is* @


def operands(m, k, n, trans_a, trans_b, dtype, rng):
    a = aligned((k, m) if trans_a else (m, k), dtype, rng)
    b = aligned((n, k) if trans_b else (k, n), dtype, rng)
    return a, b, aligned((m, n), dtype, rng)


@pytest.mark.parametrize("shape, dtype", CASES)
@pytest.mark.parametrize("path", PATHS)
def test_matmul(benchmark, path, shape, dtype, rng):
    m, k, n, trans_a, trans_b = SHAPES[shape]
    a, b, out = operands(m, k, n, trans_a, trans_b, dtype, rng)
    op_a, op_b = (a.T if trans_a else a), (b.T if trans_b else b)
    benchmark.group = f"matmul {shape} {dtype}"
    benchmark.extra_info["flops"] = 2 * m * n * k
    if path == "numpy@":
        benchmark(np.matmul, op_a, op_b, out=out)
    else:
        from fastmlp.backends import get_backend

        kernel = get_backend(path).matmul
        kernel(a, b, trans_a=trans_a, trans_b=trans_b, out=out)  # warm-up (JIT compile)
        benchmark(kernel, a, b, trans_a=trans_a, trans_b=trans_b, out=out)
    expected = op_a.astype(np.float64) @ op_b.astype(np.float64)
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-3 * np.abs(expected).max())
