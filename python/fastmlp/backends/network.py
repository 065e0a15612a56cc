"""The plain data a training kernel works on: a network's arrays and its optimizer settings.

`Network` holds no logic. Every backend's `train_step` / `train_epoch` reads and updates these
arrays in place (the C++ backend through zero-copy views), so the model, the three backends and
the tests all look at the same memory. The model (`fastmlp.MLP`) builds one; tests build them
directly.

Layer i maps (batch, n_in_i) -> (batch, n_out_i):
    z_i = a_{i-1} @ weights[i] + biases[i],   a_i = activation_i(z_i),   a_{-1} = x
The last layer's activation is always "identity": the loss applies the output link
(softmax for cross_entropy, sigmoid for binary_cross_entropy) fused with its gradient.

Optimizer slots, one pair per parameter array, same shape and dtype:
    sgd:      slot_m = momentum buffer              slot_v unused (kept zero)
    adam(w):  slot_m = first moment                 slot_v = second moment
    rmsprop:  slot_m = momentum buffer              slot_v = square average
    centered rmsprop also keeps slots_g = the gradient average (empty for every other optimizer)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from ..names import OPTIMIZERS, SCHEDULES  # noqa: F401 -- the dataclasses' name fields take these


@dataclass
class OptimizerConfig:
    """Hyperparameters of one optimizer, in PyTorch's definitions and defaults."""

    name: str = "sgd"  # one of OPTIMIZERS
    lr: float = 0.01
    momentum: float = 0.0  # sgd, rmsprop
    nesterov: bool = False  # sgd
    weight_decay: float = 0.0  # L2 added to the gradient (adamw: decoupled decay)
    beta1: float = 0.9  # adam, adamw
    beta2: float = 0.999  # adam, adamw
    eps: float = 1e-8  # adam, adamw, rmsprop
    eps_on_raw_moment: bool = False  # adam, adamw: scikit-learn's eps placement (backends.numpy.adam_step)
    smoothing: float = 0.99  # rmsprop: the square average's decay (PyTorch's alpha)
    dampening: float = 0.0  # sgd: momentum buffer takes (1 - dampening) g, from update 2 on
    centered: bool = False  # rmsprop: divide by the gradient's running variance, not its RMS
    clip_norm: float | None = None  # every optimizer: clip the global gradient L2 norm first


class EpochStats(tuple):
    """What every backend's ``train_epoch`` returns: unpacks as ``(mean_loss, n_correct)``
    (mean_loss weighs each batch's loss by its total weight: its size without weights), and
    names scikit-learn's view of the same epoch: ``rows_mean_loss`` weighs each batch's loss by
    its row count whatever the weights, and ``rows_mean_penalty`` is the L2 penalty's part of it
    (so a caller can report the two parts in different units)."""

    def __new__(cls, mean_loss, n_correct, rows_mean_loss, rows_mean_penalty):
        stats = super().__new__(cls, (float(mean_loss), int(n_correct)))
        stats.rows_mean_loss, stats.rows_mean_penalty = float(rows_mean_loss), float(rows_mean_penalty)
        return stats

    @property
    def mean_loss(self) -> float:
        return self[0]

    @property
    def n_correct(self) -> int:
        return self[1]

    def __getnewargs__(self):  # pickle and copy rebuild it whole
        return self[0], self[1], self.rows_mean_loss, self.rows_mean_penalty


class LossGradient(NamedTuple):
    """What every backend's ``loss_gradient`` returns: the loss (data part plus the L2 penalty),
    the penalty's part of it, and the gradient, one array per parameter in ``Network.params``'
    order (w0, b0, w1, b1, ...)."""

    loss: float
    penalty: float
    grads: list


@dataclass
class ScheduleConfig:
    """A learning-rate schedule: the rate of update t (1-based) is
    ``backends.numpy.scheduled_lr(optimizer.lr, schedule, t)``; that docstring has the formulas.
    Only the fields of the named schedule are read."""

    name: str = "constant"  # one of SCHEDULES
    step_size: int = 1  # step: updates between decays
    gamma: float = 0.1  # step, exponential: decay factor in (0, 1]
    total_steps: int = 1  # cosine: the update whose rate is min_lr
    warmup_steps: int = 0  # cosine: linear warmup updates, < total_steps
    min_lr: float = 0.0  # cosine: final rate
    power_t: float = 0.5  # invscaling: exponent (scikit-learn's default)


