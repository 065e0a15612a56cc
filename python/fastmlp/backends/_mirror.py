"""How the Numba and C++ backends stay mirrors of the NumPy oracle."""

import functools
import inspect


def mirror(oracle_fn):
    """Decorator: give a backend function the oracle's name and docstring, and refuse (at import)
    a signature that differs from the oracle's, so the three backends cannot drift apart."""

    def wrap(fn):
        if inspect.signature(fn) != inspect.signature(oracle_fn):
            raise TypeError(f"{fn.__module__}.{fn.__name__} signature differs from the NumPy oracle's")
        functools.update_wrapper(fn, oracle_fn, assigned=("__name__", "__qualname__", "__doc__"), updated=())
        return fn

    return wrap
