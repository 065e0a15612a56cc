"""The C++ core's process-wide controls, which the Numba and NumPy backends do not have: kernel
threads, the instruction set of the GEMM micro-kernels, the FMA peak probe and what
`fastmlp.info()` reports. Not part of KERNEL_API; `backends/cpp.py` re-exports every name.
"""

from __future__ import annotations

import os
import warnings

import numpy as np

from .. import _core
from .. import checks as check

# --- threads --------------------------------------------------------------------------------


def set_num_threads(n):
    """Use ``n`` threads (n >= 1) in the C++ kernels from the next call on. Starts them now: a
    process or memory limit that allows fewer raises RuntimeError and keeps the old count."""
    n = check.num_threads(n)
    check.warn_if_oversubscribed(n)
    _core.set_num_threads(n)


def get_num_threads():
    """Threads the C++ kernels use: set_num_threads, else FASTMLP_NUM_THREADS, else
    OMP_NUM_THREADS, else the CPUs this process may run on."""
    return _core.get_num_threads()


def build_info():
    """How the C++ core was built: its GEMM kernel, compiler and flags."""
    return _core.build_info()


# --- CPU dispatch of the GEMM micro-kernels (not part of KERNEL_API) -------------------------


def available_isas():
    """Instruction sets whose GEMM micro-kernels this CPU can run, best first ("generic" last)."""
    return list(_core.available_isas())


def isa():
    """The instruction set the GEMM kernels use: FASTMLP_ISA if set, else the best available.
    A bad FASTMLP_ISA raises here and in every kernel call: ValueError for an unknown name,
    RuntimeError for one this CPU lacks."""
    return _core.isa()


def set_isa(name):
    """Switch the GEMM kernels to instruction set ``name`` (one of available_isas()) from the
    next call on; for tests and benchmarks. Not thread-safe with respect to kernels running in
    other threads: call it while no other thread is inside a fastmlp kernel."""
    if not isinstance(name, str):
        raise TypeError(f"isa name must be a str, got {type(name).__name__}")
    _core.set_isa(name)


def fma_peak(dtype="float32", isa=None, seconds=0.05, runs=3):
    """GFLOP/s of one core's multiply-adds under instruction set ``isa`` (default: the active
    one), in float32 or float64: 12 independent FMA chains on whole vectors, the best of
    ``runs`` runs of ``seconds`` of thread CPU time each. What "% of peak" in fastmlp's
    benchmarks divides by."""
    dt = np.dtype(dtype)
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"dtype must be float32 or float64, got {dt}")
    if isa is not None and not isinstance(isa, str):
        raise TypeError(f"isa must be a str or None, got {type(isa).__name__}")
    return _core.fma_peak(isa or "", dt == np.float64, float(seconds), check.integer(runs, "runs", low=1))


def parallel_min_macs():
    """Multiply-adds (m*n*k) below which a GEMM runs on one thread (waking the pool costs more)."""
    return _core.parallel_min_macs()


def set_parallel_min_macs(macs):
    """Change that threshold (tests use 0 to push small shapes through the threaded split)."""
    _core.set_parallel_min_macs(check.integer(macs, "macs", low=0))


def core_info():
    """The C++ core as fastmlp.info() reports it under "core": active ISA, the caches detected
    and the GEMM blocking derived from them (docs/gemm.md), the ISAs this CPU supports, kernel
    threads, and how the core was compiled."""
    info = {"available_isas": available_isas(), "num_threads": get_num_threads(),
            "parallel_min_macs": parallel_min_macs(),
            "build_info": build_info()}
    try:
        kernels = dict(_core.kernel_info())
    except (ValueError, RuntimeError) as exc:  # a bad FASTMLP_ISA: report it, do not crash info()
        info["isa"] = None
        info["isa_error"] = str(exc)
    else:
        info["isa"] = kernels.pop("isa")
        for dtype in ("float32", "float64"):  # C++'s "no limit" (INT64_MAX) as None
            if kernels[dtype]["pack_a_bytes"] >= 2**62:
                kernels[dtype]["pack_a_bytes"] = None
        info["kernels"] = kernels
    return info


def _warn_about_env_threads():
    """The C++ core ignores a FASTMLP_NUM_THREADS it cannot read and caps it at MAX_THREADS; say so
    once, at import, rather than silently, and warn about a count far above the CPUs."""
    raw = os.environ.get("FASTMLP_NUM_THREADS", "")
    if not raw:  # then OMP_NUM_THREADS decides (a batch system may set it for a whole node)
        omp = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
        if omp.isdigit() and int(omp) >= 1:
            check.warn_if_oversubscribed(min(int(omp), check.MAX_THREADS), "OMP_NUM_THREADS")
        return
    try:
        n = int(raw.split(",")[0])  # the core reads a list's first entry, as for OMP_NUM_THREADS
        if n < 1:
            raise ValueError
    except ValueError:
        warnings.warn(f"FASTMLP_NUM_THREADS={raw!r} is not a positive integer; ignored",
                      RuntimeWarning, stacklevel=2)
        return
    if n > check.MAX_THREADS:
        warnings.warn(f"FASTMLP_NUM_THREADS={n} is above {check.MAX_THREADS}; {check.MAX_THREADS} "
                      f"threads are used", RuntimeWarning, stacklevel=2)
    check.warn_if_oversubscribed(min(n, check.MAX_THREADS), "FASTMLP_NUM_THREADS")


_warn_about_env_threads()
