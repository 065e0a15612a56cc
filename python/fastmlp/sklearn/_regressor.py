"""MLPRegressor: scikit-learn's multi-layer perceptron regressor, trained by fastmlp."""

from __future__ import annotations

import numpy as np
from sklearn.base import RegressorMixin, _fit_context
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.metrics import r2_score
from sklearn.utils.validation import column_or_1d

from ._base import BaseMLP, _stochastic_solver
from ._params import FASTMLP_PARAMS_DOC


class MLPRegressor(RegressorMixin, BaseMLP):
    """Multi-layer perceptron regressor: ``sklearn.neural_network.MLPRegressor``'s parameters,
    attributes and methods, trained by fastmlp's C++ engine.

    loss : {"squared_error", "poisson"}, default="squared_error"
        Half squared error, or half Poisson deviance with a log link (predictions are
        ``exp`` of the output; needs y >= 0). Several target columns train one output each.
    """

    _is_classifier = False
    _parameter_constraints: dict = {
        **BaseMLP._parameter_constraints,
        "loss": [StrOptions({"squared_error", "poisson"})],
    }

    def __init__(
        self,
        loss="squared_error",
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=0.0001,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-08,
        n_iter_no_change=10,
        max_fun=15000,
        dropout=0.0,
        weight_decay=0.0,
        schedule=None,
        backend="cpp",
        dtype=None,
        n_threads=None,
        validation_data=None,
        monitor="auto",
        sklearn_compat=False,
    ):
        self.loss = loss
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dropout = dropout
        self.weight_decay = weight_decay
        self.schedule = schedule
        self.backend = backend
        self.dtype = dtype
        self.n_threads = n_threads
        self.validation_data = validation_data
        self.monitor = monitor
        self.sklearn_compat = sklearn_compat
    def _output_activation(self):
        return "exp" if self.loss == "poisson" else "identity"

    def _loss_name(self):
        return self.loss

    def _validate_targets(self, X, y, incremental, reset):
        if self.loss not in ("squared_error", "poisson"):
            raise ValueError(f"loss must be 'squared_error' or 'poisson', got {self.loss!r}")
        X, y = self._validate_xy(X, y, reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        Y = np.ascontiguousarray(y.reshape(len(y), -1), dtype=X.dtype)
        if self.loss == "poisson" and (Y < 0).any():
            raise ValueError("loss='poisson' needs y >= 0 (counts or rates)")
        return X, Y

    def _encode_eval_targets(self, y):
        return np.ascontiguousarray(np.asarray(y).reshape(len(y), -1), dtype=self.coefs_[0].dtype)

    def _apply_class_weight(self, Y, sample_weight):
        return sample_weight

    def _score_output(self, p, Y, sample_weight):
        if not np.isfinite(p).all():
            return np.nan
        return r2_score(Y, p, sample_weight=sample_weight)

    @available_if(_stochastic_solver)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over (X, y). Only for solver 'sgd' or 'adam'."""
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X):
        """Predicted values: (n_samples,) for one target, (n_samples, n_outputs) for several."""
        p = self._output(X)
        return p.ravel() if p.shape[1] == 1 else p


MLPRegressor.__doc__ += FASTMLP_PARAMS_DOC
