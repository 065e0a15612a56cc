"""The fast path: whole epochs in the backend's ``train_epoch`` (the C++ epoch, GIL released)
on a `fastmlp.MLP`'s network, giving scikit-learn's numbers (to rounding).

Units: fastmlp's losses are means over every output (``mse`` = mean squared error, not half),
scikit-learn's are sums over outputs of half squared error or of log loss. With ``s`` the ratio
of scikit-learn's gradient to fastmlp's (k outputs: squared error k/2, binary/multi-label log
loss k, softmax log loss 1) the engine trains with ``alpha / s`` (same balance between data and
penalty), sgd's rate times ``s`` (same step sizes as scikit-learn's sgd), Adam with
scikit-learn's epsilon placement (``eps_on_raw_moment``) and ``epsilon / s`` (the moments are
1/s of scikit-learn's, so ``m / (sqrt(v) + eps)`` is its ratio), and reports the loss in
scikit-learn's units: the epoch's batch losses weighed by row count (as scikit-learn averages
them, whatever the sample weights), their data part times ``s`` (``1/2`` for squared error,
whose reported loss scikit-learn averages over outputs although its gradient sums them), their
L2 part times ``s``, plus the target-only terms of the Poisson deviance. The log losses clip
the predicted probabilities to [eps, 1 - eps] in the loss value as scikit-learn's do
(``Network.clip_probabilities``): a saturated output costs at most -log(eps), not its true
-log p. So ``tol``, ``loss_curve_`` and the weights are scikit-learn's.
"""

from __future__ import annotations

import numpy as np

from ..errors import NonFiniteLossError

FM_LOSS = {"log_loss": "cross_entropy", "binary_log_loss": "binary_cross_entropy",
           "squared_error": "mse", "poisson": "poisson"}
FM_ACTIVATION = {"logistic": "sigmoid"}


def engine_can_fit(est, *, loss, dropout, sample_weight):
    """True when the compiled epoch runs this fit: everything but ``sklearn_compat=True``, which
    asks for the per-batch loop (scikit-learn's rules written out in NumPy, a reference for the
    engine). (fastmlp.MLP has every other option: alpha, dropout, sample weights, poisson.)"""
    return not est.sklearn_compat


def grad_scale(loss, n_outputs):
    """scikit-learn's gradient divided by fastmlp's for the same output (see the module doc)."""
    return {"squared_error": n_outputs / 2.0, "binary_log_loss": float(n_outputs),
            "poisson": float(n_outputs), "log_loss": 1.0}[loss]


def sklearn_loss(loss, n_outputs, total, penalty):
    """fastmlp's loss ``total`` (of which ``penalty`` is the L2 part, trained with alpha / s) in
    scikit-learn's units: the data part times 1/2 for squared error (whose reported loss
    scikit-learn averages over outputs although its gradient sums them) or s, the penalty
    times s (scikit-learn's penalty is alpha's)."""
    scale = grad_scale(loss, n_outputs)
    return (total - penalty) * (0.5 if loss == "squared_error" else scale) + penalty * scale


def engine_activations(hidden):
    """scikit-learn's hidden activation names as fastmlp's, the output layer's identity added."""
    return [FM_ACTIVATION.get(a, a) for a in hidden] + ["identity"]


def engine_target(loss, Y):
    """What the engine's loss takes: labels for softmax, else Y itself."""
    return Y.argmax(axis=1) if loss == "log_loss" else Y


def poisson_offset(Y, sample_weight, order, batch_size):
    """scikit-learn's half Poisson deviance minus k times fastmlp's ``mean(exp(o) - t o)``: the
    target-only terms ``sum over outputs of (y log y - y)``, averaged as scikit-learn averages
    its epoch loss (each batch's weighted mean, the batches weighed by their row counts)."""
    from scipy.special import xlogy

    terms = (xlogy(Y, Y) - Y).sum(axis=1)[order]
    if sample_weight is None:
        return float(terms.mean())
    weights = sample_weight[order]
    starts = np.arange(0, len(order), batch_size)
    batch_means = np.add.reduceat(weights * terms, starts) / np.add.reduceat(weights, starts)
    return float(batch_means @ np.diff(np.append(starts, len(order))) / len(order))


