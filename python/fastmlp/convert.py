"""Conversions between fastmlp models and scikit-learn / PyTorch networks, weights copied exactly.

    fm.from_sklearn(est)                   # fitted sklearn or fastmlp.sklearn MLP -> fastmlp.MLP
    fm.MLP.from_torch(module, loss=...)    # torch.nn.Sequential(Linear, act, ..., Linear) -> fastmlp.MLP
    fm.convert.to_sklearn(model)           # fastmlp.MLP -> fitted sklearn.neural_network estimator
    fm.convert.to_torch_state_dict(model)  # state dict of torch_module(model)'s layout
    fm.convert.torch_module(model)         # torch.nn.Sequential(Linear, act, ..., Linear) with the weights

This module never builds a model: the ``to_*`` functions read a model or its `MLP.state()`, and
`sklearn_state` / `torch_state` return the state that `MLP.from_sklearn` / `MLP.from_torch`
build a model from.

fastmlp stores weights (n_in, n_out), scikit-learn the same (coefs_), PyTorch's Linear
(n_out, n_in): conversions transpose, never round. A classifier's labels live in scikit-learn's
``classes_``; fastmlp predicts class indices, so `from_sklearn` keeps the labels on the model as
``model.classes_`` and `to_sklearn` takes them back (or ``classes=``).
"""

from __future__ import annotations

import numpy as np

SK_TO_FM_ACTIVATION = {"logistic": "sigmoid", "relu": "relu", "tanh": "tanh", "identity": "identity"}
FM_TO_SK_ACTIVATION = {"sigmoid": "logistic", "relu": "relu", "tanh": "tanh", "identity": "identity"}
OUT_TO_LOSS = {"softmax": "cross_entropy", "logistic": "binary_cross_entropy", "identity": "mse",
               "exp": "poisson"}


def _require(module, extra):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(f"this conversion needs {module.split('.')[0]}: "
                          f"pip install 'fastmlp[{extra}]'") from exc


def sklearn_state(est, backend="cpp") -> dict:
    """The `MLP.state()` of a model with the weights of a fitted scikit-learn (or fastmlp.sklearn)
    MLP, never trained by fastmlp (`MLP.from_sklearn` builds it).

    Hidden activations map logistic -> sigmoid; the loss follows ``out_activation_``
    (softmax -> cross_entropy, logistic -> binary_cross_entropy, identity -> mse). The dtype is
    the estimator's.
    """
    from .names import LOSSES

    for attr in ("coefs_", "intercepts_", "out_activation_"):
        if not hasattr(est, attr):
            raise ValueError(f"est must be a fitted MLPClassifier or MLPRegressor (it has no {attr})")
    loss = OUT_TO_LOSS.get(est.out_activation_)
    if loss is None or LOSSES.count(loss) == 0:
        raise ValueError(f"est's output activation {est.out_activation_!r} has no fastmlp loss here")
    n_hidden = len(est.coefs_) - 1
    acts = [est.activation] * n_hidden if isinstance(est.activation, str) else list(est.activation)
    unknown = [a for a in acts if a not in SK_TO_FM_ACTIVATION and a not in ("sigmoid", "leaky_relu", "gelu")]
    if unknown:
        raise ValueError(f"est.activation {est.activation!r} has no fastmlp equivalent")
    acts = [SK_TO_FM_ACTIVATION.get(a, a) for a in acts]
    sizes = [est.coefs_[0].shape[0]] + [w.shape[1] for w in est.coefs_]
    dtype = np.result_type(*est.coefs_)
    weights = [np.asarray(w, dtype) for w in est.coefs_]
    biases = [np.asarray(b, dtype) for b in est.intercepts_]
    return _untrained_state(sizes, acts, loss, dtype, backend, weights, biases)


def _untrained_state(sizes, activations, loss, dtype, backend, weights, biases) -> dict:
    """The state of a model that holds these weights and was never trained by fastmlp."""
    config = {"layer_sizes": sizes, "activations": activations, "loss": loss, "dtype": np.dtype(dtype).name,
              "init": "auto", "seed": 0, "l2": 0.0, "dropout": 0.0, "backend": backend}
    return {"config": config, "weights": weights, "biases": biases}


