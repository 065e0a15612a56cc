"""The bad-input matrix, model rows: fm.MLP, fit, predict and save on every backend, then the
optimizer classes and set_num_threads, which have no backend (bad_input_cases.py: how a row
runs; test_bad_input_matrix.py: the whole table, as docs/bad_inputs.md carries it)."""

from __future__ import annotations

import numpy as np
import pytest

import fastmlp as fm

from bad_input_cases import Case, check, data, params


def model(backend, loss="cross_entropy", n_out=3):
    return fm.MLP([4, 5, n_out], loss=loss, backend=backend, seed=0)


def fit(backend, X=None, y=None, loss="cross_entropy", **kwargs):
    X0, y0 = data()
    m = model(backend, loss)
    m.fit(X0 if X is None else X, y0 if y is None else y, **{"epochs": 1, **kwargs})


def restore_threads(call):
    def run(backend, tmp):
        before = fm.get_num_threads()
        try:
            call()
        finally:
            fm.set_num_threads(before)
    return run


CASES = [
    # the model
    Case("mlp-dtype", "fm.MLP", "dtype 'float16'", TypeError, r"^dtype must be 'float32' or 'float64'",
         lambda k, t: fm.MLP([4, 3], dtype="float16", backend=k)),
    Case("mlp-layer-zero", "fm.MLP", "layer_sizes [4, 0, 3]", ValueError, r"^layer_sizes must be positive ints",
         lambda k, t: fm.MLP([4, 0, 3], backend=k)),
    Case("mlp-unknown-activation", "fm.MLP", "activation 'swish'", ValueError, r"activation 'swish' is unknown",
         lambda k, t: fm.MLP([4, 5, 3], activation="swish", backend=k)),
    Case("mlp-unknown-backend", "fm.MLP", "backend 'cuda'", ValueError, r"backend 'cuda' is unknown; choose one of",
         lambda k, t: fm.MLP([4, 3], backend="cuda"), per_backend=False),
    Case("fit-X-bool", "MLP.fit", "X of dtype bool", TypeError, r"^X must hold real numbers, got dtype bool",
         lambda k, t: fit(k, X=data()[0] > 0)),
    Case("fit-X-complex", "MLP.fit", "X of dtype complex128", TypeError, r"^X must hold real numbers",
         lambda k, t: fit(k, X=data()[0].astype(np.complex128))),
    Case("fit-X-strings", "MLP.fit", "X of strings", TypeError, r"^X must hold real numbers",
         lambda k, t: fit(k, X=np.full((6, 4), "1.0"))),
    Case("fit-X-object", "MLP.fit", "X of dtype object", TypeError, r"^X must hold real numbers",
         lambda k, t: fit(k, X=data()[0].astype(object))),
    Case("fit-X-ndim", "MLP.fit", "X is 1-D", ValueError, r"^X must be 2-D",
         lambda k, t: fit(k, X=np.zeros(6, np.float32))),
    Case("fit-X-empty", "MLP.fit", "X has 0 rows", ValueError, r"^X is empty",
         lambda k, t: fit(k, X=np.zeros((0, 4), np.float32), y=np.zeros(0, np.int64))),
    Case("fit-X-nan", "MLP.fit", "NaN in X", ValueError, r"^X contains NaN or infinity",
         lambda k, t: fit(k, X=np.where(np.eye(6, 4) > 0, np.nan, data()[0]))),
    Case("fit-X-inf", "MLP.fit", "+inf in X", ValueError, r"^X contains NaN or infinity",
         lambda k, t: fit(k, X=np.where(np.eye(6, 4) > 0, np.inf, data()[0]))),
    Case("fit-y-nan", "MLP.fit", "NaN in a regression y", ValueError, r"^y contains NaN or infinity",
         lambda k, t: fit(k, y=np.array([0.0, np.nan, 1, 2, 3, 4]).reshape(6, 1).repeat(3, 1), loss="mse")),
    Case("fit-y-label-range", "MLP.fit", "label 3 for 3 classes", ValueError, r"^y labels must lie in \[0, 3\)",
         lambda k, t: fit(k, y=np.array([0, 1, 2, 3, 0, 1]))),
    Case("fit-y-negative", "MLP.fit", "label -1", ValueError, r"^y labels must lie in \[0, 3\)",
         lambda k, t: fit(k, y=np.array([0, 1, 2, -1, 0, 1]))),
    Case("fit-y-rows", "MLP.fit", "y has 5 rows, X 6", ValueError, r"^y has 5 rows, X has 6",
         lambda k, t: fit(k, y=np.zeros(5, np.int64))),
    Case("fit-y-strings", "MLP.fit", "y of strings", TypeError, r"^y must hold integer class labels",
         lambda k, t: fit(k, y=np.array(list("abcabc")))),
    Case("fit-y-fractional", "MLP.fit", "class labels 0.5", TypeError, r"^y must hold integer class labels",
         lambda k, t: fit(k, y=np.full(6, 0.5))),
    Case("fit-epochs-negative", "MLP.fit", "epochs -1", ValueError, r"^epochs must be >= 0",
         lambda k, t: fit(k, epochs=-1)),
    Case("fit-batch-size-0", "MLP.fit", "batch_size 0", ValueError, r"^batch_size must be >= 1",
         lambda k, t: fit(k, batch_size=0)),
    Case("fit-unknown-optimizer", "MLP.fit", "optimizer 'lbfgs'", ValueError, r"optimizer 'lbfgs' is unknown",
         lambda k, t: fit(k, optimizer="lbfgs")),
    Case("fit-unknown-schedule", "MLP.fit", "schedule 'warp'", ValueError, r"schedule 'warp' is unknown",
         lambda k, t: fit(k, schedule="warp")),
    Case("predict-features", "MLP.predict", "X has 3 features, the model 4", ValueError,
         r"^X has 3 features, the model takes 4", lambda k, t: model(k).predict(np.zeros((2, 3)))),
    Case("save-suffix", "MLP.save", "path without .npz", ValueError, r"^path must end in .npz",
         lambda k, t: model(k).save(t / "model.pkl")),
    # optimizers and threads (no backend involved)
    Case("sgd-lr-zero", "fm.optim.SGD", "lr = 0", ValueError, r"^lr must be > 0",
         lambda k, t: fm.optim.SGD(lr=0.0), per_backend=False),
    Case("sgd-lr-negative", "fm.optim.SGD", "lr = -0.1", ValueError, r"^lr must be > 0",
         lambda k, t: fm.optim.SGD(lr=-0.1), per_backend=False),
    Case("adam-lr-nan", "fm.optim.Adam", "lr = NaN", ValueError, r"^lr must be finite",
         lambda k, t: fm.optim.Adam(lr=float("nan")), per_backend=False),
    Case("sgd-momentum-one", "fm.optim.SGD", "momentum = 1", ValueError, r"^momentum must be < 1",
         lambda k, t: fm.optim.SGD(momentum=1.0), per_backend=False),
    Case("adam-beta-one", "fm.optim.Adam", "beta2 = 1", ValueError, r"^beta2 must be < 1",
         lambda k, t: fm.optim.Adam(beta2=1.0), per_backend=False),
    Case("threads-zero", "fm.set_num_threads", "0", ValueError, r"num_threads must be >= 1",
         restore_threads(lambda: fm.set_num_threads(0)), per_backend=False),
    Case("threads-negative", "fm.set_num_threads", "-4", ValueError, r"num_threads must be >= 1",
         restore_threads(lambda: fm.set_num_threads(-4)), per_backend=False),
    Case("threads-huge", "fm.set_num_threads", "10^6 (the pool would start a million threads)", ValueError,
         r"num_threads must be <= ", restore_threads(lambda: fm.set_num_threads(10**6)), per_backend=False),
    Case("threads-beyond-int", "fm.set_num_threads", "2^40 (beyond a C int)", ValueError,
         r"num_threads must be <= ", restore_threads(lambda: fm.set_num_threads(2**40)), per_backend=False),
]


@pytest.mark.timeout(180)
@pytest.mark.parametrize("case,backend", params(CASES))
def test_bad_input(case, backend, tmp_path):
    check(case, backend, tmp_path)
