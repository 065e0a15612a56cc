"""Optimizers, in PyTorch's definitions: SGD (momentum, nesterov, weight decay), Adam, AdamW, RMSprop;
and learning-rate schedules (constant, step, exponential, cosine with warmup, inverse scaling),
each usable with every optimizer and applied per update inside the backends' epochs.

An optimizer here is only its hyperparameters; the update kernels live in the backends
(`sgd_step`, `adam_step`, `rmsprop_step`) and the state (momentum buffers, moments) lives in
NumPy arrays beside the weights, so training can be saved and resumed exactly.
"""

from __future__ import annotations

from . import checks as check
from .backends.network import OptimizerConfig, ScheduleConfig
from .names import SCHEDULES


class Optimizer:
    """Base class: holds an OptimizerConfig; subclasses set the name and defaults."""

    name = ""
    keywords = {}  # config field -> the constructor's keyword, where they differ

    def __init__(self, **hyper):
        self.config = OptimizerConfig(name=self.name, **hyper)
        check.optimizer_config(self.config)

    @property
    def lr(self) -> float:
        return self.config.lr

    def __repr__(self) -> str:
        defaults = OptimizerConfig(name=self.name)
        changed = [f"{self.keywords.get(k, k)}={v!r}" for k, v in vars(self.config).items()
                   if k != "name" and (k == "lr" or v != getattr(defaults, k))]
        return f"{type(self).__name__}({', '.join(changed)})"


class SGD(Optimizer):
    """Stochastic gradient descent: ``param -= lr * direction``, with optional (Nesterov) momentum.

    ``dampening`` scales the gradient's share of the momentum buffer, ``(1 - dampening) * g``,
    from the second update on (torch.optim.SGD). ``clip_norm`` (every optimizer): clip the
    global L2 norm of the gradients to it before the update (torch.nn.utils.clip_grad_norm_).
    """

    name = "sgd"

    def __init__(self, lr=0.01, momentum=0.0, nesterov=False, weight_decay=0.0, dampening=0.0,
                 clip_norm=None):
        super().__init__(lr=lr, momentum=momentum, nesterov=bool(nesterov), weight_decay=weight_decay,
                         dampening=dampening, clip_norm=clip_norm)


class Adam(Optimizer):
    """Adam (Kingma & Ba); weight_decay adds L2 to the gradient.

    ``eps_on_raw_moment`` picks where ``eps`` sits. False (PyTorch's ``torch.optim.Adam``):
    ``param -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)``, eps added to the
    bias-corrected root. True (scikit-learn's ``solver="adam"``, and the paper's Algorithm 1
    efficient form): ``param -= lr * sqrt(1 - beta2^t) / (1 - beta1^t) * m / (sqrt(v) + eps)``,
    eps added to the raw root, so it weighs ``1 / sqrt(1 - beta2^t)`` times more in early steps.
    """

    name = "adam"

    def __init__(self, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, clip_norm=None,
                 eps_on_raw_moment=False):
        super().__init__(lr=lr, beta1=beta1, beta2=beta2, eps=eps, weight_decay=weight_decay,
                         clip_norm=clip_norm, eps_on_raw_moment=eps_on_raw_moment)


class AdamW(Optimizer):
    """Adam with decoupled weight decay (Loshchilov & Hutter): ``param *= 1 - lr * weight_decay``.
    ``eps_on_raw_moment``: where eps sits, as in `Adam` (False: PyTorch's, True: scikit-learn's)."""

    name = "adamw"

    def __init__(self, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2, clip_norm=None,
                 eps_on_raw_moment=False):
        super().__init__(lr=lr, beta1=beta1, beta2=beta2, eps=eps, weight_decay=weight_decay,
                         clip_norm=clip_norm, eps_on_raw_moment=eps_on_raw_moment)


class RMSprop(Optimizer):
    """RMSprop (Hinton): divide the gradient by a running RMS of recent gradients; ``centered``
    divides by their running standard deviation instead (a third slot per parameter).
    ``alpha`` (torch.optim.RMSprop's name) is the square average's smoothing constant, kept in
    the config as ``smoothing``."""

    name = "rmsprop"
    keywords = {"smoothing": "alpha"}

    def __init__(self, lr=0.01, alpha=0.99, eps=1e-8, momentum=0.0, weight_decay=0.0, centered=False,
                 clip_norm=None):
        super().__init__(lr=lr, smoothing=alpha, eps=eps, momentum=momentum, weight_decay=weight_decay,
                         centered=bool(centered), clip_norm=clip_norm)


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


