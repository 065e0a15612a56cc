"""The NumPy backend: the oracle and the textbook.

Every function here is plain NumPy, computes in the dtype it is given (float64 for the
oracle), and owns the docstring that the Numba and C++ backends copy. Read this file first;
`backends/numba.py` and `csrc/nn/*.hpp` follow it function by function. Each kernel checks its
arguments and calls its namesake in `numpy_unchecked.py`, where the maths is; `backprop.py`
chains the layers forward and backward, and `numpy_train.py` trains with them.

Names: x input (batch, n_in); w weight (n_in, n_out); b bias (n_out,); z = x @ w + b the
pre-activation; a = f(z) the activation; grad_<name> = dLoss/d<name>.
"""

from __future__ import annotations

from .. import checks as check
from . import numpy_unchecked as unchecked
from .numpy_train import (_class_weight, bind_loss_gradient, clip_grad_norm, l2_penalty, loss_gradient,  # noqa: F401
                          train_epoch, train_step)
from .numpy_unchecked import HUBER_DELTA, LEAKY_RELU_SLOPE, loss_row_weights, mix64  # noqa: F401


# --- matrix multiply ------------------------------------------------------------------------


def matmul(a, b, *, trans_a=False, trans_b=False, out=None, alpha=1.0, beta=0.0):
    """General matrix multiply: ``out = alpha * op(a) @ op(b) + beta * out``.

    op(a) is ``a.T`` when ``trans_a`` (likewise b). ``a`` and ``b`` are 2-D float32 or float64
    arrays of one dtype, of any strides and order. ``out``, when given, must be C-contiguous,
    writable, of shape (M, N) and the same dtype; when ``beta == 0`` its contents are never
    read (NaN in ``out`` does not leak). Without ``out`` a new array is returned (beta must
    then be 0). Returns ``out``.
    """
    a, b, out, alpha, beta = check.matmul_args(a, b, trans_a, trans_b, out, alpha, beta)
    return unchecked.matmul(a, b, trans_a=trans_a, trans_b=trans_b, out=out, alpha=alpha, beta=beta)


# --- activations ----------------------------------------------------------------------------


def activation_forward(name, z):
    """Apply activation ``name`` to the pre-activation ``z`` (batch, n); returns a new ``a``.

    Names: identity, relu, leaky_relu (slope 0.01), sigmoid (alias logistic), tanh,
    gelu (exact, with erf), softmax (over each row).
    """
    name = check.activation_name(name)
    check.float_array(z, "z", 2)
    return unchecked.activation_forward(name, z)


def activation_backward(name, z, a, grad_a):
    """Chain rule through activation ``name``: returns ``grad_z = grad_a * f'(z)``.

    ``z`` is the pre-activation, ``a = f(z)`` the activation (both (batch, n)); the derivative
    is taken from whichever is cheaper. For softmax it is the Jacobian-vector product
    ``a * (grad_a - sum(grad_a * a, axis=1))``.
    """
    name = check.activation_backward_args(name, z, a, grad_a)
    return unchecked.activation_backward(name, z, a, grad_a)


# --- dense layer ----------------------------------------------------------------------------


def dense_forward(x, w, b, activation, out_z=None, out_a=None):
    """One dense layer forward: ``z = x @ w + b``, ``a = activation(z)``; returns ``(z, a)``.

    ``x`` is (batch, n_in), ``w`` (n_in, n_out), ``b`` (n_out,), all one float dtype; ``x`` and
    ``w`` may have any strides. ``out_z`` and ``out_a``, when given, receive the results
    (C-contiguous, writable, (batch, n_out)).
    """
    x, w, b, out_z, out_a = check.dense_forward_args(x, w, b, activation, out_z, out_a)
    return unchecked.dense_forward(x, w, b, check.activation_name(activation), out_z, out_a)


def dense_backward(x, w, z, a, grad_a, activation, want_grad_x=True):
    """One dense layer backward; returns ``(grad_x, grad_w, grad_b)``.

    Given the forward pass ``z = x @ w + b``, ``a = activation(z)`` and the incoming
    ``grad_a = dLoss/da`` (batch, n_out):
    ``grad_z = activation_backward(activation, z, a, grad_a)``,
    ``grad_w = x.T @ grad_z`` (n_in, n_out), ``grad_b = grad_z.sum(axis=0)`` (n_out,),
    ``grad_x = grad_z @ w.T`` (batch, n_in), or None with ``want_grad_x=False`` (the first
    layer, whose input is the data: nothing reads it, and its product is skipped).
    """
    check.dense_backward_args(x, w, z, a, grad_a, activation)
    want_grad_x = check.flag(want_grad_x, "want_grad_x")
    return unchecked.dense_backward(x, w, z, a, grad_a, check.activation_name(activation),
                                    want_grad_x)


# --- losses ---------------------------------------------------------------------------------


