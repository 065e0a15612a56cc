"""The Numba backend: backends/numpy.py's functions, compiled by Numba.

Same names, signatures and docstrings as `backends/numpy.py` (copied from it by `_mirror.mirror`);
the same checks from `fastmlp.checks` run in the same places, so bad input raises the same error.
Each wrapper checks, copies strided inputs where a kernel needs C order (never an output),
and calls the ``@njit(cache=True)`` kernel of the same name, where the maths is. The kernels
are split by topic as csrc/nn is: numba_gemm (matmul), numba_activations, numba_dense,
numba_losses, numba_optim, numba_schedule, numba_dropout and numba_train.

Training: `train_epoch` loops in Python over chunks of batches; each chunk is one call of the
jitted `numba_train.train_epoch`, sized to run some milliseconds, so Ctrl-C lands between
chunks (weights, slots and ``net.step`` stay consistent) while the per-batch cost stays inside
compiled code. `train_step` calls the jitted `numba_train.train_step` (the same loop, one batch).
`loss_gradient` runs blocks of rows the same way (`numba_train.loss_gradient_block`), their
sums added and finished by `numba_train.finish_gradient`.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .. import checks as check
from ..errors import NonFiniteLossError
from ..names import ACTIVATION_CODE as _ACTIVATION_CODE
from ..names import LOSS_CODE as _LOSS_CODE
from ..names import OPTIMIZER_CODE as _OPTIMIZER_CODE
from ..names import SCHEDULES
from . import numba_activations, numba_dense, numba_dropout, numba_gemm, numba_losses, numba_optim
from . import numba_schedule, numba_train
from . import numpy as _oracle
from . import numpy_unchecked as _oracle_unchecked
from ._mirror import mirror
from .network import EpochStats, LossGradient

_EPOCH_CHUNK_FLOPS = 2e7  # work per compiled call in train_epoch: a few ms between Ctrl-C checks


def _operand(arr, trans):
    """``(flat, offset, row_stride, col_stride)`` with op(arr)[i, j] == flat[offset + i*rs + j*cs].

    flat is a 1-D view over arr's memory starting at its lowest address (no copy), so any
    strides NumPy can give reach the one compiled GEMM; transposing swaps the strides.
    """
    item = arr.itemsize
    if arr.size == 0 or arr.strides[0] % item or arr.strides[1] % item:
        arr = np.ascontiguousarray(arr)
    rows, cols = arr.shape
    rs, cs = arr.strides[0] // item, arr.strides[1] // item
    if arr.size == 0:
        flat, offset = arr.reshape(0), 0
    else:
        i0 = rows - 1 if rs < 0 else 0
        j0 = cols - 1 if cs < 0 else 0
        span = abs(rs) * (rows - 1) + abs(cs) * (cols - 1) + 1
        flat = as_strided(arr[i0:i0 + 1, j0:j0 + 1], shape=(span,), strides=(item,),
                          writeable=False)
        offset = -rs * (rows - 1) * (rs < 0) - cs * (cols - 1) * (cs < 0)
    return (flat, offset, cs, rs) if trans else (flat, offset, rs, cs)


def _c(arr):
    return np.ascontiguousarray(arr)


def _softmax_needs_columns(name, n_columns):
    # numpy.py's z.max(axis=1) raises this for a softmax over zero columns
    if name == "softmax" and n_columns == 0:
        raise ValueError("zero-size array to reduction operation maximum which has no identity")


# --- matrix multiply ------------------------------------------------------------------------


@mirror(_oracle.matmul)
def matmul(a, b, *, trans_a=False, trans_b=False, out=None, alpha=1.0, beta=0.0):
    a, b, out, alpha, beta = check.matmul_args(a, b, trans_a, trans_b, out, alpha, beta)
    t = out.dtype.type
    inner = a.shape[0] if trans_a else a.shape[1]
    numba_gemm.matmul(inner, *_operand(a, trans_a), *_operand(b, trans_b), t(alpha), t(beta), out)
    return out


# --- activations ----------------------------------------------------------------------------


@mirror(_oracle.activation_forward)
def activation_forward(name, z):
    name = check.activation_name(name)
    check.float_array(z, "z", 2)
    _softmax_needs_columns(name, z.shape[1])
    z = _c(z)
    a = np.empty_like(z)
    numba_activations.activation_forward(_ACTIVATION_CODE[name], z, a)
    return a


@mirror(_oracle.activation_backward)
def activation_backward(name, z, a, grad_a):
    name = check.activation_backward_args(name, z, a, grad_a)
    grad_z = np.empty(z.shape, z.dtype)
    numba_activations.activation_backward(_ACTIVATION_CODE[name], _c(z), _c(a), _c(grad_a), grad_z)
    return grad_z


# --- dense layer ----------------------------------------------------------------------------


@mirror(_oracle.dense_forward)
def dense_forward(x, w, b, activation, out_z=None, out_a=None):
    x, w, b, out_z, out_a = check.dense_forward_args(x, w, b, activation, out_z, out_a)
    name = check.activation_name(activation)
    _softmax_needs_columns(name, w.shape[1])
    code = _ACTIVATION_CODE[name]
    numba_dense.dense_forward(_c(x), _c(w), _c(b), code, out_z, out_a)
    return out_z, out_a


@mirror(_oracle.dense_backward)
def dense_backward(x, w, z, a, grad_a, activation, want_grad_x=True):
    check.dense_backward_args(x, w, z, a, grad_a, activation)
    want_grad_x = check.flag(want_grad_x, "want_grad_x")
    code = _ACTIVATION_CODE[check.activation_name(activation)]
    dtype = x.dtype
    grad_z = np.empty(z.shape, dtype)
    grad_x = np.empty(x.shape if want_grad_x else (0, x.shape[1]), dtype)
    grad_w = np.empty(w.shape, dtype)
    grad_b = np.empty(w.shape[1], dtype)
    numba_dense.dense_backward(_c(x), _c(w), _c(z), _c(a), _c(grad_a), code, grad_z, grad_x, grad_w,
                               grad_b, want_grad_x)
    return (grad_x if want_grad_x else None), grad_w, grad_b


# --- losses ---------------------------------------------------------------------------------


def _target_arrays(target, output):
    """(labels int64, targets float, use_labels): the kernel's two target forms, one a dummy."""
    if target.ndim == 1:
        return np.ascontiguousarray(target, np.int64), np.empty((0, output.shape[1]), output.dtype), True
    return np.empty(0, np.int64), _c(target), False


