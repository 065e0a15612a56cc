"""Shared fixtures for the kernel tests: the `backend` parametrization, a seeded `rng`, the
NumPy `oracle`, and the hypothesis profiles.

`backend` runs a test once per backend that imports on this machine (ids are the names), so a
missing Numba or an unbuilt C++ core shrinks the run instead of erroring. That shrinking must not
hide a broken build: with CI set, tests/test_api_mirror.py::test_all_backends_present fails
unless "cpp" and "numba" both import.
"""

from __future__ import annotations

import os
import signal
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

from fastmlp import backends as _backends

AVAILABLE = _backends.available_backends()

# "ci": few examples, derandomized (same examples every run, so CI never flakes on a new draw),
# no deadline (a Numba JIT compile or the C++ thread pool's first start takes far longer than
# hypothesis' default 200 ms). "dev" explores more and randomizes; pick it with
# HYPOTHESIS_PROFILE=dev.
settings.register_profile(
    "ci", max_examples=30, deadline=None, derandomize=True, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile(
    "dev", max_examples=200, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# A test run started as a shell's background job (`pytest &`) inherits an ignored SIGINT, and
# Python then leaves it ignored: the Ctrl-C tests (in process, and their child processes, which
# inherit the ignore) would see no KeyboardInterrupt. Give the run Python's usual handler.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def pytest_report_header(config):
    missing = [n for n in _backends.BACKENDS if n not in AVAILABLE]
    why = "; ".join(f"{n}: {_backends._import_errors.get(n)}" for n in missing)
    return f"fastmlp backends: {', '.join(AVAILABLE)}" + (f" (missing {why})" if missing else "")


@pytest.fixture(params=AVAILABLE, ids=AVAILABLE)
def backend(request):
    """The backend module (fastmlp.backends.<name>); `backend.__name__` ends with the name."""
    return _backends.get_backend(request.param)


@pytest.fixture(scope="session")
def oracle():
    """The NumPy backend, run in float64 on upcast inputs as the reference."""
    return _backends.get_backend("numpy")


@pytest.fixture
def rng(request):
    """A generator seeded from the test's node id: reproducible per test, different across tests."""
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))


def backend_name(module) -> str:
    return module.__name__.rsplit(".", 1)[-1]