def loss_forward_backward(name, output, target, sample_weight=None, class_weight=None,
                          clip_probabilities=False):
    """Loss of a batch and its gradient with respect to ``output``; returns ``(loss, grad_output)``.

    ``output`` is the last layer's raw output (batch, n_out). The losses are means:
    mse ``mean((output - target)**2)`` and mae ``mean(|output - target|)`` and huber (delta 1)
    over all elements; cross_entropy ``mean_i(-log softmax(output_i)[y_i])`` with softmax fused
    (``target`` integer labels (batch,) or one-hot/probabilities (batch, n_out));
    binary_cross_entropy ``mean(-t log sigmoid(o) - (1-t) log(1 - sigmoid(o)))`` over all
    elements with sigmoid fused; poisson ``mean(exp(o) - t o)`` over all elements, the output
    being the log of the predicted rate (``torch.nn.PoissonNLLLoss(log_input=True, full=False)``;
    targets >= 0). ``loss`` is a Python float, ``grad_output`` an array like output.

    Weights: ``sample_weight`` (batch,) and, for cross_entropy with integer labels or one-hot
    targets, ``class_weight`` (n_out,), both >= 0. Row i weighs ``s_i = sample_weight[i] *
    class_weight[label_i]`` (a missing factor is 1) and the loss is the weighted mean of the rows'
    losses ``sum_i s_i l_i / sum_i s_i``, where ``l_i`` is row i's loss (the mean over its
    outputs for mse, mae, huber and binary_cross_entropy); ``torch.nn.CrossEntropyLoss(weight=)``
    with mean reduction is exactly this. Weights summing to 0 give a NaN loss (0/0, as PyTorch).
    Without weights the unweighted formulas above run unchanged.

    ``clip_probabilities`` (cross_entropy and binary_cross_entropy; ignored by the others): each
    ``-log p`` term of the loss takes the predicted probability p clipped to ``[eps, 1 - eps]``
    (eps: the dtype's machine epsilon), as scikit-learn's log losses do, so a saturated output
    costs at most ``-log(eps)`` (36.04 in float64); binary_cross_entropy then sums
    ``t (-log p) + (1 - t) (-log(1 - p))`` with each term clipped. The gradient is unclipped
    (softmax or sigmoid minus target), as scikit-learn's is.
    """
    name, target, sample_weight, class_weight = check.loss_args(name, output, target, sample_weight,
                                                                class_weight)
    check.flag(clip_probabilities, "clip_probabilities")
    return unchecked.loss_forward_backward(name, output, target, sample_weight, class_weight,
                                           clip_probabilities)


# --- optimizers (update param and slots in place) --------------------------------------------


def sgd_step(param, grad, velocity, *, lr, momentum=0.0, nesterov=False, weight_decay=0.0,
             dampening=0.0, step=None):
    """One SGD update in place, as ``torch.optim.SGD`` defines it.

    ``g = grad + weight_decay * param``; with momentum ``velocity = momentum * velocity +
    (1 - dampening) * g`` and the step direction is ``g + momentum * velocity`` (nesterov) or
    ``velocity``; ``param -= lr * direction``. ``velocity`` starts at zero and is updated in
    place. ``step`` is the 1-based count of this update, needed only with dampening: on
    update 1 ``velocity = g`` undamped (PyTorch creates the buffer as a copy of the first g).
    """
    check.optimizer_args(param, grad, {"velocity": velocity}, lr=lr, momentum=momentum,
                         weight_decay=weight_decay, dampening=dampening, step=step)
    check.sgd_first_step(dampening, step)
    unchecked.sgd_step(param, grad, velocity, lr=lr, momentum=momentum, nesterov=nesterov,
                       weight_decay=weight_decay, dampening=dampening, step=step)


def adam_step(param, grad, m, v, *, step, lr, beta1=0.9, beta2=0.999, eps=1e-8,
              weight_decay=0.0, decoupled=False, eps_on_raw_moment=False):
    """One Adam (or AdamW when ``decoupled``) update in place, as ``torch.optim.Adam(W)`` defines it
    or, with ``eps_on_raw_moment``, as scikit-learn's ``solver="adam"`` does.

    ``step`` is the 1-based count of this update. Adam adds ``weight_decay * param`` to the
    gradient; AdamW instead scales ``param *= 1 - lr * weight_decay``. Then
    ``m = beta1 m + (1-beta1) g``, ``v = beta2 v + (1-beta2) g^2``, and
    ``param -= lr / (1 - beta1^step) * m / (sqrt(v) / sqrt(1 - beta2^step) + eps)`` (PyTorch's),
    or ``param -= lr * sqrt(1 - beta2^step) / (1 - beta1^step) * m / (sqrt(v) + eps)`` with
    ``eps_on_raw_moment`` (scikit-learn's: eps added to the uncorrected root); the step size is
    computed in float64 and rounded to the dtype once.
    """
    check.optimizer_args(param, grad, {"m": m, "v": v}, step=step, lr=lr, beta1=beta1, beta2=beta2,
                         eps=eps, weight_decay=weight_decay)
    check.flag(eps_on_raw_moment, "eps_on_raw_moment")
    unchecked.adam_step(param, grad, m, v, step=step, lr=lr, beta1=beta1, beta2=beta2, eps=eps,
                        weight_decay=weight_decay, decoupled=decoupled,
                        eps_on_raw_moment=eps_on_raw_moment)