def _state(model) -> dict:
    """A model's state, or the state itself: the ``to_*`` conversions take either."""
    return model.state() if callable(getattr(model, "state", None)) else model


def to_sklearn(model, classes=None):
    """A fitted ``sklearn.neural_network`` MLPClassifier / MLPRegressor holding copies of the
    weights of ``model`` (an MLP or its state); predict / predict_proba work at once (no refit).

    ``classes``: the labels of a classifier's outputs (default ``model.classes_`` if set, else
    0..n-1). The hidden activations must be one of scikit-learn's (identity, sigmoid, tanh,
    relu) and the same for every layer.
    """
    nn = _require("sklearn.neural_network", "sklearn")
    from sklearn.preprocessing import LabelBinarizer

    if classes is None:
        classes = getattr(model, "classes_", None)
    state = _state(model)
    config = state["config"]
    hidden_activations, sizes, loss = config["activations"], config["layer_sizes"], config["loss"]
    names = set(hidden_activations) or {"identity"}
    if len(names) != 1 or next(iter(names)) not in FM_TO_SK_ACTIVATION:
        raise ValueError(f"scikit-learn needs one hidden activation among identity, sigmoid, tanh, "
                         f"relu; the model has {hidden_activations}")
    activation = FM_TO_SK_ACTIVATION[next(iter(names))]
    hidden = tuple(sizes[1:-1])
    n_out = sizes[-1]
    if loss in ("cross_entropy", "binary_cross_entropy"):
        est = nn.MLPClassifier(hidden_layer_sizes=hidden, activation=activation)
        binarizer = LabelBinarizer()
        if loss == "cross_entropy":
            if n_out < 3:
                raise ValueError("scikit-learn's softmax output needs >= 3 classes; a 2-class "
                                 "model must use binary_cross_entropy with one output")
            classes = np.arange(n_out) if classes is None else np.asarray(classes)
            binarizer.fit(classes)
            est.out_activation_ = "softmax"
        elif n_out == 1:
            classes = np.arange(2) if classes is None else np.asarray(classes)
            binarizer.fit(classes)
            est.out_activation_ = "logistic"
        else:  # several sigmoid outputs: multi-label indicator targets
            binarizer.fit(np.vstack([np.zeros(n_out, int), np.ones(n_out, int)]))
            classes = binarizer.classes_
            est.out_activation_ = "logistic"
        if len(binarizer.classes_) != max(n_out, 2):
            raise ValueError(f"classes has {len(binarizer.classes_)} labels, the model {n_out} outputs")
        est._label_binarizer = binarizer
        est.classes_ = binarizer.classes_
        est.loss = "log_loss"
    elif loss in ("mse", "poisson"):
        est = nn.MLPRegressor(hidden_layer_sizes=hidden, activation=activation,
                              loss="squared_error" if loss == "mse" else "poisson")
        est.out_activation_ = "identity" if loss == "mse" else "exp"
    else:
        raise ValueError(f"scikit-learn has no MLP with loss {loss!r}")
    est.coefs_ = [np.array(w) for w in state["weights"]]
    est.intercepts_ = [np.array(b) for b in state["biases"]]
    est.n_layers_ = len(sizes)
    est.n_outputs_ = n_out
    est.n_features_in_ = sizes[0]
    est.n_iter_ = 0
    est.t_ = 0
    return est


TORCH_ACTIVATIONS = {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid", "identity": "Identity",
                     "leaky_relu": "LeakyReLU", "gelu": "GELU"}


