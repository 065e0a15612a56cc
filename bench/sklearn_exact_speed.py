"""The default fastmlp.sklearn fits against scikit-learn's, at one thread, same numbers.

    python bench/sklearn_exact_speed.py [--repeats 3] [--rows 20000] [--only "lbfgs, digits"]

Each case fits scikit-learn's estimator and fastmlp's drop-in with the same parameters and
random_state, to convergence (scikit-learn's stopping rule, max_iter 200), and prints the median
wall time of each over the repeats (interleaved, so both see the same machine load), the ratio,
the epochs each ran and the largest relative difference of their loss curves (lbfgs: of the
final loss): the fits are the
same fits (default engine, not sklearn_compat), so the ratio is speed at equal numbers.
Cases: 20,000 standardised float64 rows (10 classes x 64 features), adam, sgd and lbfgs; 20,000 rows of
50 features in 5 classes, adam; the digits set (1,797 rows x 64 features), adam and lbfgs. scikit-learn's
BLAS is held to one thread with threadpoolctl, fastmlp's engine with n_threads=1. The first line
names the CPU, fastmlp's ISA (FASTMLP_ISA forces one) and OpenBLAS's kernels (OPENBLAS_CORETYPE
forces them): compare like with like, avx2 with Haswell, avx512 with SkylakeX.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np
from threadpoolctl import threadpool_limits


def _rows(n, features=64, classes=10):
    from sklearn.datasets import make_classification
    from sklearn.preprocessing import StandardScaler

    X, y = make_classification(n, features, n_informative=min(32, features // 2),
                               n_classes=classes, random_state=0)
    return StandardScaler().fit_transform(X), y


def _digits():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def _fit(cls, X, y, params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a max_iter ConvergenceWarning is part of the defaults
        tic = time.perf_counter()
        est = cls(**params).fit(X, y)
        return time.perf_counter() - tic, est


def _curve_gap(a, b):
    """The largest relative difference of the loss curves (lbfgs keeps no curve in scikit-learn:
    then of the final loss)."""
    if not hasattr(b, "loss_curve_"):
        return abs(a.loss_ - b.loss_) / abs(b.loss_)
    a, b = np.asarray(a.loss_curve_), np.asarray(b.loss_curve_)
    n = min(len(a), len(b))
    return float(np.max(np.abs(a[:n] - b[:n]) / np.abs(b[:n])))


def main():
    from sklearn.neural_network import MLPClassifier as TheirClassifier

    from fastmlp.sklearn import MLPClassifier as OurClassifier

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--only", default="", help="run the cases whose name contains this text")
    args = parser.parse_args()
    cases = {
        f"adam, {args.rows} rows": (_rows(args.rows), {}),
        f"sgd (nesterov), {args.rows} rows": (_rows(args.rows), {"solver": "sgd"}),
        f"lbfgs, {args.rows} rows": (_rows(args.rows), {"solver": "lbfgs"}),
        f"adam, {args.rows} rows x 50 features, 5 classes": (_rows(args.rows, 50, 5), {}),
        "adam, digits (1797 rows)": (_digits(), {}),
        "lbfgs, digits (1797 rows)": (_digits(), {"solver": "lbfgs"}),
    }
    import sklearn

    from fastmlp.benchmarks.suite import machine

    with threadpool_limits(1):  # what scikit-learn's fits below run on: OpenBLAS at 1 thread
        where = machine(1, "cpp")
    print(f"CPU {where['cpu']}; fastmlp ISA {where['isa']}; scikit-learn {sklearn.__version__} on "
          f"{where['blas']}; 1 thread; FMA peak (same run) {where['peak_gflops']:.0f} GFLOP/s "
          f"float32; medians of {args.repeats} interleaved fits")
    print()
    print("| case | epochs (ours/theirs) | loss curve max rel. diff | fastmlp median | "
          "scikit-learn median | speed-up |")
    print("|---|---|---|---:|---:|---:|")
    with threadpool_limits(1):
        for name, ((X, y), extra) in cases.items():
            if args.only not in name:
                continue
            params = dict(random_state=0, **extra)
            ours_t, theirs_t = [], []
            _fit(OurClassifier, X[:400], y[:400], dict(params, max_iter=2, n_threads=1))  # warm-up
            for _ in range(args.repeats):
                t, ours = _fit(OurClassifier, X, y, dict(params, n_threads=1))
                ours_t.append(t)
                t, theirs = _fit(TheirClassifier, X, y, params)
                theirs_t.append(t)
            mine, their = statistics.median(ours_t), statistics.median(theirs_t)
            print(f"| {name} | {ours.n_iter_}/{theirs.n_iter_} | {_curve_gap(ours, theirs):.1e} | "
                  f"{mine:.3f} s | {their:.3f} s | {their / mine:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
