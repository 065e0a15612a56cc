"""fm.lr_find: the learning-rate range test."""

import numpy as np
import pytest

import fastmlp as fm
from fastmlp import datasets


@pytest.mark.parametrize("backend", fm.available_backends())
def test_range_test_finds_a_sane_rate_and_leaves_the_model_alone(backend):
    X, y = datasets.moons(n_samples=400, noise=0.1, seed=0)
    model = fm.MLP([2, 16, 2], activation="tanh", backend=backend, seed=0)
    before = [p.copy() for p in model.network.params]
    result = fm.lr_find(model, X, y, start_lr=1e-5, end_lr=1e3, num_steps=120)
    for p, q in zip(model.network.params, before):
        np.testing.assert_array_equal(p, q)
    assert model.network.step == 0
    # SGD on this net learns between ~1e-2 and ~1e0; 1e-5 barely moves it, 1e3 blows it up
    assert 1e-3 <= result.suggested_lr <= 3.0
    assert len(result.lrs) == len(result.losses) == len(result.smoothed) < 120  # stopped on divergence
    assert np.all(np.diff(result.lrs) > 0)
    assert result.smoothed.min() < 0.8 * result.smoothed[0]
    assert "suggested lr" in str(result)


@pytest.mark.parametrize(
    "kwargs, match",
    [({"start_lr": 0}, "start_lr"), ({"end_lr": 1e-9}, "end_lr"), ({"num_steps": 1}, "num_steps"),
     ({"smoothing": 1.0}, "smoothing"), ({"diverge": 1.0}, "diverge"), ({"optimizer": "nope"}, "optimizer")],
)
def test_bad_arguments(kwargs, match):
    X, y = datasets.moons(n_samples=50, seed=0)
    with pytest.raises(ValueError, match=match):
        fm.lr_find(fm.MLP([2, 4, 2], backend="numpy"), X, y, **kwargs)
