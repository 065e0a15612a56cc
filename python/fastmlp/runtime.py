"""Process-wide settings and facts: the C++ thread count and `info()`.

The thread pool lives in the C++ core (the only state fastmlp keeps outside NumPy arrays);
the NumPy and Numba backends run on the calling thread.
"""

from __future__ import annotations

import os
import platform
from importlib import metadata
import sys

from . import checks as check
from ._version import __version__
from .backends import available_backends, get_backend


def set_num_threads(n: int) -> None:
    """Threads the C++ core uses for one GEMM (n >= 1); results are identical for any n."""
    n = check.num_threads(n)
    get_backend("cpp").set_num_threads(n)


def get_num_threads() -> int:
    """Threads the C++ core uses: FASTMLP_NUM_THREADS, else OMP_NUM_THREADS, else the usable CPUs."""
    return get_backend("cpp").get_num_threads()


def cpu_flags() -> list:
    """SIMD features of this CPU that matter to fastmlp, read from /proc/cpuinfo (Linux)."""
    wanted = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512dq")
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    have = set(line.split(":", 1)[1].split())
                    return [flag for flag in wanted if flag in have]
    except OSError:
        pass
    return []


def cpu_model() -> str | None:
    """The CPU's model name from /proc/cpuinfo, else what `platform` knows."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def info() -> dict:
    """Versions, available backends, threads and CPU features, as a dict."""
    import numpy

    out = {
        "fastmlp": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "numpy": numpy.__version__,
        "backends": available_backends(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu_flags": cpu_flags(),
    }
    for name, dist in (("numba", "numba"), ("torch", "torch"), ("sklearn", "scikit-learn")):
        try:  # read the installed version without importing (torch alone takes ~1.5 s)
            out[name] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[name] = None
    if "cpp" in out["backends"]:
        cpp = get_backend("cpp")
        out["num_threads"] = cpp.get_num_threads()
        core_info = getattr(cpp, "core_info", None)
        if callable(core_info):
            out["core"] = core_info()
    return out


# --- threadpoolctl ----------------------------------------------------------------------------
# With threadpoolctl installed, register fastmlp's controller so threadpool_limits(n) limits the
# C++ pool too (_threadpoolctl.py). Optional: without it nothing is imported.


def _register_threadpoolctl():
    import importlib.util

    if "threadpoolctl" not in sys.modules and importlib.util.find_spec("threadpoolctl") is None:
        return
    try:
        from . import _threadpoolctl
    except (ImportError, AttributeError):  # a broken or too old (< 3.3) threadpoolctl
        return
    try:
        _threadpoolctl.register()
    except Exception:  # never let an optional integration break importing fastmlp
        pass


_register_threadpoolctl()
