"""fm.lr_find: the learning-rate range test, run with the optimizer the model will train with,
and a suggestion that a short run at it checks."""

import numpy as np
import pytest

import fastmlp as fm
from fastmlp import datasets


@pytest.mark.parametrize("backend", fm.available_backends())
def test_range_test_finds_a_sane_rate_and_leaves_the_model_alone(backend):
    X, y = datasets.moons(n_samples=400, noise=0.1, seed=0)
    model = fm.MLP([2, 16, 2], activation="tanh", backend=backend, seed=0)
    before = [p.copy() for p in model.network.params]
    result = fm.lr_find(model, X, y, optimizer="sgd", start_lr=1e-5, end_lr=1e3, num_steps=120)
    for p, q in zip(model.network.params, before):
        np.testing.assert_array_equal(p, q)
    assert model.network.step == 0 and model.optimizer is None
    # SGD on this net learns between ~1e-2 and ~1e0; 1e-5 barely moves it, 1e3 blows it up
    assert 1e-3 <= result.suggested_lr <= 3.0
    assert len(result.lrs) == len(result.losses) == len(result.smoothed) < 120  # stopped on divergence
    assert np.all(np.diff(result.lrs) > 0)
    assert result.smoothed.min() < 0.8 * result.smoothed[0]
    assert result.optimizer == "sgd" and "suggested lr" in str(result) and "with sgd" in str(result)


def test_default_optimizer_is_what_fit_would_use():
    X, y = datasets.moons(n_samples=300, noise=0.1, seed=0)
    fresh = fm.lr_find(fm.MLP([2, 16, 2], backend="numpy", seed=0), X, y, num_steps=60)
    assert fresh.optimizer == "adam"  # fit starts with Adam
    assert "lr_find with adam" in str(fresh) and "for adam" in str(fresh)
    trained = fm.MLP([2, 16, 2], backend="numpy", seed=0)
    trained.fit(X, y, epochs=1, optimizer=fm.optim.RMSprop(lr=1e-3))
    assert fm.lr_find(trained, X, y, num_steps=60).optimizer == "rmsprop"  # the model's own
    assert fm.lr_find(trained, X, y, num_steps=60, optimizer="sgd").optimizer == "sgd"  # the one passed


def test_suggestion_is_checked_by_a_short_run():
    X, y = datasets.moons(n_samples=300, noise=0.1, seed=0)
    model = fm.MLP([2, 16, 2], backend="numpy", seed=0)
    result = fm.lr_find(model, X, y, num_steps=60)
    assert result.checked and result.check_loss_after < result.check_loss_before
    # the check is what it says: that many Adam steps at the suggested rate lower the loss
    again = fm.MLP([2, 16, 2], backend="numpy", seed=0)
    history = again.fit(X, y, epochs=3, batch_size=32, optimizer=fm.optim.Adam(lr=result.suggested_lr))
    assert history.loss[-1] < result.check_loss_before
    assert f"took the loss from {result.check_loss_before:.4g} to {result.check_loss_after:.4g}" in str(result)


def test_a_steepest_rate_that_does_not_train_is_divided_until_it_does():
    # a range starting at 30: Adam's steepest fall there is a rate whose steps are far too long
    X, y = datasets.moons(n_samples=300, noise=0.1, seed=0)
    result = fm.lr_find(fm.MLP([2, 16, 2], backend="numpy", seed=0), X, y, start_lr=30.0, end_lr=1e4,
                        num_steps=40)
    assert result.checked
    assert result.suggested_lr < result.steepest_lr
    ratio = result.steepest_lr / result.suggested_lr
    assert round(np.log10(ratio)) == pytest.approx(np.log10(ratio))  # divided by a power of 10
    assert "did not lower the loss" in str(result)


def test_mnist_suggestion_for_adam_trains():
    """The issue's case: Adam at SGD's suggestion (0.28) left MNIST at 10 %; Adam's own trains."""
    X, y, X_test, y_test = datasets.load_mnist_small()
    result = fm.lr_find(fm.MLP([784, 64, 10]), X, y)
    assert result.optimizer == "adam" and result.suggested_lr < 0.05
    model = fm.MLP([784, 64, 10])
    model.fit(X, y, epochs=1, optimizer=fm.optim.Adam(lr=result.suggested_lr))
    assert model.evaluate(X_test, y_test)["accuracy"] > 0.85  # 10 % is chance; a working rate is > 0.9


@pytest.mark.parametrize(
    "kwargs, match",
    [({"start_lr": 0}, "start_lr"), ({"end_lr": 1e-9}, "end_lr"), ({"num_steps": 1}, "num_steps"),
     ({"smoothing": 1.0}, "smoothing"), ({"diverge": 1.0}, "diverge"), ({"optimizer": "nope"}, "optimizer")],
)
def test_bad_arguments(kwargs, match):
    X, y = datasets.moons(n_samples=50, seed=0)
    with pytest.raises(ValueError, match=match):
        fm.lr_find(fm.MLP([2, 4, 2], backend="numpy"), X, y, **kwargs)
