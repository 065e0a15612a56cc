"""The C++ backend: thin wrappers over ``fastmlp._core``.

Each function has numpy.py's name, signature and docstring (copied by `_mirror.mirror`), runs the same
`fastmlp.checks` calls so it raises the same errors, allocates every output with NumPy, and hands
zero-copy views to C++ (which releases the GIL). No maths here: read numpy.py for that.
The core's threads, instruction sets and facts live in `cpp_runtime.py`, re-exported here.
"""

from __future__ import annotations

import numpy as np

from .. import _core
from .. import checks as check
from ..errors import NonFiniteLossError
from ..names import ACTIVATION_CODE as _ACTIVATION
from ..names import ACTIVATIONS, LOSSES, OPTIMIZERS, SCHEDULES
from ..names import LOSS_CODE as _LOSS
from ..names import OPTIMIZER_CODE as _OPTIMIZER
from . import numpy as _oracle
from ._mirror import mirror
from .network import EpochStats, LossGradient

# The kernels take enums as indices into these tuples; the C++ side must agree on the order.
if (_core.ACTIVATIONS, _core.LOSSES, _core.OPTIMIZERS, _core.SCHEDULES) != (
        ACTIVATIONS, LOSSES, OPTIMIZERS, SCHEDULES):
    raise ImportError("fastmlp._core was built for different activation/loss/optimizer/schedule names; "
                      "rebuild it")


def _strided(arr, name):
    """An array C++ reads through its strides (NumPy counts bytes, C++ elements). A view whose
    byte strides are not whole elements (a field of a packed structured array) is copied."""
    if any(s % arr.itemsize for s in arr.strides):
        return np.ascontiguousarray(arr)
    return arr


def _apart(arr, out):
    """arr, or a copy when its bounds overlap out's: the checks found (exactly) that they share
    no element, but _core's guard judges by bounds, as np.may_share_memory does."""
    return arr.copy() if np.may_share_memory(arr, out) else arr


def _labels_or_values(loss, target):
    """Integer labels as contiguous int64; float targets as contiguous arrays of their dtype."""
    if loss == "cross_entropy" and target.dtype.kind in "iu":
        return np.ascontiguousarray(target, dtype=np.int64)
    return np.ascontiguousarray(target)


def _schedule_config(sched):
    """ScheduleConfig as _core's, field by field (kind: the index into SCHEDULES)."""
    out = _core.ScheduleConfig()
    out.kind = SCHEDULES.index(sched.name)
    out.step_size, out.total_steps = int(sched.step_size), int(sched.total_steps)
    out.warmup_steps = int(sched.warmup_steps)
    out.gamma, out.min_lr, out.power_t = float(sched.gamma), float(sched.min_lr), float(sched.power_t)
    return out


def _optimizer_config(opt):
    """OptimizerConfig as _core's, field by field."""
    out = _core.OptimizerConfig()
    out.kind = _OPTIMIZER[opt.name]
    for name in ("lr", "momentum", "weight_decay", "beta1", "beta2", "eps", "dampening"):
        setattr(out, name, float(getattr(opt, name)))
    out.nesterov, out.centered = bool(opt.nesterov), bool(opt.centered)
    out.eps_on_raw_moment = bool(opt.eps_on_raw_moment)
    out.smoothing = float(opt.smoothing)
    out.clip_norm = -1.0 if opt.clip_norm is None else float(opt.clip_norm)
    return out


def _or_empty(weights, dtype):
    """A weight array, or the empty array _core reads as "not given"."""
    return np.empty(0, dtype) if weights is None else weights


def _network_args(net, step):
    """The Network as _core's training arguments up to the data, by name."""
    config = _core.TrainConfig()
    config.activations = [_ACTIVATION[check.activation_name(a)] for a in net.activations]
    config.loss = _LOSS[check.loss_name(net.loss)]
    config.optimizer = _optimizer_config(net.optimizer)
    config.schedule = _schedule_config(net.schedule)
    config.l2 = float(net.l2)
    config.clip_probabilities = bool(getattr(net, "clip_probabilities", False))
    config.dropout = [float(p) for p in net.dropout]
    config.seed = int(net.seed)
    return dict(config=config, params=net.params, slots_m=list(net.slots_m),
                slots_v=list(net.slots_v),
                slots_g=list(net.slots_g) if net.optimizer.centered else [],
                class_weight=_or_empty(_oracle._class_weight(net), net.dtype), step=step)


