"""The oracle's training: `train_step`, `train_epoch` and `loss_gradient`, re-exported by `backends/numpy.py`.

Each call checks the network and the whole batch (or epoch) once, then runs every step on the
unchecked kernels of `numpy_unchecked`: forward and backward are `backprop`'s, the loss, L2
penalty, clipping and optimizer steps are here.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .. import checks as check
from ..errors import NonFiniteLossError
from . import numpy_unchecked as unchecked
from .backprop import Layers, backward, forward
from .network import EpochStats, LossGradient, Network


class _Checked(NamedTuple):
    """What one up-front check settles for every step that follows."""

    layers: Layers  # the network's arrays with canonical activation names
    loss: str  # canonical
    class_weight: np.ndarray | None  # in the network's dtype
    dropout: tuple  # one float rate per layer (0.0: none)
    seed: int
    clip_probabilities: bool  # the log losses' scikit-learn clipping (loss_forward_backward)


def _check_training(net, x, y, x_name, y_name, sample_weight):
    """Check the network and (x, y, sample_weight) once; returns (_Checked, sample_weight)."""
    net.ensure_slots()
    check.network(net)
    sample_weight = check.batch_arrays(net, x, y, x_name, y_name, sample_weight)
    loss = check.loss_name(net.loss)
    check.target_values(loss, y, "target")  # the loss kernel's check, on every row at once
    n_layers = len(net.weights)
    layers = Layers(net.weights, net.biases, [check.activation_name(a) for a in net.activations])
    dropout = tuple(float(p) for p in net.dropout) if net.dropout else (0.0,) * n_layers
    seed = check.integer(net.seed, "seed", low=0, high=check.SEED_MAX)
    clip = bool(getattr(net, "clip_probabilities", False))
    return _Checked(layers, loss, _class_weight(net), dropout, seed, clip), sample_weight


def train_step(net, x, y, sample_weight=None):
    """One training step on a batch: forward, loss, backward, optimizer update (in place).

    ``net`` is a `fastmlp.backends.Network`; ``x`` (batch, n_in) of the network's dtype; ``y``
    the targets the loss takes; ``sample_weight`` None or one weight >= 0 per row (with
    ``net.class_weight`` they weigh the loss as `loss_forward_backward` says). Updates every
    weight, bias and optimizer slot of ``net`` and increments ``net.step``. A non-finite loss
    (weights summing to 0 included) raises FloatingPointError and leaves ``net`` untouched.
    Returns ``(loss, n_correct)``: the batch's mean loss before the update, and how many rows
    the network classified correctly before the update (cross_entropy: argmax equals the
    label; binary_cross_entropy: every output on the right side of 0; regression losses: 0).
    Dropout (``net.dropout[l]`` = p > 0 for hidden layer l) multiplies a_l by
    ``dropout_mask(net.seed, net.step + 1, l, p, a_l.shape, dtype)`` for the next layer and
    the backward pass (training steps only; ``n_correct`` counts the dropped-out forward).
    With ``net.l2`` > 0 the loss includes the L2 penalty
    ``0.5 * l2 * sum_l ||W_l||^2 / sum_i s_i`` (s_i the rows' weights, 1 each without
    weights; scikit-learn's loss_curve_ includes it alike) and each weight gradient gains
    ``l2 * W_l / sum_i s_i``. The update: gradients by backprop plus that L2 term, then
    clipped to ``optimizer.clip_norm`` (`clip_grad_norm`) when set, then the optimizer's
    step (which adds weight_decay).
    """
    checked, sample_weight = _check_training(net, x, y, "x", "y", sample_weight)
    if x.shape[0] * net.weights[-1].shape[1] == 0:
        raise ValueError("output must not be empty")  # as loss_forward_backward says it
    return _step(net, checked, x, y, sample_weight)[:2]


def train_epoch(net, X, Y, order, batch_size, sample_weight=None):
    """One epoch: `train_step` on each batch ``X[order[i:i + batch_size]]`` in turn.

    ``order`` is an integer array of row indices (usually a permutation of range(len(X)));
    the last batch may be smaller. ``sample_weight`` (None or one weight per row of X) is
    gathered by ``order`` like Y. Returns ``(mean_loss, n_correct)`` over the epoch: the
    weighted mean of every sample's loss (each batch's loss weighted by its total weight:
    its size without weights) and the sum of the steps' correct counts, as a
    `network.EpochStats` that also holds the batches' losses and their L2 parts averaged by
    row count (``rows_mean_loss``, ``rows_mean_penalty``: scikit-learn's epoch loss). A batch with a
    non-finite loss raises FloatingPointError naming the batch; the batches before it have
    been applied, that one has not.
    """
    checked, sample_weight = _check_training(net, X, Y, "X", "Y", sample_weight)
    order = check.epoch_order(order, len(X))
    batch_size = check.integer(batch_size, "batch_size", low=1)
    if len(order) and net.weights[-1].shape[1] == 0:
        raise ValueError("output must not be empty")
    class_weight = checked.class_weight
    loss_sum, weight_sum, n_correct = 0.0, 0.0, 0
    rows_loss_sum, rows_penalty_sum = 0.0, 0.0
    for start in range(0, len(order), batch_size):
        rows = order[start:start + batch_size]
        sw = None if sample_weight is None else sample_weight[rows]
        try:
            loss, correct, penalty = _step(net, checked, X[rows], Y[rows], sw)
        except NonFiniteLossError as exc:  # _step numbers the batch from 0
            raise exc.shifted(start // batch_size, start) from None
        batch_weight = _batch_weight(net, X[rows], Y[rows], sw, class_weight)
        loss_sum += loss * batch_weight
        weight_sum += batch_weight
        n_correct += correct
        rows_loss_sum += loss * len(rows)
        rows_penalty_sum += penalty * len(rows)
    if not len(order):
        return EpochStats(0.0, 0, 0.0, 0.0)
    return EpochStats(loss_sum / weight_sum, n_correct, rows_loss_sum / len(order),
                      rows_penalty_sum / len(order))


def loss_gradient(net, X, Y, sample_weight=None, out=None):
    """The training loss over every row of ``X`` and its gradient, without an update.

    What `train_step` computes before its optimizer step, over the whole of (X, Y) at once and
    without dropout (the loss of the network as it predicts): the weighted mean loss as
    `loss_forward_backward` defines it plus the L2 penalty when ``net.l2`` > 0, and the gradient
    of that loss with respect to every parameter (backprop, plus ``l2 * W_l / sum_i s_i`` for
    each weight matrix). ``out`` (None, or a list of arrays shaped like ``net.params``, of its
    dtype, C-contiguous, sharing no memory with the network or the data) receives the gradient;
    else new arrays do. Returns a `network.LossGradient` ``(loss, penalty, grads)``, grads in
    ``net.params``' order (w0, b0, w1, b1, ...): what a full-batch optimizer (scipy's L-BFGS-B,
    scikit-learn's lbfgs solver) asks for. A non-finite loss (weights summing to 0 included)
    raises FloatingPointError (``out`` may then hold partial sums). The C++ backend runs the
    rows in blocks that stay in cache and the Numba backend in blocks of a few milliseconds,
    both adding the blocks' sums (the same sums in another order) and checking for Ctrl-C
    between blocks; this oracle takes all rows at once.
    """
    return bind_loss_gradient(net, X, Y, sample_weight, out)()


def bind_loss_gradient(net, X, Y, sample_weight=None, out=None):
    """`loss_gradient(net, X, Y, sample_weight, out)` as a function of no arguments, checked once.

    For calling it again and again while only the values in the arrays change: a full-batch
    optimizer's evaluations, which write each new point into the network's weights and biases in
    place (scikit-learn's lbfgs solver). The arguments are checked here, as `loss_gradient` checks
    them; each call of the returned function then computes with the values the arrays hold at that
    moment and the network's settings as they were here. The arrays must keep their shapes (no
    new arrays in ``net``). Its gradients go into ``out``, or into arrays made here once, which
    every call rewrites. A non-finite loss raises FloatingPointError at that call.
    """
    checked, sample_weight = _check_training(net, X, Y, "X", "Y", sample_weight)
    out = check.gradient_outputs(out, net, {"X": X, "Y": Y, "sample_weight": sample_weight})
    if X.shape[0] * net.weights[-1].shape[1] == 0:
        raise ValueError("output must not be empty")  # as loss_forward_backward says it
    if out is None:
        out = [np.empty_like(p) for p in net.params]
    return lambda: _loss_gradient(net, checked, X, Y, sample_weight, out)


def _loss_gradient(net, checked: _Checked, X, Y, sample_weight, out):
    """loss_gradient after its checks."""
    loss, penalty, grads, _ = _loss_and_grads(net, checked, X, Y, sample_weight, None)
    for dst, src in zip(out, grads):
        dst[...] = src
    return LossGradient(loss, penalty, out)


def _step(net, checked: _Checked, x, y, sample_weight):
    """train_step after its checks: every kernel here runs unchecked."""
    masks = None
    if net.dropout:  # counter-based masks: drawing them before the forward pass changes nothing
        masks = [unchecked.dropout_mask(checked.seed, net.step + 1, i, p, (len(x), w.shape[1]), w.dtype)
                 if p else None for i, (w, p) in enumerate(zip(net.weights, checked.dropout))]
    loss, penalty, grads, n_correct = _loss_and_grads(net, checked, x, y, sample_weight, masks)
    _apply_optimizer(net, grads)
    return loss, n_correct, penalty


def _loss_and_grads(net, checked: _Checked, x, y, sample_weight, masks):
    """Forward, the loss plus the L2 penalty, and (unless that loss is NaN or inf: then
    NonFiniteLossError) backward with the penalty's gradient: ``(loss, penalty, grads,
    n_correct)``, grads in net.params' order."""
    layers, class_weight = checked.layers, checked.class_weight
    cache = forward(unchecked, layers, x, masks)
    loss, grad_out = unchecked.loss_forward_backward(checked.loss, cache.output, y, sample_weight,
                                                     class_weight, checked.clip_probabilities)
    penalty = 0.0
    if net.l2:
        batch_weight = _batch_weight(net, x, y, sample_weight, class_weight)
        penalty = l2_penalty(net.weights, net.l2, batch_weight)
        loss += penalty
    if not np.isfinite(loss):  # stop before a NaN/Inf gradient reaches the weights
        raise NonFiniteLossError(loss, 0, 0, len(x) - 1)
    n_correct = _count_correct(checked.loss, cache.output, y)
    grads = backward(unchecked, layers, cache, grad_out)
    if net.l2:  # d/dW of the penalty; biases are not penalised
        for i, w in enumerate(net.weights):
            grads[2 * i] = grads[2 * i] + w.dtype.type(net.l2 / batch_weight) * w
    return loss, penalty, grads, n_correct


