"""Random scikit-learn configurations: does the default drop-in still give scikit-learn's numbers?

    python fuzz/fuzz_sklearn_exact.py [--cases 60] [--seed 0] [--rtol 1e-9]

Each case draws a problem (classes, multi-label, one or several regression targets, or Poisson
counts; rows, features, scale) and estimator parameters (solver, activation, layers, alpha,
batch size, learning rate and its schedule, momentum, early stopping, sample weights, float64),
fits scikit-learn's estimator and fastmlp's for a few iterations with the same random_state, and
compares n_iter_, loss_curve_ (lbfgs: loss_) and coefs_ as tests/test_sklearn_exact.py does, at
a looser rtol: some draws are chaotic (large rates on saturating data), where any other rounding
of the same sums, scikit-learn's own on another BLAS included, drifts this far. A case that
differs is printed with its parameters, to become a test (as the clipped log losses did:
test_sklearn_exact.py "adam-saturating-softmax"). Exit status: the number of differing cases.
"""

from __future__ import annotations

import argparse
import sys
import warnings

import numpy as np


def draw_problem(rng):
    from sklearn.datasets import make_classification, make_multilabel_classification, make_regression

    n, d = int(rng.integers(30, 400)), int(rng.integers(1, 20))
    kind = str(rng.choice(["binary", "multiclass", "multilabel", "regression", "multi-target",
                           "poisson"]))
    seed = int(rng.integers(1 << 30))
    if kind in ("binary", "multiclass"):
        classes = 2 if kind == "binary" else int(rng.integers(3, 7))
        X, y = make_classification(n, max(d, 4), n_informative=min(max(d, 4), 4), n_redundant=0,
                                   n_classes=classes, n_clusters_per_class=1, random_state=seed)
    elif kind == "multilabel":
        X, y = make_multilabel_classification(n, d, n_classes=int(rng.integers(2, 5)),
                                              random_state=seed)
    else:
        targets = 1 if kind != "multi-target" else int(rng.integers(2, 4))
        X, y = make_regression(n, d, n_targets=targets, noise=1.0, random_state=seed)
        y = y / (np.abs(y).max() + 1e-12)
        if kind == "poisson":
            y = np.exp(y.ravel())
    X = X * float(rng.choice([0.1, 1.0, 10.0]))
    return kind, X, y


def draw_params(rng, kind):
    solver = str(rng.choice(["adam", "sgd", "lbfgs"]))
    params = dict(solver=solver, random_state=int(rng.integers(1000)), max_iter=int(rng.integers(3, 15)),
                  activation=str(rng.choice(["relu", "tanh", "logistic", "identity"])),
                  hidden_layer_sizes=tuple(int(h) for h in rng.integers(1, 30, int(rng.integers(1, 3)))),
                  alpha=float(rng.choice([0.0, 1e-4, 0.1])))
    if solver != "lbfgs":
        params.update(batch_size=int(rng.choice([1, 7, 32, 200])),
                      learning_rate_init=float(rng.choice([1e-3, 1e-2, 0.1])),
                      shuffle=bool(rng.integers(2)), early_stopping=bool(rng.integers(2)) and kind != "multilabel")
    if solver == "sgd":
        params.update(learning_rate=str(rng.choice(["constant", "invscaling", "adaptive"])),
                      momentum=float(rng.choice([0.0, 0.5, 0.9])),
                      nesterovs_momentum=bool(rng.integers(2)))
    if kind == "poisson":
        params["loss"] = "poisson"
    return params


def differs(ours, theirs, rtol):
    """The first of n_iter_, loss curve, loss_ or coefs_ that differs, or ''."""
    if ours.n_iter_ != theirs.n_iter_:
        return f"n_iter_ {ours.n_iter_} vs {theirs.n_iter_}"
    pairs = [("loss_", [ours.loss_], [theirs.loss_])]
    if hasattr(theirs, "loss_curve_"):
        pairs.append(("loss_curve_", ours.loss_curve_, theirs.loss_curve_))
    pairs += [(f"coefs_[{i}]", a, b) for i, (a, b) in enumerate(zip(ours.coefs_, theirs.coefs_))]
    for name, a, b in pairs:
        a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
        if a.shape != b.shape:
            return f"{name} shape {a.shape} vs {b.shape}"
        if not (np.isfinite(a).all() and np.isfinite(b).all()):
            if not np.array_equal(np.isfinite(a), np.isfinite(b)):
                return f"{name} finite in one only"
            continue
        scale = np.abs(b).max() if b.size else 0.0
        err = np.abs(a - b).max() if b.size else 0.0
        if err > rtol * scale:
            return f"{name} off by {err / max(scale, 1e-300):.1e} of its scale"
    return ""


def main(argv=None):
    from sklearn import neural_network as sk

    from fastmlp.sklearn import MLPClassifier, MLPRegressor

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rtol", type=float, default=1e-9)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    bad = 0
    for case in range(args.cases):
        kind, X, y = draw_problem(rng)
        params = draw_params(rng, kind)
        weights = rng.uniform(0.1, 3.0, len(X)) if rng.integers(3) == 0 else None
        is_classifier = kind in ("binary", "multiclass", "multilabel")
        ours_cls, theirs_cls = ((MLPClassifier, sk.MLPClassifier) if is_classifier
                                else (MLPRegressor, sk.MLPRegressor))
        outcome = {}
        for side, cls in (("theirs", theirs_cls), ("ours", ours_cls)):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    outcome[side] = cls(**params).fit(X, y, sample_weight=weights)
                except Exception as exc:  # both must fail alike
                    outcome[side] = f"{type(exc).__name__}: {exc}"
        o, t = outcome["ours"], outcome["theirs"]
        if isinstance(o, str) or isinstance(t, str):
            why = "" if (isinstance(o, str) and isinstance(t, str)) else f"ours {o!s:.80} / theirs {t!s:.80}"
        else:
            why = differs(o, t, args.rtol)
        if why:
            bad += 1
            print(f"case {case}: {kind}, {X.shape}, weights {weights is not None}, {params}: {why}")
    print(f"{args.cases - bad} of {args.cases} cases gave scikit-learn's numbers (rtol {args.rtol})")
    return min(bad, 125)


if __name__ == "__main__":
    sys.exit(main())