def rmsprop_step(param, grad, square_avg, velocity, *, lr, alpha=0.99, eps=1e-8, momentum=0.0,
                 weight_decay=0.0, centered=False, grad_avg=None):
    """One RMSprop update in place, as ``torch.optim.RMSprop`` defines it.

    ``g = grad + weight_decay * param``; ``square_avg = alpha * square_avg + (1-alpha) g^2``;
    ``update = g / (sqrt(square_avg) + eps)``, or when ``centered`` (``grad_avg``, an array
    like param starting at zero, is then required) ``grad_avg += (1-alpha) (g - grad_avg)``
    (torch's lerp) and ``update = g / (sqrt(square_avg - grad_avg^2) + eps)``; with momentum
    ``velocity = momentum * velocity + update`` and the step is ``velocity``;
    ``param -= lr * step``. ``alpha`` keeps torch's name for what OptimizerConfig calls ``smoothing``.
    """
    slots = {"square_avg": square_avg, "velocity": velocity}
    if centered:
        slots["grad_avg"] = check.needed(grad_avg, "grad_avg", "centered RMSprop")
    check.optimizer_args(param, grad, slots, lr=lr, alpha=alpha, eps=eps, momentum=momentum,
                         weight_decay=weight_decay)
    unchecked.rmsprop_step(param, grad, square_avg, velocity, lr=lr, alpha=alpha, eps=eps,
                           momentum=momentum, weight_decay=weight_decay, centered=centered,
                           grad_avg=grad_avg)


# --- learning-rate schedules and dropout masks ------------------------------------------------


def scheduled_lr(base_lr, schedule, t):
    """The learning rate of update ``t`` (1-based: ``net.step`` after incrementing) under ``schedule``.

    ``base_lr`` is the optimizer's ``lr``; ``schedule`` a `ScheduleConfig`. A pure function of
    ``t``, computed in float64 (Python floats) and rounded to the parameters' dtype only where
    the optimizer uses it, so saving ``net.step`` is enough to resume a schedule exactly.

    - constant:    ``base_lr``
    - step:        ``base_lr * gamma ** ((t - 1) // step_size)``
      (``torch.optim.lr_scheduler.StepLR`` stepped once per update)
    - exponential: ``base_lr * gamma ** (t - 1)``
      (``torch.optim.lr_scheduler.ExponentialLR`` stepped once per update)
    - cosine with linear warmup (w = warmup_steps, T = total_steps):
      ``t <= w``: ``base_lr * (t / w)``; else
      ``min_lr + (base_lr - min_lr) * (1 + cos(pi * min(1, (t - w) / (T - w)))) / 2``.
      The warmup equals ``LambdaLR(lambda e: (e + 1) / w)`` stepped per update and peaks at
      ``base_lr`` on update w. Differences from ``SequentialLR(warmup, CosineAnnealingLR(T_max=T - w,
      eta_min=min_lr), milestones=[w])``: the cosine part here runs one update ahead (update t gets
      PyTorch's rate of update t + 1), so update w + 1 is already below ``base_lr`` and update T
      uses exactly ``min_lr``; after update T the rate stays at ``min_lr`` where
      CosineAnnealingLR would rise again. (PyTorch also updates the cosine rate recursively,
      which differs from this closed form in the last bits.)
    - invscaling:  ``base_lr / t ** power_t``, scikit-learn's ``learning_rate="invscaling"``
      formula, but applied per update with t counting updates; scikit-learn changes the
      rate once per epoch with t counting samples seen (``(t + 1) ** power_t``).
    """
    check.schedule_config(schedule)
    t = check.integer(t, "t", low=1)
    return unchecked.scheduled_lr(base_lr, schedule, t)


def dropout_mask(seed, step, layer, p, shape, dtype):
    """The inverted-dropout mask of hidden layer ``layer`` on update ``step`` (1-based): an array
    of ``shape`` (batch, n_out) holding 0 (dropped) or ``1 / (1 - p)`` (kept) in ``dtype``.

    Counter-based, so every backend draws the same mask with no generator state:
    ``key = mix64(mix64(mix64(seed) ^ step) ^ layer)``; element k (``row * n_out + col``) takes
    ``bits = mix64(key ^ k)`` and ``u = (bits >> 11) * 2^-53`` (float64) or
    ``(bits >> 40) * 2^-24`` (float32), uniform in [0, 1), and is kept when ``u >= p``.
    ``seed`` is an int in [0, 2^64); ``p`` in [0, 1).
    """
    seed, step, layer, p, shape, dtype = check.dropout_mask_args(seed, step, layer, p, shape, dtype)
    return unchecked.dropout_mask(seed, step, layer, p, shape, dtype)
