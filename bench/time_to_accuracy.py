"""Time to a test accuracy on full MNIST: fastmlp vs PyTorch eager vs scikit-learn (issue 5).

The same recipe in each: 784-256-128-10 relu, softmax cross-entropy, Adam(lr=1e-3, betas
0.9/0.999, eps 1e-8), batch 64, float32, the data shuffled each epoch, the same initial weights
(fastmlp's seeded Glorot/He init copied into the peers). After every epoch the test accuracy is
measured; the clock (training time only, evaluation excluded and identical for all) stops at
the first epoch that reaches the target. Each framework runs at the same thread count.

Usage: python bench/time_to_accuracy.py [--target 0.98] [--threads 1] [--max-epochs 20]
        [--data ../shared/data/mnist] [--peers fastmlp,torch,sklearn]
Prints a Markdown table for BENCHMARKS.md (times are seconds of training; ratios vs fastmlp).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

SIZES = [784, 256, 128, 10]
BATCH, LR = 64, 1e-3


def initial_weights(seed):
    from fastmlp.init import initialize

    return initialize(SIZES, ["relu", "relu", "identity"], np.float32, seed=seed)


def run_fastmlp(data, args, weights, biases):
    import fastmlp as fm

    Xtr, ytr, Xte, yte = data
    fm.set_num_threads(args.threads)
    model = fm.MLP(SIZES, activation="relu", loss="cross_entropy", dtype="float32", seed=args.seed)
    for i, (w, b) in enumerate(zip(weights, biases)):
        model.weights[i][...] = w
        model.biases[i][...] = b
    opt = fm.optim.Adam(lr=LR)
    elapsed, history = 0.0, []
    for epoch in range(1, args.max_epochs + 1):
        t0 = time.perf_counter()
        model.fit(Xtr, ytr, epochs=1, batch_size=BATCH, optimizer=opt if epoch == 1 else None)
        elapsed += time.perf_counter() - t0
        acc = float((model.predict(Xte) == yte).mean())
        history.append((epoch, elapsed, acc))
        if acc >= args.target:
            break
    return history


def run_torch(data, args, weights, biases):
    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    Xtr, ytr, Xte, yte = (torch.from_numpy(a) for a in data)
    layers = []
    for i, (w, b) in enumerate(zip(weights, biases)):
        lin = torch.nn.Linear(*w.shape)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(w.T))
            lin.bias.copy_(torch.from_numpy(b))
        layers += [lin] if i == len(weights) - 1 else [lin, torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    loss_fn = torch.nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(args.seed)
    elapsed, history = 0.0, []
    for epoch in range(1, args.max_epochs + 1):
        t0 = time.perf_counter()
        order = torch.randperm(len(Xtr), generator=gen)
        for start in range(0, len(order), BATCH):
            idx = order[start:start + BATCH]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(Xtr.index_select(0, idx)), ytr.index_select(0, idx))
            loss.backward()
            opt.step()
        elapsed += time.perf_counter() - t0
        with torch.no_grad():
            acc = float((model(Xte).argmax(1) == yte).float().mean())
        history.append((epoch, elapsed, acc))
        if acc >= args.target:
            break
    return history


def run_sklearn(data, args, weights, biases):
    from sklearn.neural_network import MLPClassifier
    from threadpoolctl import threadpool_limits

    Xtr, ytr, Xte, yte = data
    model = MLPClassifier(hidden_layer_sizes=tuple(SIZES[1:-1]), activation="relu", solver="adam",
                          alpha=0.0, batch_size=BATCH, learning_rate_init=LR, shuffle=True,
                          random_state=args.seed)
    elapsed, history = 0.0, []
    with threadpool_limits(limits=args.threads):
        # partial_fit once on a tiny slice to create the arrays, then load the shared weights
        # and reset Adam's state by re-creating the optimizer on the next call.
        model.partial_fit(Xtr[:BATCH], ytr[:BATCH], classes=np.arange(10))
        model.coefs_ = [w.astype(np.float32) for w in weights]
        model.intercepts_ = [b.astype(np.float32) for b in biases]
        del model._optimizer
        for epoch in range(1, args.max_epochs + 1):
            t0 = time.perf_counter()
            model.partial_fit(Xtr, ytr)
            elapsed += time.perf_counter() - t0
            acc = float((model.predict(Xte) == yte).mean())
            history.append((epoch, elapsed, acc))
            if acc >= args.target:
                break
    return history


RUNNERS = {"fastmlp": run_fastmlp, "torch": run_torch, "sklearn": run_sklearn}


def main():
    here = Path(__file__).resolve().parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", type=float, default=0.98)
    parser.add_argument("--threads", type=int, default=int(os.environ.get("FASTMLP_NUM_THREADS", 1)))
    parser.add_argument("--max-epochs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", default=str(here.parent.parent / "shared" / "data" / "mnist"))
    parser.add_argument("--peers", default="fastmlp,torch,sklearn")
    args = parser.parse_args()
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(args.threads))

    import fastmlp as fm

    data = fm.datasets.load_mnist(args.data)
    weights, biases = initial_weights(args.seed)
    results = {}
    for name in args.peers.split(","):
        try:
            results[name] = RUNNERS[name](data, args, weights, biases)
        except ImportError as exc:
            print(f"# {name} skipped: {exc}")
            continue
        epoch, seconds, acc = results[name][-1]
        print(f"# {name}: {epoch} epochs, {seconds:.2f} s, test accuracy {acc:.4f}", flush=True)

    base = results.get("fastmlp")
    print(f"\n| framework | epochs | training s | test acc | reached {args.target:.0%} | x fastmlp time |")
    print("|---|---:|---:|---:|:-:|---:|")
    for name, hist in results.items():
        epoch, seconds, acc = hist[-1]
        ratio = f"{seconds / base[-1][1]:.2f}x" if base and base[-1][2] >= args.target else "-"
        print(f"| {name} | {epoch} | {seconds:.2f} | {acc:.4f} | {'yes' if acc >= args.target else 'no'} | {ratio} |")


if __name__ == "__main__":
    main()