def _or_empty(weights, dtype):
    """A weight array, or an empty one standing for "not given" (Numba wants one array type)."""
    return np.empty(0, dtype) if weights is None else weights


def _clip_bounds(clip_probabilities, dtype):
    """The log losses' clipping in dtype for numba_losses: [-log(1 - eps), -log(eps), eps], or an
    empty array for none."""
    if not clip_probabilities:
        return np.empty(0, dtype)
    return np.append(_oracle_unchecked.neg_log_clip_bounds(dtype), np.finfo(dtype).eps).astype(dtype)


@mirror(_oracle.loss_forward_backward)
def loss_forward_backward(name, output, target, sample_weight=None, class_weight=None,
                          clip_probabilities=False):
    name, target, sample_weight, class_weight = check.loss_args(name, output, target, sample_weight,
                                                                class_weight)
    check.flag(clip_probabilities, "clip_probabilities")
    output = _c(output)
    labels, targets, use_labels = _target_arrays(target, output)
    grad = np.empty_like(output)
    loss = numba_losses.loss_forward_backward(
        _LOSS_CODE[name], output, labels, targets, use_labels, _or_empty(sample_weight, output.dtype),
        _or_empty(class_weight, output.dtype), np.empty((2, output.shape[0]), output.dtype), grad,
        np.empty_like(output), _clip_bounds(clip_probabilities, output.dtype))
    return float(loss), grad


# --- optimizers (update param and slots in place) --------------------------------------------


def _flat(arr):
    return arr.reshape(-1)  # a view: param and slots are checked C-contiguous