def torch_module(model):
    """``torch.nn.Sequential(Linear, act, Linear, act, ..., Linear)`` with the weights of
    ``model`` (an MLP or its state; float64 models give float64 modules). The output link
    (softmax/sigmoid) is not a layer: PyTorch's losses fuse it, as fastmlp's do."""
    torch = _require("torch", "torch")
    state = _state(model)
    hidden_activations = state["config"]["activations"]
    layers = []
    for i, w in enumerate(state["weights"]):
        lin = torch.nn.Linear(w.shape[0], w.shape[1], dtype=getattr(torch, w.dtype.name))
        layers.append(lin)
        if i < len(state["weights"]) - 1:
            layers.append(getattr(torch.nn, TORCH_ACTIVATIONS[hidden_activations[i]])())
    module = torch.nn.Sequential(*layers)
    module.load_state_dict(to_torch_state_dict(state))
    return module


def to_torch_state_dict(model):
    """The state dict of `torch_module(model)` (``model`` an MLP or its state): keys
    ``"{2i}.weight"`` (n_out, n_in) and ``"{2i}.bias"`` for layer i (activations sit at the odd
    indices), copies of the weights."""
    torch = _require("torch", "torch")
    from collections import OrderedDict

    state = _state(model)
    out = OrderedDict()
    for i, (w, b) in enumerate(zip(state["weights"], state["biases"])):
        out[f"{2 * i}.weight"] = torch.from_numpy(np.ascontiguousarray(w.T).copy())
        out[f"{2 * i}.bias"] = torch.from_numpy(np.array(b))
    return out


def torch_state(module, loss="cross_entropy", backend="cpp") -> dict:
    """The `MLP.state()` of a model with the weights of a ``torch.nn.Sequential`` of Linear layers
    with one activation module (ReLU, Tanh, Sigmoid, LeakyReLU(0.01), GELU(), Identity) between
    consecutive Linears (`MLP.from_torch` builds it); a trailing Softmax / LogSoftmax / Sigmoid is
    dropped (fastmlp's ``loss`` applies the link). The dtype is the Linear layers'."""
    torch = _require("torch", "torch")

    if not isinstance(module, torch.nn.Sequential):
        raise TypeError(f"module must be a torch.nn.Sequential, got {type(module).__name__}")
    by_class = {v: k for k, v in TORCH_ACTIVATIONS.items()}
    children = list(module.children())
    while children and type(children[-1]).__name__ in ("Softmax", "LogSoftmax", "Sigmoid"):
        children.pop()
    linears, acts, pending = [], [], None
    for child in children:
        name = type(child).__name__
        if isinstance(child, torch.nn.Linear):
            if linears:
                acts.append(pending or "identity")
            linears.append(child)
            pending = None
        elif name in by_class and linears and pending is None:
            if name == "LeakyReLU" and child.negative_slope != 0.01:
                raise ValueError("fastmlp's leaky_relu has slope 0.01, the module's LeakyReLU "
                                 f"has {child.negative_slope}")
            if name == "GELU" and child.approximate != "none":
                raise ValueError("fastmlp's gelu is exact; the module's GELU uses approximate="
                                 f"{child.approximate!r}")
            pending = by_class[name]
        else:
            raise ValueError(f"module layer {name} is not supported here: expected Linear layers "
                             "with one activation (ReLU, Tanh, Sigmoid, LeakyReLU, GELU, Identity) "
                             "between them")
    if not linears:
        raise ValueError("module has no Linear layer")
    if pending is not None:
        raise ValueError("module ends with an activation after its last Linear; fastmlp's last "
                         "layer is linear (the loss applies the output link)")
    sizes = [linears[0].in_features] + [lin.out_features for lin in linears]
    dtype = linears[0].weight.dtype
    if dtype not in (torch.float32, torch.float64):
        raise TypeError(f"module weights must be float32 or float64, got {dtype}")
    weights, biases = [], []
    with torch.no_grad():
        for i, lin in enumerate(linears):
            if lin.bias is None:
                raise ValueError(f"Linear layer {i} has no bias; fastmlp's layers always have one")
            weights.append(lin.weight.detach().cpu().numpy().T)
            biases.append(lin.bias.detach().cpu().numpy())
    return _untrained_state(sizes, acts, loss, str(dtype).replace("torch.", ""), backend, weights, biases)
