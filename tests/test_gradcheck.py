"""fm.gradcheck: passes on real backprop of every backend, flags a wrong gradient."""

from functools import partial

import numpy as np
import pytest

import fastmlp as fm
from fastmlp.backends import available_backends, backprop

CASES = [  # (loss, targets maker, n_out)
    ("cross_entropy", lambda rng, n: rng.integers(0, 3, n), 3),
    ("binary_cross_entropy", lambda rng, n: rng.integers(0, 2, (n, 2)).astype(float), 2),
    ("mse", lambda rng, n: rng.standard_normal((n, 2)), 2),
]


@pytest.mark.parametrize("backend", available_backends())
@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "gelu"])
@pytest.mark.parametrize("loss, make_y, n_out", CASES, ids=[c[0] for c in CASES])
def test_backprop_passes(backend, activation, loss, make_y, n_out):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((8, 4)), make_y(rng, 8)
    model = fm.MLP([4, 5, n_out], activation=activation, loss=loss, backend=backend, seed=1)
    result = fm.gradcheck(model, X, y)
    assert result.passed, str(result)
    assert [r.name for r in result.rows] == ["W1", "b1", "W2", "b2"]
    assert all(r.max_rel_error < 1e-6 for r in result.rows)  # smooth: far inside the tolerance


def test_a_wrong_gradient_is_flagged_in_its_row():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((8, 4)), rng.integers(0, 3, 8)
    model = fm.MLP([4, 5, 3], activation="tanh", backend="numpy", seed=1)
    right = partial(backprop.gradients, model.backend)

    def wrong(net, X, y):
        grads = right(net, X, y)
        grads[2][1, 2] += 0.01  # W2[1, 2]: a bug in one entry of one matrix
        return grads

    result = fm.gradcheck(model, X, y, gradients=wrong)
    assert not result.passed and not bool(result)
    assert [r.passed for r in result.rows] == [True, True, False, True]
    assert "FAIL" in str(result) and "W2" in str(result)


def test_large_arrays_are_sampled():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((4, 30)), rng.integers(0, 2, 4)
    model = fm.MLP([30, 20, 2], activation="tanh", backend="numpy")
    result = fm.gradcheck(model, X, y, max_checks=50)
    assert [r.checked for r in result.rows] == [50, 20, 40, 2]
    assert result.passed
