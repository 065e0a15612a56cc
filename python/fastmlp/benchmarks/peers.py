"""One training epoch of the external peers, set up like fastmlp's (PEERS.md section 5).

PyTorch eager: `nn.Sequential` of `nn.Linear` + activation, starting from fastmlp's initial
weights, `torch.optim.SGD(lr, momentum=0)`, batches gathered with `index_select` in the same
shuffled order. scikit-learn: `MLPClassifier` / `MLPRegressor` with solver "sgd", constant
rate, momentum 0, alpha 0; one `partial_fit` over all rows is one epoch. Each factory returns
a zero-argument callable that trains one more epoch and returns its loss, or None when the
peer is not installed.
"""

from __future__ import annotations

import numpy as np

from .configs import EPOCH_CONFIGS, LEARNING_RATE


def torch_version():
    try:
        import torch
    except ImportError:
        return None
    return torch.__version__


def sklearn_version():
    try:
        import sklearn
    except ImportError:
        return None
    return sklearn.__version__


def torch_model(net):
    """An `nn.Sequential` holding ``net``'s weights (fastmlp's (n_in, n_out) transposed)."""
    import torch

    act = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh}[net.activations[0]]
    layers = []
    for i, (w, b) in enumerate(zip(net.weights, net.biases)):
        lin = torch.nn.Linear(*w.shape)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(np.ascontiguousarray(w.T)))
            lin.bias.copy_(torch.from_numpy(b))
        layers += [lin] if i == len(net.weights) - 1 else [lin, act()]
    return torch.nn.Sequential(*layers)


def torch_epoch(net, X, y, order, batch, threads):
    """PyTorch eager's epoch over ``order`` (torch intra-op threads set to ``threads``)."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads)
    model = torch_model(net)
    loss_fn = torch.nn.CrossEntropyLoss() if net.loss == "cross_entropy" else torch.nn.MSELoss()
    opt = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE, momentum=0.0)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    order_t = torch.from_numpy(np.asarray(order, dtype=np.int64))

    def epoch(rows=order_t):
        total = 0.0
        for start in range(0, len(rows), batch):
            idx = rows[start:start + batch]
            xb, yb = Xt.index_select(0, idx), yt.index_select(0, idx)
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        return total / len(rows)

    epoch(order_t[: 4 * batch])  # warm-up: allocator and autograd caches
    return epoch


def sklearn_epoch(config, X, y):
    """scikit-learn's epoch: one partial_fit over every row (it shuffles them itself)."""
    try:
        from sklearn import neural_network as nn
    except ImportError:
        return None
    sizes, act, loss, batch = EPOCH_CONFIGS[config]
    kw = dict(hidden_layer_sizes=tuple(sizes[1:-1]), activation=act, solver="sgd", momentum=0.0,
              alpha=0.0, learning_rate="constant", learning_rate_init=LEARNING_RATE, batch_size=batch,
              shuffle=True, random_state=0)
    if loss == "cross_entropy":
        model = nn.MLPClassifier(**kw)
        classes = np.arange(sizes[-1])

        def epoch():
            model.partial_fit(X, y, classes=classes)
            return model.loss_
    else:
        model = nn.MLPRegressor(**kw)
        target = y.ravel() if y.shape[1] == 1 else y

        def epoch():
            model.partial_fit(X, target)
            return model.loss_

    epoch()  # warm-up: the first call initialises the weights
    return epoch
