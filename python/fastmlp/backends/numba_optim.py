"""Numba's optimizers: numpy_unchecked.py sgd_step / adam_step / rmsprop_step, compiled, and the
training loop's per-parameter update and gradient clipping (numpy_train.py _apply_optimizer and
clip_grad_norm).

Steps take 1-D C-contiguous views of param, grad and slots, with constants already in the dtype.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

from ..names import OPTIMIZER_CODE

SGD = OPTIMIZER_CODE["sgd"]
ADAM = OPTIMIZER_CODE["adam"]
ADAMW = OPTIMIZER_CODE["adamw"]
RMSPROP = OPTIMIZER_CODE["rmsprop"]

# What the training loop reads, by name (Numba compiles namedtuples as typed records).
# code: SGD/ADAM/ADAMW/RMSPROP; smoothing: RMSprop's alpha; clip_norm < 0: no clipping.
Optimizer = namedtuple("Optimizer", "code lr momentum nesterov weight_decay beta1 beta2 eps "
                                    "eps_on_raw_moment smoothing dampening centered clip_norm")


@njit(cache=True)
def sgd_step(param, grad, velocity, lr, momentum, nesterov, weight_decay, dampening, first):
    """g = grad + wd*param; v = mom*v + (1-damp)*g (v = g on the first dampened update);
    direction g + mom*v (nesterov) or v; param -= lr*dir. dampening arrives as 1 - dampening."""
    for i in range(param.size):
        g = grad[i] + weight_decay * param[i] if weight_decay else grad[i]
        if momentum:
            if dampening != 1 and first:
                v = g
            elif dampening != 1:
                v = velocity[i] * momentum + dampening * g
            else:
                v = velocity[i] * momentum + g
            velocity[i] = v
            g = g + momentum * v if nesterov else v
        param[i] -= lr * g


@njit(cache=True)
def adam_corrections(lr, beta1, beta2, step, eps_on_raw_moment):
    """(step size, divisor of sqrt(v)) in float64, as numpy_unchecked.adam_step computes them:
    PyTorch's lr / (1 - b1^t) and sqrt(1 - b2^t), or scikit-learn's form with the divisor 1."""
    bias_correction1 = 1 - beta1 ** np.float64(step)
    correction2_sqrt = np.sqrt(1 - beta2 ** np.float64(step))
    if eps_on_raw_moment:
        return lr * correction2_sqrt / bias_correction1, 1.0
    return lr / bias_correction1, correction2_sqrt


@njit(cache=True)
def adam_step(param, grad, m, v, lr_corrected, beta1, one_minus_beta1, beta2, one_minus_beta2,
              bias_correction2_sqrt, eps, weight_decay, decay_factor, decoupled):
    """Adam (decoupled: AdamW); constants are the oracle's t(lr / bias_correction1), t(1 - beta1),
    t(1 - lr * weight_decay), ..."""
    for i in range(param.size):
        p = param[i]
        if weight_decay and decoupled:
            p = p * decay_factor
        g = grad[i] + weight_decay * p if weight_decay and not decoupled else grad[i]
        mi = m[i] * beta1 + one_minus_beta1 * g
        vi = v[i] * beta2 + one_minus_beta2 * g * g
        m[i] = mi
        v[i] = vi
        denom = np.sqrt(vi) / bias_correction2_sqrt + eps
        param[i] = p - lr_corrected * (mi / denom)


@njit(cache=True)
def rmsprop_step(param, grad, square_avg, velocity, lr, alpha, one_minus_alpha, eps, momentum,
                 weight_decay, centered, grad_avg):
    """RMSprop, centered or not, with optional momentum; alpha's complement arrives in the dtype."""
    for i in range(param.size):
        g = grad[i] + weight_decay * param[i] if weight_decay else grad[i]
        s = square_avg[i] * alpha + one_minus_alpha * g * g
        square_avg[i] = s
        if centered:  # torch's lerp: grad_avg += (1 - alpha) (g - grad_avg)
            ga = grad_avg[i] + one_minus_alpha * (g - grad_avg[i])
            grad_avg[i] = ga
            update = g / (np.sqrt(s - ga * ga) + eps)
        else:
            update = g / (np.sqrt(s) + eps)
        if momentum:
            update = velocity[i] * momentum + update
            velocity[i] = update
        param[i] -= lr * update


@njit(cache=True)
def apply_optimizer(param, grad, sm, sv, sg, opt, step, lr):
    """numpy_train.py _apply_optimizer for one parameter; hyperparameters arrive as float64 and are
    combined in float64 before the cast, exactly as the oracle's t(...) expressions do."""
    t = param.dtype.type
    if opt.code == SGD:
        sgd_step(param, grad, sm, t(lr), t(opt.momentum), opt.nesterov, t(opt.weight_decay),
                 t(1 - opt.dampening), step == 1)
    elif opt.code == RMSPROP:  # square_avg = slot_v, velocity = slot_m, grad_avg = slot_g
        rmsprop_step(param, grad, sv, sm, t(lr), t(opt.smoothing), t(1 - opt.smoothing), t(opt.eps),
                     t(opt.momentum), t(opt.weight_decay), opt.centered, sg)
    else:
        step_size, correction2_sqrt = adam_corrections(lr, opt.beta1, opt.beta2, step,
                                                       opt.eps_on_raw_moment)
        adam_step(param, grad, sm, sv, t(step_size), t(opt.beta1), t(1 - opt.beta1),
                  t(opt.beta2), t(1 - opt.beta2), t(correction2_sqrt), t(opt.eps),
                  t(opt.weight_decay), t(1 - lr * opt.weight_decay), opt.code == ADAMW)


@njit(cache=True)
def clip_grad_norm(grad_ws, grad_bs, max_norm):
    """numpy_train.py clip_grad_norm: float64 sum of squares in parameter order w0, b0, w1, b1, ..."""
    squares = 0.0
    for i in range(len(grad_ws)):
        for grads in (grad_ws[i].reshape(grad_ws[i].size), grad_bs[i]):
            sq = 0.0
            for k in range(grads.size):
                v = np.float64(grads[k])
                sq += v * v
            squares += sq
    coef = max_norm / (np.sqrt(squares) + 1e-6)
    if coef < 1.0:
        for i in range(len(grad_ws)):
            for grads in (grad_ws[i].reshape(grad_ws[i].size), grad_bs[i]):
                c = grads.dtype.type(coef)
                for k in range(grads.size):
                    grads[k] = grads[k] * c
