"""One training step, every intermediate number kept, computed by one backend's kernels.

The step is plain gradient descent on one batch, written as a learner meets it and computed
only with the kernel API (`fastmlp.backends.backprop`'s forward and backward over
dense_forward and dense_backward; activation_forward, loss_forward_backward,
activation_backward, sgd_step), so the numbers of the "cpp" trace really come
from the C++ core, those of the "numba" trace from Numba, and so on.

Names (layers counted from 1 to L; a0 is the input x):
    z{l} = a{l-1} W{l} + b{l}       a{l} = f(z{l})          p = link(z{L}), the prediction
    error = p - t                   loss                    delta{L} = dL/dz{L}
    dL_da{l} = delta{l+1} W{l+1}^T  fprime{l} = f'(z{l})    delta{l} = dL_da{l} * fprime{l}
    dL_dW{l} = a{l-1}^T delta{l}    dL_db{l} = sum over rows of delta{l}
    dW{l} = -lr dL_dW{l}            W{l}_new = W{l} + dW{l} (likewise b)
    loss_after, p_after: the loss and prediction with the new weights
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..backends import backprop
from ..backends.backprop import Layers


@dataclass
class Setup:
    """The network and batch of the step, as float64 arrays (never the caller's own arrays)."""

    weights: list  # (n_in, n_out) per layer
    biases: list  # (n_out,) per layer
    activations: list  # per layer as the kernels run it: the last is "identity" (link fused in the loss)
    loss: str
    link: str  # what turns the last z into the prediction: identity, sigmoid or softmax
    x: np.ndarray  # (batch, n_in)
    y: np.ndarray  # targets as the loss kernel takes them (labels for cross_entropy)
    t: np.ndarray  # targets as a matrix like the prediction (one-hot for labels)

    @property
    def n_layers(self) -> int:
        return len(self.weights)


def forward(kernels, setup: Setup, weights, biases) -> backprop.Cache:
    """Every layer's input, z and a (the last a is the raw output z{L}), by `backprop.forward`."""
    return backprop.forward(kernels, Layers(weights, biases, setup.activations), setup.x)


def loss_after_update(kernels, setup: Setup, grads_w, grads_b, lr: float) -> float:
    """The batch loss after one plain gradient-descent step of size ``lr`` (for the rate sweep)."""
    weights, biases = _updated(kernels, setup.weights, grads_w, lr), _updated(kernels, setup.biases, grads_b, lr)
    with np.errstate(all="ignore"):  # a divergent rate may overflow: that is what it shows
        return _loss(kernels, setup, weights, biases)


def run(kernels, setup: Setup, lr: float, steps: int, give_up: float) -> list:
    """The loss curve of ``steps`` plain gradient-descent steps at rate ``lr`` on the batch: the
    loss before step 1, after step 1, ... Stops early (the curve is shorter) once the loss is not
    finite or passes ``give_up`` times its start; the setup's own weights are never changed."""
    weights, biases = list(setup.weights), list(setup.biases)
    curve = []
    with np.errstate(all="ignore"):  # a divergent rate may overflow: that is what it shows
        for _ in range(steps):
            loss, grads_w, grads_b = gradients(kernels, setup, weights, biases)
            curve.append(float(loss))
            if not np.isfinite(loss) or loss > give_up * curve[0]:
                return curve
            weights, biases = _updated(kernels, weights, grads_w, lr), _updated(kernels, biases, grads_b, lr)
        curve.append(float(_loss(kernels, setup, weights, biases)))
    return curve


def gradients(kernels, setup: Setup, weights=None, biases=None):
    """(loss, dL/dW per layer, dL/db per layer) at ``weights``, ``biases`` (default: the setup's)."""
    layers = Layers(setup.weights if weights is None else weights,
                    setup.biases if biases is None else biases, setup.activations)
    cache = backprop.forward(kernels, layers, setup.x)
    loss, grad_out = kernels.loss_forward_backward(setup.loss, cache.output, setup.y)
    grads = backprop.backward(kernels, layers, cache, grad_out)
    return loss, grads[0::2], grads[1::2]


def one_step(kernels, setup: Setup, lr: float) -> dict:
    """Every number of one gradient-descent step at rate ``lr``, by name, in the learner's order."""
    L = setup.n_layers
    v = {"x": setup.x.copy(), "t": setup.t.copy()}

    # forward: z = a_prev W + b, a = f(z), layer by layer
    layers = Layers(setup.weights, setup.biases, setup.activations)
    cache = backprop.forward(kernels, layers, setup.x)
    zs, outs = cache.z, cache.a
    for k in range(1, L + 1):
        v[f"W{k}"], v[f"b{k}"], v[f"z{k}"] = setup.weights[k - 1].copy(), setup.biases[k - 1].copy(), zs[k - 1]
        if k < L:
            v[f"a{k}"] = outs[k - 1]
    v["p"] = kernels.activation_forward(setup.link, zs[-1])

    # prediction, error, loss and the output delta (the loss kernel fuses the link)
    v["error"] = v["p"] - setup.t
    loss, delta = kernels.loss_forward_backward(setup.loss, zs[-1], setup.y)
    v["loss"] = float(loss)
    v[f"delta{L}"] = delta

    # backward: the output layer's delta, then the chain rule down to layer 1; the kernels run
    # layer L as "identity", so its incoming dL/da is delta{L} itself
    grad_a = []  # grad_a[k - 1] is dL/da{k} = delta{k+1} W{k+1}^T, from the layer above
    grads = backprop.backward(kernels, layers, cache, delta, upstream=grad_a)
    grads_w, grads_b = grads[0::2], grads[1::2]
    for k in range(L, 0, -1):
        if k < L:
            v[f"dL_da{k}"] = grad_a[k - 1]
            act = setup.activations[k - 1]
            if act != "softmax":  # elementwise f'(z): the chain-rule factor a learner multiplies by
                v[f"fprime{k}"] = kernels.activation_backward(act, zs[k - 1], outs[k - 1], np.ones_like(zs[k - 1]))
            v[f"delta{k}"] = kernels.activation_backward(act, zs[k - 1], outs[k - 1], grad_a[k - 1])
        v[f"dL_dW{k}"], v[f"dL_db{k}"] = grads_w[k - 1], grads_b[k - 1]

    # the update: a step of -lr times the gradient, applied by the backend's sgd_step
    new_w = _updated(kernels, setup.weights, grads_w, lr)
    new_b = _updated(kernels, setup.biases, grads_b, lr)
    for k in range(1, L + 1):
        v[f"dW{k}"], v[f"W{k}_new"] = -lr * grads_w[k - 1], new_w[k - 1]
        v[f"db{k}"], v[f"b{k}_new"] = -lr * grads_b[k - 1], new_b[k - 1]

    # after the step: the same batch through the new weights
    with np.errstate(all="ignore"):
        z_last = forward(kernels, setup, new_w, new_b).z[-1]
        v["loss_after"] = float(kernels.loss_forward_backward(setup.loss, z_last, setup.y)[0])
        v["p_after"] = kernels.activation_forward(setup.link, z_last)
    return v


def _loss(kernels, setup: Setup, weights, biases) -> float:
    """The batch loss at ``weights``, ``biases``."""
    output = forward(kernels, setup, weights, biases).output
    return kernels.loss_forward_backward(setup.loss, output, setup.y)[0]


def _updated(kernels, params, grads, lr):
    """Copies of ``params`` after ``param -= lr * grad`` by the backend's sgd_step (no momentum)."""
    out = []
    for param, grad in zip(params, grads):
        new = param.copy()
        kernels.sgd_step(new, grad, np.zeros_like(new), lr=lr)
        out.append(new)
    return out
