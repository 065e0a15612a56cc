"""The bad-input matrix, scikit-learn rows: MLPClassifier / MLPRegressor refuse bad data and bad
parameters with scikit-learn's own messages, on every backend (bad_input_cases.py: how a row
runs; test_bad_input_matrix.py: the whole table, as docs/bad_inputs.md carries it)."""

from __future__ import annotations

import numpy as np
import pytest

from bad_input_cases import Case, check, params


def sk_data():
    rng = np.random.default_rng(3)
    return rng.standard_normal((20, 4)), rng.integers(0, 3, 20)


def sk_fit(backend, X=None, y=None, regressor=False, **options):
    sk = pytest.importorskip("fastmlp.sklearn", reason="scikit-learn is not installed")
    X0, y0 = sk_data()
    cls = sk.MLPRegressor if regressor else sk.MLPClassifier
    est = cls(hidden_layer_sizes=(5,), max_iter=1, backend=backend or "cpp", **options)
    est.fit(X0 if X is None else X, y0 if y is None else y)


CASES = [
    # scikit-learn estimators (fastmlp.sklearn)
    Case("sk-X-nan", "MLPClassifier.fit", "NaN in X", ValueError, r"Input X contains NaN",
         lambda k, t: sk_fit(k, X=np.where(np.eye(20, 4) > 0, np.nan, sk_data()[0]))),
    Case("sk-X-complex", "MLPClassifier.fit", "X of dtype complex128", ValueError, r"Complex data not supported",
         lambda k, t: sk_fit(k, X=sk_data()[0].astype(np.complex128))),
    Case("sk-y-inf", "MLPRegressor.fit", "+inf in y", ValueError, r"Input y contains infinity",
         lambda k, t: sk_fit(k, y=np.where(np.arange(20) == 3, np.inf, 1.0), regressor=True)),
    Case("sk-lr-zero", "MLPClassifier", "learning_rate_init = 0", ValueError, r"'learning_rate_init' parameter .* range \(0.0, inf\)",
         lambda k, t: sk_fit(k, learning_rate_init=0.0)),
    Case("sk-batch-size-0", "MLPClassifier", "batch_size = 0", ValueError, r"'batch_size' parameter .* range \[1, inf\)",
         lambda k, t: sk_fit(k, batch_size=0)),
    Case("sk-unknown-solver", "MLPClassifier", "solver 'newton'", ValueError, r"'solver' parameter .* a str among",
         lambda k, t: sk_fit(k, solver="newton")),
    Case("sk-n-threads-zero", "MLPClassifier", "n_threads = 0", ValueError, r"'n_threads' parameter .* range \[1, inf\)",
         lambda k, t: sk_fit(k, n_threads=0)),
    Case("sk-n-threads-huge", "MLPClassifier", "n_threads = 10^6", ValueError, r"n_threads must be .*<=",
         lambda k, t: sk_fit(k, n_threads=10**6), per_backend=False),
]


@pytest.mark.timeout(180)
@pytest.mark.filterwarnings("ignore:Stochastic Optimizer:UserWarning")  # max_iter=1 on purpose
@pytest.mark.parametrize("case,backend", params(CASES))
def test_bad_input(case, backend, tmp_path):
    check(case, backend, tmp_path)
