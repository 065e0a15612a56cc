"""The C++ thread pool from Python (csrc/parallel/thread_pool.hpp, docs/threads.md).

- threadpoolctl sees and limits it (python/fastmlp/_threadpoolctl.py); these tests skip only
  when threadpoolctl is not installed (the `test` extra installs it);
- the default thread count: FASTMLP_NUM_THREADS, else OMP_NUM_THREADS, else the CPUs in the
  affinity mask (each case in a fresh interpreter, since the first call decides);
- a child forked after the pool started runs a threaded GEMM without hanging;
- 4 Python threads in cpp.matmul at once (one gets the pool, the others run serially) all get
  the bits of a serial run;
- a bad thread count is an error that names num_threads;
- an idle process sleeps: the workers' spin after a job is bounded.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

cpp = pytest.importorskip("fastmlp.backends.cpp", reason="the C++ core is not built")
import fastmlp as fm  # noqa: E402

try:
    import threadpoolctl
except ImportError:  # pragma: no cover - the test extra installs it
    threadpoolctl = None
needs_threadpoolctl = pytest.mark.skipif(threadpoolctl is None,
                                         reason="threadpoolctl is not installed")


@pytest.fixture
def threads():
    """Restore the thread count and the GEMM split threshold after the test."""
    before, threshold = cpp.get_num_threads(), cpp.parallel_min_macs()
    try:
        yield
    finally:
        cpp.set_num_threads(before)
        cpp.set_parallel_min_macs(threshold)


def operands(seed=0, m=97, k=131, n=113, dtype=np.float64):
    """Exact small integers: every result is exact, so any order gives the same bits."""
    rng = np.random.default_rng(seed)
    return (rng.integers(-3, 4, (m, k)).astype(dtype), rng.integers(-3, 4, (k, n)).astype(dtype))


# --- threadpoolctl ----------------------------------------------------------------------------


@needs_threadpoolctl
def test_threadpool_info_lists_fastmlp(threads):
    cpp.set_num_threads(3)
    found = [i for i in threadpoolctl.threadpool_info() if i["user_api"] == "fastmlp"]
    assert len(found) == 1, threadpoolctl.threadpool_info()
    info = found[0]
    assert info["internal_api"] == "fastmlp"
    assert info["num_threads"] == 3
    assert info["version"] == fm.__version__
    assert os.path.realpath(info["filepath"]) == os.path.realpath(cpp._core.__file__)


@needs_threadpoolctl
@pytest.mark.parametrize("user_api", [None, "fastmlp"])
def test_threadpool_limits_limits_and_restores(threads, user_api):
    cpp.set_num_threads(2)
    with threadpoolctl.threadpool_limits(1, user_api=user_api):
        assert fm.get_num_threads() == 1
        a, b = operands()
        np.testing.assert_array_equal(cpp.matmul(a, b), a @ b)
    assert fm.get_num_threads() == 2
    with threadpoolctl.threadpool_limits(limits={"fastmlp": 3}):
        assert fm.get_num_threads() == 3
    assert fm.get_num_threads() == 2


@needs_threadpoolctl
def test_threadpool_limits_blas_only_leaves_fastmlp(threads):
    cpp.set_num_threads(2)
    with threadpoolctl.threadpool_limits(1, user_api="blas"):
        assert fm.get_num_threads() == 2


# --- defaults from the environment (fresh interpreters) ---------------------------------------


def _threads_in_child(env_extra, cpus=None):
    """fastmlp.get_num_threads() in a new interpreter with env_extra set (None: unset) and, if
    cpus is given, the affinity mask narrowed to those CPUs before fastmlp is imported."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("FASTMLP_NUM_THREADS", "OMP_NUM_THREADS")}
    env.update({k: v for k, v in env_extra.items() if v is not None})
    code = textwrap.dedent(f"""
        import os
        if {cpus!r} is not None:
            os.sched_setaffinity(0, {cpus!r})
        import fastmlp
        print(fastmlp.get_num_threads(), len(os.sched_getaffinity(0)))
    """)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    n, n_cpus = out.stdout.split()[-2:]
    return int(n), int(n_cpus)


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs os.sched_setaffinity")
def test_default_threads_precedence():
    # The affinity mask, not the machine's CPU count.
    n, n_cpus = _threads_in_child({})
    assert n == n_cpus
    n, n_cpus = _threads_in_child({}, cpus={min(os.sched_getaffinity(0))})
    assert (n, n_cpus) == (1, 1)
    # OMP_NUM_THREADS beats the mask (its first entry when it is a list), FASTMLP_ beats both.
    assert _threads_in_child({"OMP_NUM_THREADS": "3"})[0] == 3
    assert _threads_in_child({"OMP_NUM_THREADS": "5,2"})[0] == 5
    assert _threads_in_child({"OMP_NUM_THREADS": "3", "FASTMLP_NUM_THREADS": "4"})[0] == 4
    assert _threads_in_child({"FASTMLP_NUM_THREADS": "4"}, cpus={min(os.sched_getaffinity(0))})[0] == 4
    # An unusable value is ignored, and the next source decides.
    assert _threads_in_child({"OMP_NUM_THREADS": "3", "FASTMLP_NUM_THREADS": "zero"})[0] == 3
    assert _threads_in_child({"OMP_NUM_THREADS": "0"}, cpus={min(os.sched_getaffinity(0))})[0] == 1


