"""Time to a test accuracy on full MNIST: fastmlp vs PyTorch eager vs scikit-learn.

The same recipe in each: 784-256-128-10 relu, softmax cross-entropy, Adam(lr=1e-3, betas
0.9/0.999, eps 1e-8), batch 64, float32, the data shuffled each epoch, the same initial weights
(fastmlp's seeded Glorot/He init copied into the peers). After every epoch the test accuracy is
measured; the clock (training time only, evaluation excluded and identical for all) stops at
the first epoch that reaches the target. Each framework runs at the same thread count.

Every seed gives all frameworks the same initial weights and its own shuffling; how many epochs
each needs varies with the seed (6 to 10 in one run), so the table gives medians over seeds.

Usage: python bench/time_to_accuracy.py [--target 0.98] [--threads 1] [--max-epochs 20]
        [--seeds 0,1,2,3,4] [--data DIR] [--peers fastmlp,torch,sklearn]
Prints a Markdown table for BENCHMARKS.md (times are seconds of training; ratios vs fastmlp).
"""

from __future__ import annotations

import argparse
import os
import time

DATA_HELP = ("folder with the MNIST IDX files; default $FASTMLP_DATA/mnist (else ~/.cache/fastmlp/mnist), "
             "fetched there with checksums if missing")

import numpy as np

SIZES = [784, 256, 128, 10]
BATCH, LR = 64, 1e-3


def initial_weights(seed):
    from fastmlp.init import initialize

    return initialize(SIZES, ["relu", "relu", "identity"], np.float32, seed=seed)


def run_fastmlp(data, args, weights, biases):
    """One fit over all epochs (as a user would call it), a callback measuring the test
    accuracy after each epoch and stopping at the target; its own time is excluded."""
    import fastmlp as fm
    from fastmlp.callbacks import Callback

    Xtr, ytr, Xte, yte = data
    fm.set_num_threads(args.threads)
    model = fm.MLP(SIZES, activation="relu", loss="cross_entropy", dtype="float32", seed=args.seed)
    for i, (w, b) in enumerate(zip(weights, biases)):
        model.weights[i][...] = w
        model.biases[i][...] = b

    class StopAtTarget(Callback):
        def __init__(self):
            self.start, self.excluded, self.history = time.perf_counter(), 0.0, []

        def on_epoch_end(self, epoch, logs, model):
            t0 = time.perf_counter()
            acc = float((model.predict(Xte) == yte).mean())
            self.history.append((epoch + 1, t0 - self.start - self.excluded, acc))
            self.excluded += time.perf_counter() - t0
            return acc >= args.target

    stop = StopAtTarget()
    model.fit(Xtr, ytr, epochs=args.max_epochs, batch_size=BATCH, optimizer=fm.optim.Adam(lr=LR),
              callbacks=[stop])
    return stop.history


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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", type=float, default=0.98)
    parser.add_argument("--threads", type=int, default=int(os.environ.get("FASTMLP_NUM_THREADS", 1)))
    parser.add_argument("--max-epochs", type=int, default=20)
    parser.add_argument("--seeds", default="0,1,2,3,4",
                        help="comma-separated; each seed sets the shared initial weights and "
                             "every framework's shuffling, and the table gives medians")
    parser.add_argument("--data", default=None, help=DATA_HELP)
    parser.add_argument("--peers", default="fastmlp,torch,sklearn")
    args = parser.parse_args()
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(args.threads))

    import fastmlp as fm

    data = fm.datasets.load_mnist(args.data or fm.datasets.download_mnist("mnist"))
    runs = {}  # name -> [(epochs, seconds, acc) per seed]
    for seed in (int(s) for s in args.seeds.split(",")):
        args.seed = seed
        weights, biases = initial_weights(seed)
        for name in args.peers.split(","):
            try:
                epoch, seconds, acc = RUNNERS[name](data, args, weights, biases)[-1]
            except ImportError as exc:
                print(f"# {name} skipped: {exc}")
                continue
            runs.setdefault(name, []).append((epoch, seconds, acc))
            print(f"# seed {seed} {name}: {epoch} epochs, {seconds:.2f} s, test accuracy {acc:.4f}",
                  flush=True)

    def reached(name):
        return all(acc >= args.target for _, _, acc in runs[name])

    def median(name, k):
        return float(np.median([r[k] for r in runs[name]]))

    base = median("fastmlp", 1) if "fastmlp" in runs and reached("fastmlp") else None
    print(f"\nMedians over seeds {args.seeds} ({args.threads} thread(s)):\n")
    print(f"| framework | epochs (per seed) | median epochs | median training s | reached {args.target:.0%} "
          "every seed | x fastmlp time |")
    print("|---|---|---:|---:|:-:|---:|")
    for name in runs:
        per_seed = " ".join(str(r[0]) for r in runs[name])
        ratio = f"{median(name, 1) / base:.2f}x" if base and reached(name) else "-"
        print(f"| {name} | {per_seed} | {median(name, 0):g} | {median(name, 1):.2f} | "
              f"{'yes' if reached(name) else 'no'} | {ratio} |")


if __name__ == "__main__":
    main()
