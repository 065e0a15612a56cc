"""Backend registry: one kernel API, three implementations.

    "numpy"  backends/numpy.py  the oracle and textbook (always available)
    "numba"  backends/numba.py  the same functions compiled by Numba (needs the numba extra)
    "cpp"    backends/cpp.py    thin wrappers over the C++ core fastmlp._core

Every backend module defines every name in KERNEL_API with the same signature and docstring
(tests/test_api_mirror.py holds them to it).
"""

from __future__ import annotations

import importlib

from .network import Network, OptimizerConfig, ScheduleConfig

KERNEL_API = (
    "matmul",
    "dense_forward",
    "dense_backward",
    "activation_forward",
    "activation_backward",
    "loss_forward_backward",
    "sgd_step",
    "adam_step",
    "rmsprop_step",
    "scheduled_lr",
    "dropout_mask",
    "train_step",
    "train_epoch",
)

BACKENDS = ("cpp", "numba", "numpy")

_import_errors: dict = {}


def get_backend(name: str = "cpp"):
    """The backend module called ``name``; ImportError says why one cannot be loaded."""
    if not isinstance(name, str) or name not in BACKENDS:
        raise ValueError(f"backend {name!r} is unknown; choose one of {', '.join(BACKENDS)}")
    try:
        return importlib.import_module(f"{__name__}.{name}")
    except ImportError as exc:
        _import_errors[name] = exc
        raise ImportError(f"backend {name!r} is not available: {exc}") from exc


def available_backends() -> list:
    """Names of the backends that import on this machine, fastest first."""
    names = []
    for name in BACKENDS:
        try:
            get_backend(name)
        except ImportError:
            continue
        names.append(name)
    return names


__all__ = ["KERNEL_API", "BACKENDS", "Network", "OptimizerConfig", "ScheduleConfig", "get_backend", "available_backends"]