# --- matrix multiply ------------------------------------------------------------------------


@mirror(_oracle.matmul)
def matmul(a, b, *, trans_a=False, trans_b=False, out=None, alpha=1.0, beta=0.0):
    # Fast path (the checks below cost ~3.5 us a call, more than a small GEMM): plain arrays,
    # alpha 1, beta 0. _core checks the rest itself (dtypes alike and float, 2-D, whole-element
    # strides, shapes, out C-contiguous, writable and not overlapping a or b by their bounds)
    # and raises TypeError/ValueError before computing anything; the full checks below then
    # raise the error that names the argument.
    if (type(a) is np.ndarray and type(b) is np.ndarray and type(alpha) in _PLAIN_NUMBERS
            and type(beta) in _PLAIN_NUMBERS and alpha == 1 and beta == 0):
        try:
            if out is None:
                result = np.empty(_matmul_shape(a, b, trans_a, trans_b), a.dtype)
            elif type(out) is np.ndarray:
                result = out
            else:
                raise TypeError  # the full checks say why
            _core.matmul(a, b, bool(trans_a), bool(trans_b), result, 1.0, 0.0)
            return result
        except (TypeError, ValueError, IndexError, MemoryError):
            pass  # MemoryError: an output too large to allocate; the checks name it
    a, b, out, alpha, beta = check.matmul_args(a, b, trans_a, trans_b, out, alpha, beta)
    _core.matmul(_apart(_strided(a, "a"), out), _apart(_strided(b, "b"), out), bool(trans_a),
                 bool(trans_b), out, alpha, beta)
    return out


_PLAIN_NUMBERS = (float, int)  # not bool (an int subclass, rejected by the checks)


def _matmul_shape(a, b, trans_a, trans_b):
    """(m, n) of op(a) @ op(b); ValueError when their k differ (checked before allocating)."""
    (m, k), (k_b, n) = a.shape[::-1] if trans_a else a.shape, b.shape[::-1] if trans_b else b.shape
    if k != k_b:
        raise ValueError
    return m, n


# --- activations ----------------------------------------------------------------------------


@mirror(_oracle.activation_forward)
def activation_forward(name, z):
    name = check.activation_name(name)
    check.float_array(z, "z", 2)
    out = np.empty(z.shape, z.dtype)
    _core.activation_forward(_ACTIVATION[name], np.ascontiguousarray(z), out)
    return out


@mirror(_oracle.activation_backward)
def activation_backward(name, z, a, grad_a):
    name = check.activation_backward_args(name, z, a, grad_a)
    out = np.empty(z.shape, z.dtype)
    _core.activation_backward(_ACTIVATION[name], np.ascontiguousarray(z), np.ascontiguousarray(a),
                              np.ascontiguousarray(grad_a), out)
    return out


# --- dense layer ----------------------------------------------------------------------------


@mirror(_oracle.dense_forward)
def dense_forward(x, w, b, activation, out_z=None, out_a=None):
    x, w, b, out_z, out_a = check.dense_forward_args(x, w, b, activation, out_z, out_a)
    _core.dense_forward(_strided(x, "x"), _strided(w, "w"), np.ascontiguousarray(b),
                        _ACTIVATION[check.activation_name(activation)], out_z, out_a)
    return out_z, out_a


