"""Argument checks shared by every backend and the model, so all raise the same error for the
same input; call sites read ``from fastmlp import checks as check`` and ``check.number(...)``.

Each check names the argument in its message. Kernels never scan their data for NaN/Inf (that
is IEEE's job and costs a pass); the model's `fit` does, once, up front.

    arrays       dtype, shape, output buffers, the all-finite scan
    scalars      finite numbers and bounded integers
    threads      thread counts
    targets      loss targets and sample / class weights
    kernel_args  each kernel's argument bundle
    training     network, batch, epoch order, optimizer / schedule settings, non-finite loss
"""

from __future__ import annotations

from ..names import activation_name, loss_name
from .arrays import (FLOAT_DTYPES, all_finite, float_array, needed, new_output, out_array, same_dtype,
                     shape_is)
from .kernel_args import (activation_backward_args, dense_backward_args, dense_forward_args,
                          dropout_mask_args, matmul_args, optimizer_args, sgd_first_step)
from .scalars import INT64_MAX, MAX_STEP, SEED_MAX, flag, integer, number
from .targets import DISTRIBUTION_TOL, class_weights, loss_args, loss_target, target_values, weights
from .threads import MAX_THREADS, OVERSUBSCRIBED, num_threads, usable_cpus, warn_if_oversubscribed
from .training import (batch_arrays, dropout, epoch_order, gradient_outputs,
                       loss_gradient_args, network, optimizer_config, schedule_config)

__all__ = [
    "FLOAT_DTYPES", "all_finite", "float_array", "needed", "new_output", "out_array", "same_dtype",
    "shape_is",
    "INT64_MAX", "MAX_STEP", "SEED_MAX", "flag", "integer", "number",
    "MAX_THREADS", "OVERSUBSCRIBED", "num_threads", "usable_cpus", "warn_if_oversubscribed",
    "DISTRIBUTION_TOL", "class_weights", "loss_args", "loss_target", "target_values", "weights",
    "activation_backward_args", "dense_backward_args", "dense_forward_args", "dropout_mask_args",
    "matmul_args", "optimizer_args", "sgd_first_step",
    "batch_arrays", "dropout", "epoch_order", "gradient_outputs", "loss_gradient_args", "network",
    "optimizer_config", "schedule_config",
    "activation_name", "loss_name",
]