def l2_penalty(weights, l2, batch_weight):
    """scikit-learn's L2 term ``0.5 * l2 * sum_l ||W_l||^2 / batch_weight``, in float64."""
    squares = sum(float(np.square(w, dtype=np.float64).sum()) for w in weights)
    return 0.5 * l2 * squares / batch_weight


def _class_weight(net):
    return check.class_weights(net.class_weight, check.loss_name(net.loss), None,
                               net.weights[-1].shape[1], net.dtype)


def _batch_weight(net, x, y, sample_weight, class_weight):
    """The batch's total weight as a Python float: its row count without weights."""
    if sample_weight is None and class_weight is None:
        return len(x)
    probe = np.empty((len(x), net.weights[-1].shape[1]), net.dtype)
    return float(unchecked.loss_row_weights(probe, y, sample_weight, class_weight).astype(np.float64).sum())


def _count_correct(loss, output, y):
    """Rows classified correctly; ``loss`` is canonical."""
    if loss == "cross_entropy":
        labels = y if y.ndim == 1 else y.argmax(axis=1)
        return int((output.argmax(axis=1) == labels).sum())
    if loss == "binary_cross_entropy":
        return int(((output > 0) == (y > 0.5)).all(axis=1).sum())
    return 0


def clip_grad_norm(grads, max_norm):
    """Scale ``grads`` (a list, replaced in place) by ``max_norm / (total_norm + 1e-6)`` when that
    is below 1, as ``torch.nn.utils.clip_grad_norm_``; total_norm is the L2 norm of all of them
    together, computed in float64. Returns total_norm."""
    total_norm = math.sqrt(sum(float(np.square(g, dtype=np.float64).sum()) for g in grads))
    coef = max_norm / (total_norm + 1e-6)
    if coef < 1.0:
        for i, g in enumerate(grads):
            grads[i] = g * g.dtype.type(coef)
    return total_norm


