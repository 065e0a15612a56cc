"""scikit-learn's training rules, restated: initialisation and the sgd / adam updates.

These are what ``sklearn_compat=True`` reproduces (and what the per-batch loop uses whenever
the fast engine cannot run a fit). They differ from fastmlp's PyTorch-style optimizers:

- init: Glorot uniform ``U(-b, b)``, ``b = sqrt(f / (fan_in + fan_out))`` with ``f = 2`` for a
  logistic hidden activation and 6 otherwise, drawn from ``check_random_state(random_state)``
  layer by layer, the weights then the biases (biases are random too, not zero).
- sgd: the learning rate sits inside the velocity: ``v = momentum * v - lr * g``, the step is
  ``v`` or, with Nesterov, ``momentum * v - lr * g``; "invscaling" sets
  ``lr = lr0 / (t + 1) ** power_t`` after every epoch, t counting samples seen; "adaptive"
  divides lr by 5 when the stopping rule fires, and stops below 1e-6.
- adam: ``lr_t = lr0 * sqrt(1 - beta2^t) / (1 - beta1^t)`` and the step
  ``-lr_t * m / (sqrt(v) + eps)`` (epsilon outside the bias correction, unlike PyTorch).
"""

from __future__ import annotations

import numpy as np


def glorot_init(random_state, layer_units, activation, dtype):
    """scikit-learn's initial (coefs, intercepts), drawn in its order from ``random_state``."""
    factor = 2.0 if activation == "logistic" else 6.0
    coefs, intercepts = [], []
    for fan_in, fan_out in zip(layer_units[:-1], layer_units[1:]):
        bound = np.sqrt(factor / (fan_in + fan_out))
        w = random_state.uniform(-bound, bound, (fan_in, fan_out))
        b = random_state.uniform(-bound, bound, fan_out)
        coefs.append(np.ascontiguousarray(w, dtype=dtype))
        intercepts.append(np.ascontiguousarray(b, dtype=dtype))
    return coefs, intercepts


class SklearnSGD:
    """scikit-learn's SGD with (Nesterov) momentum; ``scale`` multiplies lr per update (schedules)."""

    def __init__(self, params, learning_rate_init, lr_schedule, momentum, nesterov, power_t):
        self.learning_rate_init = float(learning_rate_init)
        self.learning_rate = float(learning_rate_init)
        self.lr_schedule = lr_schedule
        self.momentum = momentum
        self.nesterov = nesterov
        self.power_t = power_t
        self.velocities = [np.zeros_like(p) for p in params]

    def update(self, params, grads, scale=1.0):
        lr = self.learning_rate * scale
        for i, (param, grad) in enumerate(zip(params, grads)):
            velocity = self.momentum * self.velocities[i] - lr * grad
            self.velocities[i] = velocity
            step = self.momentum * velocity - lr * grad if self.nesterov else velocity
            param += step

    def iteration_ends(self, samples_seen):
        if self.lr_schedule == "invscaling":
            self.learning_rate = self.learning_rate_init / (samples_seen + 1) ** self.power_t

    def stop_or_slow_down(self):
        """True to stop; with "adaptive", divide the rate by 5 instead while it is above 1e-6."""
        if self.lr_schedule != "adaptive" or self.learning_rate <= 1e-6:
            return True
        self.learning_rate /= 5.0
        return False

    @property
    def slots(self):
        return self.velocities


class SklearnAdam:
    """scikit-learn's Adam (epsilon added after the square root, outside the bias correction)."""

    def __init__(self, params, learning_rate_init, beta_1, beta_2, epsilon):
        self.learning_rate_init = float(learning_rate_init)
        self.learning_rate = float(learning_rate_init)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        self.t = 0
        self.ms = [np.zeros_like(p) for p in params]
        self.vs = [np.zeros_like(p) for p in params]

    def update(self, params, grads, scale=1.0):
        self.t += 1
        b1, b2 = self.beta_1, self.beta_2
        self.ms = [b1 * m + (1 - b1) * g for m, g in zip(self.ms, grads)]
        self.vs = [b2 * v + (1 - b2) * (g**2) for v, g in zip(self.vs, grads)]
        self.learning_rate = (self.learning_rate_init * np.sqrt(1 - b2**self.t)
                              / (1 - b1**self.t))
        lr = self.learning_rate * scale
        for param, m, v in zip(params, self.ms, self.vs):
            param += -lr * m / (np.sqrt(v) + self.epsilon)

    def iteration_ends(self, samples_seen):
        pass

    def stop_or_slow_down(self):
        return True

    @property
    def slots(self):
        return self.ms + self.vs