@mirror(_oracle.sgd_step)
def sgd_step(param, grad, velocity, *, lr, momentum=0.0, nesterov=False, weight_decay=0.0,
             dampening=0.0, step=None):
    check.optimizer_args(param, grad, {"velocity": velocity}, lr=lr, momentum=momentum,
                         weight_decay=weight_decay, dampening=dampening, step=step)
    first = check.sgd_first_step(dampening, step)
    t = param.dtype.type
    numba_optim.sgd_step(_flat(param), _c(grad).reshape(-1), _flat(velocity), t(lr),
                         t(momentum) if momentum else t(0), bool(nesterov),
                         t(weight_decay) if weight_decay else t(0), t(1 - dampening), first)


@mirror(_oracle.adam_step)
def adam_step(param, grad, m, v, *, step, lr, beta1=0.9, beta2=0.999, eps=1e-8,
              weight_decay=0.0, decoupled=False, eps_on_raw_moment=False):
    check.optimizer_args(param, grad, {"m": m, "v": v}, step=step, lr=lr, beta1=beta1, beta2=beta2,
                         eps=eps, weight_decay=weight_decay)
    raw = check.flag(eps_on_raw_moment, "eps_on_raw_moment")
    t = param.dtype.type
    decay_factor = t(1 - lr * weight_decay) if weight_decay and decoupled else t(1)
    step_size, correction2_sqrt = numba_optim.adam_corrections(lr, beta1, beta2, step, raw)
    numba_optim.adam_step(_flat(param), _c(grad).reshape(-1), _flat(m), _flat(v), t(step_size),
                          t(beta1), t(1 - beta1), t(beta2), t(1 - beta2), t(correction2_sqrt), t(eps),
                          t(weight_decay) if weight_decay else t(0), decay_factor, bool(decoupled))


@mirror(_oracle.rmsprop_step)
def rmsprop_step(param, grad, square_avg, velocity, *, lr, alpha=0.99, eps=1e-8, momentum=0.0,
                 weight_decay=0.0, centered=False, grad_avg=None):
    slots = {"square_avg": square_avg, "velocity": velocity}
    if centered:
        slots["grad_avg"] = check.needed(grad_avg, "grad_avg", "centered RMSprop")
    check.optimizer_args(param, grad, slots, lr=lr, alpha=alpha, eps=eps, momentum=momentum,
                         weight_decay=weight_decay)
    t = param.dtype.type
    numba_optim.rmsprop_step(_flat(param), _c(grad).reshape(-1), _flat(square_avg), _flat(velocity), t(lr),
                             t(alpha), t(1 - alpha), t(eps), t(momentum) if momentum else t(0),
                             t(weight_decay) if weight_decay else t(0), bool(centered),
                             _flat(grad_avg) if centered else np.empty(0, param.dtype))


# --- learning-rate schedules -------------------------------------------------------------------


@mirror(_oracle.scheduled_lr)
def scheduled_lr(base_lr, schedule, t):
    check.schedule_config(schedule)
    return float(numba_schedule.scheduled_lr(float(base_lr), _schedule(schedule),
                                             check.integer(t, "t", low=1)))


# --- dropout masks ----------------------------------------------------------------------------


@mirror(_oracle.dropout_mask)
def dropout_mask(seed, step, layer, p, shape, dtype):
    seed, step, layer, p, shape, dtype = check.dropout_mask_args(seed, step, layer, p, shape, dtype)
    mask = np.empty(shape[0] * shape[1], dtype)
    # a key returned to Python comes back as an int: keep it uint64 for the kernel's arithmetic
    key = np.uint64(numba_dropout.dropout_key(np.uint64(seed), step, layer))
    numba_dropout.dropout_mask(key, p, mask)
    return mask.reshape(shape)


# --- training -------------------------------------------------------------------------------


