"""Callbacks and early stopping in MLP.fit."""

import numpy as np
import pytest

import fastmlp as fm
from fastmlp.callbacks import Callback, EarlyStopping


def data(n=120, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 4))
    return X, (X[:, 0] + X[:, 1] > 0).astype(np.int64)


class Recorder(Callback):
    """Keeps each epoch's logs and a copy of the weights; stops after ``stop_after`` epochs."""

    def __init__(self, stop_after=None):
        self.stop_after, self.logs, self.params, self.ended = stop_after, [], [], False

    def on_epoch_end(self, epoch, logs, model):
        self.logs.append(dict(logs))
        self.params.append([p.copy() for p in model.network.params])
        return self.stop_after is not None and epoch + 1 >= self.stop_after

    def on_train_end(self, model):
        self.ended = True


def test_a_callback_sees_every_epoch_and_can_stop():
    X, y = data()
    rec = Recorder(stop_after=3)
    h = fm.MLP([4, 8, 2], backend="numpy").fit(X, y, epochs=10, validation_data=(X, y), callbacks=[rec])
    assert h.epochs == 3 and h.stopped_epoch == 2 and rec.ended
    assert [log["loss"] for log in rec.logs] == h.loss
    log_keys = {"loss", "accuracy", "val_loss", "val_accuracy", "seconds"}  # names, not timings
    assert set(rec.logs[0]) == log_keys


def test_early_stopping_waits_patience_epochs_then_stops():
    # min_delta larger than any possible change: no epoch after the first counts as better
    X, y = data()
    stopper = EarlyStopping(monitor="loss", patience=2, min_delta=1e9)
    h = fm.MLP([4, 8, 2], backend="numpy").fit(X, y, epochs=20, early_stopping=stopper)
    assert h.epochs == 3 and stopper.best_epoch == 0 and stopper.stopped_epoch == 2


def test_early_stopping_restores_the_best_weights():
    X, y = data()
    rec = Recorder()
    stopper = EarlyStopping(monitor="loss", patience=1, min_delta=1e9, restore_best_weights=True)
    m = fm.MLP([4, 8, 2], dtype="float64", backend="numpy")
    m.fit(X, y, epochs=10, callbacks=[rec], early_stopping=stopper)
    for p, best in zip(m.network.params, rec.params[0]):  # epoch 0 was the best
        np.testing.assert_array_equal(p, best)
    assert not np.array_equal(rec.params[-1][0], rec.params[0][0])


def test_early_stopping_true_monitors_validation_loss():
    # validation labels are the training labels flipped: as the model learns the training set,
    # its training loss falls and its validation loss rises, so only a validation monitor stops
    X, y = data()
    m = fm.MLP([4, 16, 2], backend="numpy")
    h = m.fit(X, y, epochs=100, batch_size=20, optimizer=fm.optim.Adam(lr=0.01),
              validation_data=(X, 1 - y), early_stopping=True)
    assert h.loss[-1] < h.loss[0] and h.val_loss[-1] > h.val_loss[0]
    best = int(np.argmin(h.val_loss))
    assert h.stopped_epoch == best + 5 < 99  # the best epoch, then patience 5 without improvement
    # and with no validation data the same setting watches the falling training loss instead
    h_train = fm.MLP([4, 16, 2], backend="numpy").fit(
        X, y, epochs=30, batch_size=20, optimizer=fm.optim.Adam(lr=0.01), early_stopping=True)
    assert h_train.stopped_epoch is None and h_train.epochs == 30


def test_mode_max_for_accuracy():
    X, y = data()
    stopper = EarlyStopping(monitor="val_accuracy", patience=0, min_delta=2.0)
    h = fm.MLP([4, 8, 2], backend="numpy").fit(X, y, epochs=5, validation_data=(X, y),
                                               early_stopping=stopper)
    assert h.epochs == 2  # accuracy cannot rise by 2.0: stops after one epoch of patience 0


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"early_stopping": "yes"}, TypeError, "early_stopping"),
        ({"callbacks": [object()]}, TypeError, "on_epoch_end"),
        ({"early_stopping": EarlyStopping(monitor="val_loss")}, ValueError, "val_loss"),
    ],
)
def test_bad_callback_arguments(kwargs, error, match):
    X, y = data()
    with pytest.raises(error, match=match):
        fm.MLP([4, 3, 2], backend="numpy").fit(X, y, epochs=2, **kwargs)


@pytest.mark.parametrize(
    "kwargs, match",
    [({"patience": -1}, "patience"), ({"min_delta": -0.1}, "min_delta"), ({"mode": "up"}, "mode")],
)
def test_bad_early_stopping_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        EarlyStopping(**kwargs)


def test_reduce_lr_on_plateau_cuts_the_rate_after_patience_epochs():
    from fastmlp.callbacks import ReduceLROnPlateau

    X, y = data()
    # min_delta larger than any change: every epoch after the first is a plateau
    cut = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=2, min_delta=1e9, min_lr=0.002)
    m = fm.MLP([4, 8, 2], backend="numpy")
    m.fit(X, y, epochs=9, optimizer=fm.optim.SGD(lr=0.01), callbacks=[cut])
    # epochs 1, 2 without gain -> cut at epoch 2; again at 4, 6 (0.01 -> 0.005 -> 0.0025 -> 0.002)
    assert cut.reductions == [(2, 0.005), (4, 0.0025), (6, 0.002)]
    assert m.network.optimizer.lr == 0.002


def test_reduce_lr_cooldown_epochs_do_not_count():
    from fastmlp.callbacks import ReduceLROnPlateau

    X, y = data()
    cut = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=2, min_delta=1e9, cooldown=2)
    fm.MLP([4, 8, 2], backend="numpy").fit(X, y, epochs=10, optimizer=fm.optim.SGD(lr=0.01), callbacks=[cut])
    # cut at 2; epochs 3, 4 cool down; 5, 6 count -> cut at 6; 7, 8 cool; 9 counts once
    assert [epoch for epoch, _ in cut.reductions] == [2, 6]


@pytest.mark.parametrize("kwargs, match", [({"factor": 1.0}, "factor"), ({"factor": 0}, "factor"),
                                           ({"cooldown": -1}, "cooldown"), ({"min_lr": -1}, "min_lr")])
def test_bad_reduce_lr_settings(kwargs, match):
    from fastmlp.callbacks import ReduceLROnPlateau

    with pytest.raises(ValueError, match=match):
        ReduceLROnPlateau(**kwargs)
