"""Checks on thread counts: the cap set_num_threads accepts and the warning for far more
threads than usable CPUs."""

from __future__ import annotations

import numbers


# The most threads set_num_threads accepts: far above any CPU's core count, far below what would
# exhaust the process's thread limit when the pool starts them.
MAX_THREADS = 1024


# A thread count above this many times the usable CPUs gets a RuntimeWarning: the pool's workers
# spin while they wait, so oversubscribed cores slow an epoch down by tens of times.
OVERSUBSCRIBED = 4


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    import os

    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def warn_if_oversubscribed(n: int, source: str = "num_threads") -> None:
    """RuntimeWarning when ``n`` threads are far more than the CPUs this process may use."""
    import warnings

    cpus = usable_cpus()
    if n > OVERSUBSCRIBED * cpus:
        warnings.warn(f"{source}={n} is more than {OVERSUBSCRIBED}x the {cpus} usable CPU(s); the "
                      f"thread pool's workers compete for the cores and training gets many times "
                      f"slower, not faster", RuntimeWarning, stacklevel=3)


def num_threads(n, name: str = "num_threads") -> int:
    """An int in [1, MAX_THREADS]."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(n).__name__}")
    if n < 1:
        raise ValueError(f"{name} must be >= 1, got {n!r}")
    if n > MAX_THREADS:
        raise ValueError(f"{name} must be <= {MAX_THREADS}, got {n!r}")
    return int(n)