def _apply_optimizer(net: Network, grads):
    opt = net.optimizer
    if opt.clip_norm is not None:  # clip first; the optimizers add weight decay afterwards
        clip_grad_norm(grads, opt.clip_norm)
    net.step += 1
    lr = unchecked.scheduled_lr(opt.lr, net.schedule, net.step)  # every parameter takes this update's rate
    slots_g = net.slots_g if opt.centered else [None] * len(grads)
    for param, grad, m, v, g_avg in zip(net.params, grads, net.slots_m, net.slots_v, slots_g):
        if opt.name == "sgd":
            unchecked.sgd_step(param, grad, m, lr=lr, momentum=opt.momentum, nesterov=opt.nesterov,
                               weight_decay=opt.weight_decay, dampening=opt.dampening, step=net.step)
        elif opt.name in ("adam", "adamw"):
            unchecked.adam_step(param, grad, m, v, step=net.step, lr=lr, beta1=opt.beta1,
                                beta2=opt.beta2, eps=opt.eps, weight_decay=opt.weight_decay,
                                decoupled=opt.name == "adamw",
                                eps_on_raw_moment=opt.eps_on_raw_moment)
        else:
            unchecked.rmsprop_step(param, grad, v, m, lr=lr, alpha=opt.smoothing, eps=opt.eps,
                                   momentum=opt.momentum, weight_decay=opt.weight_decay,
                                   centered=opt.centered, grad_avg=g_avg)