@mirror(_oracle.dense_backward)
def dense_backward(x, w, z, a, grad_a, activation, want_grad_x=True):
    check.dense_backward_args(x, w, z, a, grad_a, activation)
    want_grad_x = check.flag(want_grad_x, "want_grad_x")
    (batch, n_in), n_out, dtype = x.shape, w.shape[1], x.dtype
    grad_z = np.empty((batch, n_out), dtype)  # scratch
    grad_x = np.empty((batch if want_grad_x else 0, n_in), dtype)  # no rows: skipped
    grad_w = np.empty((n_in, n_out), dtype)
    grad_b = np.empty((n_out,), dtype)
    _core.dense_backward(_strided(x, "x"), _strided(w, "w"), np.ascontiguousarray(z),
                         np.ascontiguousarray(a), np.ascontiguousarray(grad_a),
                         _ACTIVATION[check.activation_name(activation)], grad_z, grad_x, grad_w, grad_b)
    return (grad_x if want_grad_x else None), grad_w, grad_b


# --- losses ---------------------------------------------------------------------------------


@mirror(_oracle.loss_forward_backward)
def loss_forward_backward(name, output, target, sample_weight=None, class_weight=None,
                          clip_probabilities=False):
    name, target, sample_weight, class_weight = check.loss_args(name, output, target, sample_weight,
                                                                class_weight)
    check.flag(clip_probabilities, "clip_probabilities")
    grad_output = np.empty(output.shape, output.dtype)
    loss = _core.loss_forward_backward(_LOSS[name], np.ascontiguousarray(output),
                                       _labels_or_values(name, target), grad_output,
                                       _or_empty(sample_weight, output.dtype),
                                       _or_empty(class_weight, output.dtype),
                                       bool(clip_probabilities))
    return float(loss), grad_output


# --- optimizers (update param and slots in place) --------------------------------------------


@mirror(_oracle.sgd_step)
def sgd_step(param, grad, velocity, *, lr, momentum=0.0, nesterov=False, weight_decay=0.0,
             dampening=0.0, step=None):
    check.optimizer_args(param, grad, {"velocity": velocity}, lr=lr, momentum=momentum,
                         weight_decay=weight_decay, dampening=dampening, step=step)
    first = check.sgd_first_step(dampening, step)
    _core.sgd_step(param, np.ascontiguousarray(grad), velocity, float(lr), float(momentum),
                   bool(nesterov), float(weight_decay), float(dampening), first)


@mirror(_oracle.adam_step)
def adam_step(param, grad, m, v, *, step, lr, beta1=0.9, beta2=0.999, eps=1e-8,
              weight_decay=0.0, decoupled=False, eps_on_raw_moment=False):
    check.optimizer_args(param, grad, {"m": m, "v": v}, step=step, lr=lr, beta1=beta1, beta2=beta2,
                         eps=eps, weight_decay=weight_decay)
    raw = check.flag(eps_on_raw_moment, "eps_on_raw_moment")
    _core.adam_step(param, np.ascontiguousarray(grad), m, v, int(step), float(lr), float(beta1),
                    float(beta2), float(eps), float(weight_decay), bool(decoupled), raw)


@mirror(_oracle.rmsprop_step)
def rmsprop_step(param, grad, square_avg, velocity, *, lr, alpha=0.99, eps=1e-8, momentum=0.0,
                 weight_decay=0.0, centered=False, grad_avg=None):
    slots = {"square_avg": square_avg, "velocity": velocity}
    if centered:
        slots["grad_avg"] = check.needed(grad_avg, "grad_avg", "centered RMSprop")
    check.optimizer_args(param, grad, slots, lr=lr, alpha=alpha, eps=eps, momentum=momentum,
                         weight_decay=weight_decay)
    _core.rmsprop_step(param, np.ascontiguousarray(grad), square_avg, velocity,
                       grad_avg if centered else np.empty(0, param.dtype), float(lr),
                       float(alpha), float(eps), float(momentum), float(weight_decay))


# --- learning-rate schedules -------------------------------------------------------------------


@mirror(_oracle.scheduled_lr)
def scheduled_lr(base_lr, schedule, t):
    check.schedule_config(schedule)
    return float(_core.scheduled_lr(float(base_lr), _schedule_config(schedule), check.integer(t, "t", low=1)))


# --- dropout masks ----------------------------------------------------------------------------


@mirror(_oracle.dropout_mask)
def dropout_mask(seed, step, layer, p, shape, dtype):
    seed, step, layer, p, shape, dtype = check.dropout_mask_args(seed, step, layer, p, shape, dtype)
    out = np.empty(shape, dtype)
    _core.dropout_mask(seed, step, layer, p, out)
    return out


