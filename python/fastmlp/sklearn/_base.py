"""What MLPClassifier and MLPRegressor share: fit / partial_fit, the epoch loop and its
stopping rule, predict's forward pass, and the fitted attributes scikit-learn users know.

The epoch loop is scikit-learn's (`_fit_stochastic`): shuffle the row indices as
``sklearn.utils.shuffle`` does (`shuffled`) with the estimator's RandomState, run one epoch,
record the loss, update ``_no_improvement_count`` from the training loss (or the validation
score with ``early_stopping``), stop after ``n_iter_no_change`` epochs without a gain of ``tol``. Each epoch
runs either in the compiled engine (`_engine`, whole epochs in C++) or the per-batch loop
(`_loop`, scikit-learn's update rules in NumPy; always with ``sklearn_compat=True``); both
follow scikit-learn's rules, so both give its numbers to rounding.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from ..backends import get_backend
from . import _objective
from ._engine import EngineRunner, engine_can_fit
from ._lbfgs import fit_lbfgs
from ._loop import LoopRunner
from ._rules import glorot_init
from ._threads import thread_limit
from ._validation import (PARAMETER_CONSTRAINTS, check_params, dropout, hidden_activations,
                          hidden_layer_sizes)

# scikit-learn's message first (code matches on it), then what to do
NON_FINITE_WEIGHTS = ("Solver produced non-finite parameter weights. The input data may contain "
                      "large values and need to be preprocessed. Scale the inputs "
                      "(sklearn.preprocessing.StandardScaler) or lower learning_rate_init.")

CONVERGENCE_ADVICE = ("Raise max_iter, or lower tol (now {tol}) only if the loss still falls; "
                      "scale the inputs (sklearn.preprocessing.StandardScaler) if they are not; "
                      "lower learning_rate_init (now {lr}) if loss_curve_ oscillates, raise it "
                      "if it falls slowly.")


def shuffled(indices, random_state):
    """``sklearn.utils.shuffle(indices, random_state=random_state)`` without its input checks,
    which cost more than the shuffle (about half a millisecond an epoch of 20,000 rows, a few
    percent of a small network's epoch). scikit-learn's ``resample`` shuffles ``arange(n)`` with
    ``random_state.shuffle`` and takes ``indices`` in that order; shuffling a copy of
    ``indices`` makes the same swaps, so the order and the draws from ``random_state`` are
    scikit-learn's."""
    out = np.array(indices, copy=True)
    random_state.shuffle(out)
    return out


TARGET_SCALE = 10.0  # a regression target beyond this many units from 0 trains slowly unscaled


def _target_advice(is_classifier, Y) -> str:
    """For a regressor whose target is far from mean 0 and standard deviation 1, the advice that
    fixes it: the inputs may be scaled already, the target is what the loss sees."""
    if is_classifier:
        return ""
    big = float(np.max(np.abs(Y))) if np.size(Y) else 0.0
    if big <= TARGET_SCALE:
        return ""
    return (f" The target y reaches {big:.3g}: scale it too (e.g. sklearn.compose.TransformedTargetRegressor"
            "(regressor=MLPRegressor(...), transformer=StandardScaler())), so the network predicts values "
            "near 0 and 1.")


def _stochastic_solver(est):
    """partial_fit exists only for solver 'sgd' or 'adam' (as in scikit-learn)."""
    if est.solver not in ("sgd", "adam"):
        raise AttributeError(f"partial_fit is only available for stochastic optimizers. "
                             f"{est.solver} is not stochastic.")
    return True


class BaseMLP(BaseEstimator):
    """Shared machinery; use MLPClassifier or MLPRegressor."""

    # checked by scikit-learn's _fit_context on every fit / partial_fit (InvalidParameterError)
    _parameter_constraints: dict = PARAMETER_CONSTRAINTS

    # --- fitting ---------------------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the network to (X, y). Sparse X (CSR/CSC) is densified once per call."""
        return self._fit(X, y, sample_weight, incremental=False)

    def _compute_dtype(self, X):
        return np.dtype(self.dtype) if self.dtype is not None else X.dtype

    def _validate_xy(self, X, y, reset):
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                             dtype=(np.float64, np.float32), reset=reset,
                             y_numeric=not self._is_classifier)
        if sp.issparse(X):
            X = X.toarray()
        X = np.ascontiguousarray(X, dtype=self._compute_dtype(X))
        return X, y

    def _fit(self, X, y, sample_weight, incremental):
        check_params(self)
        sizes = hidden_layer_sizes(self.hidden_layer_sizes)
        hidden = hidden_activations(self, len(sizes))
        rates = dropout(self, len(sizes))
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        X, Y = self._validate_targets(X, y, incremental, reset=first_pass)
        sw = None if sample_weight is None else _check_sample_weight(sample_weight, X, dtype=X.dtype)
        sw = self._apply_class_weight(Y, sw)
        layer_units = [X.shape[1]] + sizes + [Y.shape[1]]
        self.n_outputs_ = Y.shape[1]
        self._random_state = check_random_state(self.random_state)
        if first_pass:
            self._initialize(Y, layer_units, X.dtype)
        elif [np.shape(w) for w in self.coefs_] != list(zip(layer_units[:-1], layer_units[1:])):
            raise ValueError(f"the network has layers {[np.shape(w) for w in self.coefs_]}, this "
                             f"call needs {list(zip(layer_units[:-1], layer_units[1:]))}: "
                             "hidden_layer_sizes or the data's shape changed since the last fit "
                             "(or coefs_ was assigned arrays of other shapes)")
        elif [np.shape(b) for b in self.intercepts_] != [(u,) for u in layer_units[1:]]:
            raise ValueError(f"intercepts_ has shapes {[np.shape(b) for b in self.intercepts_]}, "
                             f"the network needs {[(u,) for u in layer_units[1:]]}")
        elif self.coefs_[0].dtype != X.dtype:
            raise ValueError(f"X has dtype {X.dtype}, the fitted network {self.coefs_[0].dtype}; "
                             "pass data of the first fit's dtype (or set dtype=)")
        else:  # state set by hand (scikit-learn's own tests do): derive what fit would have set
            if not hasattr(self, "out_activation_"):
                self.out_activation_ = self._output_activation()
            if not hasattr(self, "_loss_kind"):
                self._loss_kind = self._loss_name()
        self._hidden = hidden
        with thread_limit(self.n_threads, self.backend):
            if self.solver == "lbfgs":
                fit_lbfgs(self, get_backend(self.backend), X, Y, sw, hidden=hidden,
                          out_activation=self.out_activation_, loss=self._loss_kind)
            else:
                self._fit_stochastic(X, Y, sw, incremental, hidden, rates)
        if not all(np.isfinite(p).all() for p in self.coefs_ + self.intercepts_):
            why = getattr(getattr(self, "_runner", None), "divergence", "")
            raise ValueError(NON_FINITE_WEIGHTS + (f" (fastmlp's engine: {why})" if why else ""))
        return self

    def _initialize(self, Y, layer_units, dtype):
        self.n_iter_ = 0
        self.t_ = 0
        self.n_layers_ = len(layer_units)
        self.out_activation_ = self._output_activation()
        self._loss_kind = self._loss_name()
        # scikit-learn's init bound uses factor 2 for logistic units, 6 otherwise
        logistic = self.activation in ("logistic", "sigmoid")
        self.coefs_, self.intercepts_ = glorot_init(self._random_state, layer_units,
                                                   "logistic" if logistic else "other", dtype)
        self._best_coefs = [c.copy() for c in self.coefs_]
        self._best_intercepts = [b.copy() for b in self.intercepts_]
        self._runner = None
        self.validation_loss_curve_ = []
        if self.solver != "lbfgs":
            self.loss_curve_ = []
            self._no_improvement_count = 0
            if self.early_stopping:
                self.validation_scores_ = []
                self.best_validation_score_ = -np.inf
                self.best_loss_ = None
            else:
                self.best_loss_ = np.inf
                self.validation_scores_ = None
                self.best_validation_score_ = None
            self._best_validation_loss = np.inf

    def _make_runner(self, X, sw, hidden, rates):
        seed = self._random_state.randint(np.iinfo(np.int32).max) if any(rates) else 0
        kind = dict(hidden=hidden, out_activation=self.out_activation_, loss=self._loss_kind,
                    dropout=rates, seed=seed)
        if engine_can_fit(self, loss=self._loss_kind, dropout=rates, sample_weight=sw):
            runner = EngineRunner(self, self.coefs_, self.intercepts_, **kind)
            self.coefs_, self.intercepts_ = runner.params()  # the model's arrays, updated in place
            return runner
        return LoopRunner(self, self.coefs_, self.intercepts_, **kind)

    def _validation_split(self, X, Y, sw):
        """(train, validation) as scikit-learn splits for early stopping, or validation_data."""
        if self.validation_data is not None:
            if not isinstance(self.validation_data, (tuple, list)) or len(self.validation_data) != 2:
                raise ValueError("validation_data must be a pair (X_val, y_val)")
            X_val, y_val = self.validation_data
            X_val = validate_data(self, X_val, accept_sparse=["csr", "csc"], reset=False,
                                  dtype=(np.float64, np.float32))
            if sp.issparse(X_val):
                X_val = X_val.toarray()
            X_val = np.ascontiguousarray(X_val, dtype=X.dtype)
            return (X, Y, sw), (X_val, self._encode_eval_targets(np.asarray(y_val)), None)
        if not self.early_stopping:
            return (X, Y, sw), None
        # scikit-learn stratifies only single-output classifiers (binary), on boolean labels
        stratify = Y.astype(bool) if self._is_classifier and self.n_outputs_ == 1 else None
        arrays = (X, Y) if sw is None else (X, Y, sw)
        parts = train_test_split(*arrays, random_state=self._random_state,
                                 test_size=self.validation_fraction, stratify=stratify)
        X_tr, X_val, Y_tr, Y_val = parts[:4]
        sw_tr, sw_val = (parts[4], parts[5]) if sw is not None else (None, None)
        if X_val.shape[0] < 2:
            raise ValueError("The validation set is too small. Increase 'validation_fraction' "
                             "or the size of your dataset.")
        return (X_tr, Y_tr, sw_tr), (X_val, Y_val, sw_val)

    def _fit_stochastic(self, X, Y, sw, incremental, hidden, rates):
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        if not hasattr(self, "_no_improvement_count"):  # warm start after an lbfgs fit
            self.loss_curve_ = list(getattr(self, "loss_curve_", []))
            self._no_improvement_count = 0
            self.best_loss_, self.validation_scores_, self.best_validation_score_ = np.inf, None, None
            self._best_validation_loss = np.inf
        if not incremental or getattr(self, "_runner", None) is None:
            self._runner = self._make_runner(X, sw, hidden, rates)
            if self.schedule is not None:
                self._set_schedule(X)
        else:  # partial_fit: parameters set since the last call, and weights assigned since
            self._runner.refresh(self, hidden, rates)
        runner = self._runner
        self.coefs_, self.intercepts_ = runner.adopt(self.coefs_, self.intercepts_)
        (X_tr, Y_tr, sw_tr), val = self._validation_split(X, Y, sw)
        n = X_tr.shape[0]
        sample_idx = np.arange(n, dtype=int)
        if self.batch_size == "auto":
            batch_size = min(200, n)
        else:
            if self.batch_size > n:
                warnings.warn(f"batch_size={self.batch_size} is larger than the {n} training "
                              "rows; it is clipped to the number of rows")
            batch_size = int(np.clip(self.batch_size, 1, n))
        diverged_before = getattr(runner, "diverged", False)
        try:
            self.n_iter_ = 0
            for _ in range(self.max_iter):
                if self.shuffle:
                    sample_idx = shuffled(sample_idx, self._random_state)
                self.loss_ = runner.epoch(self.coefs_, self.intercepts_, X_tr, Y_tr, sw_tr,
                                          sample_idx, batch_size, self.shuffle)
                self.n_iter_ += 1
                self.t_ += n
                self.loss_curve_.append(self.loss_)
                if self.verbose:
                    print(f"Iteration {self.n_iter_}, loss = {self.loss_:.8f}")
                self._after_epoch(val)
                # The engine trains NaN weights no more (its epochs then return NaN at once) but
                # the loop runs on as scikit-learn's does in NaN: the same n_iter_, loss_curve_,
                # validation scores and stopping, and the same kept weights or ValueError.
                if getattr(runner, "diverged", False) and not diverged_before:
                    diverged_before = True
                    if self._restores_best():  # else _fit raises scikit-learn's ValueError
                        warnings.warn(
                            f"Training diverged in epoch {self.n_iter_} (non-finite loss); the "
                            "weights of the best validation score are kept. "
                            + CONVERGENCE_ADVICE.format(tol=self.tol, lr=self.learning_rate_init),
                            ConvergenceWarning)
                runner.iteration_ends(self.t_)
                if self._no_improvement_count > self.n_iter_no_change:
                    if runner.stop_or_slow_down():
                        break
                    self._no_improvement_count = 0
                if incremental:
                    break
                if self.n_iter_ == self.max_iter:
                    warnings.warn(
                        f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and "
                        "the optimization hasn't converged yet. "
                        + CONVERGENCE_ADVICE.format(tol=self.tol, lr=self.learning_rate_init)
                        + _target_advice(self._is_classifier, Y),
                        ConvergenceWarning)
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.")
        if self._restores_best():
            for dst, src in zip(self.coefs_ + self.intercepts_,
                                self._best_coefs + self._best_intercepts):
                dst[...] = src

    def _set_schedule(self, X):
        from .. import optim

        n = X.shape[0]
        batch = min(200, n) if self.batch_size == "auto" else min(int(self.batch_size), n)
        total = self.max_iter * -(-n // batch)
        self._runner.set_schedule(optim.get_schedule(self.schedule).resolve(total))

    def _monitor(self, has_val):
        if self.monitor == "auto":
            return "val_score" if self.early_stopping else "loss"
        if self.monitor.startswith("val") and not has_val:
            raise ValueError(f"monitor={self.monitor!r} needs validation data: set early_stopping=True "
                             "or validation_data=(X_val, y_val)")
        return self.monitor

    def _restores_best(self):
        return self.early_stopping and self._monitor(True) in ("val_score", "val_loss")

    def _after_epoch(self, val):
        """Record validation numbers and update the no-improvement count (scikit-learn's rule)."""
        monitor = self._monitor(val is not None)
        if val is not None:
            X_val, Y_val, sw_val = val
            p = _objective.predict_output(get_backend(self.backend), X_val, self.coefs_,
                                          self.intercepts_, self._hidden, self.out_activation_)
            weight_sum = len(X_val) if sw_val is None else float(sw_val.sum())
            self.validation_loss_curve_.append(
                _objective.data_loss(self._loss_kind, Y_val, p, sw_val)
                + _objective.l2_penalty(self.coefs_, self.alpha, weight_sum))
            score = self._score_output(p, Y_val, sw_val)
            if self.validation_scores_ is None:
                self.validation_scores_ = []
                self.best_validation_score_ = -np.inf
            self.validation_scores_.append(score)
            if self.verbose:
                print(f"Validation score: {score:f}")
        if monitor == "val_score":
            if self.validation_scores_[-1] < self.best_validation_score_ + self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
        elif monitor == "val_loss":
            last = self.validation_loss_curve_[-1]
            if last > self._best_validation_loss - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if last < self._best_validation_loss:
                self._best_validation_loss = last
                self._keep_best()
        else:
            if self.best_loss_ is None:
                self.best_loss_ = np.inf
            if self.loss_curve_[-1] > self.best_loss_ - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if self.loss_curve_[-1] < self.best_loss_:
                self.best_loss_ = self.loss_curve_[-1]
        if val is not None and self.validation_scores_[-1] > self.best_validation_score_:
            self.best_validation_score_ = self.validation_scores_[-1]
            if monitor == "val_score":  # the weights of the best score are the ones kept
                self._keep_best()

    def _keep_best(self):
        self._best_coefs = [c.copy() for c in self.coefs_]
        self._best_intercepts = [b.copy() for b in self.intercepts_]

    # --- prediction ------------------------------------------------------------------------

    def _output(self, X):
        """The network's output after the link, for validated X."""
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse=["csr", "csc"], reset=False,
                          dtype=(np.float64, np.float32))
        if sp.issparse(X):
            X = X.toarray()
        X = np.ascontiguousarray(X, dtype=self.coefs_[0].dtype)
        hidden = getattr(self, "_hidden", None) or hidden_activations(self, len(self.coefs_) - 1)
        return _objective.predict_output(get_backend(self.backend), X, self.coefs_,
                                         self.intercepts_, hidden, self.out_activation_)

    def to_onnx(self, path=None, *, opset=None, name=None):
        """A standard ONNX graph of the fitted network (needs ``pip install "fastmlp[onnx]"``):
        input ``X`` of the weights' dtype; outputs ``label`` and ``probabilities`` (classifiers)
        or ``variable`` (regressors), named as skl2onnx names scikit-learn's MLPs'. Returns the
        ModelProto and writes it to ``path`` (atomically) if given. For a Pipeline, call
        `fastmlp.sklearn.register_onnx_converters` and then ``skl2onnx.to_onnx(pipeline, X[:1])``."""
        from ._onnx import estimator_to_onnx

        return estimator_to_onnx(self, path, opset=opset, name=name)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
