"""Checks before training: a consistent Network with possible optimizer and schedule settings,
a batch that fits it, an epoch's row order, and the error for a non-finite loss."""

from __future__ import annotations

import numpy as np

from ..names import OPTIMIZERS, SCHEDULES, activation_name, loss_name
from .arrays import float_array, out_array
from .scalars import MAX_STEP, SEED_MAX, flag, integer, number
from .targets import class_weights, loss_target, weights


def optimizer_config(opt) -> None:
    """Reject impossible optimizer hyperparameters with the field's name."""
    if opt.name not in OPTIMIZERS:
        raise ValueError(f"optimizer {opt.name!r} is unknown; choose one of {', '.join(OPTIMIZERS)}")
    number(opt.lr, "lr", low=0.0, low_open=True)
    number(opt.momentum, "momentum", low=0.0, high=1.0, high_open=True)
    number(opt.weight_decay, "weight_decay", low=0.0)
    number(opt.beta1, "beta1", low=0.0, high=1.0, high_open=True)
    number(opt.beta2, "beta2", low=0.0, high=1.0, high_open=True)
    number(opt.eps, "eps", low=0.0, low_open=True)
    number(opt.smoothing, "smoothing (RMSprop's alpha)", low=0.0, high=1.0, high_open=True)
    if opt.nesterov and opt.momentum <= 0:
        raise ValueError("nesterov momentum requires momentum > 0")
    number(opt.dampening, "dampening", low=0.0, high=1.0)
    if opt.nesterov and opt.dampening != 0:
        raise ValueError("nesterov momentum requires dampening 0 (as torch.optim.SGD)")
    flag(opt.centered, "centered")
    flag(opt.eps_on_raw_moment, "eps_on_raw_moment")
    if opt.clip_norm is not None:
        number(opt.clip_norm, "clip_norm", low=0.0, low_open=True)


def schedule_config(sched) -> None:
    """Reject impossible schedule fields with the field's name."""
    if sched.name not in SCHEDULES:
        raise ValueError(f"schedule {sched.name!r} is unknown; choose one of {', '.join(SCHEDULES)}")
    integer(sched.step_size, "step_size", low=1)
    number(sched.gamma, "gamma", low=0.0, high=1.0, low_open=True)
    integer(sched.total_steps, "total_steps", low=1)
    integer(sched.warmup_steps, "warmup_steps", low=0)
    if sched.name == "cosine" and sched.warmup_steps >= sched.total_steps:
        raise ValueError(f"warmup_steps must be < total_steps ({sched.total_steps}), "
                         f"got {sched.warmup_steps}")
    number(sched.min_lr, "min_lr", low=0.0)
    number(sched.power_t, "power_t", low=0.0)


def network(net) -> None:
    """A Network whose arrays chain by shape, share one dtype and are C-contiguous."""
    n_layers = len(net.weights)
    if n_layers == 0:
        raise ValueError("network must have at least one layer")
    if len(net.biases) != n_layers or len(net.activations) != n_layers:
        raise ValueError("network needs one bias and one activation per weight matrix")
    dtype = net.weights[0].dtype
    for i, (w, b) in enumerate(zip(net.weights, net.biases)):
        float_array(w, f"weights[{i}]", 2)
        float_array(b, f"biases[{i}]", 1)
        if w.dtype != dtype or b.dtype != dtype:
            raise TypeError(f"layer {i} dtype differs from weights[0] dtype {dtype}")
        if b.shape[0] != w.shape[1]:
            raise ValueError(f"biases[{i}] has {b.shape[0]} entries, weights[{i}] has {w.shape[1]} outputs")
        if i and w.shape[0] != net.weights[i - 1].shape[1]:
            raise ValueError(
                f"weights[{i}] takes {w.shape[0]} inputs but layer {i - 1} gives {net.weights[i - 1].shape[1]}"
            )
        if not (w.flags.c_contiguous and w.flags.writeable and b.flags.c_contiguous and b.flags.writeable):
            raise ValueError(f"weights[{i}] and biases[{i}] must be C-contiguous and writable")
    for i, act in enumerate(net.activations):
        activation_name(act)
    if activation_name(net.activations[-1]) != "identity":
        raise ValueError("the last activation must be 'identity': the loss applies the output link")
    loss = loss_name(net.loss)
    class_weights(getattr(net, "class_weight", None), loss, None, net.weights[-1].shape[1], dtype)
    number(getattr(net, "l2", 0.0), "l2 (the L2 penalty)", low=0.0)
    flag(getattr(net, "clip_probabilities", False), "clip_probabilities")
    dropout(net.dropout, n_layers)
    integer(getattr(net, "step", 0), "step", low=0, high=MAX_STEP)
    seed = integer(net.seed, "seed", low=0, high=SEED_MAX)
    if seed >= 2**64:
        raise ValueError(f"seed must be < 2**64, got {seed}")
    optimizer_config(net.optimizer)
    schedule_config(net.schedule)
    params = net.params
    slot_lists = [(net.slots_m, "slots_m"), (net.slots_v, "slots_v")]
    if net.optimizer.centered:
        slot_lists.append((net.slots_g, "slots_g"))
    for slots, label in slot_lists:
        if len(slots) != len(params):
            raise ValueError(f"{label} needs {len(params)} arrays, got {len(slots)}")
        for j, (s, p) in enumerate(zip(slots, params)):
            if not isinstance(s, np.ndarray) or s.shape != p.shape or s.dtype != p.dtype or not s.flags.c_contiguous:
                raise ValueError(f"{label}[{j}] must be a C-contiguous {p.dtype} array of shape {p.shape}")