# --- training -------------------------------------------------------------------------------


@mirror(_oracle.train_step)
def train_step(net, x, y, sample_weight=None):
    net.ensure_slots()
    check.network(net)
    sample_weight = check.batch_arrays(net, x, y, sample_weight=sample_weight)
    # C++ increments the count in this array; copying it back in `finally` keeps net.step right
    # even when the call raises.
    step = np.array([net.step], dtype=np.int64)
    try:
        result = _core.train_step(**_network_args(net, step), x=_strided(x, "x"),
                                  y=_labels_or_values(check.loss_name(net.loss), y),
                                  sample_weight=_or_empty(sample_weight, net.dtype))
    finally:
        net.step = int(step[0])
    if not np.isfinite(result.loss):  # C++ returned before the update
        raise NonFiniteLossError(result.loss, 0, 0, len(x) - 1)
    return float(result.loss), int(result.n_correct)


@mirror(_oracle.train_epoch)
def train_epoch(net, X, Y, order, batch_size, sample_weight=None):
    net.ensure_slots()
    check.network(net)
    sample_weight = check.batch_arrays(net, X, Y, "X", "Y", sample_weight)
    order = check.epoch_order(order, len(X))
    batch_size = check.integer(batch_size, "batch_size", low=1)
    batch_size = min(batch_size, max(len(order), 1))  # same batches; fits C++'s int64
    step = np.array([net.step], dtype=np.int64)
    try:  # Ctrl-C arrives as KeyboardInterrupt after a whole step; net.step counts that step
        result = _core.train_epoch(**_network_args(net, step), X=_strided(X, "X"),
                                   Y=_labels_or_values(check.loss_name(net.loss), Y),
                                   sample_weight=_or_empty(sample_weight, net.dtype), order=order,
                                   batch_size=batch_size)
    finally:
        net.step = int(step[0])
    if result.bad_batch >= 0:  # C++ stopped before that batch's update
        raise NonFiniteLossError(result.bad_loss, result.bad_batch, result.first_row,
                                 result.last_row)
    return EpochStats(result.mean_loss, result.n_correct, result.rows_mean_loss,
                      result.rows_mean_penalty)


@mirror(_oracle.loss_gradient)
def loss_gradient(net, X, Y, sample_weight=None, out=None):
    return _bound_loss_gradient(net, X, Y, sample_weight, out)()


@mirror(_oracle.bind_loss_gradient)
def bind_loss_gradient(net, X, Y, sample_weight=None, out=None):
    return _bound_loss_gradient(net, X, Y, sample_weight, out)


def _bound_loss_gradient(net, X, Y, sample_weight, out):
    """The checks, and _core's arguments, of loss_gradient (the checks cost ~60 us a call, ~4 %
    of an evaluation on digits); returns the computation."""
    net.ensure_slots()
    sample_weight, grads = check.loss_gradient_args(net, X, Y, sample_weight, out)
    if grads is None:
        grads = [np.empty_like(p) for p in net.params]
    step = np.array([net.step], dtype=np.int64)
    args = dict(**_network_args(net, step), X=_strided(X, "X"),
                Y=_labels_or_values(check.loss_name(net.loss), Y),
                sample_weight=_or_empty(sample_weight, net.dtype), grads=grads)
    n = len(X)

    def compute():
        result = _core.loss_gradient(**args)
        if not np.isfinite(result.loss):  # C++ stopped at the first block whose loss was not finite
            raise NonFiniteLossError(result.loss, 0, 0, n - 1)
        return LossGradient(float(result.loss), float(result.penalty), grads)

    return compute


# --- threads, instruction sets and the core's facts (not part of KERNEL_API) -------------------

# imported last, as these lines stood here before: a core whose names differ is refused above first
from .cpp_runtime import (available_isas, build_info, core_info, fma_peak, get_num_threads,  # noqa: E402,F401
                          isa, parallel_min_macs, set_isa, set_num_threads, set_parallel_min_macs)
