"""Backend registry: one kernel API, three implementations.

    "numpy"  backends/numpy.py  the oracle and textbook (always available)
    "numba"  backends/numba.py  the same functions compiled by Numba (needs the numba extra)
    "cpp"    backends/cpp.py    thin wrappers over the C++ core fastmlp._core

Every backend module defines every name in KERNEL_API with the same signature and docstring
(tests/test_api_mirror.py holds them to it). Numba and C++ split their kernels by topic alike:
numba_activations / nn/activations, numba_dense / nn/dense, numba_losses / nn/losses,
numba_optim / nn/optim, numba_schedule / nn/schedule, numba_dropout / nn/dropout, numba_train /
nn/train, with numba.py and cpp.py the checked faces as numpy.py is for numpy_unchecked.py.
cpp_runtime.py holds what only the C++ core has (threads, instruction sets, its facts), outside
KERNEL_API and re-exported by cpp.py.

What "mirror" means for each path, against the oracle. A: same algorithm; O: also the same
elementwise operations in the same order, each rounded in the array's dtype; S: also the same
summation order (NumPy's pairwise sums). The last column: what a test holds bitwise equal.

    function                 numba                cpp                       bitwise equal (test)
    matmul, dense_*          A: own GEMM, FMA     A: own GEMM, FMA          integer products (test_dense)
    activation_*             O, S                 O; softmax sums in double -
    loss_forward_backward    O, S                 O; sums in double         -
    sgd_step                 O                    O                         cpp = oracle
                                                                            (test_sgd_variants_bitwise)
    adam_step, rmsprop_step  O                    O, in SIMD lanes          a lane = alone (test_optim_lanes)
    scheduled_lr             O (float64)          O (float64)               all three (test_schedules)
    dropout_mask             O (integer hash)     O (integer hash)          all three (test_dropout)
    train_step, train_epoch  A: the oracle's step A: the oracle's step      forward/backward = the chain
                                                                            by hand, each (test_backprop)
    loss_gradient            A: in blocks of rows A: in blocks of rows,     -
                             (a compiled call     the blocks' sums added
                             each), sums added
    bind_loss_gradient       loss_gradient checked once, for repeated calls (lbfgs)

Everything else agrees within tests/tolerances.py (tests/test_train_agreement.py, test_losses.py,
test_weights.py, ...). Each loss's formula is written once per backend (per element, or per row
for cross_entropy) and reduced by the plain mean or the weighted mean.
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
    "loss_gradient",
    "bind_loss_gradient",
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