def optimizer_from_config(config: dict) -> Optimizer:
    """The optimizer a config dict describes (every OptimizerConfig field and its name, as
    ``vars(optimizer.config)`` gives it): how saved models get their optimizer back."""
    if not isinstance(config, dict):
        raise TypeError(f"an optimizer config must be a dict, got {config!r}")
    cls = OPTIMIZER_CLASSES.get(config.get("name")) if isinstance(config.get("name"), str) else None
    if cls is None:
        raise ValueError(f"unknown optimizer {config.get('name')!r}")
    fields = {k: v for k, v in config.items() if k != "name"}
    if "alpha" in fields and "smoothing" not in fields:  # saved before RMSprop's field was renamed
        fields["smoothing"] = fields.pop("alpha")
    optimizer = object.__new__(cls)  # each subclass's signature leaves out the other optimizers' fields
    Optimizer.__init__(optimizer, **fields)
    return optimizer


# --- learning-rate schedules ----------------------------------------------------------------


class Schedule:
    """Base class: holds a ScheduleConfig. Update t (1-based) trains with
    ``fastmlp.backends.numpy.scheduled_lr(optimizer.lr, config, t)`` (formulas there)."""

    name = ""

    def __init__(self, **fields):
        self.config = ScheduleConfig(name=self.name, **fields)
        check.schedule_config(self.config)

    def resolve(self, total_steps: int) -> ScheduleConfig:
        """The config to train with when a fit will have taken ``total_steps`` updates in all."""
        return ScheduleConfig(**vars(self.config))

    def lr(self, base_lr: float, t: int) -> float:
        """The rate of update ``t`` (1-based) for an optimizer whose ``lr`` is ``base_lr``."""
        from .backends.numpy import scheduled_lr

        return scheduled_lr(base_lr, self.config, t)

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={getattr(self.config, k)!r}" for k in self._fields)
        return f"{type(self).__name__}({fields})"

    _fields: tuple = ()


class ConstantSchedule(Schedule):
    """Every update uses the optimizer's ``lr`` (the default)."""

    name = "constant"


class StepSchedule(Schedule):
    """``lr * gamma ** ((t - 1) // step_size)``: torch's StepLR stepped once per update."""

    name = "step"
    _fields = ("step_size", "gamma")

    def __init__(self, step_size, gamma=0.1):
        super().__init__(step_size=step_size, gamma=gamma)


class ExponentialSchedule(Schedule):
    """``lr * gamma ** (t - 1)``: torch's ExponentialLR stepped once per update."""

    name = "exponential"
    _fields = ("gamma",)

    def __init__(self, gamma):
        super().__init__(gamma=gamma)


class CosineSchedule(Schedule):
    """Linear warmup over ``warmup_steps`` updates to ``lr``, then cosine decay to ``min_lr`` at
    update ``total_steps``. ``total_steps=None``: `MLP.fit` fills it so that min_lr is reached on
    the fit's last update."""

    name = "cosine"
    _fields = ("total_steps", "warmup_steps", "min_lr")

    def __init__(self, total_steps=None, warmup_steps=0, min_lr=0.0):
        self.auto_total = total_steps is None
        warmup = check.integer(warmup_steps, "warmup_steps", low=0)
        super().__init__(total_steps=warmup + 1 if self.auto_total else total_steps,
                         warmup_steps=warmup_steps, min_lr=min_lr)

    def resolve(self, total_steps: int) -> ScheduleConfig:
        config = super().resolve(total_steps)
        if self.auto_total:
            config.total_steps = max(int(total_steps), config.warmup_steps + 1)
        return config

    def __repr__(self) -> str:
        if self.auto_total:
            return f"CosineSchedule(total_steps=None, warmup_steps={self.config.warmup_steps!r}, " \
                   f"min_lr={self.config.min_lr!r})"
        return super().__repr__()


class InvScalingSchedule(Schedule):
    """``lr / t ** power_t``: scikit-learn's "invscaling", applied per update."""

    name = "invscaling"
    _fields = ("power_t",)

    def __init__(self, power_t=0.5):
        super().__init__(power_t=power_t)


SCHEDULE_CLASSES = {"constant": ConstantSchedule, "step": StepSchedule,
                    "exponential": ExponentialSchedule, "cosine": CosineSchedule,
                    "invscaling": InvScalingSchedule}
assert tuple(SCHEDULE_CLASSES) == SCHEDULES


def get_schedule(schedule) -> Schedule:
    """A Schedule from an instance or a name. Names whose schedule needs a field without a
    default ("step", "exponential") must be given as instances."""
    if isinstance(schedule, Schedule):
        return schedule
    if isinstance(schedule, str):
        cls = SCHEDULE_CLASSES.get(schedule.lower())
        if cls is None:
            raise ValueError(f"schedule {schedule!r} is unknown; choose one of {', '.join(SCHEDULE_CLASSES)}")
        if cls in (StepSchedule, ExponentialSchedule):
            raise ValueError(f"schedule {schedule!r} needs arguments: pass fastmlp.optim.{cls.__name__}(...)")
        return cls()
    raise TypeError(f"schedule must be a name or a fastmlp.optim.Schedule, got {type(schedule).__name__}")
