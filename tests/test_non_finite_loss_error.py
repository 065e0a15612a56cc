"""A NaN or infinite loss raises NonFiniteLossError with the same fields from every backend, and
fit (progress bar or not) renumbers them from the epoch's start without reading the message."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import fastmlp as fm
from fastmlp.backends import Network, OptimizerConfig
from fastmlp.errors import NonFiniteLossError

pytestmark = pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # the NaN is the point


def small_net():
    rng = np.random.default_rng(0)
    weights = [rng.standard_normal((3, 4)), rng.standard_normal((4, 2))]
    biases = [np.zeros(4), np.zeros(2)]
    return Network(weights, biases, ["tanh", "identity"], "cross_entropy",
                   optimizer=OptimizerConfig("sgd", lr=0.1))


def rows_with_nan(n=12, bad_row=9):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((n, 3))
    x[bad_row, 1] = np.nan
    return x, rng.integers(0, 2, n)


def test_epoch_error_fields(backend):
    x, y = rows_with_nan()
    with pytest.raises(NonFiniteLossError) as caught:
        backend.train_epoch(small_net(), x, y, np.arange(12), 4)  # row 9 is in batch 2
    err = caught.value
    assert isinstance(err, FloatingPointError)
    assert (err.batch, err.first_row, err.last_row, err.epoch) == (2, 8, 11, None)
    assert np.isnan(err.loss)
    assert str(err) == ("loss is nan at batch 2 of the epoch (rows 8 to 11 of order); the weights "
                        "were not updated with it")


def test_step_error_fields(backend):
    x, y = rows_with_nan(5, 3)
    with pytest.raises(NonFiniteLossError) as caught:
        backend.train_step(small_net(), x, y)
    assert (caught.value.batch, caught.value.first_row, caught.value.last_row) == (0, 0, 4)


def test_fields_survive_pickling_and_shifting():
    err = NonFiniteLossError(float("inf"), 2, 8, 11)
    back = pickle.loads(pickle.dumps(err))
    assert (back.loss, back.batch, back.first_row, back.last_row, str(back)) == (
        err.loss, err.batch, err.first_row, err.last_row, str(err))
    moved = err.shifted(3, 12)
    assert (moved.batch, moved.first_row, moved.last_row) == (5, 20, 23)
    assert str(err.in_epoch(4)).startswith("epoch 4 of this fit (0-based): loss is inf at batch 2")


@pytest.mark.filterwarnings("ignore:X or y holds values", "ignore:overflow encountered")
@pytest.mark.parametrize("verbose", [0, 1])  # 1: the progress bar runs the epoch in chunks
@pytest.mark.parametrize("backend_name", fm.backends.available_backends())
def test_fit_names_the_batch_from_the_epoch_start(backend_name, verbose):
    pytest.importorskip("tqdm")
    x = np.random.default_rng(2).standard_normal((40, 3))
    y = x[:, :1].copy()
    y[37] = 3e38  # finite, but its squared error is not: batch 9 of size 4 (rows 36 to 39) unshuffled
    model = fm.MLP([3, 5, 1], loss="mse", backend=backend_name, seed=0)
    with pytest.raises(NonFiniteLossError) as caught:
        model.fit(x, y, epochs=1, batch_size=4, shuffle=False, verbose=verbose)
    err = caught.value
    assert (err.epoch, err.batch, err.first_row, err.last_row) == (0, 9, 36, 39)
    assert "rolled back to the start of this epoch" in str(err)