def dropout(rates, n_layers: int) -> None:
    """Empty (no dropout) or one rate in [0, 1) per layer, the output layer's 0."""
    if len(rates) == 0:
        return
    if len(rates) != n_layers:
        raise ValueError(f"dropout needs one rate per layer ({n_layers}), got {len(rates)}")
    for i, p in enumerate(rates):
        number(p, f"dropout[{i}]", low=0.0, high=1.0, high_open=True)
    if rates[-1] != 0:
        raise ValueError("dropout on the output layer must be 0: the loss takes the raw output")


def batch_arrays(net, x, y, x_name="x", y_name="y", sample_weight=None):
    """x is (batch, n_in) of the network's dtype; y fits the loss (labels or targets); the
    optional sample_weight has one weight per row. Returns sample_weight in the network's
    dtype (or None)."""
    float_array(x, x_name, 2)
    if x.dtype != net.dtype:
        raise TypeError(f"{x_name} dtype {x.dtype} must match the network dtype {net.dtype}")
    n_in = net.weights[0].shape[0]
    if x.shape[1] != n_in:
        raise ValueError(f"{x_name} has {x.shape[1]} features, the network takes {n_in}")
    if not isinstance(y, np.ndarray):
        raise TypeError(f"{y_name} must be a numpy.ndarray, got {type(y).__name__}")
    if y.shape[:1] != x.shape[:1]:
        raise ValueError(f"{y_name} has {y.shape[0] if y.ndim else 0} rows, {x_name} has {x.shape[0]}")
    probe = np.empty((0, net.weights[-1].shape[1]), net.dtype)
    loss_target(loss_name(net.loss), probe, y[:0])
    if loss_name(net.loss) == "cross_entropy" and y.dtype.kind in "iu" and y.size:
        n_out = net.weights[-1].shape[1]
        if y.min() < 0 or y.max() >= n_out:
            raise ValueError(f"{y_name} labels must lie in [0, {n_out}), got [{y.min()}, {y.max()}]")
    if loss_name(net.loss) == "poisson" and y.size and y.min() < 0:
        raise ValueError(f"{y_name} must be >= 0 for the poisson loss (counts or rates), got {y.min()}")
    if getattr(net, "class_weight", None) is not None and y.ndim == 2:
        class_weights(net.class_weight, "cross_entropy", y, y.shape[1], net.dtype)
    return weights(sample_weight, "sample_weight", x.shape[0], net.dtype)


def gradient_outputs(out, net, inputs: dict):
    """None, or a list (or tuple) of one output array per parameter of ``net`` (shaped like
    ``net.params``, of its dtype, C-contiguous, writable), overlapping no parameter, no other of
    them and none of ``inputs``. Returned as a list."""
    if out is None:
        return None
    if not isinstance(out, (list, tuple)):
        raise TypeError(f"out must be a list of arrays (one per parameter), got {type(out).__name__}")
    params = net.params
    if len(out) != len(params):
        raise ValueError(f"out needs one array per parameter ({len(params)}), got {len(out)}")
    out = list(out)
    for i, (o, p) in enumerate(zip(out, params)):
        others = {f"net.params[{j}]": q for j, q in enumerate(params)}
        others.update({f"out[{j}]": out[j] for j in range(i)})
        others.update(inputs)
        out_array(o, f"out[{i}]", p.shape, p.dtype, others)
    return out


def loss_gradient_args(net, X, Y, sample_weight, out):
    """A backend's ``loss_gradient`` arguments: the network, the data (`batch_arrays`), ``out``
    (`gradient_outputs`) and at least one output. Returns (sample_weight, out)."""
    network(net)
    sample_weight = batch_arrays(net, X, Y, "X", "Y", sample_weight)
    out = gradient_outputs(out, net, {"X": X, "Y": Y, "sample_weight": sample_weight})
    if X.shape[0] * net.weights[-1].shape[1] == 0:
        raise ValueError("output must not be empty")  # as loss_forward_backward says it
    return sample_weight, out


def epoch_order(order, n_rows: int) -> np.ndarray:
    """order: 1-D integer row indices, each in [0, n_rows). Returned as C-contiguous int64."""
    if not isinstance(order, np.ndarray) or order.dtype.kind not in "iu":
        raise TypeError("order must be an integer numpy.ndarray of row indices")
    if order.ndim != 1:
        raise ValueError(f"order must be 1-D, got shape {order.shape}")
    if order.size and (order.min() < 0 or order.max() >= n_rows):
        raise ValueError(f"order indices must lie in [0, {n_rows}), got [{order.min()}, {order.max()}]")
    return np.ascontiguousarray(order, dtype=np.int64)
