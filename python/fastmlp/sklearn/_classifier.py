"""MLPClassifier: scikit-learn's multi-layer perceptron classifier, trained by fastmlp."""

from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.metrics import accuracy_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import type_of_target, unique_labels
from sklearn.utils.validation import column_or_1d

from ._base import BaseMLP, _stochastic_solver
from ._params import FASTMLP_PARAMS_DOC


class MLPClassifier(ClassifierMixin, BaseMLP):
    """Multi-layer perceptron classifier: ``sklearn.neural_network.MLPClassifier``'s parameters,
    attributes and methods, trained by fastmlp's C++ engine.

    Multiclass targets train a softmax output with log loss; binary and multi-label
    (indicator matrix) targets train logistic outputs with binary log loss.

    class_weight : None, dict, array or "balanced", default=None
        Per-class weights multiplying each row's sample weight (single-output targets only);
        "balanced" uses ``n_samples / (n_classes * count)``.
    """

    _is_classifier = True
    _parameter_constraints: dict = {
        **BaseMLP._parameter_constraints,
        "class_weight": [None, dict, StrOptions({"balanced"}), "array-like"],
    }

    def __init__(
        self,
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
        class_weight=None,
    ):
        self.class_weight = class_weight
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
    # --- targets ---------------------------------------------------------------------------

    def _output_activation(self):
        return "softmax" if self._label_binarizer.y_type_ == "multiclass" else "logistic"

    def _loss_name(self):
        return "log_loss" if self.out_activation_ == "softmax" else "binary_log_loss"

    def _validate_targets(self, X, y, incremental, reset):
        X, y = self._validate_xy(X, y, reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer().fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError("warm_start can only be used where `y` has the same classes as "
                                     f"in the previous call to fit. Previously got {self.classes_}, "
                                     f"`y` has {classes}")
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` has "
                                 f"{self.classes_}. 'y' has {classes}.")
        Y = self._label_binarizer.transform(y).astype(X.dtype)
        self._y_fit = y
        return X, np.ascontiguousarray(Y)

    def _encode_eval_targets(self, y):
        return np.ascontiguousarray(self._label_binarizer.transform(y).astype(self.coefs_[0].dtype))

    def _apply_class_weight(self, Y, sample_weight):
        if self.class_weight is None:
            return sample_weight
        if self._label_binarizer.y_type_.startswith("multilabel"):
            raise ValueError("class_weight is not supported for multi-label targets; "
                             "pass sample_weight instead")
        y = self._y_fit
        if isinstance(self.class_weight, (dict, str)):
            weights = compute_sample_weight(self.class_weight, y)
        else:
            per_class = np.asarray(self.class_weight, dtype=np.float64)
            if per_class.shape != (len(self.classes_),):
                raise ValueError(f"class_weight as an array needs one weight per class "
                                 f"({len(self.classes_)}), got shape {per_class.shape}")
            weights = per_class[np.searchsorted(self.classes_, y)]
        weights = np.ascontiguousarray(weights, dtype=Y.dtype)
        return weights if sample_weight is None else sample_weight * weights

    def _score_output(self, p, Y, sample_weight):
        # Non-finite probabilities (a diverged fit) are scored as scikit-learn scores them: by
        # the labels its predict derives from them (argmax: the first NaN's class; threshold:
        # NaN > 0.5 is False), never NaN. Such a score can beat the best one, and early
        # stopping then keeps NaN weights: fit raises scikit-learn's ValueError, as it does.
        if self.out_activation_ == "softmax":
            pred, true = p.argmax(axis=1), Y.argmax(axis=1)
        else:
            pred, true = p > 0.5, Y > 0.5
        return accuracy_score(true, pred, sample_weight=sample_weight)

    # --- fitting and prediction ------------------------------------------------------------

    @available_if(_stochastic_solver)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over (X, y); ``classes`` (every label of the whole stream) is required on
        the first call. Only for solver 'sgd' or 'adam'."""
        first = not hasattr(self, "classes_")
        if first and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        if classes is not None:
            classes = unique_labels(classes)
            if not first and not np.array_equal(self.classes_, classes):
                raise ValueError(f"`classes={classes}` is not the same as on last call to "
                                 f"partial_fit, was: {self.classes_}")
        if first:
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
            self.classes_ = self._label_binarizer.classes_
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X):
        """Class labels (or an indicator matrix for multi-label targets)."""
        p = self._output(X)
        if self.n_outputs_ == 1:
            p = p.ravel()
        return self._label_binarizer.inverse_transform(p)

    def predict_proba(self, X):
        """Probabilities, one column per class in ``classes_`` order."""
        p = self._output(X)
        if self.n_outputs_ == 1:
            p = p.ravel()
        if p.ndim == 1:
            return np.vstack([1 - p, p]).T
        return p

    def predict_log_proba(self, X):
        """``log(predict_proba(X))``."""
        proba = self.predict_proba(X)
        return np.log(proba, out=proba)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


MLPClassifier.__doc__ += FASTMLP_PARAMS_DOC