def _schedule(sched):
    """ScheduleConfig as numba_schedule.Schedule (code: the index into SCHEDULES)."""
    return numba_schedule.Schedule(SCHEDULES.index(sched.name), int(sched.step_size), float(sched.gamma),
                                   int(sched.total_steps), int(sched.warmup_steps), float(sched.min_lr),
                                   float(sched.power_t))


def _optimizer(opt):
    """OptimizerConfig as numba_optim.Optimizer, field by field."""
    return numba_optim.Optimizer(
        code=_OPTIMIZER_CODE[opt.name], lr=float(opt.lr), momentum=float(opt.momentum),
        nesterov=bool(opt.nesterov), weight_decay=float(opt.weight_decay), beta1=float(opt.beta1),
        beta2=float(opt.beta2), eps=float(opt.eps), eps_on_raw_moment=bool(opt.eps_on_raw_moment),
        smoothing=float(opt.smoothing),
        dampening=float(opt.dampening), centered=bool(opt.centered),
        clip_norm=-1.0 if opt.clip_norm is None else float(opt.clip_norm))


def _net(net):
    """The Network's arrays and settings as numba_train.Net (slots as 1-D views)."""
    # without centered RMSprop, empty stand-ins keep slots_g one tuple type for Numba
    slots_g = net.slots_g if net.optimizer.centered else [np.empty(0, net.dtype) for _ in net.params]
    return numba_train.Net(
        weights=tuple(net.weights), biases=tuple(net.biases),
        slots_m=tuple(s.reshape(-1) for s in net.slots_m),
        slots_v=tuple(s.reshape(-1) for s in net.slots_v), slots_g=tuple(s.reshape(-1) for s in slots_g),
        act_codes=tuple(_ACTIVATION_CODE[check.activation_name(a)] for a in net.activations),
        loss_code=_LOSS_CODE[check.loss_name(net.loss)], l2=float(net.l2),
        clip_bounds=_clip_bounds(getattr(net, "clip_probabilities", False), net.dtype),
        dropout=tuple(float(p) for p in net.dropout) if len(net.dropout) else (0.0,) * len(net.weights),
        seed=np.uint64(net.seed))


def _data(net, X, Y, order, batch_size, sample_weight):
    """The rows to train on as numba_train.Data (X C-contiguous)."""
    labels, targets, use_labels = _target_arrays(Y, np.empty((0, net.weights[-1].shape[1]), X.dtype))
    return numba_train.Data(X=X, labels=labels, targets=targets, use_labels=use_labels,
                            sample_weight=_or_empty(sample_weight, X.dtype),
                            class_weight=_or_empty(_oracle._class_weight(net), X.dtype), order=order,
                            batch_size=batch_size)


def _start(net):
    """numba_train.Progress before a call's first batch."""
    return numba_train.Progress(step=net.step, n_correct=0, loss_sum=0.0, weight_sum=0.0,
                                rows_loss_sum=0.0, rows_penalty_sum=0.0, last_loss=0.0,
                                bad_batch=-1)


def _forward_errors(net):
    for w, act in zip(net.weights, net.activations):
        _softmax_needs_columns(check.activation_name(act), w.shape[1])


@mirror(_oracle.train_step)
def train_step(net, x, y, sample_weight=None):
    net.ensure_slots()
    check.network(net)
    sample_weight = check.batch_arrays(net, x, y, sample_weight=sample_weight)
    _forward_errors(net)
    if x.shape[0] * net.weights[-1].shape[1] == 0:
        raise ValueError("output must not be empty")  # as loss_forward_backward says it
    x = _c(x)
    data = _data(net, x, y, np.arange(x.shape[0]), x.shape[0], sample_weight)
    done = numba_train.train_step(_net(net), _optimizer(net.optimizer), _schedule(net.schedule), data,
                                  _start(net))
    if done.bad_batch >= 0:
        raise NonFiniteLossError(done.last_loss, 0, 0, x.shape[0] - 1)
    net.step = int(done.step)
    return done.last_loss, int(done.n_correct)


