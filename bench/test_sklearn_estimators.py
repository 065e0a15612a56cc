"""fastmlp.sklearn estimators vs scikit-learn's, end to end (target: >= 5x).

Fit to convergence with scikit-learn's defaults (adam, alpha 1e-4, batch 200, tol 1e-4,
n_iter_no_change 10, max_iter 200) on a 10-class 64-feature classification set and a
13-feature regression set of FASTMLP_BENCH_SK_ROWS rows (default 20,000), and a GridSearchCV
over 8 configurations (cv=3, n_jobs=1). One round each (a fit to convergence takes seconds to
minutes); extra_info records the final loss and epochs so the speed-up is read at the same
final loss. Threads: FASTMLP_NUM_THREADS for fastmlp; scikit-learn's BLAS is limited to the
same count with threadpoolctl.
"""

import os
import warnings

import numpy as np
import pytest

ROWS = int(os.environ.get("FASTMLP_BENCH_SK_ROWS", "20000"))
THREADS = int(os.environ.get("FASTMLP_NUM_THREADS", "1"))
GRID = {"hidden_layer_sizes": [(64,), (128,)], "alpha": [1e-4, 1e-3],
        "learning_rate_init": [1e-3, 3e-3]}  # 8 configurations

sklearn = pytest.importorskip("sklearn", reason="scikit-learn not installed (pip install fastmlp[sklearn])")
threadpoolctl = pytest.importorskip("threadpoolctl", reason="threadpoolctl not installed")


def _classification():
    from sklearn.datasets import make_classification
    from sklearn.preprocessing import StandardScaler

    X, y = make_classification(ROWS, 64, n_informative=32, n_classes=10, random_state=0)
    return StandardScaler().fit_transform(X), y


def _regression():
    from sklearn.datasets import make_regression
    from sklearn.preprocessing import StandardScaler

    X, y = make_regression(ROWS, 13, n_informative=10, noise=5.0, random_state=0)
    return StandardScaler().fit_transform(X), (y - y.mean()) / y.std()


def _estimator(path, kind, **params):
    if path == "fastmlp":
        from fastmlp import sklearn as ours

        module = ours
    else:
        from sklearn import neural_network as module
    cls = module.MLPClassifier if kind == "classifier" else module.MLPRegressor
    return cls(random_state=0, **params)


def _record(benchmark, est):
    benchmark.extra_info["final_loss"] = float(est.loss_)
    benchmark.extra_info["epochs"] = int(est.n_iter_)
    benchmark.extra_info["threads"] = THREADS
    benchmark.extra_info["rows"] = ROWS


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.parametrize("path", ["fastmlp", "sklearn"])
def test_fit_to_convergence(benchmark, path, kind):
    X, y = _classification() if kind == "classifier" else _regression()

    def fit():
        est = _estimator(path, kind, n_threads=THREADS) if path == "fastmlp" else _estimator(path, kind)
        with warnings.catch_warnings(), threadpoolctl.threadpool_limits(THREADS):
            warnings.simplefilter("ignore")  # a max_iter ConvergenceWarning is part of the defaults
            return est.fit(X, y)

    benchmark.group = f"sklearn defaults, fit to convergence, {kind}, {ROWS} rows"
    est = benchmark.pedantic(fit, rounds=1, iterations=1)
    _record(benchmark, est)
    assert np.isfinite(est.loss_) and est.score(X, y) > 0.5


@pytest.mark.parametrize("path", ["fastmlp", "sklearn"])
def test_grid_search(benchmark, path):
    from sklearn.model_selection import GridSearchCV

    X, y = _classification()
    extra = {"n_threads": THREADS} if path == "fastmlp" else {}

    def search():
        with warnings.catch_warnings(), threadpoolctl.threadpool_limits(THREADS):
            warnings.simplefilter("ignore")
            return GridSearchCV(_estimator(path, "classifier", max_iter=50, **extra), GRID, cv=3,
                                n_jobs=1).fit(X, y)

    benchmark.group = f"GridSearchCV 8 configs x 3 folds, {ROWS} rows"
    result = benchmark.pedantic(search, rounds=1, iterations=1)
    benchmark.extra_info["best_score"] = float(result.best_score_)
    benchmark.extra_info["threads"] = THREADS
    assert result.best_score_ > 0.3
