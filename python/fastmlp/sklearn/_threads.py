"""How many C++ threads one fit uses, so that parallel fits do not oversubscribe the machine.

``n_threads`` given: exactly that many. None: inside a dask.distributed worker, one per fit
(the worker already runs one task per core); inside a joblib/loky worker the C++ pool has read
OMP_NUM_THREADS, which joblib sets to the worker's share of the cores, and joblib's
``threadpool_limits`` reach the pool through fastmlp's threadpoolctl controller; elsewhere the
pool's own default (every usable core).
"""

from __future__ import annotations

import contextlib
import sys


def _in_dask_worker() -> bool:
    if "distributed" not in sys.modules:
        return False
    try:
        from distributed import get_worker

        get_worker()
    except (ImportError, ValueError):
        return False
    return True


@contextlib.contextmanager
def thread_limit(n_threads, backend_name):
    """Run the body with the C++ pool at ``n_threads`` (None: see the module doc), then restore."""
    if backend_name != "cpp":
        yield
        return
    from ..backends import get_backend

    cpp = get_backend("cpp")
    if n_threads is None:
        if _in_dask_worker():
            # the worker process is dedicated to tasks like this one: set, never restore, so two
            # tasks on one multi-threaded worker cannot restore each other's count mid-fit
            cpp.set_num_threads(1)
        yield
        return
    wanted = n_threads
    before = cpp.get_num_threads()
    cpp.set_num_threads(int(wanted))
    try:
        yield
    finally:
        cpp.set_num_threads(before)
