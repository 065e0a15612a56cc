"""Optimizers, in PyTorch's definitions: SGD (momentum, nesterov, weight decay), Adam, AdamW, RMSprop.

An optimizer here is only its hyperparameters; the update kernels live in the backends
(`sgd_step`, `adam_step`, `rmsprop_step`) and the state (momentum buffers, moments) lives in
NumPy arrays beside the weights, so training can be saved and resumed exactly.
"""

from __future__ import annotations

from .backends import _checks as check
from .backends.network import OptimizerConfig


class Optimizer:
    """Base class: holds an OptimizerConfig; subclasses set the name and defaults."""

    name = ""

    def __init__(self, **hyper):
        self.config = OptimizerConfig(name=self.name, **hyper)
        check.optimizer_config(self.config)

    @property
    def lr(self) -> float:
        return self.config.lr

    def __repr__(self) -> str:
        defaults = OptimizerConfig(name=self.name)
        changed = [f"{k}={v!r}" for k, v in vars(self.config).items()
                   if k != "name" and (k == "lr" or v != getattr(defaults, k))]
        return f"{type(self).__name__}({', '.join(changed)})"


class SGD(Optimizer):
    """Stochastic gradient descent: ``param -= lr * direction``, with optional (Nesterov) momentum."""

    name = "sgd"

    def __init__(self, lr=0.01, momentum=0.0, nesterov=False, weight_decay=0.0):
        super().__init__(lr=lr, momentum=momentum, nesterov=bool(nesterov), weight_decay=weight_decay)


class Adam(Optimizer):
    """Adam (Kingma & Ba) with PyTorch's bias correction; weight_decay adds L2 to the gradient."""

    name = "adam"

    def __init__(self, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0):
        super().__init__(lr=lr, beta1=beta1, beta2=beta2, eps=eps, weight_decay=weight_decay)


class AdamW(Optimizer):
    """Adam with decoupled weight decay (Loshchilov & Hutter): ``param *= 1 - lr * weight_decay``."""

    name = "adamw"

    def __init__(self, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2):
        super().__init__(lr=lr, beta1=beta1, beta2=beta2, eps=eps, weight_decay=weight_decay)


class RMSprop(Optimizer):
    """RMSprop (Hinton): divide the gradient by a running RMS of recent gradients."""

    name = "rmsprop"

    def __init__(self, lr=0.01, alpha=0.99, eps=1e-8, momentum=0.0, weight_decay=0.0):
        super().__init__(lr=lr, alpha=alpha, eps=eps, momentum=momentum, weight_decay=weight_decay)


OPTIMIZER_CLASSES = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "rmsprop": RMSprop}


def get_optimizer(optimizer, lr=None) -> Optimizer:
    """An Optimizer from an instance or a name ('adam'); ``lr`` overrides the default rate."""
    if isinstance(optimizer, Optimizer):
        return optimizer
    if isinstance(optimizer, str):
        cls = OPTIMIZER_CLASSES.get(optimizer.lower())
        if cls is None:
            raise ValueError(f"optimizer {optimizer!r} is unknown; choose one of {', '.join(OPTIMIZER_CLASSES)}")
        return cls() if lr is None else cls(lr=lr)
    raise TypeError(f"optimizer must be a name or a fastmlp.optim.Optimizer, got {type(optimizer).__name__}")
