"""The thread pool under a process or memory limit: it starts all its threads or none,
raises an error that names threads, restores the caller's signal mask, and never aborts; a count
far above the CPUs is warned about. Limits are set in a child process (RLIMIT_AS), never here."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import warnings

import pytest

cpp = pytest.importorskip("fastmlp.backends.cpp", reason="the C++ core is not built")

TIMEOUT = 120


def _child(code: str, env=None) -> subprocess.CompletedProcess:
    # the thread variables of this process must not leak into the child's expectations
    full = {k: v for k, v in os.environ.items() if k not in ("FASTMLP_NUM_THREADS", "OMP_NUM_THREADS")}
    full.update(env or {})
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=TIMEOUT, env=full)


# Caps the address space just above what the child already maps, so even one 8 MiB thread stack
# cannot be mapped: the first worker fails to start.
TIGHT = """
import os, resource, signal
import numpy as np
import fastmlp as fm
cpp = fm.get_backend("cpp")
a = np.ones((300, 300), np.float32)
cpp.set_parallel_min_macs(0)
used = int(open("/proc/self/statm").read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
resource.setrlimit(resource.RLIMIT_AS, (used + (4 << 20),) * 2)
"""


def test_first_worker_failing_raises_naming_threads_and_restores_the_signal_mask():
    out = _child(TIGHT + """
try:
    cpp.set_num_threads(3)
except RuntimeError as exc:
    print("ERR", exc)
print("THREADS", cpp.get_num_threads())
print("MASK", sorted(signal.pthread_sigmask(signal.SIG_BLOCK, [])))
cpp.set_num_threads(1)
print("SUM", float(cpp.matmul(a, a).sum()))
""")
    assert out.returncode == 0, out.stderr
    assert "ERR could not start thread 2 of 3" in out.stdout
    assert "set_num_threads" in out.stdout
    assert "MASK []" in out.stdout  # Ctrl-C and SIGTERM still arrive
    assert "THREADS 3" not in out.stdout  # the failed count is not kept
    assert "SUM 27000000.0" in out.stdout


def test_a_limit_hit_midway_joins_the_started_threads_instead_of_aborting():
    # 1024 threads of 8 MiB stacks do not fit in 3 GiB: some start, a later one fails
    out = _child("""
import resource, signal
resource.setrlimit(resource.RLIMIT_AS, (3 << 30,) * 2)
import fastmlp as fm
try:
    fm.get_backend("cpp").set_num_threads(1024)
except RuntimeError as exc:
    print("ERR", exc)
print("MASK", sorted(signal.pthread_sigmask(signal.SIG_BLOCK, [])))
""")
    assert out.returncode == 0, out.stderr  # was: abort, "terminate called without an active exception"
    assert "ERR could not start thread" in out.stdout and "of 1024" in out.stdout
    assert "MASK []" in out.stdout


def test_the_environment_variable_under_a_limit_fails_the_call_clearly():
    out = _child("""
import resource
resource.setrlimit(resource.RLIMIT_AS, (3 << 30,) * 2)
import warnings
warnings.simplefilter("ignore")
import numpy as np
import fastmlp as fm
cpp = fm.get_backend("cpp")
cpp.set_parallel_min_macs(0)
try:
    cpp.matmul(np.ones((64, 64)), np.ones((64, 64)))
except RuntimeError as exc:
    print("ERR", exc)
""", env={"FASTMLP_NUM_THREADS": "1024"})
    assert out.returncode == 0, out.stderr
    assert "ERR could not start thread" in out.stdout and "FASTMLP_NUM_THREADS" in out.stdout


def test_a_count_far_above_the_cpus_warns():
    before = cpp.get_num_threads()
    try:
        n = cpp.check.OVERSUBSCRIBED * cpp.check.usable_cpus() + 1
        with pytest.warns(RuntimeWarning, match=r"num_threads=\d+ is more than 4x"):
            cpp.set_num_threads(n)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            cpp.set_num_threads(cpp.check.usable_cpus())  # no warning at the CPU count
    finally:
        cpp.set_num_threads(before)


@pytest.mark.parametrize("value,message", [("abc", "not a positive integer"),
                                           ("5000", "above 1024"),
                                           ("1000", "more than 4x")])
def test_the_environment_variable_is_not_ignored_silently(value, message):
    out = _child("import fastmlp; fastmlp.get_num_threads()", env={"FASTMLP_NUM_THREADS": value})
    assert out.returncode == 0
    assert "RuntimeWarning" in out.stderr and message in out.stderr


def test_the_core_refuses_more_than_max_threads_whoever_calls_it():
    # the Python checks stop this first; the core must too (threadpoolctl calls it through ctypes)
    with pytest.raises(ValueError, match="num_threads must be <= 1024, got 5000"):
        cpp._core.set_num_threads(5000)
    import ctypes

    hook = ctypes.CDLL(cpp._core.__file__).fastmlp_set_num_threads
    assert hook(ctypes.c_int(5000)) == -1
    assert cpp.get_num_threads() <= 1024


def test_threadpoolctl_limits_above_the_cap_are_capped_not_wrapped():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from fastmlp import _threadpoolctl

    before = cpp.get_num_threads()
    controller = next((c for c in threadpoolctl.ThreadpoolController().lib_controllers
                       if isinstance(c, _threadpoolctl.FastmlpController)), None)
    if controller is None:
        pytest.skip("fastmlp's threadpoolctl controller is not registered")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # 2**32 + 2 would become 2 through ctypes.c_int; the cap keeps it a large count
            assert controller.set_num_threads(2**32 + 2) == 1024
            assert cpp.get_num_threads() == 1024
    except RuntimeError as exc:  # a machine whose limits refuse 1024 threads: a clear error
        assert "could not set num_threads to 1024" in str(exc)
    finally:
        cpp.set_num_threads(before)


def test_omp_num_threads_far_above_the_cpus_warns_too():
    env = {"OMP_NUM_THREADS": "1000"}
    out = _child("import fastmlp; fastmlp.get_num_threads()", env=env)
    assert out.returncode == 0
    assert "OMP_NUM_THREADS=1000 is more than 4x" in out.stderr
