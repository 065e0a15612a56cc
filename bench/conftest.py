"""Benchmark fixtures: backends that import, a warm-up helper, seeded data.

Benchmarks are not tests: `pytest` (testpaths = tests) never collects this folder. Run them
with `bash bench/run.sh`, which writes BENCHMARKS.md. Each benchmark also checks its result
against NumPy, so `pytest bench --benchmark-disable` doubles as a quick correctness run.
"""

import numpy as np
import pytest

from fastmlp.backends import available_backends, get_backend

BACKENDS = available_backends()


@pytest.fixture(params=BACKENDS, ids=BACKENDS)
def backend(request):
    return get_backend(request.param)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def aligned(shape, dtype, rng):
    """A C-contiguous random array on a 64-byte boundary (NumPy only promises 16; the peer
    measurements in PEERS.md show unaligned operands making timings bimodal)."""
    n = int(np.prod(shape))
    itemsize = np.dtype(dtype).itemsize
    raw = np.empty(n * itemsize + 64, np.uint8)
    offset = (-raw.ctypes.data) % 64
    arr = raw[offset:offset + n * itemsize].view(dtype).reshape(shape)
    arr[...] = rng.standard_normal(shape)
    return arr
