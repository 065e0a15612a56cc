"""ONNX for the scikit-learn estimators: a stand-alone ``to_onnx`` and the skl2onnx converter that
lets a Pipeline holding a fastmlp estimator export whole with ``skl2onnx.to_onnx``.

Outputs follow skl2onnx's conventions for scikit-learn's own MLPs, so a Pipeline behaves the
same with either: classifiers give ``label`` (classes_ as int64 or strings; an int64 indicator
matrix for multi-label targets) and ``probabilities`` (predict_proba's columns; ZipMap unless
``options={"zipmap": False}``), regressors give ``variable`` (batch, n_outputs).
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .. import onnx_export, onnx_graph as og
from .._optional import require
from ._validation import hidden_activations

_ALIASES = {"MLPClassifier": "FastmlpMLPClassifier", "MLPRegressor": "FastmlpMLPRegressor"}


def _hidden(est):
    return getattr(est, "_hidden", None) or hidden_activations(est, len(est.coefs_) - 1)


def _is_multilabel(est):
    return est._label_binarizer.y_type_.startswith("multilabel")


def _head(sink, est, scores, dtype, names):
    """The classifier's (label, probabilities) or the regressor's variable, as predict gives them."""
    if not est._is_classifier:
        values = og.activation(sink, est.out_activation_, scores, dtype)
        return sink.op("Identity", [values], output=names["variable"])
    if est.out_activation_ == "softmax":
        proba = og.activation(sink, "softmax", scores, dtype, hint="softmax")
        sink.op("Identity", [proba], output=names["probabilities"])
        return og.argmax_label(sink, proba, est.classes_, names["label"])
    p = og.activation(sink, "logistic", scores, dtype, hint="sigmoid")
    if _is_multilabel(est):  # LabelBinarizer.inverse_transform: p > 0.5, one column per label
        sink.op("Identity", [p], output=names["probabilities"])
        return og.indicator(sink, p, 0.5, dtype, output=names["label"])
    og.binary_columns(sink, p, dtype, names["probabilities"])
    index = og.flatten(sink, og.indicator(sink, p, 0.5, dtype), sink.name("positive"))
    table = sink.const("classes", og.class_labels(est.classes_))
    return sink.op("Gather", [table, index], output=names["label"], axis=0)


def _spec(est, dtype):
    hidden = _hidden(est)
    sizes = [est.coefs_[0].shape[0]] + [w.shape[1] for w in est.coefs_]
    spec = {"estimator": type(est).__name__, "layer_sizes": sizes,
            "activations": list(hidden) + [est.out_activation_], "dtype": np.dtype(dtype).name}
    if est._is_classifier:
        spec["classes"] = og.class_labels(est.classes_).tolist()
        spec["multilabel"] = _is_multilabel(est)
        spec["loss"] = "log_loss" if est.out_activation_ == "softmax" else "binary_log_loss"
    else:
        spec["loss"] = est.loss
    return spec


def estimator_to_onnx(est, path=None, *, opset=None, name=None):
    """The ModelProto of a fitted fastmlp MLPClassifier / MLPRegressor (input ``X`` of the
    weights' dtype); written to ``path`` atomically if given."""
    check_is_fitted(est)
    dtype = est.coefs_[0].dtype
    n_out = est.coefs_[-1].shape[1]
    outputs = {}

    def head(sink, scores, _n_out):
        names = {"label": "label", "probabilities": "probabilities", "variable": "variable"}
        if est._is_classifier:
            label_type = object if og.class_labels(est.classes_).dtype == object else np.int64
            n_classes = len(est.classes_)
            outputs["label"] = (label_type, [None, n_out] if _is_multilabel(est) else [None])
            outputs["probabilities"] = (dtype, [None, n_classes])
        else:
            outputs["variable"] = (dtype, [None, n_out])
        _head(sink, est, scores, dtype, names)

    return onnx_export.build(est.coefs_, est.intercepts_, _hidden(est), dtype, head, outputs,
                             _spec(est, dtype), path=path, opset=opset,
                             name=name or f"fastmlp_{type(est).__name__}")


# --- skl2onnx ---------------------------------------------------------------------------------


class _ContainerSink(og.Sink):
    """Adds the builder's nodes to skl2onnx's container, named through its scope."""

    def __init__(self, scope, container):
        self.scope, self.container = scope, container

    def name(self, hint):
        return self.scope.get_unique_variable_name(hint)

    def add_initializer(self, name, array):
        from onnx import helper

        if array.dtype == object:
            self.container.add_initializer(name, 8, list(array.shape),  # 8: TensorProto.STRING
                                           [str(s).encode("utf-8") for s in array.ravel()])
            return
        elem = helper.np_dtype_to_tensor_dtype(array.dtype)
        self.container.add_initializer(name, elem, list(array.shape), array.ravel().tolist())

    def add_node(self, op, inputs, outputs, **attrs):
        self.container.add_node(op, inputs, outputs, name=self.scope.get_unique_operator_name(op), **attrs)


def _compute_dtype(operator):
    """float64 when the input is double, float32 otherwise (skl2onnx's rule for its MLPs)."""
    from skl2onnx.common.data_types import DoubleTensorType

    return np.float64 if isinstance(operator.inputs[0].type, DoubleTensorType) else np.float32


def _convert(scope, operator, container):
    est = operator.raw_operator
    dtype = _compute_dtype(operator)
    sink = _ContainerSink(scope, container)
    x = sink.op("Cast", [operator.inputs[0].full_name], "cast_input",
                to=11 if dtype == np.float64 else 1)  # TensorProto.DOUBLE, FLOAT
    scores = og.dense_layers(sink, x, est.coefs_, est.intercepts_, list(_hidden(est)) + ["identity"], dtype)
    outs = [o.full_name for o in operator.outputs]
    names = ({"label": outs[0], "probabilities": outs[1]} if est._is_classifier else {"variable": outs[0]})
    _head(sink, est, scores, dtype, names)


def _shapes(operator):
    """Output types: label int64 or string ((N,) or (N, n_labels)), probabilities / variable of the
    compute dtype."""
    from skl2onnx.common.data_types import (DoubleTensorType, FloatTensorType, Int64TensorType,
                                            StringTensorType)

    est = operator.raw_operator
    n = operator.inputs[0].get_first_dimension()
    real = DoubleTensorType if _compute_dtype(operator) == np.float64 else FloatTensorType
    if not est._is_classifier:
        operator.outputs[0].type = real([n, est.coefs_[-1].shape[1]])
        return
    if _is_multilabel(est):
        operator.outputs[0].type = Int64TensorType([n, len(est.classes_)])
    elif og.class_labels(est.classes_).dtype == object:
        operator.outputs[0].type = StringTensorType([n])
    else:
        operator.outputs[0].type = Int64TensorType([n])
    operator.outputs[1].type = real([n, len(est.classes_)])


def register_onnx_converters(classifier, regressor) -> None:
    """Teach skl2onnx to convert fastmlp's MLPClassifier and MLPRegressor (passed in by the
    package face, which imports them: this module sits below the estimators), so that
    ``skl2onnx.to_onnx(pipeline, X[:1])`` exports a Pipeline holding them. Safe to call again."""
    update_registered_converter = require("skl2onnx", "exporting Pipelines",
                                          '"fastmlp[onnx]"').update_registered_converter
    update_registered_converter(classifier, _ALIASES["MLPClassifier"], _shapes, _convert,
                                options={"zipmap": [True, False, "columns"], "nocl": [False]})
    update_registered_converter(regressor, _ALIASES["MLPRegressor"], _shapes, _convert)