# --- fork, concurrency, bad input ---------------------------------------------------------


def _gemm_in_child(queue):
    a, b = operands(1)
    cpp.set_parallel_min_macs(0)
    cpp.set_num_threads(2)
    queue.put(cpp.matmul(a, b).tobytes())


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork")
def test_forked_child_runs_threaded_gemm(threads):
    cpp.set_parallel_min_macs(0)
    cpp.set_num_threads(2)
    a, b = operands(1)
    expected = cpp.matmul(a, b)  # the pool now exists in the parent, workers spinning or asleep
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_gemm_in_child, args=(queue,))
    child.start()
    try:
        result = queue.get(timeout=60)  # a pool copied half-alive into the child would hang
    finally:
        child.join(timeout=60)
        if child.is_alive():
            child.kill()
    assert child.exitcode == 0
    assert result == expected.tobytes()
    np.testing.assert_array_equal(cpp.matmul(a, b), expected)  # the parent's pool still works


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_concurrent_python_threads_get_serial_results(threads, dtype):
    cpp.set_parallel_min_macs(0)  # every call wants the pool; only one gets it at a time
    cpp.set_num_threads(1)
    cases = [operands(seed, 61 + 7 * seed, 89, 53 + 5 * seed, dtype) for seed in range(4)]
    expected = [cpp.matmul(a, b) for a, b in cases]
    cpp.set_num_threads(2)
    results, errors = [None] * 4, []
    start = threading.Barrier(4)

    def work(i):
        try:
            start.wait()
            a, b = cases[i]
            for _ in range(50):
                out = cpp.matmul(a, b)
                if not np.array_equal(out, expected[i]):
                    results[i] = out
                    return
            results[i] = out
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    pool = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in pool), "a thread hung in cpp.matmul"
    assert not errors
    for got, want in zip(results, expected):
        assert got.tobytes() == want.tobytes()


@pytest.mark.parametrize("bad", [0, -1, "x", 1.5, True, None])
def test_bad_num_threads_names_it(threads, bad):
    with pytest.raises((ValueError, TypeError), match="num_threads"):
        cpp.set_num_threads(bad)
    with pytest.raises((ValueError, TypeError), match="num_threads"):
        fm.set_num_threads(bad)
    if isinstance(bad, int) and not isinstance(bad, bool):  # the C++ check, under the wrapper's
        with pytest.raises(ValueError, match="num_threads"):
            cpp._core.set_num_threads(bad)


@needs_threadpoolctl
@pytest.mark.parametrize("bad", [0, -1])
def test_threadpoolctl_bad_limit_names_it(threads, bad):
    controller = threadpoolctl.ThreadpoolController().select(user_api="fastmlp")
    (lib,) = controller.lib_controllers
    with pytest.raises(ValueError, match="num_threads"):
        lib.set_num_threads(bad)
    assert lib.get_num_threads() == cpp.get_num_threads() >= 1


# --- an idle process sleeps -------------------------------------------------------------------

_IDLE_CHILD = """
import os, threading, time
import numpy as np
import fastmlp.backends.cpp as cpp

def cpu_seconds():  # user + system CPU seconds of every thread but this one
    me, tick, total = str(threading.get_native_id()), os.sysconf("SC_CLK_TCK"), 0
    for tid in os.listdir("/proc/self/task"):
        if tid != me:
            with open(f"/proc/self/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / tick

cpp.set_num_threads(2)
a = np.ones((256, 256))
for _ in range(50):  # a burst of threaded GEMMs, as in training: the workers end up spinning
    cpp.matmul(a, a)
time.sleep(0.05)
before = cpu_seconds()
time.sleep(1.0)
print(cpu_seconds() - before)
"""


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs Linux /proc")
def test_idle_workers_sleep():
    """After a burst of threaded GEMMs the workers spin only briefly (tens of microseconds),
    then block: over the next second the pool's threads use ~0 % CPU. Measured in a fresh
    interpreter so no other library's threads count (allow 3 ticks of accounting noise)."""
    env = {k: v for k, v in os.environ.items() if k not in ("FASTMLP_NUM_THREADS", "OMP_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-c", _IDLE_CHILD], env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    used = float(out.stdout.split()[-1])
    assert used <= 0.03, f"the idle workers used {used:.2f} s of CPU in 1 s"
