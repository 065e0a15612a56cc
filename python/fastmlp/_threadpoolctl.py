"""threadpoolctl support: ``threadpoolctl.threadpool_limits`` limits fastmlp's C++ pool too.

threadpoolctl walks the shared libraries loaded in the process and asks each registered
``LibController`` class whether it handles one: by file-name prefix (fastmlp's extension is
``_core.<abi tag>.so``) and, since other packages also ship a ``_core`` module, by the C symbols
it must export (csrc/binding.cpp: ``fastmlp_get_num_threads``, ``fastmlp_set_num_threads``).
It then calls those through ctypes. ``threadpool_info()`` lists fastmlp with
``user_api == internal_api == "fastmlp"``; ``threadpool_limits(n)`` (all APIs) and
``threadpool_limits(n, user_api="fastmlp")`` set its thread count and restore it on exit.

Imported by fastmlp.runtime only when threadpoolctl is installed (this module imports it).
"""

from __future__ import annotations

import ctypes

import threadpoolctl


class FastmlpController(threadpoolctl.LibController):
    """threadpoolctl's handle on fastmlp's C++ thread pool (csrc/parallel/thread_pool.hpp)."""

    user_api = "fastmlp"
    internal_api = "fastmlp"
    filename_prefixes = ("_core",)
    check_symbols = ("fastmlp_get_num_threads", "fastmlp_set_num_threads")

    def _function(self, name):
        fn = getattr(self.dynlib, name, None)
        if fn is not None:
            fn.restype = ctypes.c_int
        return fn

    def get_num_threads(self):
        fn = self._function("fastmlp_get_num_threads")
        return None if fn is None else fn()

    def set_num_threads(self, num_threads):
        fn = self._function("fastmlp_set_num_threads")
        if fn is None:
            return None
        if isinstance(num_threads, bool) or not isinstance(num_threads, int) or num_threads < 1:
            raise ValueError(f"num_threads must be an int >= 1, got {num_threads!r}")
        from .checks import MAX_THREADS

        # ctypes.c_int would wrap 2**32 + 2 to 2 without a word; fastmlp never uses more anyway
        num_threads = min(num_threads, MAX_THREADS)
        if fn(ctypes.c_int(num_threads)) != 0:
            raise RuntimeError(f"fastmlp could not set num_threads to {num_threads} (the OS "
                               f"refused to start that many threads)")
        return num_threads

    def get_version(self):
        # The core has no version of its own: it ships inside the fastmlp package.
        from ._version import __version__

        return __version__


_registered = False


def register():
    """Register FastmlpController with threadpoolctl (idempotent)."""
    global _registered
    if not _registered:
        threadpoolctl.register(FastmlpController)
        _registered = True