class EngineRunner:
    """Epochs through a `fastmlp.MLP` that shares the estimator's weight arrays."""

    def __init__(self, est, coefs, intercepts, *, hidden, out_activation, loss, dropout, seed):
        self.loss = loss
        self.n_outputs = coefs[-1].shape[1]
        self.scale = grad_scale(loss, self.n_outputs)
        self.solver = est.solver
        self.lr_schedule = est.learning_rate
        self.learning_rate_init = float(est.learning_rate_init)
        self.learning_rate = self.learning_rate_init
        self.power_t = est.power_t
        self.backend_name = est.backend
        units = [coefs[0].shape[0]] + [w.shape[1] for w in coefs]
        self.spec = dict(layer_sizes=units, activation=engine_activations(hidden)[:-1],
                         loss=FM_LOSS[loss], dtype=coefs[0].dtype.name, backend=est.backend,
                         seed=int(seed))
        self.spec["l2"] = float(est.alpha) / self.scale
        if any(dropout):
            self.spec["dropout"] = list(dropout)
        self.model = self._build()
        self.model.network.clip_probabilities = True  # scikit-learn's log losses (no effect on the others)
        for dst, src in zip(self.model.weights + self.model.biases, coefs + intercepts):
            dst[...] = src
        self.model.optimizer = self._optimizer(est)
        self._fresh_optimizer = True
        self.schedule = None
        self.diverged = False
        self.divergence = ""  # what the engine said when the loss turned non-finite

    def refresh(self, est, hidden, dropout):
        """Re-read what scikit-learn re-reads on every partial_fit call (alpha, the hidden
        activations) and fastmlp's dropout rates; the optimizer's settings stay those of its
        first call, as in scikit-learn's ``_optimizer``."""
        net = self.model.network
        net.l2 = float(est.alpha) / self.scale
        net.activations = engine_activations(hidden)
        self.model.hidden_activations = net.activations[:-1]
        net.dropout = list(dropout) + [0.0] if any(dropout) else []

    def adopt(self, coefs, intercepts):
        """Arrays assigned to the estimator's coefs_ / intercepts_ since the last call are
        copied into the model's own (which training updates in place); returns new lists of the
        model's arrays for the estimator to hold."""
        own = self.model.weights + self.model.biases
        for mine, given in zip(own, list(coefs) + list(intercepts)):
            if given is not mine:
                mine[...] = given
                self.diverged, self.divergence = False, ""
        return list(self.model.weights), list(self.model.biases)

    def _build(self):
        from ..model import MLP

        return MLP(**self.spec)

    # the model holds a backend module, which pickle cannot store: keep its network instead
    def __getstate__(self):
        state = dict(self.__dict__)
        model = state.pop("model")
        state.pop("_labels", None)  # a fit's targets: no part of the fitted state
        state["network"], state["fm_optimizer"] = model.network, model.optimizer
        return state

    def __setstate__(self, state):
        network, optimizer = state.pop("network"), state.pop("fm_optimizer")
        state.setdefault("diverged", False)  # pickled before the divergence handling
        state.setdefault("divergence", "")
        self.__dict__.update(state)
        self.model = self._build()
        self.model.network = network
        self.model.optimizer = optimizer

    def params(self):
        """New lists of the model's weight and bias arrays (the estimator's coefs_ /
        intercepts_ hold these arrays, so assigning to their items never reaches the model)."""
        return list(self.model.weights), list(self.model.biases)

    def _optimizer(self, est):
        from .. import optim

        if est.solver == "sgd":
            nesterov = bool(est.nesterovs_momentum) and est.momentum > 0
            return optim.SGD(lr=self.learning_rate_init * self.scale, momentum=est.momentum,
                             nesterov=nesterov, weight_decay=est.weight_decay)
        # scikit-learn's eps placement; eps / s because fastmlp's gradient (and so sqrt(v)) is
        # 1/s of scikit-learn's, which makes m / (sqrt(v) + eps) scikit-learn's ratio
        adam = dict(lr=self.learning_rate_init, beta1=est.beta_1, beta2=est.beta_2,
                    eps=est.epsilon / self.scale, eps_on_raw_moment=True)
        if est.weight_decay:
            return optim.AdamW(weight_decay=est.weight_decay, **adam)
        return optim.Adam(**adam)

    def set_schedule(self, schedule_config):
        self.schedule = schedule_config
        self.model.network.schedule = schedule_config

    def epoch(self, coefs, intercepts, X, Y, sample_weight, order, batch_size, shuffled):
        if self.diverged:  # NaN weights stay NaN: scikit-learn's epochs after a divergence
            return float("nan")
        net = self.model.network
        if self._fresh_optimizer:  # the model's own state starts here (fit would reset it)
            from ..backends.network import OptimizerConfig

            net.optimizer = OptimizerConfig(**vars(self.model.optimizer.config))
            net.slots_m = [np.zeros_like(p) for p in net.params]
            net.slots_v = [np.zeros_like(p) for p in net.params]
            net.step = 0
            self._fresh_optimizer = False
            self._rate_in_velocity = None
        if self.solver == "sgd":
            self._set_sgd_rate(net, self.learning_rate * self.scale)
        target = self._target(Y)
        try:  # the backend gathers the batches by order itself: no shuffled copy of X
            stats = self.model.backend.train_epoch(net, X, target, np.asarray(order), batch_size,
                                                   sample_weight)
            loss = self._sklearn_loss(stats)
        except NonFiniteLossError as exc:  # the engine refuses a non-finite loss mid-epoch
            loss = float("nan")
            self.divergence = (f"loss is {exc.loss} at batch {exc.batch} of the epoch "
                               f"(rows {exc.first_row} to {exc.last_row} of order)")
        if not np.isfinite(loss):
            self._diverge()
            return float("nan")
        if self.loss == "poisson":
            loss += poisson_offset(Y, sample_weight, order, batch_size)
        return loss

    def _target(self, Y):
        """What the engine's loss takes: labels for softmax (one argmax per fit, not per
        epoch: the epochs of a fit share Y), else Y itself."""
        if self.loss != "log_loss":
            return Y
        cached = getattr(self, "_labels", None)  # absent in runners pickled before
        if cached is None or cached[0] is not Y:
            cached = self._labels = (Y, engine_target(self.loss, Y))
        return cached[1]

    def _sklearn_loss(self, stats):
        """The epoch's loss in scikit-learn's units: batch losses weighed by row count."""
        return sklearn_loss(self.loss, self.n_outputs, stats.rows_mean_loss,
                            stats.rows_mean_penalty)

    def _set_sgd_rate(self, net, rate):
        """SGD's rate for the next epoch. fastmlp's velocity (PyTorch's) is ``v = m v + g`` with
        the rate applied outside it, scikit-learn's is ``v = m v - rate g``: the same steps while
        the rate holds, scikit-learn's velocity being -rate times fastmlp's. When the rate changes
        (invscaling, adaptive), scaling fastmlp's velocity by old / new keeps it -1/new times
        scikit-learn's, so the next steps stay scikit-learn's."""
        old = getattr(self, "_rate_in_velocity", None)  # absent in runners pickled before
        if old is not None and old != rate and net.slots_m:
            for v in net.slots_m:
                v *= v.dtype.type(old / rate)
        net.optimizer.lr = rate
        self._rate_in_velocity = rate

    def _diverge(self):
        """A non-finite loss: the weights are what scikit-learn's would be, non-finite (NaN),
        so the estimator raises its error or, with early stopping, keeps its best weights."""
        for p in self.model.weights + self.model.biases:
            p.fill(np.nan)
        self.diverged = True
        if not self.divergence:
            self.divergence = "the epoch's loss was not finite"

    def iteration_ends(self, samples_seen):
        if self.solver == "sgd" and self.lr_schedule == "invscaling":
            self.learning_rate = self.learning_rate_init / (samples_seen + 1) ** self.power_t

    def stop_or_slow_down(self):
        if self.solver != "sgd" or self.lr_schedule != "adaptive" or self.learning_rate <= 1e-6:
            return True
        self.learning_rate /= 5.0
        return False
