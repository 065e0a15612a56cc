"""Benchmark fixtures: backends that import, a warm-up helper, seeded data.

Benchmarks are not tests: `pytest` (testpaths = tests) never collects this folder. Run them
with `bash bench/run.sh`, which writes BENCHMARKS.md. Each benchmark also checks its result
against NumPy, so `pytest bench --benchmark-disable` doubles as a quick correctness run.
"""

import numpy as np
import pytest

from fastmlp.backends import available_backends, get_backend
from fastmlp.benchmarks.configs import aligned  # noqa: F401  (64-byte aligned operands; shared with `fastmlp bench`)

BACKENDS = available_backends()


@pytest.fixture(params=BACKENDS, ids=BACKENDS)
def backend(request):
    return get_backend(request.param)


@pytest.fixture
def rng():
    return np.random.default_rng(0)
