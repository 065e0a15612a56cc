"""The arrays and training record of an `MLP.state()` dict, checked and copied for `MLP.from_state`.

A state is a plain dict (no classes, so it pickles, serializes and compares with plain code):

    config       layer_sizes, activations (hidden layers), loss, dtype, init, seed, l2,
                 dropout (per hidden layer), backend
    weights      (n_in, n_out) per layer          biases   (n_out,) per layer
    optimizer    None (never trained) or {"config": optimizer settings with their "name",
                 "step": updates taken, "slots_m", "slots_v", "slots_g": one array per
                 parameter in the order w0, b0, w1, b1, ... (slots_g: centered RMSprop only)}
    schedule     the learning-rate schedule's settings (None: constant)
    fit_count    how many times fit ran (it seeds each fit's shuffling)
    class_weight None or the last fit's class weights (float64, one per output)

States saved before the renames may hold config "alpha" (now l2) and, for RMSprop, optimizer
"alpha" (now smoothing); both still load.

This module checks everything but the config (the MLP constructor's own checks do that) and
never imports the model.
"""

from __future__ import annotations

import numpy as np

from . import optim as _optim
from . import checks as check
from .backends.network import Network, OptimizerConfig, ScheduleConfig

KEYS = ("config", "weights", "biases", "optimizer", "schedule", "fit_count", "class_weight")
OPTIMIZER_KEYS = ("config", "step", "slots_m", "slots_v", "slots_g")
# a saved step beyond this could overflow the C++ int64 counter within a run, and float64 (the
# optimizers' bias correction) no longer counts steps exactly
MAX_STEP = check.MAX_STEP


def check_keys(state) -> dict:
    """The state itself, after checking that it is a dict with exactly the known keys."""
    if not isinstance(state, dict):
        raise TypeError(f"state must be a dict as MLP.state() returns, got {type(state).__name__}")
    _known_keys(state, KEYS, "state", required=("config", "weights", "biases"))
    if not isinstance(state["config"], dict):
        raise TypeError(f"state['config'] must be a dict, got {type(state['config']).__name__}")
    return state


def parameters(state: dict, layer_sizes: list, dtype: np.dtype):
    """(weights, biases): C-contiguous copies, each checked for shape, dtype and finite values."""
    pairs = list(zip(layer_sizes[:-1], layer_sizes[1:]))
    weights = _copies(state["weights"], "weights", [(n_in, n_out) for n_in, n_out in pairs], dtype)
    biases = _copies(state["biases"], "biases", [(n_out,) for _, n_out in pairs], dtype)
    return weights, biases


def restore_training(net: Network, state: dict):
    """Put the state's optimizer record, schedule and class weights into ``net``; returns the
    `fastmlp.optim` optimizer (None when the state has none)."""
    schedule = state.get("schedule")
    if schedule is not None:  # absent in files written before schedules: constant
        net.schedule = _schedule(schedule)
    weights = state.get("class_weight")
    if weights is not None:
        net.class_weight = _class_weight(weights, net.loss, net.layer_sizes[-1])
    record = state.get("optimizer")
    if record is None:
        return None
    if not isinstance(record, dict):
        raise TypeError(f"state['optimizer'] must be None or a dict, got {type(record).__name__}")
    _known_keys(record, OPTIMIZER_KEYS, "state['optimizer']", required=("config",))
    optimizer = _optimizer(record["config"])
    net.optimizer = OptimizerConfig(**vars(optimizer.config))
    shapes, dtype = [p.shape for p in net.params], net.dtype
    net.slots_m = _copies(record.get("slots_m"), "slots_m", shapes, dtype)
    net.slots_v = _copies(record.get("slots_v"), "slots_v", shapes, dtype)
    net.slots_g = (_copies(record.get("slots_g"), "slots_g", shapes, dtype) if net.optimizer.centered
                   else _none_given(record.get("slots_g"), "slots_g", "the optimizer is not centered RMSprop"))
    net.step = count(record.get("step", 0), "step")
    return optimizer


def count(value, name: str) -> int:
    """A counter (step, fit_count): an int in [0, MAX_STEP]."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value <= MAX_STEP:
        raise ValueError(f"{name!r} must be an int in [0, {MAX_STEP}], got {value!r}")
    return int(value)


def _known_keys(record: dict, known: tuple, where: str, required: tuple) -> None:
    unknown = sorted(set(record) - set(known), key=str)
    if unknown:
        raise ValueError(f"{where} has unexpected keys {unknown}; it holds {', '.join(known)}")
    missing = [key for key in required if key not in record]
    if missing:
        raise ValueError(f"{where} lacks {missing[0]!r}")


def _copies(arrays, name: str, shapes: list, dtype: np.dtype) -> list:
    if isinstance(arrays, np.ndarray) or not isinstance(arrays, (list, tuple)):
        raise TypeError(f"state's {name} must be a list of arrays, got {type(arrays).__name__}")
    if len(arrays) != len(shapes):
        raise ValueError(f"state's {name} holds {len(arrays)} arrays, the model needs {len(shapes)}")
    out = []
    for i, (arr, shape) in enumerate(zip(arrays, shapes)):
        arr = np.asarray(arr)
        if arr.dtype != dtype or arr.shape != shape:
            raise ValueError(f"{name}[{i}] is {arr.dtype}{arr.shape}, expected {dtype}{shape}")
        if not check.all_finite(arr):
            raise ValueError(f"{name}[{i}] holds NaN or infinity")
        out.append(np.array(arr, order="C"))  # a copy: the model never shares the caller's arrays
    return out


def _none_given(arrays, name: str, why: str) -> list:
    if arrays:
        raise ValueError(f"unexpected arrays: state's {name} is given but {why}")
    return []


def _optimizer(config):
    try:
        return _optim.optimizer_from_config(config)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"bad optimizer settings: {exc}") from exc


def _schedule(settings) -> ScheduleConfig:
    try:
        if not isinstance(settings, dict):
            raise TypeError(f"expected a dict, got {settings!r}")
        config = ScheduleConfig(**settings)
        check.schedule_config(config)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"bad schedule settings: {exc}") from exc
    return config


def _class_weight(weights, loss: str, n_out: int) -> np.ndarray:
    if loss != "cross_entropy":
        raise ValueError(f"class_weight is given but the loss is {loss!r}")
    arr = np.asarray(weights)
    if arr.dtype != np.float64 or arr.shape != (n_out,):
        raise ValueError(f"class_weight is {arr.dtype}{arr.shape}, expected float64({n_out},)")
    if not check.all_finite(arr):
        raise ValueError("class_weight holds NaN or infinity")
    if arr.min() < 0:
        raise ValueError("class_weight holds negative weights")
    return arr.copy()