@dataclass
class Network:
    """Arrays of a multilayer perceptron plus its optimizer state.

    weights[i] is (n_in_i, n_out_i) C-contiguous, biases[i] is (n_out_i,); all one float dtype.
    slots_m / slots_v hold one array per parameter in the order w0, b0, w1, b1, ...
    class_weight (None or one weight per output class, cross_entropy only) weighs each row's
    loss by its label's weight, times the row's sample weight when one is given.
    l2 adds scikit-learn's L2 penalty ``0.5 * l2 * sum_l ||W_l||^2 / sum_i s_i`` (its ``alpha``) to
    each step's loss (s_i the batch's row weights: its size without weights) and its gradient
    ``l2 * W_l / sum_i s_i`` to each weight matrix's gradient (biases are not penalised).
    dropout (empty: none) gives each layer's dropout rate, the output layer's 0; training steps
    multiply hidden activations by masks drawn from (seed, step, layer, element).
    clip_probabilities (cross_entropy, binary_cross_entropy) computes the loss's value from the
    predicted probabilities clipped to [eps, 1 - eps], as scikit-learn's log losses do
    (`backends.numpy.loss_forward_backward`); the gradient is unchanged.
    step counts optimizer updates taken so far (Adam's bias correction uses step + 1, and the
    schedule gives update step + 1 the rate scheduled_lr(optimizer.lr, schedule, step + 1)).
    """

    weights: list
    biases: list
    activations: list  # one name per layer; the last is "identity"
    loss: str
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    slots_m: list = field(default_factory=list)
    slots_v: list = field(default_factory=list)
    step: int = 0
    slots_g: list = field(default_factory=list)  # centered rmsprop: gradient average per param
    class_weight: np.ndarray | None = None  # cross_entropy only: one weight per class (n_out,)
    l2: float = 0.0  # L2 penalty on the weights (not biases), scikit-learn's alpha
    dropout: list = field(default_factory=list)  # empty, or a rate per layer (the last 0)
    seed: int = 0  # keys the dropout masks (backends.numpy.dropout_mask)
    # the log losses' values of p clipped to [eps, 1 - eps] (backends.numpy.loss_forward_backward),
    # scikit-learn's definition; set by its drop-in's engine
    clip_probabilities: bool = False

    def __post_init__(self):
        # np.zeros, not zeros_like: calloc'd pages stay unmapped until an optimizer writes them,
        # so a model that is only built (or loaded for inference) costs its weights, not 3x them
        if not self.slots_m:
            self.slots_m = [np.zeros(p.shape, p.dtype) for p in self.params]
        if not self.slots_v:
            self.slots_v = [np.zeros(p.shape, p.dtype) for p in self.params]
        self.ensure_slots()

    def ensure_slots(self):
        """Create the third slots (zeros) when the optimizer needs them and they are missing:
        only centered RMSprop does, so other networks carry no third copy of the parameters.
        Every backend's train_step / train_epoch calls this first."""
        if getattr(self.optimizer, "centered", False) and not self.slots_g:
            self.slots_g = [np.zeros_like(p) for p in self.params]

    def start_optimizer(self, config: OptimizerConfig):
        """Train from now on with ``config``, from a fresh state: zeroed slots, step 0."""
        self.optimizer = config
        self.slots_m = [np.zeros_like(p) for p in self.params]
        self.slots_v = [np.zeros_like(p) for p in self.params]
        self.slots_g = []
        self.ensure_slots()  # centered RMSprop's third slots
        self.step = 0

    @property
    def params(self) -> list:
        """Parameters in update order: w0, b0, w1, b1, ..."""
        out = []
        for w, b in zip(self.weights, self.biases):
            out += [w, b]
        return out

    @property
    def dtype(self) -> np.dtype:
        return self.weights[0].dtype

    @property
    def layer_sizes(self) -> list:
        return [self.weights[0].shape[0]] + [w.shape[1] for w in self.weights]

    def copy(self) -> "Network":
        """A deep copy: new arrays, same values (tests run one network through each backend)."""
        return Network(
            weights=[w.copy() for w in self.weights],
            biases=[b.copy() for b in self.biases],
            activations=list(self.activations),
            loss=self.loss,
            optimizer=OptimizerConfig(**vars(self.optimizer)),
            schedule=ScheduleConfig(**vars(self.schedule)),
            slots_m=[s.copy() for s in self.slots_m],
            slots_v=[s.copy() for s in self.slots_v],
            step=self.step,
            slots_g=[s.copy() for s in self.slots_g],
            class_weight=None if self.class_weight is None else np.array(self.class_weight),
            l2=self.l2,
            dropout=list(self.dropout),
            seed=self.seed,
            clip_probabilities=getattr(self, "clip_probabilities", False),
        )
