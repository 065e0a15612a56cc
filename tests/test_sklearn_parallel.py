"""The estimators under joblib: Pipeline, GridSearchCV and cross_val_score with n_jobs=2 (loky
worker processes), GridSearchCV on a dask.distributed LocalCluster, and the inner C++ thread
count inside workers."""

import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn", reason="scikit-learn not installed (pip install fastmlp[sklearn])")

from sklearn.datasets import make_classification  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from fastmlp.sklearn import MLPClassifier  # noqa: E402
from fastmlp.sklearn._threads import thread_limit  # noqa: E402

GRID = {"mlpclassifier__hidden_layer_sizes": [(8,), (16,)], "mlpclassifier__alpha": [0.0, 1e-3]}


@pytest.fixture(scope="module")
def data():
    return make_classification(200, 6, n_informative=4, n_classes=3, random_state=0)


def pipeline():
    return make_pipeline(StandardScaler(), MLPClassifier(max_iter=30, learning_rate_init=0.01,
                                                         random_state=0))


def test_pipeline_grid_search_and_cross_val_with_two_jobs(data):
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        serial = GridSearchCV(pipeline(), GRID, cv=3, n_jobs=1).fit(X, y)
        parallel = GridSearchCV(pipeline(), GRID, cv=3, n_jobs=2).fit(X, y)
        scores = cross_val_score(pipeline(), X, y, cv=3, n_jobs=2)
    # seeded fits: two worker processes give the serial run's scores (same arithmetic,
    # different process); rtol 1e-12 allows only a GEMM split across another thread count
    np.testing.assert_allclose(parallel.cv_results_["mean_test_score"],
                               serial.cv_results_["mean_test_score"], rtol=1e-12)
    assert parallel.best_score_ > 0.7
    assert scores.shape == (3,) and scores.mean() > 0.7


def test_thread_limit_sets_and_restores():
    cpp = pytest.importorskip("fastmlp.backends.cpp")
    before = cpp.get_num_threads()
    with thread_limit(1, "cpp"):
        assert cpp.get_num_threads() == 1
    assert cpp.get_num_threads() == before


def _threads_inside_fit():
    from fastmlp.backends import cpp

    with thread_limit(None, "cpp"):
        return cpp.get_num_threads()


def test_loky_workers_share_the_cores():
    import os

    import joblib

    per_worker = joblib.Parallel(n_jobs=2)(joblib.delayed(_threads_inside_fit)() for _ in range(2))
    # joblib gives each of 2 loky workers OMP_NUM_THREADS = max(1, cpus // 2) (its own CPU count,
    # which respects affinity and cgroup quotas); the C++ pool reads it when it starts, unless
    # FASTMLP_NUM_THREADS (read first) says otherwise
    explicit = os.environ.get("FASTMLP_NUM_THREADS")
    expected = int(explicit) if explicit else max(1, joblib.cpu_count() // 2)
    assert per_worker == [expected] * 2


@pytest.mark.timeout(60)  # the LocalCluster starts two processes; the whole test takes ~10 s
def test_grid_search_on_dask_local_cluster(data):
    distributed = pytest.importorskip("distributed", reason="dask.distributed not installed")
    import joblib

    X, y = data
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        assert client.submit(_threads_inside_fit).result() == 1  # one C++ thread per worker task
        with warnings.catch_warnings(), joblib.parallel_backend("dask"), \
                distributed.get_task_stream(client) as tasks:
            warnings.simplefilter("ignore", ConvergenceWarning)
            search = GridSearchCV(pipeline(), GRID, cv=3).fit(X, y)
        workers_used = {task["worker"] for task in tasks.data}
    assert len(workers_used) == 2  # the 12 fits ran in both worker processes
    assert search.best_score_ > 0.7
    assert len(search.cv_results_["mean_test_score"]) == 4