@mirror(_oracle.train_epoch)
def train_epoch(net, X, Y, order, batch_size, sample_weight=None):
    net.ensure_slots()
    check.network(net)
    sample_weight = check.batch_arrays(net, X, Y, "X", "Y", sample_weight)
    order = check.epoch_order(order, len(X))
    batch_size = check.integer(batch_size, "batch_size", low=1)
    if len(order) == 0:
        return EpochStats(0.0, 0, 0.0, 0.0)
    _forward_errors(net)
    if net.weights[-1].shape[1] == 0:
        raise ValueError("output must not be empty")
    n_batches = -(-len(order) // batch_size)
    flops_per_batch = 6.0 * min(batch_size, len(order)) * sum(w.size + w.shape[1] for w in net.weights)
    chunk = max(1, int(_EPOCH_CHUNK_FLOPS / max(flops_per_batch, 1.0)))
    kernel_net, opt, schedule = _net(net), _optimizer(net.optimizer), _schedule(net.schedule)
    data = _data(net, _c(X), Y, order, batch_size, sample_weight)
    done = _start(net)
    try:
        for first in range(0, n_batches, chunk):
            done = numba_train.train_epoch(kernel_net, opt, schedule, data, first,
                                           min(chunk, n_batches - first), done)
            if done.bad_batch >= 0:
                bad = int(done.bad_batch)
                last = min((bad + 1) * batch_size, len(order)) - 1
                raise NonFiniteLossError(done.last_loss, bad, bad * batch_size, last)
    finally:  # a KeyboardInterrupt between chunks leaves net.step matching the weights
        net.step = int(done.step)
    return EpochStats(done.loss_sum / done.weight_sum, done.n_correct,
                      done.rows_loss_sum / len(order), done.rows_penalty_sum / len(order))


@mirror(_oracle.loss_gradient)
def loss_gradient(net, X, Y, sample_weight=None, out=None):
    return _bound_loss_gradient(net, X, Y, sample_weight, out)()


@mirror(_oracle.bind_loss_gradient)
def bind_loss_gradient(net, X, Y, sample_weight=None, out=None):
    return _bound_loss_gradient(net, X, Y, sample_weight, out)


def _bound_loss_gradient(net, X, Y, sample_weight, out):
    """The checks, and the compiled arguments, of loss_gradient; returns the computation."""
    net.ensure_slots()
    sample_weight, grads = check.loss_gradient_args(net, X, Y, sample_weight, out)
    _forward_errors(net)
    if grads is None:
        grads = [np.empty_like(p) for p in net.params]
    whole = _net(net)._replace(dropout=(0.0,) * len(net.weights))  # no dropout here
    block_net = whole._replace(l2=0.0)  # the penalty is added once, by finish_gradient
    data = _data(net, _c(X), Y, np.empty(0, np.int64), 1, sample_weight)
    sum_ws, sum_bs = tuple(grads[0::2]), tuple(grads[1::2])
    block_ws = tuple(np.empty_like(w) for w in net.weights)
    block_bs = tuple(np.empty_like(b) for b in net.biases)
    # blocks of rows, each one compiled call of a few ms: Ctrl-C lands between them
    flops_per_row = 6.0 * sum(w.size + w.shape[1] for w in net.weights)
    rows = max(256, int(_EPOCH_CHUNK_FLOPS / flops_per_row))
    n = X.shape[0]

    def compute():
        loss_sum = weight_sum = 0.0
        for lo in range(0, n, rows):
            loss, weight = numba_train.loss_gradient_block(block_net, data, lo, min(lo + rows, n),
                                                           block_ws, block_bs, sum_ws, sum_bs,
                                                           weight_sum == 0.0)
            if not np.isfinite(loss):
                raise NonFiniteLossError(loss, 0, 0, n - 1)
            loss_sum += loss * weight
            weight_sum += weight
        if weight_sum == 0.0:  # every row weighs 0: the weighted mean's 0 / 0
            raise NonFiniteLossError(float("nan"), 0, 0, n - 1)
        loss, penalty = numba_train.finish_gradient(whole, sum_ws, sum_bs, loss_sum, weight_sum)
        return LossGradient(float(loss), float(penalty), grads)

    return compute
