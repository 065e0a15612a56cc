"""fastmlp.MLP: a multilayer perceptron with fit / predict / evaluate / save / load.

The model owns a `Network` (weights, biases, optimizer slots as NumPy arrays) and a backend
module; every computation is a call into the backend's kernel API, so switching
``backend="cpp" | "numba" | "numpy"`` changes speed, not results. The class delegates each job
to a module beside it: model_config (the constructor's checks), model_inputs (X and y),
model_fit (fit's keywords, validation_split, a fresh optimizer), model_predict (forward,
predict, evaluate) and model_state (the state dict).
"""

from __future__ import annotations

import numpy as np

from . import checks as check
from . import convert as _convert
from . import init as _init
from . import io as _io
from . import losses as _losses
from . import model_fit, model_inputs, model_predict, model_state
from ._renamed import warn_renamed
from .backends import get_backend
from .backends.network import Network, ScheduleConfig
from .fit_guard import one_fit_at_a_time
from .model_config import config_l2 as _config_l2
from .model_config import dropout_rates as _dropout_rates
from .model_config import float_dtype as _dtype
from .model_config import hidden_activations as _hidden_activations
from .model_config import init_scheme as _init_scheme
from .model_config import l2_penalty as _l2_penalty
from .model_config import layer_sizes as _layer_sizes
from .model_fit import VALIDATION_STREAM  # noqa: F401  (where it has always been importable)
from .model_predict import PREDICT_CHUNK  # noqa: F401
from .model_predict import params_crc as _crc
from .onnx_export import model_to_onnx
from .train import run_epochs


