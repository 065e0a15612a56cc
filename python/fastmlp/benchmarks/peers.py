"""One training epoch of the external peers, set up like fastmlp's (BENCHMARKS.md).

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


def numpy_lean_epoch(net, X, y, order, batch):
    """The epoch a NumPy user would write by hand: every buffer preallocated, every product one
    OpenBLAS call into its `out`, every elementwise step in place; no argument checks. Same
    network, data, order, SGD step and learning rate as fastmlp's epoch (relu/tanh hidden
    layers, cross_entropy or mse). Returns a callable that trains one more epoch."""
    weights = [w.copy() for w in net.weights]
    biases = [b.copy() for b in net.biases]
    act = net.activations[0]
    dtype, n_layers = weights[0].dtype, len(weights)
    widths = [weights[0].shape[0]] + [w.shape[1] for w in weights]
    xb_full = np.empty((batch, widths[0]), dtype)
    z_full = [np.empty((batch, n), dtype) for n in widths[1:]]       # z, then a, in place
    g_full = [np.empty((batch, n), dtype) for n in widths[1:]]       # dL/dz of each layer
    mask_full = [np.empty((batch, n), bool) for n in widths[1:-1]]
    dw = [np.empty_like(w) for w in weights]
    db = [np.empty_like(b) for b in biases]
    lr = dtype.type(LEARNING_RATE)
    classify = net.loss == "cross_entropy"

    def step(idx):
        bs = len(idx)
        xb = np.take(X, idx, axis=0, out=xb_full[:bs])
        acts = [xb]
        for l in range(n_layers):
            z = z_full[l][:bs]
            np.matmul(acts[-1], weights[l], out=z)
            z += biases[l]
            if l < n_layers - 1:
                if act == "relu":
                    np.greater(z, 0, out=mask_full[l][:bs])
                    np.maximum(z, 0, out=z)
                else:
                    np.tanh(z, out=z)
            acts.append(z)
        out, g = acts[-1], g_full[-1][:bs]
        if classify:
            out -= out.max(axis=1, keepdims=True)
            np.exp(out, out=out)
            out /= out.sum(axis=1, keepdims=True)
            rows = np.arange(bs)
            loss = -np.log(out[rows, y[idx]]).mean()
            np.copyto(g, out)
            g[rows, y[idx]] -= 1
            g /= bs
        else:
            np.subtract(out, y[idx], out=g)
            loss = float((g * g).mean())
            g *= dtype.type(2.0 / g.size)
        for l in range(n_layers - 1, -1, -1):
            g = g_full[l][:bs]
            np.matmul(acts[l].T, g, out=dw[l])
            np.sum(g, axis=0, out=db[l])
            if l > 0:
                prev = g_full[l - 1][:bs]
                np.matmul(g, weights[l].T, out=prev)
                if act == "relu":
                    prev *= mask_full[l - 1][:bs]
                else:
                    prev *= 1 - acts[l] * acts[l]
            dw[l] *= lr
            weights[l] -= dw[l]
            db[l] *= lr
            biases[l] -= db[l]
        return loss * bs

    def epoch():
        total = 0.0
        for start in range(0, len(order), batch):
            total += step(order[start:start + batch])
        return total / len(order)

    return epoch
