"""Export a fastmlp network as a standard ONNX graph (needs the onnx extra).

    model.to_onnx("model.onnx")                 # fastmlp.MLP
    clf.to_onnx("clf.onnx")                     # fastmlp.sklearn.MLPClassifier / MLPRegressor
    fastmlp export model.npz --onnx model.onnx  # the command line

The graph takes one input ``X`` (batch, n_features) of the model's dtype (float32 or float64)
and computes Gemm and standard activation operators (opset `DEFAULT_OPSET` unless ``opset=``
says otherwise, at least `MIN_OPSET`). Outputs give what predict and predict_proba give:

- classifiers: ``label`` (int64 class indices or the estimator's labels, int64 or string; an
  int64 indicator matrix for multi-label) and ``probabilities`` (softmax or sigmoid);
- regressors: ``predictions`` for fastmlp.MLP ((batch,) for one output, as predict) and
  ``variable`` (batch, n_outputs) for the scikit-learn estimators, as skl2onnx names it;
  poisson applies the exp link.

The model's description (layer sizes, activations, loss, dtype, classes) is stored as JSON
strings in the graph's metadata (``metadata_props``).
"""

from __future__ import annotations

import json
import os
import tempfile

import numpy as np

from . import onnx_graph as og
from ._optional import require
from ._version import __version__

DEFAULT_OPSET = 17  # onnxruntime >= 1.14 runs it; every operator used exists since opset 13
MIN_OPSET = 13  # Softmax over one axis, ReduceSum and Unsqueeze with axes as inputs


def require_onnx():
    """The onnx module, or an ImportError that says how to install it."""
    return require("onnx", "ONNX export", '"fastmlp[onnx]"')


class GraphSink(og.Sink):
    """Collects nodes and initializers for `onnx.helper.make_graph`."""

    def __init__(self, onnx):
        self.onnx, self.nodes, self.initializers, self._used = onnx, [], [], set()

    def name(self, hint):
        name, i = hint, 1
        while name in self._used:
            name, i = f"{hint}_{i}", i + 1
        self._used.add(name)
        return name

    def reserve(self, *names):
        self._used.update(names)

    def add_initializer(self, name, array):
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))

    def add_node(self, op, inputs, outputs, **attrs):
        self.nodes.append(self.onnx.helper.make_node(op, inputs, outputs, name=self.name(f"{op}_node"), **attrs))


def check_opset(opset, onnx) -> int:
    """``opset`` as an int in [MIN_OPSET, the newest the installed onnx knows]."""
    newest = onnx.defs.onnx_opset_version()
    if opset is None:
        return min(DEFAULT_OPSET, newest)
    if isinstance(opset, bool) or not isinstance(opset, (int, np.integer)) or not MIN_OPSET <= opset <= newest:
        raise ValueError(f"opset must be an int in [{MIN_OPSET}, {newest}] (the installed onnx's newest), "
                         f"got {opset!r}")
    return int(opset)


def model_to_onnx(model, path=None, *, opset=None, name="fastmlp_mlp"):
    """The ModelProto of a `fastmlp.MLP` (see `fastmlp.MLP.to_onnx`)."""
    dtype = np.dtype(model.dtype)
    spec = {
        "layer_sizes": list(model.layer_sizes),
        "activations": list(model.activations),
        "loss": model.loss,
        "dtype": dtype.name,
    }
    outputs = {}

    def head(sink, scores, n_out):
        if model.loss == "cross_entropy":
            proba = og.activation(sink, "softmax", scores, dtype)
            sink.op("Identity", [proba], output="probabilities")
            og.argmax_label(sink, proba, np.arange(n_out), "label")
            outputs.update(label=(np.int64, [None]), probabilities=(dtype, [None, n_out]))
        elif model.loss == "binary_cross_entropy":
            sink.op("Identity", [og.activation(sink, "sigmoid", scores, dtype)], output="probabilities")
            if n_out == 1:  # predict gives (N,) for one output
                og.flatten(sink, og.indicator(sink, scores, 0.0, dtype), "label")
            else:
                og.indicator(sink, scores, 0.0, dtype, output="label")
            outputs.update(label=(np.int64, [None] if n_out == 1 else [None, n_out]),
                           probabilities=(dtype, [None, n_out]))
        else:
            values = og.activation(sink, "exp" if model.loss == "poisson" else "identity", scores, dtype)
            if n_out == 1:
                og.flatten(sink, values, "predictions")
            else:
                sink.op("Identity", [values], output="predictions")
            outputs.update(predictions=(dtype, [None] if n_out == 1 else [None, n_out]))

    if model.is_classifier:
        spec["classes"] = list(range(model.layer_sizes[-1]))
    return build(model.weights, model.biases, model.hidden_activations, dtype, head, outputs, spec,
                 path=path, opset=opset, name=name)


def build(weights, biases, hidden, dtype, head, outputs, spec, *, path, opset, name):
    """A ModelProto: input X, the dense layers, ``head(sink, scores, n_out)`` adding the outputs it
    records in ``outputs`` ({name: (dtype, shape)}); checked, and written to ``path`` if given."""
    onnx = require_onnx()
    opset = check_opset(opset, onnx)
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty string, got {name!r}")
    from onnx import helper

    sink = GraphSink(onnx)
    sink.reserve("X", "label", "probabilities", "predictions", "variable")
    n_in, n_out = weights[0].shape[0], weights[-1].shape[1]
    scores = og.dense_layers(sink, "X", weights, biases, list(hidden) + ["identity"], dtype)
    head(sink, scores, n_out)
    graph = helper.make_graph(
        sink.nodes, name, [_value_info(onnx, "X", dtype, [None, n_in])],
        [_value_info(onnx, key, dt, shape) for key, (dt, shape) in outputs.items()],
        initializer=sink.initializers)
    opsets = [helper.make_opsetid("", opset)]
    model = helper.make_model(graph, opset_imports=opsets, producer_name="fastmlp",
                              producer_version=__version__,
                              doc_string=f"fastmlp network {spec['layer_sizes']}, loss {spec['loss']}")
    model.ir_version = helper.find_min_ir_version_for(opsets)  # runnable by older onnxruntimes
    helper.set_model_props(model, {key: json.dumps(value) for key, value in spec.items()})
    onnx.checker.check_model(model, full_check=True)
    if path is not None:
        write_model(model, path)
    return model


def _value_info(onnx, name, dtype, shape):
    dtype = np.dtype(dtype)
    elem = onnx.TensorProto.STRING if dtype == object else onnx.helper.np_dtype_to_tensor_dtype(dtype)
    dims = ["N" if d is None else d for d in shape]
    return onnx.helper.make_tensor_value_info(name, elem, dims)


def write_model(model, path) -> None:
    """Serialize ``model`` to ``path`` atomically: a temporary file in the same folder, then
    os.replace, so a failure never leaves a partial file behind."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"path {path!r}: the folder {folder!r} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=".fastmlp-", suffix=".onnx.tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(model.SerializeToString())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def metadata(model_proto) -> dict:
    """The fastmlp description stored in an exported graph: {key: decoded JSON value}."""
    return {p.key: json.loads(p.value) for p in model_proto.metadata_props}