class MLP:
    """A dense feed-forward network.

    Parameters
    ----------
    layer_sizes : list of int
        Units per layer, input first: ``[784, 256, 128, 10]`` has three weight matrices.
    activation : str or list of str
        Hidden-layer activation, one name for all or one per hidden layer. A list may also
        name the output layer's activation, which must match the loss's link (identity,
        softmax for cross_entropy, sigmoid for binary_cross_entropy).
    loss : str
        mse, mae, huber, cross_entropy (softmax fused), binary_cross_entropy (sigmoid fused) or
        poisson (log link fused: the output is log(rate); predict returns the rate; y >= 0).
    dtype : "float32" or "float64"
    backend : "cpp", "numba" or "numpy"
    seed : int or None
        Seeds the initial weights and the shuffling in `fit`. None draws a fresh random seed
        (as scikit-learn's ``random_state=None``); ``model.seed`` keeps it, to repeat the run.
    init : "auto", "he" or "glorot"
    l2 : float
        L2 penalty in scikit-learn's definition (its ``alpha``): each step's loss gains
        ``0.5 * l2 * sum ||W||^2 / (batch's total sample weight)`` (weights, not biases), and the
        reported training loss includes it. 0 (the default) turns it off.
    dropout : float or list of float
        Inverted dropout on the hidden layers' activations during training (never in predict):
        one rate in [0, 1) for every hidden layer or one per hidden layer. The masks come from
        (seed, update, layer, element), so every backend drops the same units
        (`fastmlp.backends.numpy.dropout_mask`).
    alpha : float
        Deprecated alias of ``l2`` (warns with a FutureWarning).
    """

    def __init__(self, layer_sizes, activation="relu", loss="cross_entropy", dtype="float32",
                 backend="cpp", seed=0, init="auto", l2=0.0, dropout=0.0, *, alpha=None):
        if alpha is not None:
            warn_renamed("MLP(alpha=...)", "MLP(l2=...)")
        self._configure(layer_sizes, activation, loss, dtype, backend, seed, init)
        l2 = _l2_penalty(l2, alpha)
        weights, biases = _init.initialize(self.layer_sizes, self.hidden_activations + ["identity"],
                                           self.dtype, self.seed, init)
        self._own(weights, biases, l2, _dropout_rates(dropout, len(self.layer_sizes) - 2))
        self._initial_crc = _crc(self.network.params)  # tells "never trained" from loaded or set weights

    def _configure(self, layer_sizes, activation, loss, dtype, backend, seed, init):
        """Check and keep the architecture and settings: everything but the arrays."""
        self.layer_sizes = _layer_sizes(layer_sizes)
        self.loss = check.loss_name(loss)
        self.hidden_activations = _hidden_activations(activation, len(self.layer_sizes) - 1, self.loss)
        self.dtype = _dtype(dtype)
        self.backend_name = backend
        self.backend = get_backend(backend)
        # None: a fresh random seed, as scikit-learn's random_state=None; kept so a run can be repeated
        self.seed = fresh_seed() if seed is None else check.integer(seed, "seed", low=0, high=check.SEED_MAX)
        self.init = _init_scheme(init)

    def _own(self, weights, biases, l2, dropout):
        """Take checked arrays and rates as the model's network, untrained."""
        self.network = Network(weights, biases, self.hidden_activations + ["identity"], self.loss,
                               l2=l2, dropout=dropout, seed=self.seed)
        self.optimizer = None
        self._fit_count = 0
        self._initial_crc = None  # weights given, not drawn: never "untrained"
        self._warned_untrained = False

    # --- state: everything that defines the model, as a plain dict -------------------------

    def state(self) -> dict:
        """Everything that defines the model as a plain dict (`fastmlp.model_state` lists the
        keys): the config, the weights and biases, the optimizer's settings, slots and step,
        the schedule, the fit count and class weights. Like PyTorch's ``state_dict`` its arrays
        are the model's own, not copies; `MLP.from_state` rebuilds the model from it."""
        net = self.network
        optimizer = None
        if self.optimizer is not None:
            optimizer = {"config": dict(vars(net.optimizer)), "step": net.step, "slots_m": list(net.slots_m),
                         "slots_v": list(net.slots_v), "slots_g": list(net.slots_g)}
        config = {"layer_sizes": list(self.layer_sizes), "activations": list(self.hidden_activations),
                  "loss": self.loss, "dtype": self.dtype.name, "init": self.init, "seed": self.seed,
                  "l2": self.l2, "dropout": self.dropout, "backend": self.backend_name}
        return {"config": config, "weights": list(net.weights), "biases": list(net.biases),
                "optimizer": optimizer, "schedule": dict(vars(net.schedule)), "fit_count": self._fit_count,
                "class_weight": None if net.class_weight is None else np.asarray(net.class_weight, np.float64)}

    @classmethod
    def from_state(cls, state, backend=None) -> "MLP":
        """The model a `state` dict describes, with copies of its arrays and no random draw
        (PyTorch's ``load_state_dict``). ``backend`` overrides the config's (default "cpp").
        Every entry is checked: ValueError or TypeError naming the one that does not fit."""
        state = model_state.check_keys(state)
        config = state["config"]
        model = cls.__new__(cls)  # no __init__: it would draw weights only to overwrite them
        backend = backend or config.get("backend") or "cpp"
        get_backend(backend)  # an unknown backend is the caller's error, not the config's
        try:
            model._configure(config["layer_sizes"], config["activations"], config["loss"], config["dtype"],
                             backend, config["seed"], config.get("init", "auto"))
            l2 = _config_l2(config)
            dropout = _dropout_rates(config.get("dropout", 0.0), len(model.layer_sizes) - 2)
        except KeyError as exc:
            raise ValueError(f"config metadata lacks {exc.args[0]!r}") from exc
        except (TypeError, ValueError) as exc:
            raise ValueError(f"config metadata does not describe a valid model: {exc}") from exc
        model._own(*model_state.parameters(state, model.layer_sizes, model.dtype), l2, dropout)
        model.optimizer = model_state.restore_training(model.network, state)
        model._fit_count = model_state.count(state.get("fit_count", 0), "fit_count")
        return model

    # --- what the model is -------------------------------------------------------------------

    @property
    def weights(self) -> list:
        """The weight matrices, (n_in, n_out) each; writable views of the model's own arrays."""
        return self.network.weights

    @property
    def l2(self) -> float:
        """The L2 penalty (scikit-learn's alpha); training reads it from the network."""
        return self.network.l2

    @l2.setter
    def l2(self, value):
        self.network.l2 = check.number(value, "l2", low=0.0)

    @property
    def alpha(self) -> float:
        """Deprecated alias of `l2` (warns with a FutureWarning)."""
        warn_renamed("MLP.alpha", "MLP.l2")
        return self.network.l2

    @alpha.setter
    def alpha(self, value):
        warn_renamed("MLP.alpha", "MLP.l2")
        self.network.l2 = check.number(value, "alpha", low=0.0)

    @property
    def dropout(self) -> list:
        """Dropout rate of each hidden layer."""
        rates = self.network.dropout
        return list(rates[:-1]) if len(rates) else [0.0] * (len(self.layer_sizes) - 2)

    @property
    def biases(self) -> list:
        return self.network.biases

    @property
    def activations(self) -> list:
        """Activation of every layer; the last is the loss's output link."""
        return self.hidden_activations + [_losses.output_link(self.loss)]

    @property
    def is_classifier(self) -> bool:
        return _losses.is_classification(self.loss)

    @property
    def metric_name(self) -> str:
        return "accuracy" if self.is_classifier else "r2"

    @property
    def n_params(self) -> int:
        return sum(p.size for p in self.network.params)

    # the backend is a module, which pickle and copy.deepcopy cannot store: keep its name
    def __getstate__(self):
        state = dict(self.__dict__)
        del state["backend"]
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.backend = get_backend(self.backend_name)

    def __repr__(self) -> str:
        return (f"MLP({self.layer_sizes}, activation={self.hidden_activations!r}, loss={self.loss!r}, "
                f"dtype={self.dtype.name!r}, backend={self.backend_name!r})")

    # --- training ------------------------------------------------------------------------------

    @one_fit_at_a_time
    def fit(self, X, y, epochs=10, batch_size=32, optimizer=None, validation_data=None,
            shuffle=True, verbose=0, early_stopping=False, callbacks=None, schedule=None,
            sample_weight=None, class_weight=None, validation_split=None, **unknown):
        """Train on (X, y) for ``epochs`` passes; returns a `History`.

        ``optimizer`` is a `fastmlp.optim` instance or a name; None keeps the optimizer (and
        its state) of the previous `fit`, or starts Adam(lr=1e-3). A new optimizer starts with
        fresh state. ``verbose``: 0 silent, 1 a progress bar per epoch, 2 one line per epoch.
        ``early_stopping``: True (stop when the validation loss, or the training loss without
        validation data, has not improved for 5 epochs, and restore the best weights) or a
        `fastmlp.callbacks.EarlyStopping`. ``callbacks``: objects with
        ``on_epoch_end(epoch, logs, model)`` returning True to stop.
        ``schedule``: a `fastmlp.optim` schedule (StepSchedule, ExponentialSchedule,
        CosineSchedule, InvScalingSchedule, ConstantSchedule) or a name ("constant", "cosine",
        "invscaling") whose learning rate changes every update, counted by the optimizer's step
        (so a new optimizer restarts it); None keeps the current schedule (constant at first).
        A cosine schedule without total_steps ends at min_lr on this fit's last update.
        ``sample_weight``: one weight >= 0 per row of X. ``class_weight`` (cross_entropy):
        "balanced" (scikit-learn's n_samples / (n_classes * bincount(y))), a {label: weight}
        dict (other labels weigh 1) or an array with one weight per class; it applies to this
        fit (None: no class weights). Each batch's loss is the weighted mean of its rows' losses
        (``fastmlp.backends.numpy.loss_forward_backward``); a batch whose weights are all 0 has
        loss 0/0 and stops training with FloatingPointError, so rows of weight 0 are best left
        out of X. Validation loss and metric stay unweighted.
        ``validation_split``: a fraction in (0, 1) of the rows of X (and y, sample_weight) held out
        of training as validation data, as Keras has it, so the test set is never used to tune or
        stop training. The rows are drawn at random from the model's seed (the same rows on every
        fit of this model with the same number of rows); it excludes ``validation_data``.
        """

        if unknown:
            raise TypeError(model_inputs.unknown_fit_args(unknown))
        X, y = model_inputs.check_xy(self, X, y, "X", "y")
        if validation_split is not None:
            if validation_data is not None:
                raise ValueError("validation_split and validation_data exclude each other: hold out "
                                 "part of X with validation_split, or pass your own validation_data")
            X, y, sample_weight, validation_data = self._split_validation(X, y, sample_weight, validation_split)
        model_inputs.warn_if_badly_scaled(self, X, y)
        s = model_fit.settings(self, X, y, epochs=epochs, batch_size=batch_size, verbose=verbose,
                               validation_data=validation_data, sample_weight=sample_weight,
                               class_weight=class_weight, callbacks=callbacks, early_stopping=early_stopping,
                               schedule=schedule)
        self._set_optimizer(optimizer)
        if s.schedule is not None:
            steps_per_epoch = -(-len(X) // s.batch_size)
            self.network.schedule = s.schedule.resolve(self.network.step + s.epochs * steps_per_epoch)
        self.network.class_weight = s.class_weight
        rng = np.random.default_rng([self.seed, self._fit_count])
        self._fit_count += 1
        # run_epochs is called here, not in model_fit: its warnings count the frames up to the caller
        return run_epochs(self, X, y, epochs=s.epochs, batch_size=s.batch_size,
                          validation_data=s.validation_data, shuffle=bool(shuffle),
                          verbose=s.verbose, rng=rng, callbacks=s.callbacks,
                          sample_weight=None if s.sample_weight is None else s.sample_weight.astype(self.dtype),
                          row_weights=s.row_weights)

    def _split_validation(self, X, y, sample_weight, fraction):
        """(X_train, y_train, sample_weight_train, (X_val, y_val)): ``fraction`` of the rows held
        out at random, drawn from the model's seed so every fit holds out the same rows."""
        return model_fit.split_validation(self.seed, X, y, sample_weight, fraction)

    @property
    def schedule(self) -> ScheduleConfig:
        """The learning-rate schedule training uses (see fastmlp.backends.numpy.scheduled_lr)."""
        return self.network.schedule

    def _set_optimizer(self, optimizer):
        """Keep the current optimizer when ``optimizer`` is None and one exists, else start the
        named one (None: Adam) with fresh state."""
        if optimizer is None and self.optimizer is not None:
            return
        self.optimizer = model_fit.fresh_optimizer(self.network, optimizer)

    # --- inference -------------------------------------------------------------------------------

    def forward(self, X, return_all=False):
        """The last layer's raw output (logits for classifiers), or with ``return_all`` a list
        with one ``{"z": z, "a": a}`` per layer (the last layer's ``a`` is the link applied)."""
        X = model_inputs.check_x(self, X, "X")
        return model_predict.every_layer(self, X) if return_all else model_predict.output(self, X)

    def predict_proba(self, X):
        """Class probabilities: softmax (cross_entropy) or sigmoid (binary_cross_entropy) of the output."""
        if not self.is_classifier:
            raise AttributeError(f"predict_proba needs a classification loss, this model uses {self.loss!r}")
        model_predict.warn_if_untrained(self, "predict_proba")
        return model_predict.probabilities(self, self.forward(X))

    def predict(self, X):
        """Class labels (cross_entropy), 0/1 indicators (binary_cross_entropy) or values (regression,
        poisson: the rate exp(output); 1-D when there is one output)."""
        model_predict.warn_if_untrained(self, "predict")
        return model_predict.answers(self.loss, self.forward(X))

    def evaluate(self, X, y):
        """Mean loss and the metric on (X, y): ``{"loss", "accuracy"}`` or ``{"loss", "r2"}``."""
        X, y = model_inputs.check_xy(self, X, y, "X", "y")
        return model_predict.scores(self, X, y)

    # --- files ---------------------------------------------------------------------------------

    def save(self, path):
        """Write the model's `state` (architecture, weights, optimizer state) to a .npz file,
        atomically; `fastmlp.io` describes the format."""
        _io.write_state(self.state(), path)

    @classmethod
    def load(cls, path, backend=None):
        """Read a model written by `save` (no pickle; every array checked against the metadata);
        ``backend`` None gives "cpp"."""
        state = _io.read_state(path)
        try:
            return cls.from_state(state, backend=backend or "cpp")
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{path}: {exc}") from exc

    # --- conversion (fastmlp.convert holds the code) -------------------------------------------

    def to_sklearn(self, classes=None):
        """A fitted scikit-learn MLPClassifier/MLPRegressor holding copies of these weights."""
        return _convert.to_sklearn(self, classes)

    def to_torch_state_dict(self):
        """A state dict for ``torch.nn.Sequential(Linear, act, ..., Linear)``: "{2i}.weight" is
        (n_out, n_in), "{2i}.bias" (n_out,)."""
        return _convert.to_torch_state_dict(self)

    def to_onnx(self, path=None, *, opset=None, name="fastmlp_mlp"):
        """A standard ONNX graph of this network (needs ``pip install "fastmlp[onnx]"``): input
        ``X``; outputs ``label`` and ``probabilities`` (classifiers) or ``predictions``, as
        predict / predict_proba give them; the description in its metadata. Returns the
        ModelProto and writes it to ``path`` (atomically) if given. ``opset`` defaults to
        `fastmlp.onnx_export.DEFAULT_OPSET`."""
        return model_to_onnx(self, path, opset=opset, name=name)

    @classmethod
    def from_torch(cls, module, loss="cross_entropy", backend="cpp"):
        """An MLP with the weights of a ``torch.nn.Sequential`` of Linear layers and activations."""
        return cls.from_state(_convert.torch_state(module, loss=loss, backend=backend))

    @classmethod
    def from_sklearn(cls, est, backend="cpp"):
        """An MLP with the weights of a fitted scikit-learn (or fastmlp.sklearn) MLP; a
        classifier's labels are kept as ``model.classes_`` (see `fastmlp.convert.sklearn_state`)."""
        model = cls.from_state(_convert.sklearn_state(est, backend=backend))
        if hasattr(est, "classes_"):
            model.classes_ = np.asarray(est.classes_)
        return model


def fresh_seed() -> int:
    """A random seed from the operating system's entropy, in [0, 2**32)."""
    return int(np.random.SeedSequence().generate_state(1)[0])
